import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { LabEvent } from "../../../../runner/lab/events.ts";
import { down } from "../../../../runner/lab/down.ts";
import { gc } from "../../../../runner/lab/gc.ts";
import { fill } from "../../../../runner/lab/pool/fill.ts";
import { drain, poolStatus } from "../../../../runner/lab/pool/manage.ts";
import { shapeOf } from "../../../../runner/lab/pool/shape.ts";
import { PoolStore } from "../../../../runner/lab/pool/store.ts";
import { GIB } from "../../../../runner/lab/preflight.ts";
import { start, type StartOptions } from "../../../../runner/lab/start.ts";
import { LabStore } from "../../../../runner/lab/state.ts";
import { KindProvider } from "../../../../runner/providers/kind.ts";
import { loadScenario } from "../../../../runner/scenario/load.ts";
import { fakeRunner } from "../../providers/fake-runner.ts";
import { runCli } from "../../../helpers/cli.ts";
import { fakeClient, node } from "../fakes.ts";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SCENARIO = path.join(ROOT, "scenarios/beebox-cni/");
const BROKEN = ["nodes-ready", "cni-configured", "coredns-running", "workloads-running", "http-by-ip", "pod-dns", "http-by-dns", "pod-network"];
const IMAGES = ["docker.io/library/nginx:1.22.1", "docker.io/curlimages/curl:7.88.1", "ghcr.io/labrun/probe:v0.2.0", "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1", "ghcr.io/flannel-io/flannel:v0.28.10"];
const probes = (mem = 8 * GIB) => ({
  docker: async () => ({ ok: true as const, serverVersion: "20.10" }),
  kind: async () => ({ ok: true as const, version: "v0.30.0" }),
  memAvailable: async () => mem,
  inotify: async () => ({ maxUserInstances: 512, maxUserWatches: 524288 }),
  missingImages: async () => [],
});

describe("lab/pool: the warm pool (fake kind and cluster)", () => {
  let dir: string;
  let store: LabStore;
  let pool: PoolStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-pool-"));
    store = new LabStore({ dir });
    pool = new PoolStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Fake kind (clusters listed by `kind get clusters` as created) and one fake cluster for every client. */
  function world(rules: Parameters<typeof fakeRunner>[0] = []) {
    // kind create writes the cluster's kubeconfig, as kind does.
    const create = async (call: { args: string[] }) => {
      await writeFile(call.args[call.args.indexOf("--kubeconfig") + 1]!, `# kubeconfig of ${call.args[call.args.indexOf("--name") + 1]}\n`);
      return {};
    };
    const fake = fakeRunner([...rules, [/readyz/, { stdout: "ok" }], ["kind get clusters", { stdout: "" }], ["kind create", create], [/^docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-pool-/, { stdout: "c1\n" }], [/^docker ps -q --filter label=io.x-k8s.kind.cluster=labrun-pool-\S+ --filter status=running$/, { stdout: "c1\nc2\n" }]]);
    const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker", pollMs: 1 });
    const cluster = fakeClient([node("n-control-plane", false, true), node("n-worker")]);
    const apply = cluster.client.apply.bind(cluster.client);
    cluster.client.apply = async (object, options) => apply({ ...object, status: { phase: "Pending" } }, options);
    const events: LabEvent[] = [];
    const common = { store, kind, clientFactory: async () => cluster.client, env: {}, onEvent: (e: LabEvent) => events.push(e) };
    const startOptions = (over: Partial<StartOptions> = {}): StartOptions => ({ ...common, scenario: SCENARIO, probes: probes(), gradeFailing: async () => BROKEN, settleMs: 0, pool: true, ...over });
    return { fake, kind, cluster, events, common, startOptions };
  }

  it("shape: one key for one kind config and node image, whatever the scenario; a different config is another shape", async () => {
    const a = (await loadScenario(SCENARIO)).scenario.spec.cluster;
    const key = shapeOf(a, {}).key;
    expect(key).to.match(/^[0-9a-f]{12}$/);
    expect(shapeOf(structuredClone(a), {}).key).to.equal(key);
    expect(shapeOf({ ...a, networking: { ...a.networking, defaultCNI: true } }, {}).key).not.to.equal(key);
    expect(shapeOf({ ...a, nodes: [{ role: "control-plane" }] }, {}).key).not.to.equal(key);
    expect(shapeOf(a, { LABRUN_NODE_IMAGE: "other/node:v1" }).key).not.to.equal(key);
  });

  it("fill: creates clusters of the shape with the scenario's images, marked in the pool's directory, until the size is reached", async () => {
    const w = world();
    const result = await fill({ ...w.common, scenario: SCENARIO, size: 2, probes: probes() });
    expect(result.created).to.have.length(2);
    expect(result.live).to.equal(2);
    const entries = await pool.list();
    expect(entries.map((e) => [e.cluster, e.state, e.images])).to.deep.equal(result.created.map((c) => [c, "ready", IMAGES]));
    const creates = w.fake.calls.filter((c) => c.args[0] === "create");
    expect(creates.map((c) => c.args.join(" "))).to.deep.equal(entries.map((e) => `create cluster --name ${e.cluster} --image localhost/labrun/kind-node:r2-v1.34.12 --config - --kubeconfig ${pool.kubeconfigPath(e.id)} --retain`));
    const config = parse(creates[0]!.options.input!) as { nodes: { extraMounts: { hostPath: string }[] }[] };
    expect(config.nodes[0]!.extraMounts[0]!.hostPath).to.equal(pool.markDir(entries[0]!.id));
    expect(w.fake.lines().filter((l) => l.startsWith("kind load"))).to.deep.equal(entries.map((e) => `kind load docker-image --name ${e.cluster} ${IMAGES.join(" ")}`));
    expect(await pool.targets()).to.deep.equal({ [result.shape]: { size: 2, scenarioDir: path.resolve(SCENARIO).replace(/\/$/, "") } });
    // Full: a second fill makes nothing.
    const again = await fill({ ...w.common, scenario: SCENARIO, size: 2, probes: probes() });
    expect(again.created).to.deep.equal([]);
    expect((await poolStatus({ store })).map(({ ready, warming, claimed, target }) => ({ ready, warming, claimed, target }))).to.deep.equal([{ ready: 2, warming: 0, claimed: 0, target: 2 }]);
  });

  it("fill once: exactly one more cluster whatever the pool holds (labrun test's warm-ahead), and no size remembered", async () => {
    const w = world();
    await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes(), remember: false });
    const one = await fill({ ...w.common, scenario: SCENARIO, size: 20, once: true, remember: false, probes: probes() });
    expect(one.created).to.have.length(1);
    expect(one.live).to.equal(2);
    expect(await pool.targets()).to.deep.equal({});
  });

  it("fill with extra images (serve's toolbox): loaded from the local Docker after the scenario's, recorded on the entry; a drain by ids takes only those", async () => {
    const w = world();
    const toolbox = "localhost/labrun/toolbox:v1.34.12";
    const other = await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes(), remember: false });
    const mine = await fill({ ...w.common, scenario: SCENARIO, size: 2, probes: probes(), remember: false, extraImages: [toolbox] });
    const [cluster] = mine.created;
    expect(w.fake.lines().filter((l) => l.startsWith(`kind load docker-image --name ${cluster}`))).to.deep.equal([`kind load docker-image --name ${cluster} ${IMAGES.join(" ")}`, `kind load docker-image --name ${cluster} ${toolbox}`]);
    const id = cluster!.replace("labrun-pool-", "");
    expect((await pool.get(id))!.images).to.deep.equal([...IMAGES, toolbox]);
    expect((await pool.takeForDrain(undefined, [id])).map((e) => e.cluster)).to.deep.equal([cluster]);
    expect((await pool.list()).map((e) => [e.cluster, e.state]).sort()).to.deep.equal([[cluster, "draining"], [other.created[0], "ready"]].sort());
  });

  it("fill: stops with a warning when the host would have no memory left for a lab; a failed create leaves no entry", async () => {
    const w = world([["kind create", { exitCode: 1, stderr: "boom" }]]);
    const low = await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes(3 * GIB) });
    expect(low.created).to.deep.equal([]);
    expect(low.stopped).to.contain("3.0 GiB free");
    expect(w.events.some((e) => e.type === "warning" && e.message.startsWith("pool fill stopped at 0 of 1"))).to.equal(true);
    expect(w.fake.lines().some((l) => l.startsWith("kind create"))).to.equal(false);
    const error = await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes() }).catch((e: unknown) => e as Error);
    expect(error).to.be.instanceOf(Error);
    expect(w.fake.lines().some((l) => l.startsWith("kind delete cluster --name labrun-pool-"))).to.equal(true);
    expect(await pool.list()).to.deep.equal([]);
  });

  it("start --pool: claims the ready cluster (no create, no image load, no host checks), the lab points at it; down removes it and its entry", async () => {
    const w = world();
    const [made] = (await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes() })).created;
    const before = w.fake.calls.length;
    const result = await start(w.startOptions({ probes: { ...probes(), memAvailable: async () => 0 } })); // a claim needs no new memory
    const lines = w.fake.lines().slice(before);
    expect(lines.filter((l) => /^kind (create|load)/.test(l))).to.deep.equal([]);
    expect(result.lab).to.include({ name: "beebox-cni", cluster: made, context: `kind-${made}`, status: "ready" });
    const entry = (await pool.list())[0]!;
    expect(result.lab.pool).to.deep.equal({ id: entry.id, shape: entry.shape });
    expect(entry).to.include({ state: "claimed", claimedBy: "beebox-cni" });
    expect(await readFile(result.lab.kubeconfig, "utf8")).to.equal(`# kubeconfig of ${made}\n`);
    const ends = w.events.filter((e) => e.type === "step-end").slice(-5) as Extract<LabEvent, { type: "step-end" }>[];
    expect(ends.map((e) => [e.phase, e.name, e.detail])).to.deep.include.members([["cluster", "claim a warm cluster", made]]);
    expect(ends.map((e) => e.phase)).to.not.include("preflight");
    await down({ store, kind: w.kind, name: "beebox-cni" });
    expect(w.fake.lines()).to.include(`kind delete cluster --name ${made} --kubeconfig ${result.lab.kubeconfig}`);
    expect(await pool.list()).to.deep.equal([]);
  });

  it("start --pool: a pool cluster whose nodes stopped is deleted, not handed over; the start creates a cluster instead", async () => {
    const w = world([[/--filter status=running$/, { stdout: "c1\n" }]]); // one of two nodes runs
    const [dead] = (await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes() })).created;
    const result = await start(w.startOptions());
    expect(result.lab.cluster).to.equal("labrun-beebox-cni");
    expect(w.fake.lines()).to.include(`kind delete cluster --name ${dead} --kubeconfig ${path.join(dir, "pool", dead!.replace("labrun-pool-", ""), "kubeconfig")}`);
    expect(w.events.some((e) => e.type === "warning" && e.message === `warm pool cluster ${dead} does not run (1 of 2 nodes); deleting it`)).to.equal(true);
    expect(await pool.list()).to.deep.equal([]);
  });

  it("start --pool with nothing ready creates a cluster as usual; without --pool a ready cluster is left alone", async () => {
    const w = world();
    const cold = await start(w.startOptions({ name: "cold" }));
    expect(cold.lab.cluster).to.equal("labrun-cold");
    expect(cold.lab).not.to.have.property("pool");
    await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes() });
    const plain = await start(w.startOptions({ name: "plain", pool: false }));
    expect(plain.lab.cluster).to.equal("labrun-plain");
    expect((await pool.list())[0]!.state).to.equal("ready");
  });

  it("a failed start after the claim deletes the claimed cluster and its entry; a failure before the lab is recorded puts the claim back", async () => {
    const w = world();
    await fill({ ...w.common, scenario: SCENARIO, size: 1, probes: probes() });
    const badMerge = path.join(dir, "bad.yaml");
    await writeFile(badMerge, "a: [");
    const early = (await start(w.startOptions({ mergeKubeconfig: badMerge })).then(() => undefined, (e: unknown) => e)) as Error;
    expect(early.message).to.contain("is not valid YAML");
    expect((await pool.list()).map((e) => [e.state, e.claimedBy])).to.deep.equal([["ready", undefined]]);
    const cluster = (await pool.list())[0]!.cluster;
    const error = (await start(
      w.startOptions({
        gradeFailing: async () => {
          throw new Error("the grade failed");
        },
      }),
    ).then(() => undefined, (e: unknown) => e)) as Error;
    expect(error.message).to.equal("the grade failed");
    expect(w.fake.lines()).to.include(`kind delete cluster --name ${cluster} --kubeconfig ${store.kubeconfigPath("beebox-cni")}`);
    expect(await pool.list()).to.deep.equal([]);
    expect(await store.list()).to.deep.equal([]);
  });

  it("claims are exclusive across processes: four concurrent claimers, two ready clusters, two distinct winners", async function () {
    this.timeout(60_000); // four Node processes on a busy 2-core machine
    const base = { shape: "abcdef123456", scenario: "s", nodeImage: "i", nodes: 2, images: [] };
    for (let i = 0; i < 2; i++) {
      const e = (await pool.reserve(base, 2))!;
      await pool.update(e.id, (x) => {
        x.state = "ready";
        delete x.pid;
      });
    }
    expect(await pool.reserve(base, 2), "full: no third reservation").to.equal(undefined);
    const script = `import { PoolStore } from ${JSON.stringify(path.join(ROOT, "runner/lab/pool/store.ts"))};
      const e = await new PoolStore(process.argv[1]).claim("abcdef123456", process.argv[2]);
      process.stdout.write(e ? e.id : "none");`;
    const runs = await Promise.all([1, 2, 3, 4].map((n) => execa(process.execPath, ["--input-type=module", "-e", script, dir, `lab${n}`])));
    const won = runs.map((r) => r.stdout).filter((s) => s !== "none");
    expect(won).to.have.length(2);
    expect(new Set(won).size).to.equal(2);
    const claimed = await pool.list();
    expect(claimed.every((e) => e.state === "claimed")).to.equal(true);
    expect(new Set(claimed.map((e) => e.claimedBy)).size).to.equal(2);
  });

  it("gc: keeps ready pool clusters and those a live lab claimed; deletes a dead fill's and an orphaned claim's; forgets entries whose cluster is gone", async () => {
    const base = { shape: "abcdef123456", scenario: "s", nodeImage: "i", nodes: 1, images: [] };
    const mk = async (state: "ready" | "warming" | "claimed", extra: { pid?: number; claimedBy?: string } = {}) => {
      const e = (await pool.reserve(base, 10))!;
      return (await pool.update(e.id, (x) => {
        x.state = state;
        delete x.pid;
        Object.assign(x, extra);
      }))!;
    };
    const ready = await mk("ready");
    const deadFill = await mk("warming", { pid: 999_999_999 });
    const owned = await mk("claimed", { claimedBy: "mine" });
    const orphan = await mk("claimed", { claimedBy: "gone" });
    const noCluster = await mk("ready");
    await store.create({ name: "mine", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: owned.cluster, context: `kind-${owned.cluster}`, status: "ready", pool: { id: owned.id, shape: owned.shape } });
    const running = [ready, deadFill, owned, orphan];
    const fake = fakeRunner([
      ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
      ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: running.map((_, i) => `${i}\n`).join("") }],
      ["docker inspect", { stdout: running.map((e, i) => `${i}\t/${e.cluster}-control-plane\t${e.cluster}\trunning\t${pool.markDir(e.id)}|/kind/labrun;`).join("\n") }],
    ]);
    const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker" });
    const result = await gc({ store, kind });
    expect(result.clusters.sort()).to.deep.equal([deadFill.cluster, orphan.cluster].sort());
    expect(result.pool.sort()).to.deep.equal([deadFill.id, orphan.id, noCluster.id].sort());
    expect(result.kept).to.deep.equal([]);
    expect((await pool.list()).map((e) => e.id).sort()).to.deep.equal([ready.id, owned.id].sort());
    expect(fake.lines()).to.include(`kind delete cluster --name ${deadFill.cluster} --kubeconfig ${pool.kubeconfigPath(deadFill.id)}`);
    expect((await store.list()).map((l) => l.name)).to.deep.equal(["mine"]);
  });

  it("drain: deletes the ready clusters, leaves claimed ones, and forgets the size so nothing refills", async () => {
    const w = world();
    await fill({ ...w.common, scenario: SCENARIO, size: 2, probes: probes() });
    await start(w.startOptions());
    const deleted = await drain({ store, kind: w.kind });
    expect(deleted).to.have.length(1);
    expect(w.fake.lines()).to.include(`kind delete cluster --name ${deleted[0]} --kubeconfig ${path.join(dir, "pool", deleted[0]!.replace("labrun-pool-", ""), "kubeconfig")}`);
    expect((await pool.list()).map((e) => e.state)).to.deep.equal(["claimed"]);
    expect(await pool.targets()).to.deep.equal({});
  });

  it("status: `labrun status` and `labrun pool status` show the pool by shape; a bad size is a usage error", async () => {
    const e = (await pool.reserve({ shape: "abcdef123456", scenario: "beebox-cni", nodeImage: "i", nodes: 2, images: [] }, 2))!;
    await pool.update(e.id, (x) => {
      x.state = "ready";
      delete x.pid;
    });
    await pool.reserve({ shape: "abcdef123456", scenario: "beebox-cni", nodeImage: "i", nodes: 2, images: [] }, 2); // warming, by this live process
    await pool.setTarget("abcdef123456", { size: 2, scenarioDir: SCENARIO });
    const env = { LABRUN_STATE_DIR: dir };
    const text = await runCli(["status"], { env });
    expect(text.code).to.equal(0);
    expect(text.stdout).to.equal("warm pool abcdef123456 (beebox-cni): 1 ready, 1 warming, size 2\n");
    const json = await runCli(["pool", "status", "-o", "json"], { env });
    const [shape] = JSON.parse(json.stdout) as { shape: string; target: number; ready: number; warming: number; claimed: number }[];
    expect(shape).to.include({ shape: "abcdef123456", target: 2, ready: 1, warming: 1, claimed: 0 });
    const bad = await runCli(["pool", "fill", "--scenario", "beebox-cni", "--size", "many"], { env });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--size must be a whole number (got "many")');
    expect((await runCli(["pool", "refill"], { env })).stderr).to.contain('unknown pool action "refill"');
  });
});
