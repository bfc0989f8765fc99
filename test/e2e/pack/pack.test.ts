/**
 * The npm package works on its own: `npm pack` (which builds dist/ and the
 * probe binaries, see prepack), install the tarball into an empty directory
 * with production dependencies only, and run the installed `labrun`. Needs
 * npm, the npm registry (for labrun's dependencies) and Go (the probe).
 * About 2 minutes, no cluster. It runs first in `npm run test:e2e`: the
 * later suites then load the probe from dist/probe as an installed labrun does.
 *
 *   npx mocha --timeout 0 test/e2e/pack/pack.test.ts
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../../../runner/version.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("npm pack: the package installs and runs from a clean directory", function () {
  let dir: string;
  let files: string[];
  let installed: string;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-pack-"));
    const pack = await execa("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT, reject: false });
    expect(pack.exitCode, `npm pack failed:\n${pack.stderr}`).to.equal(0);
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    const app = path.join(dir, "app");
    await execa("mkdir", ["-p", app]);
    await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "labrun-pack-test", private: true }));
    const install = await execa("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", path.join(dir, info!.filename)], { cwd: app, reject: false });
    expect(install.exitCode, `npm install of the tarball failed:\n${install.stderr}`).to.equal(0);
    installed = app;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function labrun(args: string[]) {
    // The installed bin link, run from the clean directory (no repo, no devDependencies, no TypeScript sources).
    return execa(path.join(installed, "node_modules", ".bin", "labrun"), args, { cwd: installed, reject: false, env: { ...process.env, NO_COLOR: "1" } });
  }

  it("ships the compiled runner, the probe binaries, the scenarios and schemas; no sources or tests", () => {
    expect(files).to.include.members(["dist/runner/cli/bin.js", "dist/runner/index.js", "dist/probe/linux-amd64/labrun-probe", "dist/probe/linux-arm64/labrun-probe", "schemas/scenario.schema.json", "scenarios/beebox-cni/scenario.yaml", "runner/addons/flannel.yaml"]);
    expect(files.filter((f) => /^(test|tools|bench|docs)\//.test(f) || (f.startsWith("runner/") && !f.startsWith("runner/addons/")) || /^dist\/.*\.test\.js$/.test(f))).to.deep.equal([]);
  });

  it("labrun --version, list and validate run from the installed package", async () => {
    const version = await labrun(["--version"]);
    expect(version.exitCode, version.stderr).to.equal(0);
    expect(version.stdout).to.contain(VERSION);
    const list = await labrun(["list"]);
    expect(list.exitCode, list.stderr).to.equal(0);
    const shipped = (await readdir(path.join(ROOT, "scenarios"), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    for (const name of shipped) expect(list.stdout).to.contain(name);
    const validate = await labrun(["validate"]);
    expect(validate.exitCode, validate.stdout + validate.stderr).to.equal(0);
    expect(validate.stdout + validate.stderr).to.contain(`${shipped.length} scenarios valid`);
  });

  it("every module a command may load lazily resolves with production dependencies only", async () => {
    const lazy = ["dist/runner/index.js", "dist/runner/cluster/kube.js", "dist/runner/providers/exec.js", "dist/checks/probe.js", ...["terminal", "json", "junit", "markdown", "html"].map((f) => `dist/runner/report/${f}.js`)];
    const code = `for (const f of ${JSON.stringify(lazy)}) await import(new URL(f, import.meta.resolve("labrun/package.json")).href);`;
    const run = await execa(process.execPath, ["--input-type=module", "-e", code], { cwd: installed, reject: false });
    expect(run.exitCode, run.stderr).to.equal(0);
  });

  it("a shipped TypeScript script check loads from node_modules (where Node does not strip types itself)", async () => {
    const code = `const { importScript } = await import(new URL("dist/checks/script-import.js", import.meta.resolve("labrun/package.json")).href);
      const mod = await importScript(new URL("scenarios/worker-notready/checks/on-worker.ts", import.meta.resolve("labrun/package.json")).pathname);
      console.log(typeof mod.default);`;
    const run = await execa(process.execPath, ["--input-type=module", "-e", code], { cwd: installed, reject: false });
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal("function");
  });
});
