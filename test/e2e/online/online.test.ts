/**
 * labrun's online path, proven without the internet: distribution's registry
 * (tools/images/registry.sh) runs on kind's docker network holding the images
 * under their public names, as a registry mirror (pull-through cache) would.
 * `labrun start beebox-cni --online --registry-mirror ...` then:
 *
 *   - creates the cluster from kind's node image name (docker.io/kindest/node,
 *     pulled by the host's Docker through the mirror by digest),
 *   - gives every node containerd a hosts.toml for docker.io, registry.k8s.io,
 *     ghcr.io and quay.io pointing at the mirror,
 *   - has the nodes pull the workload, add-on and probe images by digest
 *     (the registry's access log shows containerd fetching them),
 *   - loads nothing from the local Docker (no `kind load`), and records the
 *     lab as online;
 *
 * and after the reference solution (Flannel, pulled through the mirror too)
 * the lab grades full marks.
 *
 * The images pushed are this machine's offline builds (tools/images), so
 * their digests are not the public ones: the test pins what it pushed with
 * $LABRUN_IMAGES_LOCK (a test-only overlay of images.lock.json); the product's
 * pins stay the public ones (an overlay may replace a pinned digest, never
 * drop it: runner/cluster/image-lock.ts). One lab, one registry container;
 * both removed afterwards. Needs Docker, kind, the offline images and the
 * registry image; skipped otherwise.
 *
 * Last it prints time to the first lab side by side (bench/first-lab.ts): the
 * online start measured here against offline from a cold cache, whose build
 * is an estimate from the build's recorded step times; with
 * LABRUN_E2E_OFFLINE_START=1 it also measures an offline start of the same
 * scenario (another cluster, after the online lab is gone).
 *
 *   /work/logs/slot npx mocha --timeout 0 test/e2e/online/online.test.ts
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildEstimate, comparison } from "../../../bench/first-lab.ts";
import { imageLock } from "../../../runner/cluster/image-lock.ts";
import { DEFAULT_KUBERNETES_VERSION } from "../../../runner/cluster/images.ts";
import { createKubeClient } from "../../../runner/cluster/kube.ts";
import { addonVars } from "../../../runner/lab/addons.ts";
import { runSteps } from "../../../runner/lab/steps.ts";
import { KindProvider, resolveKindBinary } from "../../../runner/providers/kind.ts";
import type { Report } from "../../../runner/schema/report.ts";
import { loadScenario } from "../../../runner/scenario/load.ts";
import { NODE_IMAGE, skipWithoutNodeImage } from "../../helpers/node-image.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = path.join(ROOT, "runner/cli/bin.ts");
const REGISTRY_SH = path.join(ROOT, "test/e2e/online/registry.sh");
const LAB = "e2e-online";
const CLUSTER = `labrun-${LAB}`;
const REGISTRY = "labrun-e2e-registry";
const PORT = "5001";
const MIRROR = `http://localhost:${PORT}`;
const MIRROR_NODES = `http://${REGISTRY}:5000`;
/** The public images beebox-cni's nodes pull (its own, the flannel add-on's, the probe), and the node image under kind's name. */
const KIND_NODE = imageLock({}).nodes[DEFAULT_KUBERNETES_VERSION]!.online;

let stateDir: string;
let env: NodeJS.ProcessEnv;
const pushed = new Map<string, string>();
const timings: string[] = [];
const firstLab: { onlineStartS?: number; offlineStartS?: number } = {};
const OFFLINE_LAB = "e2e-online-offline";

function labrun(args: string[]) {
  return execa(process.execPath, [BIN, ...args], { cwd: ROOT, env, reject: false, stdin: "ignore" });
}
function show(r: { command: string; exitCode?: number; stdout: unknown; stderr: unknown }): string {
  return `${r.command} → ${r.exitCode}\n--- stdout\n${String(r.stdout)}\n--- stderr\n${String(r.stderr)}`;
}
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

describe("e2e: the online path through a registry mirror (beebox-cni)", function () {
  this.timeout(0);

  before(async function () {
    await skipWithoutNodeImage(this);
    const registryImage = (await execa(path.join(ROOT, "tools/images/registry.sh"), ["--image-name"])).stdout.trim();
    if ((await execa("docker", ["image", "inspect", registryImage], { reject: false })).exitCode !== 0) {
      console.warn(`skipping: ${registryImage} is not built (tools/images/registry.sh)`);
      this.skip();
    }
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-online-"));
    await timed("registry up", () => execa(REGISTRY_SH, ["up"]));
    const scenario = await loadScenario(path.join(ROOT, "scenarios/beebox-cni"));
    const { imagesFor } = await import("../../../runner/lab/actions/images.ts");
    const images = await imagesFor(scenario.scenario);
    const out = await timed(`push ${images.length} images and the node image`, () => execa(REGISTRY_SH, ["push", ...images, `${NODE_IMAGE}=${KIND_NODE}`]));
    for (const line of out.stdout.trim().split("\n")) {
      const [name, digest] = line.split(" ");
      pushed.set(name!, digest!);
    }
    // What this test pushed, pinned over the public lock (test-only; see the file's comment).
    const lockFile = path.join(stateDir, "images.lock.json");
    await writeFile(
      lockFile,
      JSON.stringify({
        nodes: { [DEFAULT_KUBERNETES_VERSION]: { online: KIND_NODE, onlineDigest: pushed.get(KIND_NODE) } },
        images: images.map((name) => ({ name, digest: pushed.get(name), source: "test/e2e/online: pushed to the local registry" })),
      }),
    );
    env = {
      ...process.env,
      NO_COLOR: "1",
      LABRUN_STATE_DIR: stateDir,
      LABRUN_IMAGES_LOCK: lockFile,
      LABRUN_REGISTRY_MIRROR_NODES: MIRROR_NODES,
      LABRUN_PROBE_DIR: path.join(stateDir, "no-probe-binary"), // the probe too comes from the registry
    };
  });

  after(async function () {
    if (!stateDir) return;
    await labrun(["down", LAB]).catch(() => undefined);
    await labrun(["down", OFFLINE_LAB]).catch(() => undefined);
    const kind = resolveKindBinary();
    await execa(kind, ["delete", "cluster", "--name", CLUSTER, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
    await execa(REGISTRY_SH, ["down"], { reject: false });
    // the node image's mirror reference that kind pulled (the image itself stays: it is the offline node image)
    if (pushed.has(KIND_NODE)) await execa("docker", ["rmi", `localhost:${PORT}/kindest/node@${pushed.get(KIND_NODE)}`], { reject: false });
    await rm(stateDir, { recursive: true, force: true });
    console.log(`    timings:\n${timings.map((t) => `      ${t}`).join("\n")}`);
    const load = (await readFile("/proc/loadavg", "utf8").catch(() => "")).split(" ").slice(0, 3).join(" ");
    console.log(`    time to the first lab (beebox-cni; load average ${load}):\n${comparison({ ...firstLab, build: await buildEstimate(process.env.LABRUN_E2E_BUILD_LOG) }).replace(/^/gm, "      ")}`);
  });

  it("starts the lab online: kind's node image name through the mirror, images pulled by the nodes, nothing loaded from the local Docker", async () => {
    const since = new Date().toISOString();
    const t0 = performance.now();
    const r = await timed("labrun start --online (mirror)", () => labrun(["start", "beebox-cni", "--name", LAB, "--online", "--registry-mirror", MIRROR, "--no-pool", "--debug", "-o", "json"]));
    firstLab.onlineStartS = (performance.now() - t0) / 1000;
    expect(r.exitCode, show(r)).to.equal(0);
    const { lab } = JSON.parse(r.stdout) as { lab: { nodeImage: string; images: { mode: string; reason: string; mirror: string } } };
    expect(lab.images).to.deep.equal({ mode: "online", reason: "asked for (--online)", mirror: MIRROR });
    expect(lab.nodeImage).to.equal(`localhost:${PORT}/kindest/node@${pushed.get(KIND_NODE)}`);
    expect(r.stderr).to.match(/images online via http:\/\/localhost:5001/);
    expect(r.stderr, "no image side-loaded from the local Docker").not.to.match(/kind load|load (docker-image|image-archive)/);
    expect(r.stderr).to.match(/pull \d+ images/);
    expect(r.stderr, "--debug shows the commands run (so the check above can see a kind load)").to.match(/crictl pull docker\.io\/library\/nginx@sha256:/);

    // The nodes' containerd asked the mirror for each image by the pinned digest.
    const logs = await execa("docker", ["logs", "--since", since, REGISTRY], { reject: false });
    const access = `${logs.stdout}\n${logs.stderr}`;
    for (const [name, digest] of pushed) {
      if (name === KIND_NODE) continue;
      const repo = name.replace(/^(docker\.io|ghcr\.io)\//, "").replace(/:[^:/]+$/, "");
      expect(access, `${name} fetched by containerd`).to.match(new RegExp(`GET /v2/${repo}/manifests/${digest}[^"]*"[^\\n]*containerd`));
    }
    // Each node has the image under the name the manifests use, with the pushed digest.
    const nodes = (await execa("docker", ["ps", "--format", "{{.Names}}", "--filter", `label=io.x-k8s.kind.cluster=${CLUSTER}`])).stdout.split("\n").filter(Boolean);
    expect(nodes).to.have.length(2);
    for (const node of nodes) {
      const ls = await execa("docker", ["exec", node, "ctr", "-n", "k8s.io", "images", "ls"]);
      const nginx = ls.stdout.split("\n").find((l) => l.startsWith("docker.io/library/nginx:1.22.1 "));
      expect(nginx, `${node}: nginx:1.22.1 tagged`).to.be.a("string").and.contain(pushed.get("docker.io/library/nginx:1.22.1")!);
      const hosts = await execa("docker", ["exec", node, "cat", "/etc/containerd/certs.d/docker.io/hosts.toml"]);
      expect(hosts.stdout).to.contain(`[host."${MIRROR_NODES}"]`);
    }
  });

  it("after the reference solution (Flannel through the mirror) the lab grades full marks", async () => {
    const loaded = await loadScenario(path.join(ROOT, "scenarios/beebox-cni"));
    const kubeconfig = path.join(stateDir, "labs", LAB, "kubeconfig");
    const kind = new KindProvider({ env });
    const client = createKubeClient({ kubeconfig, nodeRunner: (node, argv, opts) => kind.execOnNode(CLUSTER, node, argv, opts) });
    const cluster = loaded.scenario.spec.cluster;
    try {
      await timed("reference solution", () =>
        runSteps(loaded.scenario.spec.solution.steps, { client, provider: kind, cluster: CLUSTER, scenarioDir: loaded.dir, vars: addonVars(cluster), phase: "solution" }),
      );
    } finally {
      await client.close?.();
    }
    const r = await timed("labrun grade", () => labrun(["grade", LAB, "-o", "json"]));
    expect(r.exitCode, show(r)).to.equal(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.score).to.deep.include({ percent: 100, passed: true });
    expect(report.score.points).to.equal(report.score.maxPoints);
  });

  it("(LABRUN_E2E_OFFLINE_START=1) the same lab offline, for the time-to-first-lab comparison", async function () {
    if (process.env.LABRUN_E2E_OFFLINE_START !== "1") this.skip();
    await labrun(["down", LAB]);
    const t0 = performance.now();
    const r = await timed("labrun start --offline", () => labrun(["start", "beebox-cni", "--name", OFFLINE_LAB, "--offline", "--no-pool", "-o", "json"]));
    firstLab.offlineStartS = (performance.now() - t0) / 1000;
    expect(r.exitCode, show(r)).to.equal(0);
    expect((JSON.parse(r.stdout) as { lab: { images: { mode: string } } }).lab.images.mode).to.equal("offline");
    await labrun(["down", OFFLINE_LAB]);
  });
});
