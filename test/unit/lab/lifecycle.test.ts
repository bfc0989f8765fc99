import { FakeClock } from "../../helpers/fake-clock.ts";
import { expect } from "chai";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { InfraError, InterruptedError, UsageError } from "../../../runner/errors.ts";
import type { LabEvent } from "../../../runner/lab/events.ts";
import { down } from "../../../runner/lab/down.ts";
import { gc } from "../../../runner/lab/gc.ts";
import { start, type StartOptions } from "../../../runner/lab/start.ts";
import { status } from "../../../runner/lab/status.ts";
import { PROBE_IMAGE, PROBE_SECURITY_CONTEXT } from "../../../checks/probe.ts";
import { addEphemeral, FakeCluster, pod as probePod } from "../checks/fakes.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { loadScenario } from "../../../runner/scenario/load.ts";
import { fakeRunner } from "../providers/fake-runner.ts";
import { fakeClient, goodProbes, node, pod } from "./fakes.ts";
import { nodeArchitecture } from "../../../runner/lab/probe-image.ts";
import { untar } from "../../helpers/untar.ts";

const SCENARIO = new URL("../../../scenarios/beebox-cni/", import.meta.url).pathname;
const BROKEN = ["nodes-ready", "cni-configured", "coredns-running", "workloads-running", "http-by-ip", "pod-dns", "http-by-dns", "pod-network"];

describe("lab/lifecycle (fake kind and cluster)", () => {
  let dir: string;
  let store: LabStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-life-"));
    store = new LabStore({ dir });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A fake world: kind commands scripted, a cluster whose pods the workloads' apply creates Pending. */
  function world(rules: Parameters<typeof fakeRunner>[0] = []) {
    const fake = fakeRunner([
      ...rules,
      [/readyz/, { stdout: "ok" }],
      ["kind get clusters", { stdout: "" }],
    ]);
    const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker", pollMs: 1 });
    const cluster = fakeClient([node("labrun-beebox-cni-control-plane", false, true), node("labrun-beebox-cni-worker")]);
    const apply = cluster.client.apply.bind(cluster.client);
    cluster.client.apply = async (object, options) => apply({ ...object, status: { phase: "Pending" } }, options);
    const events: LabEvent[] = [];
    const options = (over: Partial<StartOptions> = {}): StartOptions => ({
      scenario: SCENARIO,
      store,
      kind,
      probes: goodProbes,
      clientFactory: async () => cluster.client,
      gradeFailing: async () => BROKEN,
      onEvent: (e) => events.push(e),
      env: { LABRUN_PROBE_DIR: path.join(dir, "no-probe") }, // no packaged probe: every image from Docker
      settleMs: 0,
      guard: { intervalMs: 3_600_000 }, // no periodic look: these tests pin every command line (start-guard.test.ts tests the guard)
      ...over,
    });
    return { fake, kind, cluster, events, options };
  }

  it("start: preflight, create with the lab's kubeconfig, load images, setup, verify; the lab is ready", async () => {
    const w = world();
    const result = await start(w.options());
    const kubeconfig = path.join(dir, "labs", "beebox-cni", "kubeconfig");
    expect(w.fake.lines()).to.deep.equal([
      "kind get clusters",
      `kind create cluster --name labrun-beebox-cni --image localhost/labrun/kind-node:r2-v1.34.12 --config - --kubeconfig ${kubeconfig} --retain`,
      "docker exec labrun-beebox-cni-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw=/readyz",
      "docker image inspect --format {{.Id}} docker.io/library/nginx:1.22.1 docker.io/curlimages/curl:7.88.1 ghcr.io/labrun/probe:v0.2.0 ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1 ghcr.io/flannel-io/flannel:v0.28.10",
      "docker ps -a --filter label=io.x-k8s.kind.cluster=labrun-beebox-cni --format {{.Label \"labrun.images\"}}|",
      "kind load docker-image --name labrun-beebox-cni docker.io/library/nginx:1.22.1 docker.io/curlimages/curl:7.88.1 ghcr.io/labrun/probe:v0.2.0 ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1 ghcr.io/flannel-io/flannel:v0.28.10",
    ]);
    const config = parse(w.fake.calls[1]!.options.input!) as { nodes: { extraMounts: { hostPath: string }[] }[]; networking: unknown };
    expect(config.networking).to.deep.equal({ disableDefaultCNI: true, podSubnet: "192.168.0.0/16" });
    expect(config.nodes[0]!.extraMounts[0]!.hostPath).to.equal(path.join(dir, "labs", "beebox-cni", "mark"));
    expect(result.lab).to.include({ name: "beebox-cni", status: "ready", cluster: "labrun-beebox-cni", context: "kind-labrun-beebox-cni", provider: "kind", kubeconfig });
    expect(result.lab).not.to.have.property("pid");
    expect(result.nodes.map((n) => n.name)).to.deep.equal(["labrun-beebox-cni-control-plane", "labrun-beebox-cni-worker"]);
    expect(result.brokenVerified).to.equal(true);
    expect(result.task).to.contain("BeeBox");
    expect(w.cluster.applied.map((a) => a.object.metadata.name)).to.deep.equal(["cyberdyne-frontend", "testclient"]);
    const ends = w.events.filter((e) => e.type === "step-end") as Extract<LabEvent, { type: "step-end" }>[];
    expect(ends.map((e) => [e.phase, e.name, e.status])).to.deep.equal([
      ["preflight", "check the host", "ok"],
      ["cluster", "create cluster labrun-beebox-cni", "ok"],
      ["cluster", "nodes registered", "ok"],
      ["images", "load 5 images", "ok"],
      ["setup", "deploy the BeeBox workloads", "ok"],
      ["setup", "workload pods exist and are Pending", "ok"],
      ["verify", "verify the broken state", "ok"],
    ]);
    for (const e of ends) expect(e.durationMs).to.be.a("number");
    expect((await store.require("beebox-cni")).status).to.equal("ready");
  });

  it("start: --name runs labs side by side under distinct clusters; a taken name is a UsageError", async () => {
    const w = world();
    await start(w.options({ name: "one" }));
    expect(w.fake.lines()[1]).to.contain("--name labrun-one");
    const error = await start(w.options({ name: "one" })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as UsageError).message).to.equal('lab "one" already exists');
  });

  it("start: refuses when a kind cluster of that name exists without a lab", async () => {
    const w = world([["kind get clusters", { stdout: "labrun-beebox-cni\n" }]]);
    const error = (await start(w.options()).catch((e: unknown) => e)) as UsageError;
    expect(error).to.be.instanceOf(UsageError);
    expect(error.hint).to.contain("labrun gc");
    expect(w.fake.lines().filter((l) => l.startsWith("kind delete") || l.startsWith("kind create")), "nothing created, nothing deleted").to.deep.equal([]);
    expect(await store.list()).to.deep.equal([]);
  });

  it("start: a preflight failure creates nothing", async () => {
    const w = world();
    const error = (await start(w.options({ probes: { ...goodProbes, inotify: async () => ({ maxUserInstances: 128, maxUserWatches: 8192 }) } })).catch((e: unknown) => e)) as InfraError;
    expect(error.code).to.equal("PREFLIGHT_INOTIFY");
    expect(w.fake.calls).to.have.length(0);
    expect(await store.list()).to.deep.equal([]);
  });

  it("start: a kind create that fails (kubeadm's deadline on a starved machine) is deleted and run once more; a second failure ends the start", async () => {
    let creates = 0;
    const w = world([["kind create cluster", () => (++creates === 1 ? { exitCode: 1, stderr: "ERROR: failed to create cluster: could not bootstrap the admin user" } : {})]]);
    const result = await start(w.options());
    expect(result.lab.status).to.equal("ready");
    const kindLines = w.fake.lines().filter((l) => l.startsWith("kind create") || l.startsWith("kind delete"));
    expect(kindLines.map((l) => l.split(" --")[0])).to.deep.equal(["kind create cluster", "kind delete cluster", "kind create cluster"]);
    expect(w.events.some((e) => e.type === "log" && e.line.includes("trying once more"))).to.equal(true);

    creates = 0;
    const always = world([["kind create cluster", () => (creates++, { exitCode: 1, stderr: "ERROR: failed to create cluster" })]]);
    const error = (await start(always.options({ name: "again" })).catch((e: unknown) => e)) as Error;
    expect(error).to.be.instanceOf(Error);
    expect(creates).to.equal(2);
  });

  it("start: a failing step deletes the half-made cluster and forgets the lab", async () => {
    const w = world();
    w.cluster.client.apply = async () => {
      throw new Error("admission webhook denied the request");
    };
    const error = (await start(w.options()).catch((e: unknown) => e)) as InfraError;
    expect(error.message).to.equal('setup step "deploy the BeeBox workloads" failed: admission webhook denied the request');
    expect(w.fake.lines().slice(-3)).to.deep.equal([
      `kind delete cluster --name labrun-beebox-cni --kubeconfig ${path.join(dir, "labs", "beebox-cni", "kubeconfig")}`,
      "docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-beebox-cni",
      "docker ps -aq --filter label=dev.labrun.outside-of=labrun-beebox-cni",
    ]);
    expect(await store.list()).to.deep.equal([]);
    expect(w.events.at(-1)).to.include({ type: "step-end", phase: "cleanup", name: "delete cluster labrun-beebox-cni", status: "ok" });
  });

  it("start: with --retain a failure keeps the cluster and records why", async () => {
    const w = world();
    w.cluster.client.apply = async () => {
      throw new Error("boom");
    };
    await start(w.options({ retain: true })).catch(() => undefined);
    expect(w.fake.lines()[1]).to.match(/ --retain$/);
    expect(w.fake.lines().some((l) => l.startsWith("kind delete"))).to.equal(false);
    const lab = await store.require("beebox-cni");
    expect(lab.status).to.equal("failed");
    expect(lab.error).to.contain("boom");
  });

  it("start: Ctrl-C during create deletes the half-made cluster and ends with InterruptedError", async () => {
    const controller = new AbortController();
    const w = world([
      [
        "kind create",
        (call) =>
          new Promise((resolve) => {
            call.options.signal!.addEventListener("abort", () => resolve({ exitCode: null, aborted: true }));
            setTimeout(() => controller.abort("SIGINT"), 10);
          }),
      ],
    ]);
    const error = await start(w.options({ signal: controller.signal })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InterruptedError);
    expect(w.fake.lines().some((l) => l.startsWith("kind delete cluster --name labrun-beebox-cni"))).to.equal(true);
    expect(await store.list()).to.deep.equal([]);
  });

  it("start: a lab that is not broken as declared is refused (and cleaned up)", async () => {
    const w = world();
    const clock = new FakeClock();
    let grades = 0;
    const error = (await start(w.options({ clock, gradeFailing: async () => (grades++, ["nodes-ready", "cni-configured", "surprise"]) })).catch((e: unknown) => e)) as InfraError;
    expect(error.code).to.equal("BROKEN_STATE_MISMATCH");
    // regraded every 2 s for 30 s before giving up (the break may take effect late)
    expect(grades).to.equal(16);
    expect(clock.now()).to.equal(30_000);
    expect(error.output).to.contain("passing but listed in broken.failing: coredns-running").and.contain("failing but not listed in broken.failing: surprise");
    expect(await store.list()).to.deep.equal([]);
  });

  it("start: a break that takes effect late is waited for (a policy enforced a few seconds after it is applied)", async () => {
    const w = world();
    const clock = new FakeClock();
    const states = [["nodes-ready", "cni-configured"], ["nodes-ready", "cni-configured"], BROKEN];
    let grades = 0;
    const result = await start(w.options({ clock, gradeFailing: async () => states[Math.min(grades++, states.length - 1)]! }));
    expect(result.brokenVerified).to.equal(true);
    expect(grades).to.equal(3);
    expect(clock.now()).to.equal(4_000);
  });

  it("start: verifyBroken false hands over without grading", async () => {
    const w = world();
    const loaded = await loadScenario(SCENARIO);
    let graded = false;
    const result = await start(w.options({ scenario: loaded, verifyBroken: false, gradeFailing: async () => ((graded = true), []) }));
    expect(graded).to.equal(false);
    expect(result.brokenVerified).to.equal(false);
    expect(w.events.some((e) => e.type === "step-end" && e.phase === "verify")).to.equal(false);
  });

  it("start: with a packaged probe binary, the probe image is written as an archive and loaded with kind load image-archive", async () => {
    let archive: Buffer | undefined;
    const w = world([[/kind load image-archive/, async (call) => ((archive = await readFile(call.args.at(-1)!)), {})]]);
    const probeDir = path.join(dir, "probe");
    await mkdir(path.join(probeDir, `linux-${nodeArchitecture()}`), { recursive: true });
    await writeFile(path.join(probeDir, `linux-${nodeArchitecture()}`, "labrun-probe"), "#!fake probe");
    await start(w.options({ env: { LABRUN_PROBE_DIR: probeDir }, probes: { ...goodProbes, missingImages: async (images) => images.filter((i) => i === PROBE_IMAGE) } }));
    const lines = w.fake.lines();
    expect(lines.slice(3, 6)).to.deep.equal([
      "docker image inspect --format {{.Id}} docker.io/library/nginx:1.22.1 docker.io/curlimages/curl:7.88.1 ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1 ghcr.io/flannel-io/flannel:v0.28.10",
      "docker ps -a --filter label=io.x-k8s.kind.cluster=labrun-beebox-cni --format {{.Label \"labrun.images\"}}|",
      "kind load docker-image --name labrun-beebox-cni docker.io/library/nginx:1.22.1 docker.io/curlimages/curl:7.88.1 ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1 ghcr.io/flannel-io/flannel:v0.28.10",
    ]);
    expect(lines[6]).to.match(/^kind load image-archive --name labrun-beebox-cni \S+probe\.tar$/);
    const files = untar(archive!);
    expect(JSON.parse(files.find((f) => f.path === "manifest.json")!.data.toString())[0].RepoTags).to.deep.equal([PROBE_IMAGE]);
    const layer = untar(files.find((f) => f.path.startsWith("blobs/") && f.data.length > 1024)!.data);
    expect(layer.find((f) => f.path === "usr/local/bin/labrun-probe")!.data.toString()).to.equal("#!fake probe");
  });

  it("start: images load while kind starts the cluster when kind reports its nodes prepared", async () => {
    const w = world([
      [
        "kind create",
        async (call) => {
          call.options.onLine?.(" ✓ Preparing nodes 📦 📦  ");
          await new Promise((r) => setTimeout(r, 20));
          return {};
        },
      ],
    ]);
    await start(w.options());
    const lines = w.fake.lines();
    expect(lines.findIndex((l) => l.startsWith("kind load"))).to.be.lessThan(lines.findIndex((l) => l.includes("readyz")));
    const load = w.events.find((e) => e.type === "step-end" && e.phase === "images") as Extract<LabEvent, { type: "step-end" }>;
    expect(load.detail).to.contain("(while the cluster started)");
    expect(lines.filter((l) => l.startsWith("kind load"))).to.have.length(1);
  });

  it("start --merge-kubeconfig adds a labrun-<lab> context without switching an existing current-context", async () => {
    const w = world([
      [
        "kind create",
        async (call) => {
          const file = call.args[call.args.indexOf("--kubeconfig") + 1]!;
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(
            file,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kind-labrun-beebox-cni\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: kind-labrun-beebox-cni\n  user: {token: t}\ncontexts:\n- name: kind-labrun-beebox-cni\n  context: {cluster: kind-labrun-beebox-cni, user: kind-labrun-beebox-cni}\ncurrent-context: kind-labrun-beebox-cni\n",
          );
          return {};
        },
      ],
    ]);
    const mine = path.join(dir, "home-kubeconfig");
    await writeFile(mine, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\ncurrent-context: prod\n");
    const result = await start(w.options({ mergeKubeconfig: mine }));
    expect(result.merged).to.deep.equal({ file: mine, context: "labrun-beebox-cni" });
    const merged = parse(await readFile(mine, "utf8")) as { contexts: { name: string; context: { cluster: string } }[]; "current-context": string };
    expect(merged["current-context"]).to.equal("prod");
    expect(merged.contexts).to.deep.equal([{ name: "labrun-beebox-cni", context: { cluster: "labrun-beebox-cni", user: "labrun-beebox-cni" } }]);
    await down({ name: "beebox-cni", store, kind: w.kind });
    const after = parse(await readFile(mine, "utf8")) as { contexts: unknown[] };
    expect(after.contexts).to.deep.equal([]);
  });

  it("start interrupted after --merge-kubeconfig merged: its cleanup removes the context, and the record named it before the merge (for gc)", async () => {
    const controller = new AbortController();
    const kubeconfigYaml =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: kind-labrun-beebox-cni\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: kind-labrun-beebox-cni\n  user: {token: t}\ncontexts:\n- name: kind-labrun-beebox-cni\n  context: {cluster: kind-labrun-beebox-cni, user: kind-labrun-beebox-cni}\ncurrent-context: kind-labrun-beebox-cni\n";
    const w = world([
      [
        "kind create",
        async (call) => {
          const file = call.args[call.args.indexOf("--kubeconfig") + 1]!;
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, kubeconfigYaml);
          return {};
        },
      ],
    ]);
    const mine = path.join(dir, "home-kubeconfig-2");
    await writeFile(mine, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\ncurrent-context: prod\n");
    let recorded: unknown;
    const error = await start(
      w.options({
        mergeKubeconfig: mine,
        signal: controller.signal,
        onEvent: (e) => {
          // Ctrl-C right after the merge, before the lab is marked ready.
          if (e.type === "step-end" && e.name.startsWith("merge context")) {
            void store.get("beebox-cni").then((r) => (recorded = r?.merged));
            controller.abort("SIGINT");
            throw new Error("a listener's bug must not fail the step");
          }
        },
      }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InterruptedError);
    expect(recorded).to.deep.equal({ file: mine, context: "labrun-beebox-cni" });
    const after = parse(await readFile(mine, "utf8")) as { contexts: unknown[] };
    expect(after.contexts, "the merged context is removed").to.deep.equal([]);
    expect(await store.list()).to.deep.equal([]);
  });

  it("down removes a lab whose record is corrupt (as its error's hint says), and its cluster found by labrun's mark", async () => {
    const w = world();
    await mkdir(store.labDir("broken-rec"), { recursive: true });
    await writeFile(store.recordPath("broken-rec"), "{ not json");
    const hint = (await store.get("broken-rec").catch((e: unknown) => e)) as InfraError;
    expect(hint.hint).to.contain("labrun down broken-rec");
    const result = await down({ name: "broken-rec", store, kind: w.kind });
    expect(result.found).to.equal(true);
    expect(await store.get("broken-rec")).to.equal(undefined);
  });

  it("a library listener that throws does not turn a step that worked into a failure", async () => {
    const w = world();
    const listener = () => void JSON.parse("a listener's bug");
    const result = await start(w.options({ onEvent: listener }));
    expect(result.lab.status).to.equal("ready");
    expect(w.fake.lines().some((l) => l.startsWith("kind delete"))).to.equal(false);
  });

  it("start on an existing cluster (kubeconfig provider): nothing created, the lab gets its own minimal kubeconfig; down forgets it", async () => {
    const w = world();
    const source = path.join(dir, "pool.kubeconfig");
    await writeFile(
      source,
      "apiVersion: v1\nkind: Config\nclusters:\n- name: pool-1\n  cluster: {server: 'https://10.0.0.1:6443'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: seat-7\n  context: {cluster: pool-1, user: u}\ncurrent-context: seat-7\n",
    );
    const result = await start(w.options({ name: "seat-7", existing: { kubeconfig: source } }));
    expect(w.fake.calls, "no kind or docker command").to.have.length(0);
    expect(result.lab).to.include({ provider: "kubeconfig", cluster: "pool-1", context: "seat-7", status: "ready" });
    const own = parse(await readFile(result.lab.kubeconfig, "utf8")) as { contexts: { name: string }[] };
    expect(own.contexts.map((c) => c.name)).to.deep.equal(["seat-7"]);
    expect(w.events.some((e) => e.type === "warning" && e.message.includes("must be able to pull"))).to.equal(true);
    // The cluster stays: down ends the probe containers the lab's grades left holding in the learner's pods.
    const seat = new FakeCluster().put(probePod("client", { namespace: "shop", ip: "10.0.0.5" }));
    addEphemeral(seat.objects.get(FakeCluster.key("v1", "Pod", "shop", "client"))!, {
      name: "labrun-probe-0a1b2c",
      image: PROBE_IMAGE,
      command: ["labrun-probe", "hold", "--max", "0"],
      securityContext: structuredClone(PROBE_SECURITY_CONTEXT),
    });
    const events: LabEvent[] = [];
    const gone = await down({ name: "seat-7", store, kind: w.kind, clientFactory: async () => seat, onEvent: (e) => events.push(e) });
    expect(gone).to.deep.equal({ name: "seat-7", found: true, clusterDeleted: false });
    expect(seat.execs.map((e) => `${e.target.pod}/${e.target.container}: ${e.command.join(" ")}`)).to.deep.equal(["client/labrun-probe-0a1b2c: labrun-probe stop"]);
    expect(events.find((e) => e.type === "step-end" && e.name === "stop labrun's probes")).to.deep.include({ status: "ok", detail: "1 probe container" });
    expect(w.fake.lines().some((l) => l.startsWith("kind delete"))).to.equal(false);
  });

  describe("down", () => {
    it("deletes the cluster and forgets the lab; a second down is a no-op", async () => {
      const w = world([["docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-beebox-cni", { stdout: "c1\n" }]]);
      await start(w.options());
      const first = await down({ name: "beebox-cni", store, kind: w.kind });
      expect(first).to.deep.equal({ name: "beebox-cni", found: true, clusterDeleted: true });
      expect(w.fake.lines()).to.include(`kind delete cluster --name labrun-beebox-cni --kubeconfig ${path.join(dir, "labs", "beebox-cni", "kubeconfig")}`);
      const second = await down({ name: "beebox-cni", store, kind: new KindProvider({ run: fakeRunner().run, kind: "kind", docker: "docker" }) });
      expect(second).to.deep.equal({ name: "beebox-cni", found: false, clusterDeleted: false });
    });
  });

  describe("gc", () => {
    it("removes marked clusters whose lab is gone and labs whose cluster is gone; never unmarked clusters", async () => {
      await store.create({ name: "alive", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-alive", context: "kind-labrun-alive", status: "ready" });
      await store.create({ name: "lost", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-lost", context: "kind-labrun-lost", status: "ready" });
      await store.create({ name: "died", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-died", context: "kind-labrun-died", pid: 999_999_999 });
      await store.create({ name: "busy", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-busy", context: "kind-labrun-busy", pid: process.pid });
      const mark = (lab: string) => path.join(dir, "labs", lab, "mark");
      const fake = fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n2\n3\n4\n5\n" }],
        [
          "docker inspect",
          {
            stdout: [
              `1\t/labrun-alive-control-plane\tlabrun-alive\trunning\t${mark("alive")}|/kind/labrun;`,
              `2\t/labrun-orphan-control-plane\tlabrun-orphan\trunning\t${mark("orphan")}|/kind/labrun;`,
              `4\t/labrun-died-control-plane\tlabrun-died\trunning\t${mark("died")}|/kind/labrun;`,
              `5\t/labrun-busy-control-plane\tlabrun-busy\trunning\t${mark("busy")}|/kind/labrun;`,
              "3\t/labrun-e2e-other-control-plane\tlabrun-e2e-other\trunning\t/lib/modules|/lib/modules;",
            ].join("\n"),
          },
        ],
      ]);
      const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker" });
      const dry = await gc({ store, kind, dryRun: true });
      expect({ ...dry, labs: dry.labs.sort() }).to.deep.equal({ clusters: ["labrun-died", "labrun-orphan"], labs: ["died", "lost"], outside: [], kept: [{ cluster: "labrun-e2e-other", reason: "not marked as labrun's" }], pool: [], creators: [] });
      expect(fake.lines().some((l) => l.startsWith("kind delete"))).to.equal(false);
      await gc({ store, kind });
      // the orphan's lab directory is gone: kind gets a throwaway kubeconfig path, never the learner's
      expect(fake.lines().find((l) => l.startsWith("kind delete cluster --name labrun-orphan"))).to.match(/^kind delete cluster --name labrun-orphan --kubeconfig .*labrun-kind-delete-\d+\.kubeconfig$/);
      expect(fake.lines().filter((l) => l.startsWith("kind delete"))).to.have.length(2);
      expect((await store.list()).map((l) => l.name).sort()).to.deep.equal(["alive", "busy"]);
    });

    it("removes the hosts outside the cluster whose cluster is gone, and leaves those of a live cluster", async () => {
      await store.create({ name: "alive", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-alive", context: "kind-labrun-alive", status: "ready" });
      const mark = path.join(dir, "labs", "alive", "mark");
      const fake = fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n" }],
        ["docker inspect --format {{.Id}}", { stdout: `1\t/labrun-alive-control-plane\tlabrun-alive\trunning\t${mark}|/kind/labrun;\n` }],
        ["docker ps -aq --filter label=dev.labrun.outside-of=labrun-gone", { stdout: "o2\n" }],
        ["docker ps -aq --filter label=dev.labrun.outside-of", { stdout: "o1\no2\n" }],
        ["docker inspect --format {{.Name}}", { stdout: "/labrun-alive-outside-partner\tpartner\tlabrun-alive\trunning\tkind=172.18.0.5;\n/labrun-gone-outside-partner\tpartner\tlabrun-gone\texited\tkind=;\n" }],
      ]);
      const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker" });
      const dry = await gc({ store, kind, dryRun: true });
      expect(dry.outside).to.deep.equal(["labrun-gone-outside-partner"]);
      expect(fake.lines().some((l) => l.startsWith("docker rm"))).to.equal(false);
      await gc({ store, kind });
      expect(fake.lines().filter((l) => l.startsWith("docker rm"))).to.deep.equal(["docker rm -f -v o2"]);
    });
    it("leaves the outside hosts of a cluster made while gc ran (another labrun's start: its nodes, then its hosts)", async () => {
      let looks = 0;
      const fake = fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        // gc's first look finds no node; by its second the other start's cluster and then its outside host exist
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", () => ({ stdout: looks++ === 0 ? "" : "9\n" })],
        ["docker inspect --format {{.Id}}", { stdout: `9\t/labrun-new-control-plane\tlabrun-new\trunning\t/elsewhere/labs/new/mark|/kind/labrun;\n` }],
        ["docker ps -aq --filter label=dev.labrun.outside-of", { stdout: "o9\n" }],
        ["docker inspect --format {{.Name}}", { stdout: "/labrun-new-outside-partner\tpartner\tlabrun-new\trunning\tkind=172.18.0.9;\n" }],
      ]);
      const result = await gc({ store, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker" }) });
      expect(result.outside).to.deep.equal([]);
      expect(fake.lines().filter((l) => l.startsWith("docker rm"))).to.deep.equal([]);
    });
  });

  describe("status", () => {
    it("reports container state per lab and node readiness for one lab", async () => {
      const w = world();
      await start(w.options());
      w.cluster.set(pod("x", "Pending"));
      const running = (worker: string) =>
        fakeRunner([
          ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n2\n" }],
          ["docker inspect", { stdout: `1\t/labrun-beebox-cni-control-plane\tlabrun-beebox-cni\trunning\t\n2\t/labrun-beebox-cni-worker\tlabrun-beebox-cni\t${worker}\t\n` }],
        ]);
      const partial = new KindProvider({ run: running("exited").run, kind: "kind", docker: "docker" });
      const [all] = await status({ store, kind: partial });
      expect(all!.cluster).to.equal("partial");
      expect(all).not.to.have.property("nodes"); // not asked for
      const up = new KindProvider({ run: running("running").run, kind: "kind", docker: "docker" });
      w.cluster.set(node("labrun-beebox-cni-control-plane", true, true));
      const [one] = await status({ store, kind: up, name: "beebox-cni", nodes: true, clientFactory: async () => w.cluster.client });
      expect(one!.cluster).to.equal("running");
      expect(one!.nodesError).to.equal(undefined);
      expect(one!.nodes).to.deep.equal([
        { name: "labrun-beebox-cni-control-plane", ready: true, role: "control-plane" },
        { name: "labrun-beebox-cni-worker", ready: false, role: "worker", reason: "container runtime network not ready: cni config uninitialized" },
      ]);
      const [stopped] = await status({ store, kind: w.kind, name: "beebox-cni", nodes: true, clientFactory: async () => w.cluster.client });
      expect(stopped!.cluster).to.equal("missing"); // the world's runner lists no containers
      expect(stopped).not.to.have.property("nodes"); // a cluster that does not run is not asked
    });
  });
});
