import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PROBE_IMAGE } from "../../../runner/cluster/images.ts";
import { doctor } from "../../../runner/lab/doctor.ts";
import { GIB, type PreflightProbes } from "../../../runner/lab/preflight.ts";
import { nodeArchitecture } from "../../../runner/lab/probe-image.ts";
import { loadScenario } from "../../../runner/scenario/load.ts";
import { runCli } from "../../helpers/cli.ts";

const SCENARIOS = new URL("../../../scenarios/", import.meta.url).pathname;

function probes(missing: (images: string[]) => string[] = () => []): PreflightProbes & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    docker: async () => ({ ok: true, serverVersion: "27.0" }),
    kind: async () => ({ ok: true, version: "v0.30.0" }),
    memAvailable: async () => 8 * GIB,
    inotify: async () => ({ maxUserInstances: 512, maxUserWatches: 524288 }),
    missingImages: async (images) => (asked.push(images), missing(images)),
  };
}

describe("lab/doctor", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(tmpdir(), "labrun-doctor-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("asks Docker for the node image and the scenarios' images; the probe too when no binary ships", async () => {
    const scenarios = [await loadScenario(path.join(SCENARIOS, "beebox-cni")), await loadScenario(path.join(SCENARIOS, "service-selector"))];
    const p = probes((images) => images.filter((i) => i.includes("nginx")));
    const result = await doctor({ scenarios, env: { LABRUN_PROBE_DIR: path.join(dir, "none") }, probes: p });
    expect(result.images[0]).to.equal("localhost/labrun/kind-node:r2-v1.34.12");
    expect(result.images).to.include(PROBE_IMAGE);
    expect(new Set(result.images).size, "each image once").to.equal(result.images.length);
    expect(result.probe).to.deep.equal({ source: "docker", image: PROBE_IMAGE });
    const images = result.checks.find((c) => c.name === "images")!;
    expect(images.ok).to.equal(false);
    expect(images.error!.message).to.equal("image not available locally: docker.io/library/nginx:1.22.1");
    expect(images.error!.hint).to.contain("npm run images");
  });

  it("with a packaged probe binary, the probe is not asked of Docker", async () => {
    await mkdir(path.join(dir, `linux-${nodeArchitecture()}`), { recursive: true });
    await writeFile(path.join(dir, `linux-${nodeArchitecture()}`, "labrun-probe"), "bin");
    const p = probes();
    const result = await doctor({ scenarios: [await loadScenario(path.join(SCENARIOS, "beebox-cni"))], env: { LABRUN_PROBE_DIR: dir }, probes: p });
    expect(result.probe).to.deep.equal({ source: "package", binary: path.join(dir, `linux-${nodeArchitecture()}`, "labrun-probe") });
    expect(p.asked.flat()).to.not.include(PROBE_IMAGE);
    expect(result.checks.every((c) => c.ok)).to.equal(true);
  });

  it("labrun doctor: a FAIL line and the fix for each missing tool, exit 3; -o json says the same", async () => {
    const env = { LABRUN_DOCKER: path.join(dir, "no-docker"), LABRUN_KIND: path.join(dir, "no-kind"), LABRUN_PROBE_DIR: path.join(dir, "none") };
    const text = await runCli(["doctor", "beebox-cni"], { env });
    expect(text.code, text.stderr).to.equal(3);
    expect(text.stdout).to.match(/^FAIL {2}docker {3}docker is not installed\n {15}fix: install Docker/m);
    expect(text.stdout).to.match(/^FAIL {2}kind {5}kind is not installed\n {15}fix: install kind v0\.30\.0/m);
    expect(text.stdout).to.contain("not ready: fix the FAIL lines above");
    const json = await runCli(["doctor", "beebox-cni", "-o", "json"], { env });
    expect(json.code).to.equal(3);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; checks: { name: string; ok: boolean; fix?: string }[] };
    expect(parsed.ok).to.equal(false);
    expect(parsed.checks.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal(["docker", "kind"]);
    expect(parsed.checks.find((c) => c.name === "kind")!.fix).to.contain("go install sigs.k8s.io/kind@v0.30.0");
  });
});
