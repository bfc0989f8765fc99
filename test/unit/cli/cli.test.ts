import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VERBS } from "../../../runner/cli/verbs.ts";
import { hasStackTrace, ROOT, runCli, runCliProcess } from "../../helpers/cli.ts";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

describe("labrun CLI", () => {
  it("--version prints the package version", async () => {
    for (const flag of ["--version", "-V"]) {
      const result = await runCli([flag]);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(`labrun ${pkg.version}\n`);
    }
  });

  it("--help lists every verb; no arguments is a usage error", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).to.equal(0);
    for (const verb of VERBS) expect(help.stdout).to.include(`  ${verb.name} `);
    expect((await runCli([])).code).to.equal(2);
  });

  for (const verb of VERBS) {
    it(`${verb.name} --help documents its usage and options`, async () => {
      const result = await runCli([verb.name, "--help"]);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(new RegExp(`^Usage: labrun ${verb.name}\\b`));
      expect(result.stdout).to.include("--help");
    });
  }

  it("an unknown verb is a usage error with a suggestion", async () => {
    const result = await runCli(["valdiate"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('unknown command "valdiate" (did you mean "validate"?)');
  });

  it("an unknown flag is a usage error naming the flag and the help command", async () => {
    const result = await runCli(["list", "--colour"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include("'--colour'").and.include("labrun list --help");
  });

  it("a missing argument is a usage error", async () => {
    const result = await runCli(["show"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include("usage: labrun show");
  });

  it("an unknown scenario is a usage error with a suggestion", async () => {
    const result = await runCli(["show", "beebox-cn"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('unknown scenario "beebox-cn" (did you mean "beebox-cni"?)');
  });

  it("list shows the shipped scenarios as a table and as JSON", async () => {
    const text = await runCli(["list"]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/^NAME\s+DIFFICULTY/);
    expect(text.stdout).to.match(/beebox-cni\s+beginner\s+20m/);
    const json = JSON.parse((await runCli(["list", "-o", "json"])).stdout) as { name: string; valid: boolean }[];
    expect(json.find((s) => s.name === "beebox-cni")).to.include({ valid: true });
  });

  it("show renders the task", async () => {
    const result = await runCli(["show", "beebox-cni"]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include("BeeBox").and.include("192-168-10-100.default.pod.cluster.local");
  });

  it("a real process: usage errors exit 2 without a stack trace", async () => {
    const result = await runCliProcess(["show", "no-such-lab"]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/^error: unknown scenario "no-such-lab"/);
    expect(hasStackTrace(result.stderr)).to.equal(false);
  });
});

describe("labrun shell arguments", () => {
  it("the word before `--` is always the lab, never a command to run", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const env = { LABRUN_STATE_DIR: mkdtempSync(join(tmpdir(), "labrun-shell-")) };
    const typo = await runCli(["shell", "beebox-cn", "--", "true"], { env });
    expect(typo.code).to.equal(2);
    expect(typo.stderr).to.include('no lab named "beebox-cn"');
    const extra = await runCli(["shell", "a", "b", "--", "true"], { env });
    expect(extra.code).to.equal(2);
    expect(extra.stderr).to.include('unexpected argument "b"');
  });
});
