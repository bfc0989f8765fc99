/**
 * `labrun test`'s orchestration with a fake kind and in-memory clusters: the
 * order of phases, attacks and shortcuts sharing the main cluster with an
 * undo between them, fresh clusters for node-level shortcuts and after an
 * undo that cannot be proven, skipped and error attacks.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { AttackError, type Attack } from "../../../runner/lab/attacks/index.ts";
import { goodProbes } from "./fakes.ts";
import { testScenarios, type ScenarioTestEvent } from "../../../runner/lab/scenario-test.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { shapeOf } from "../../../runner/lab/pool/shape.ts";
import { PoolStore } from "../../../runner/lab/pool/store.ts";
import { loadScenario } from "../../../runner/scenario/load.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { FakeCluster, node } from "../checks/fakes.ts";
import { fakeRunner } from "../providers/fake-runner.ts";

const SCENARIO = `apiVersion: labrun.dev/v1alpha1
kind: Scenario
metadata: { name: demo, title: A demo lab, summary: for tests, difficulty: beginner, estimatedMinutes: 1 }
spec:
  cluster: { nodes: [{ role: control-plane }] }
  setup:
    - apply: { file: app.yaml }
  task: { text: fix the setting }
  checks:
    - id: fixed
      title: the setting is fixed
      object: { kind: ConfigMap, name: settings, namespace: default, match: { data: { mode: fixed } } }
    - id: present
      title: the setting exists
      object: { kind: ConfigMap, name: settings, namespace: default }
  broken: { failing: [fixed] }
  solution:
    steps: [{ apply: { file: fixed.yaml } }]
  shortcuts:
    - name: unrelated-change
      description: changes something else; only passes if an earlier phase's change leaked
      steps: [{ apply: { file: other.yaml } }]
      mustFail: [fixed]
    - name: on-the-node
      description: node commands need a fresh cluster
      steps: [{ run: { node: all, command: ["true"] } }]
      mustFail: [fixed]
`;

const settings = (mode: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: default }\ndata: { mode: ${mode} }\n`;

describe("labrun test: orchestration (fake kind, in-memory clusters)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-test-run-"));
    const sdir = path.join(dir, "demo");
    await mkdir(sdir, { recursive: true });
    await writeFile(path.join(sdir, "scenario.yaml"), SCENARIO);
    await writeFile(path.join(sdir, "app.yaml"), settings("broken"));
    await writeFile(path.join(sdir, "fixed.yaml"), settings("fixed"));
    await writeFile(path.join(sdir, "other.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other, namespace: default }\ndata: { a: b }\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function world() {
    const fake = fakeRunner([[/readyz/, { stdout: "ok" }], ["kind get clusters", { stdout: "" }], [/ps -q --filter label=io.x-k8s.kind.cluster=labrun-pool-.* --filter status=running/, { stdout: "c0ffee" }]]);
    const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker", pollMs: 1 });
    const clusters = new Map<string, FakeCluster>();
    let uid = 0;
    const clientFactory = async ({ cluster }: { cluster: string }) => {
      let c = clusters.get(cluster);
      if (!c) {
        c = new FakeCluster().put({ ...node(`${cluster}-control-plane`, { controlPlane: true }), metadata: { ...node(`${cluster}-control-plane`).metadata, uid: `${cluster}-node` } });
        const apply = c.apply.bind(c);
        const self = c;
        c.apply = async (o: KubeObject) => {
          const live = self.objects.get(FakeCluster.key(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name));
          return apply({ ...o, metadata: { ...o.metadata, uid: live?.metadata.uid ?? `u${++uid}` } });
        };
        clusters.set(cluster, c);
      }
      return Object.assign(c, { close: async () => undefined });
    };
    const events: ScenarioTestEvent[] = [];
    const run = (attackCatalogue: Attack[], extra: Partial<Parameters<typeof testScenarios>[1]> = {}) =>
      testScenarios([path.join(dir, "demo")], {
        ...extra,
        store: new LabStore({ dir: path.join(dir, "state") }),
        kind,
        env: {},
        clientFactory,
        attackCatalogue,
        startOptions: { probes: goodProbes, overlapImageLoad: false },
        gradeOptions: { settle: false, defaultTimeoutMs: 30, defaultIntervalMs: 10 },
        onEvent: (e) => events.push(e),
      });
    return { run, clusters, events, fake };
  }

  const attack = (name: string, apply: Attack["apply"]): Attack => ({ name, description: `${name} attack`, appliesTo: () => true, apply });
  const setMode = (c: FakeCluster, mode: string) => c.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "default" }, data: { mode } } as KubeObject);

  it("runs broken, attacks, shared shortcuts and the solution on one cluster, undoing each phase; node-level shortcuts on their own", async () => {
    const w = world();
    const fooling = attack("sets-it", async (ctx) => {
      await setMode(ctx.client as FakeCluster, "fixed");
      return { applied: "set mode=fixed" };
    });
    const skipped = attack("nothing-here", async () => ({ skipped: "no source pod runs" }));
    const broken = attack("cannot-apply", async () => {
      throw new AttackError("image missing");
    });
    const [result] = await w.run([fooling, skipped, broken]);
    const summary = result!.phases.map((p) => `${p.name}: ${p.status}`);
    expect(summary).to.deep.equal([
      "broken state: passed",
      "attack sets-it: failed",
      "attack nothing-here: skipped",
      "attack cannot-apply: error",
      "shortcut unrelated-change: passed", // would pass `fixed` if the attack's change had leaked
      "shortcut on-the-node: passed",
      "solution: passed",
    ]);
    const phase = (name: string) => result!.phases.find((p) => p.name === name)!;
    expect(phase("attack sets-it").message).to.equal("the attack passes checks that must fail: fixed");
    expect(phase("attack sets-it").notes).to.deep.equal(["attack: set mode=fixed", "undo: restored: deleted 1, created 1 object"]);
    expect(phase("attack nothing-here").message).to.equal("nothing to attack in the broken state: no source pod runs");
    expect(phase("attack cannot-apply").message).to.equal("the attack could not be carried out: image missing");
    const mainLab = phase("broken state").lab;
    expect(["attack sets-it", "shortcut unrelated-change", "solution"].map((n) => phase(n).lab)).to.deep.equal([mainLab, mainLab, mainLab]);
    expect(phase("shortcut on-the-node").lab).to.match(/^t-demo-on-the-node-[0-9a-f]{4}$/);
    expect(mainLab).to.match(/^t-demo-[0-9a-f]{4}$/);
    expect(result!.status).to.equal("error"); // an attack that could not be carried out is infrastructure
    expect(w.clusters.size).to.equal(2);
    const starts = w.events.filter((e) => e.type === "phase-start").map((e) => (e as { name: string }).name);
    expect(starts).to.include.members(["broken state", "attack sets-it", "shortcut unrelated-change", "solution", "shortcut on-the-node"]);
  });

  it("an undo that cannot be proven (a node changed) moves the remaining phases to a fresh cluster", async () => {
    const w = world();
    const cordon = attack("cordon", async (ctx) => {
      const c = ctx.client as FakeCluster;
      const n = [...c.objects.values()].find((o) => o.kind === "Node")!;
      c.put({ ...n, spec: { unschedulable: true } });
      return { applied: "cordoned the node" };
    });
    const [result] = await w.run([cordon]);
    const phase = (name: string) => result!.phases.find((p) => p.name === name)!;
    expect(result!.phases.map((p) => `${p.name}: ${p.status}`)).to.deep.equal(["broken state: passed", "attack cordon: passed", "shortcut unrelated-change: passed", "shortcut on-the-node: passed", "solution: passed"]);
    expect(phase("attack cordon").notes!.at(-1)).to.match(/^undo failed \(node .* changed \(taints, labels or schedulability\)\): the next phases run on a fresh cluster$/);
    expect(phase("shortcut unrelated-change").lab).to.not.equal(phase("broken state").lab);
    expect(phase("solution").lab).to.equal(phase("shortcut unrelated-change").lab);
    expect(w.clusters.size).to.equal(3);
  });

  it("warms the queued run's cluster ahead, hands it to that run, deletes what no run claimed, and says where the time went", async () => {
    const w = world();
    const warmed: string[] = [];
    const discarded: string[][] = [];
    const [result] = await w.run([], {
      concurrency: 1,
      warmAhead: 1,
      warming: {
        warmOne: async (loaded) => {
          warmed.push(loaded.name);
          return `w${warmed.length}`;
        },
        discard: async (ids) => {
          discarded.push(ids);
        },
      },
    });
    expect(result!.status).to.equal("passed");
    // two runs (main; the node-level shortcut's fresh cluster): the second one waits, so it is warmed for
    expect(warmed).to.deep.equal(["demo"]);
    expect(result!.timings).to.include({ clusters: 2, warmed: 1 });
    // the fake pool has no entry w1: the claim finds nothing, the run starts a cold cluster; the warmer deletes its leftovers
    expect(discarded).to.deep.equal([["w1"]]);
    expect(result!.phases.find((p) => p.name === "shortcut unrelated-change")!.undoMs).to.be.a("number");
    expect(result!.timings!.startMs).to.be.greaterThan(0);
  });

  it("a run claims the cluster warmed for it (and only that one), runs every start step on it, and the leftover of a course's pool stays", async () => {
    const w = world();
    const pool = new PoolStore(path.join(dir, "state"));
    const loaded = await loadScenario(path.join(dir, "demo"));
    const shape = shapeOf(loaded.scenario.spec.cluster, {});
    const make = async () => {
      const e = (await pool.reserve({ shape: shape.key, scenario: "demo", nodeImage: shape.nodeImage, nodes: 1, images: [] }, 5))!;
      await pool.update(e.id, (x) => {
        x.state = "ready";
        delete x.pid;
      });
      await writeFile(pool.kubeconfigPath(e.id), "apiVersion: v1\nkind: Config\n");
      return e;
    };
    const course = await make(); // someone's warm pool: not ours to claim
    const warmed = await make();
    const [result] = await w.run([], { concurrency: 1, warmAhead: 1, warming: { warmOne: async () => warmed.id, discard: async () => undefined } });
    expect(result!.status, JSON.stringify(result!.phases.map((p) => [p.name, p.status, p.message]))).to.equal("passed");
    expect([...w.clusters.keys()]).to.include(warmed.cluster).and.not.include(course.cluster);
    expect((await pool.get(course.id))?.state).to.equal("ready");
    expect(await pool.get(warmed.id), "claimed, then deleted with its lab").to.equal(undefined);
  });
});
