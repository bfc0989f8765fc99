import { expect } from "chai";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../helpers/cli.ts";

describe("labrun new", () => {
  it("scaffolds a scenario that labrun validate accepts as is", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "labrun-new-"));
    const created = await runCli(["new", "my-lab"], { cwd });
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stderr).to.include("created scenarios/my-lab/");
    const file = join(cwd, "scenarios/my-lab/scenario.yaml");
    expect(readFileSync(file, "utf8")).to.match(/^# yaml-language-server: \$schema=\S+/);
    const validated = await runCli(["validate"], { cwd });
    expect(validated.code, validated.stdout + validated.stderr).to.equal(0);
    expect(validated.stdout).to.include("ok    scenarios/my-lab/scenario.yaml");
  });

  it("refuses an existing folder and an invalid name", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "labrun-new-"));
    expect((await runCli(["new", "twice"], { cwd })).code).to.equal(0);
    const again = await runCli(["new", "twice"], { cwd });
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include("already exists");
    const bad = await runCli(["new", "Bad_Name"], { cwd });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('invalid scenario name "Bad_Name"');
  });
});
