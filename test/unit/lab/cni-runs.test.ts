/**
 * The lab's CNI: `addon: { name: cni }` steps, the CNI runs of `labrun test`
 * (spec.solution.cnis) with a fake kind and in-memory clusters, and what
 * `labrun validate` refuses.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { imagesFor } from "../../../runner/lab/actions/images.ts";
import { addonImages, addonObjects, cniAddons, stepAddons } from "../../../runner/lab/addons.ts";
import { runCli } from "../../helpers/cli.ts";
import { cniRuns, testCniRuns } from "../../../runner/lab/cni-runs.ts";
import { testScenarios, type ScenarioTestOptions } from "../../../runner/lab/scenario-test.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { loadScenario, validateScenarioFile } from "../../../runner/scenario/load.ts";
import { FakeCluster, node } from "../checks/fakes.ts";
import { goodProbes } from "./fakes.ts";
import { fakeRunner } from "../providers/fake-runner.ts";

const SCENARIO = `apiVersion: labrun.dev/v1alpha1
kind: Scenario
metadata: { name: demo, title: A demo lab, summary: for tests, difficulty: beginner, estimatedMinutes: 1 }
spec:
  cluster: { nodes: [{ role: control-plane }], networking: { defaultCNI: false } }
  setup:
    - addon: { name: cni, networkPolicy: true }
    - apply: { file: app.yaml }
  task: { text: fix the setting }
  checks:
    - id: fixed
      title: the setting is fixed
      object: { kind: ConfigMap, name: settings, namespace: default, match: { data: { mode: fixed } } }
  broken: { failing: [fixed] }
  solution:
    steps: [{ apply: { file: fixed.yaml } }]
    cnis: [flannel, kube-router]
  shortcuts:
    - name: unrelated-change
      description: changes something else
      steps: [{ apply: { file: other.yaml } }]
      mustFail: [fixed]
`;

const settings = (mode: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: default }\ndata: { mode: ${mode} }\n`;

describe("the lab's CNI", () => {
  it("cni resolves to the lab's CNI; networkPolicy adds kube-router's firewall to Flannel only", () => {
    expect(cniAddons("flannel")).to.deep.equal(["flannel"]);
    expect(cniAddons("flannel", true)).to.deep.equal(["flannel", "kube-router-netpol"]);
    expect(cniAddons("kube-router", true)).to.deep.equal(["kube-router"]);
    expect(cniAddons("cilium", true)).to.deep.equal(["cilium"]);
    expect(stepAddons({ name: "cni", networkPolicy: true }, "cilium")).to.deep.equal(["cilium"]);
    expect(stepAddons({ name: "cni" }, "kube-router")).to.deep.equal(["kube-router"]);
    expect(stepAddons({ name: "flannel" }, "kube-router")).to.deep.equal(["flannel"]);
  });

  it("the kube-router add-on: the CNI (router, firewall, CNI config for bridge + host-local), the same DaemonSet as the firewall-only add-on, GoBGP's API closed to other hosts", async () => {
    const objects = await addonObjects("kube-router", { PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.96.0.0/16" });
    expect(JSON.stringify(objects)).not.to.contain("{{");
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(["ServiceAccount/kube-router", "ClusterRole/kube-router", "ClusterRoleBinding/kube-router", "ConfigMap/kube-router-cfg", "DaemonSet/kube-router"]);
    type Pod = { initContainers: { command: string[] }[]; containers: { args: string[] }[] };
    const ds = objects.find((o) => o.kind === "DaemonSet") as unknown as { metadata: { namespace: string }; spec: { template: { spec: Pod } } };
    expect(ds.metadata.namespace).to.equal("kube-system");
    const pod = ds.spec.template.spec;
    expect(pod.containers[0]!.args).to.include.members(["--run-router=true", "--run-firewall=true", "--run-service-proxy=false", "--enable-cni=true"]);
    expect(pod.initContainers[0]!.command.join(" ")).to.contain("--dport 50051 ! -i lo -j DROP");
    const cm = objects.find((o) => o.kind === "ConfigMap") as unknown as { data: Record<string, string> };
    const conf = JSON.parse(cm.data["cni-conf.json"]!) as { plugins: { type: string; ipam?: { type: string } }[] };
    expect(conf.plugins.map((p) => p.type)).to.deep.equal(["bridge", "portmap"]);
    expect(conf.plugins[0]!.ipam).to.deep.equal({ type: "host-local" });
    const netpol = await addonObjects("kube-router-netpol", { PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.96.0.0/16" });
    const netpolDs = netpol.find((o) => o.kind === "DaemonSet")!;
    expect(`${netpolDs.metadata.namespace}/${netpolDs.metadata.name}`).to.equal("kube-system/kube-router");
    expect(await addonImages("kube-router")).to.deep.equal(["docker.io/cloudnativelabs/kube-router:v2.1.0"]);
  });

  it("labrun addon --list shows kube-router and cilium; labrun addon kube-router prints its manifest", async () => {
    const list = await runCli(["addon", "--list"]);
    expect(list.code).to.equal(0);
    expect(list.stdout.split("\n").map((l) => l.split(" ")[0]).filter(Boolean)).to.deep.equal(["flannel", "kube-router", "kube-router-netpol", "cilium"]);
    const printed = await runCli(["addon", "kube-router"]);
    expect(printed.code).to.equal(0);
    expect(printed.stdout).to.contain("--run-router=true");
  });

  describe("labrun test: CNI runs (fake kind, in-memory clusters)", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "labrun-cni-runs-"));
      const sdir = path.join(dir, "demo");
      await mkdir(sdir, { recursive: true });
      await writeFile(path.join(sdir, "scenario.yaml"), SCENARIO);
      await writeFile(path.join(sdir, "app.yaml"), settings("broken"));
      await writeFile(path.join(sdir, "fixed.yaml"), settings("fixed"));
      await writeFile(path.join(sdir, "other.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other, namespace: default }\ndata: { a: b }\n");
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    function options(clusters: Map<string, FakeCluster>): ScenarioTestOptions {
      const fake = fakeRunner([[/readyz/, { stdout: "ok" }], ["kind get clusters", { stdout: "" }]]);
      let uid = 0;
      return {
        store: new LabStore({ dir: path.join(dir, "state") }),
        kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", pollMs: 1 }),
        env: {},
        clientFactory: async ({ cluster }: { cluster: string }) => {
          let c = clusters.get(cluster);
          if (!c) {
            c = new FakeCluster().put({ ...node(`${cluster}-control-plane`, { controlPlane: true }), metadata: { ...node(`${cluster}-control-plane`).metadata, uid: `${cluster}-node` } });
            const apply = c.apply.bind(c);
            const self = c;
            c.apply = async (o: KubeObject) => {
              // A new namespace gets its default ServiceAccount (kube-controller-manager's job).
              if (o.kind === "Namespace") self.put({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: o.metadata.name, uid: `u${++uid}` } } as KubeObject);
              return apply({ ...o, metadata: { ...o.metadata, uid: `u${++uid}` } });
            };
            clusters.set(cluster, c);
          }
          return Object.assign(c, { close: async () => undefined });
        },
        attackCatalogue: [],
        startOptions: { probes: goodProbes, overlapImageLoad: false },
        gradeOptions: { settle: false, defaultTimeoutMs: 30, defaultIntervalMs: 10 },
      };
    }

    it("runs the broken state and the solution again on each other CNI, on a fresh cluster with that CNI, and adds the phases to the scenario's result", async () => {
      const loaded = await loadScenario(path.join(dir, "demo"));
      const runs = cniRuns(loaded);
      expect(runs.map((r) => r.cni)).to.deep.equal(["kube-router"]);
      expect(runs[0]!.loaded.scenario.spec.shortcuts).to.equal(undefined);
      expect(await imagesFor(runs[0]!.loaded.scenario)).to.include("docker.io/cloudnativelabs/kube-router:v2.1.0").and.not.include("ghcr.io/flannel-io/flannel:v0.28.10");
      expect(await imagesFor(loaded.scenario)).to.include.members(["docker.io/cloudnativelabs/kube-router:v2.1.0", "ghcr.io/flannel-io/flannel:v0.28.10"]);

      const clusters = new Map<string, FakeCluster>();
      const opts = options(clusters);
      const results = await testScenarios([loaded], opts);
      await testCniRuns(runs, results, opts);
      expect(results).to.have.length(1);
      const r = results[0]!;
      expect(r.scenario).to.equal("demo");
      expect(r.phases.map((p) => `${p.name}: ${p.status}`), r.phases.map((p) => `${p.name}: ${p.message} ${p.details.join(" ")}`).join("\n")).to.deep.equal([
        "broken state: passed",
        "shortcut unrelated-change: passed",
        "solution: passed",
        "broken state (CNI kube-router): passed",
        "solution (CNI kube-router): passed",
      ]);
      expect(r.status).to.equal("passed");
      const lab = (name: string) => r.phases.find((p) => p.name === name)!.lab!;
      expect(lab("solution (CNI kube-router)")).to.match(/^t-demo-kube-router-[0-9a-f]{4}$/).and.not.equal(lab("solution"));

      const daemonSets = (cluster: string) =>
        [...clusters.get(`labrun-${cluster}`)!.objects.values()]
          .filter((o) => o.kind === "DaemonSet")
          .map((o) => `${o.metadata.namespace}/${o.metadata.name} ${JSON.stringify((o as unknown as { spec: { template: { spec: { containers: { args?: string[] }[] } } } }).spec.template.spec.containers[0]!.args ?? [])}`);
      const main = daemonSets(lab("solution"));
      expect(main.some((d) => d.startsWith("kube-flannel/kube-flannel-ds"))).to.equal(true);
      expect(main.find((d) => d.startsWith("kube-system/kube-router"))).to.contain("--run-router=false");
      const kr = daemonSets(lab("solution (CNI kube-router)"));
      expect(kr).to.have.length(1);
      expect(kr[0]).to.contain("kube-system/kube-router").and.contain("--run-router=true");
    });

    it("a CNI run that fails makes the scenario fail", async () => {
      const loaded = await loadScenario(path.join(dir, "demo"));
      const clusters = new Map<string, FakeCluster>();
      const opts = options(clusters);
      const results = await testScenarios([loaded], opts);
      const runs = cniRuns(loaded);
      // On the other CNI the solution no longer fixes the lab.
      await writeFile(path.join(dir, "demo", "fixed.yaml"), settings("still-broken"));
      await testCniRuns(runs, results, opts);
      expect(results[0]!.phases.find((p) => p.name === "solution (CNI kube-router)")!.status).to.equal("failed");
      expect(results[0]!.status).to.equal("failed");
    });
  });

  describe("labrun validate", () => {
    let tmp: string;
    const file = () => path.join(tmp, "frontend-policy", "scenario.yaml");
    beforeEach(() => {
      tmp = mkdtempSync(path.join(tmpdir(), "labrun-cni-validate-"));
      cpSync(path.join(import.meta.dirname, "../../../scenarios/frontend-policy"), path.join(tmp, "frontend-policy"), { recursive: true });
    });
    afterEach(() => rmSync(tmp, { recursive: true, force: true }));
    const edit = (from: string, to: string) => {
      const text = readFileSync(file(), "utf8");
      expect(text, `scenario.yaml contains ${from}`).to.include(from);
      writeFileSync(file(), text.replace(from, to));
    };
    const messages = async () => (await validateScenarioFile(file())).problems.map((p) => `${p.path}: ${p.message}`);

    it("accepts the shipped scenario", async () => {
      expect(await messages()).to.deep.equal([]);
    });

    it("refuses an unknown CNI, with the known ones", async () => {
      edit("cnis: [flannel, kube-router]", "cnis: [flannel, calico]");
      expect((await messages()).join("\n")).to.match(/^spec\.solution\.cnis\[1\]: .*flannel.*kube-router/);
    });

    it("refuses a CNI named or listed that no step installs", async () => {
      edit("addon: { name: cni, networkPolicy: true }", "addon: { name: flannel }");
      edit("podSubnet: 10.244.0.0/16", "podSubnet: 10.244.0.0/16\n      cni: kube-router");
      const m = await messages();
      expect(m).to.have.length(2);
      expect(m[0]).to.match(/^spec\.cluster\.networking\.cni: names the lab's CNI, but no step installs it: add a step `addon: \{ name: cni \}`/);
      expect(m[1]).to.match(/^spec\.solution\.cnis: lists CNIs to test, but no step installs the lab's CNI/);
    });

    it("refuses the lab's CNI on top of the default CNI, networkPolicy without cni, and kube-router-netpol beside the lab's CNI", async () => {
      edit("defaultCNI: false", "defaultCNI: true");
      edit("    - name: deploy the shop\n", "    - addon: { name: kube-router-netpol }\n    - addon: { name: flannel, networkPolicy: true }\n    - name: deploy the shop\n");
      expect(await messages()).to.deep.equal([
        "spec.setup[0].addon: installs the lab's CNI, but the node image's default CNI (Flannel) is installed too: set spec.cluster.networking.defaultCNI: false",
        "spec.setup[2].addon: the lab installs its CNI with `addon: { name: cni }`: ask for NetworkPolicy there (`addon: { name: cni, networkPolicy: true }`), so that a CNI that enforces policies itself (kube-router, Cilium) does not get a second firewall",
        "spec.setup[3].addon.networkPolicy: \"networkPolicy\" goes with `name: cni` only (it picks the add-ons of the lab's CNI)",
      ]);
    });
  });
});
