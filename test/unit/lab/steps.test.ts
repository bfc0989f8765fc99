import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InfraError, InterruptedError } from "../../../runner/errors.ts";
import { addonImages, addonObjects, fillPlaceholders } from "../../../runner/lab/addons.ts";
import type { LabEvent } from "../../../runner/lab/events.ts";
import { evaluateWait, runSteps, stepName, type StepContext } from "../../../runner/lab/steps.ts";
import type { ClusterProvider } from "../../../runner/providers/provider.ts";
import type { Step } from "../../../runner/schema/scenario.ts";
import { fakeClient, node, pod } from "./fakes.ts";

function fakeProvider(exitCode = 0) {
  const runs: { node: string; command: string[] }[] = [];
  const provider = {
    name: "kind",
    async execOnNode(_cluster: string, n: string, command: string[]) {
      runs.push({ node: n, command });
      return { exitCode, stdout: "out", stderr: exitCode ? "bad thing" : "", timedOut: false };
    },
  } as unknown as ClusterProvider;
  return { provider, runs };
}

describe("lab/steps", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-steps-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function ctx(client: StepContext["client"], provider: ClusterProvider, events: LabEvent[] = []): StepContext {
    return { client, provider, cluster: "labrun-x", scenarioDir: dir, vars: { PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.96.0.0/16", Cni: "flannel" }, phase: "setup", pollMs: 5, onEvent: (e) => events.push(e) };
  }

  it("kubectl: runs on the first control-plane node with the admin kubeconfig", async () => {
    const fake = fakeClient([node("labrun-x-worker"), node("labrun-x-control-plane", true, true)]);
    const { provider, runs } = fakeProvider();
    (provider as unknown as { capabilities: () => object }).capabilities = () => ({ nodeShell: true, createClusters: true, loadImages: true });
    const events: LabEvent[] = [];
    await runSteps([{ kubectl: ["label", "pod", "web", "app=wbe", "--overwrite"] }], ctx(fake.client, provider, events));
    expect(runs).to.deep.equal([{ node: "labrun-x-control-plane", command: ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "label", "pod", "web", "app=wbe", "--overwrite"] }]);
    expect(events[1]).to.include({ name: "kubectl label pod web app=wbe --overwrite", status: "ok" });
  });

  it("kubectl: a failing command fails the step with kubectl's output", async () => {
    const fake = fakeClient([node("labrun-x-control-plane", true, true)]);
    const { provider } = fakeProvider(1);
    (provider as unknown as { capabilities: () => object }).capabilities = () => ({ nodeShell: true, createClusters: true, loadImages: true });
    const error = await runSteps([{ kubectl: ["scale", "deploy/none", "--replicas=1"] }], ctx(fake.client, provider)).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).message).to.include("`kubectl scale deploy/none --replicas=1` exited with 1");
    expect((error as InfraError).output).to.include("bad thing");
  });

  it("apply: a namespace goes first, and its pods wait for its default ServiceAccount", async () => {
    await writeFile(path.join(dir, "app.yaml"), ["apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}"].join("\n---\n"));
    const fake = fakeClient();
    let serviceAccountAfter = 3; // the controller makes it a little later
    fake.onGet((ref) => {
      if (ref.kind === "ServiceAccount" && --serviceAccountAfter === 0) fake.set({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "shop" } });
    });
    await runSteps([{ apply: { file: "app.yaml" } }], ctx(fake.client, fakeProvider().provider));
    expect(fake.applied.map((a) => a.object.kind)).to.deep.equal(["Namespace", "Pod"]);
    expect(serviceAccountAfter).to.equal(0);
  });

  it("apply: multi-document YAML, server-side apply as `labrun`, default namespace only where it belongs", async () => {
    await writeFile(
      path.join(dir, "m.yaml"),
      ["apiVersion: v1\nkind: Pod\nmetadata: {name: a}", "", "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: other}", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}"].join("\n---\n"),
    );
    const fake = fakeClient();
    const events: LabEvent[] = [];
    await runSteps([{ apply: { file: "m.yaml", namespace: "team" } }], ctx(fake.client, fakeProvider().provider, events));
    expect(fake.applied.map((a) => [a.object.kind, a.object.metadata.namespace, a.object.metadata.name, a.fieldManager, a.force])).to.deep.equal([
      ["Namespace", undefined, "ns", "labrun", true],
      ["Pod", "team", "a", "labrun", true],
      ["Pod", "other", "b", "labrun", true],
      ["ConfigMap", "team", "c", "labrun", true],
    ]);
    expect(events.map((e) => e.type)).to.deep.equal(["step-start", "step-end"]);
    expect(events[1]).to.include({ name: "apply m.yaml", status: "ok", detail: "4 objects", phase: "setup" });
    expect((events[1] as { durationMs: number }).durationMs).to.be.a("number");
  });

  it("delete: a missing object is fine", async () => {
    const fake = fakeClient([pod("a", "Running")]);
    const events: LabEvent[] = [];
    await runSteps([{ delete: { kind: "Pod", name: "a" } }, { delete: { kind: "Pod", name: "a" } }], ctx(fake.client, fakeProvider().provider, events));
    expect(fake.deleted).to.deep.equal([
      { apiVersion: "v1", kind: "Pod", name: "a", namespace: "default" },
      { apiVersion: "v1", kind: "Pod", name: "a", namespace: "default" },
    ]);
    expect(events.filter((e) => e.type === "step-end").map((e) => (e as { detail: string }).detail)).to.deep.equal(["deleted", "already gone"]);
  });

  it("run: on every node of a role through the provider; a failure keeps the output", async () => {
    const fake = fakeClient([node("labrun-x-control-plane", false, true), node("labrun-x-worker"), node("labrun-x-worker2")]);
    const { provider, runs } = fakeProvider();
    await runSteps([{ run: { node: "worker", command: ["rm", "-f", "/etc/cni/net.d/10-flannel.conflist"] } }], ctx(fake.client, provider));
    expect(runs.map((r) => r.node)).to.deep.equal(["labrun-x-worker", "labrun-x-worker2"]);
    const failing = fakeProvider(3);
    const error = (await runSteps([{ name: "break it", run: { node: "control-plane", command: ["false"] } }], ctx(fake.client, failing.provider)).catch((e: unknown) => e)) as InfraError;
    expect(error.message).to.equal('setup step "break it" failed: `false` on labrun-x-control-plane exited with 3');
    expect(error.output).to.equal("bad thing\nout");
    const none = (await runSteps([{ run: { node: "gpu", command: ["true"] } }], ctx(fake.client, provider)).catch((e: unknown) => e)) as InfraError;
    expect(none.message).to.contain('no node matches "gpu"');
  });

  it("wait: polls until the state holds", async () => {
    const fake = fakeClient([pod("a", "Pending", { app: "x" })]);
    let lists = 0;
    fake.onList(() => {
      if (++lists === 3) fake.set(pod("a", "Running", { app: "x" }));
    });
    const events: LabEvent[] = [];
    await runSteps([{ wait: { kind: "Pod", selector: { app: "x" }, phase: "Running" } }], ctx(fake.client, fakeProvider().provider, events));
    expect(lists).to.equal(3);
    expect(events[1]).to.include({ name: "wait for Pod app=x phase Running", detail: "a: phase Running" });
  });

  it("wait: on timeout says what it saw last", async () => {
    const fake = fakeClient([pod("a", "Pending", { app: "x" }), pod("b", "Running", { app: "x" })]);
    const error = (await runSteps([{ timeout: "50ms", wait: { kind: "Pod", selector: { app: "x" }, condition: { type: "Ready" } } }], ctx(fake.client, fakeProvider().provider)).catch(
      (e: unknown) => e,
    )) as InfraError;
    expect(error).to.be.instanceOf(InfraError);
    expect(error.code).to.equal("STEP_FAILED");
    expect(error.message).to.equal('setup step "wait for Pod app=x Ready=True" failed: timed out after 50ms; last seen: a: Ready=False; b: Ready=True');
  });

  it("an aborted run is an InterruptedError", async () => {
    const fake = fakeClient();
    const controller = new AbortController();
    const c = { ...ctx(fake.client, fakeProvider().provider), signal: controller.signal };
    setTimeout(() => controller.abort("SIGINT"), 20);
    const error = await runSteps([{ wait: { kind: "Pod", name: "never" } }], c).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InterruptedError);
  });

  describe("evaluateWait", () => {
    it("exists, phase, condition", () => {
      expect(evaluateWait({ kind: "Pod", exists: false }, [])).to.deep.equal({ ok: true, seen: "no Pod" });
      expect(evaluateWait({ kind: "Pod", exists: false }, [pod("a", "Running")])).to.deep.equal({ ok: false, seen: "1 Pod still present: a" });
      expect(evaluateWait({ kind: "Pod" }, [])).to.deep.equal({ ok: false, seen: "no Pod found" });
      expect(evaluateWait({ kind: "Pod" }, [pod("a", "Running")]).ok).to.equal(true);
      expect(evaluateWait({ kind: "Node", condition: { type: "Ready", status: "False" } }, [node("n1")])).to.deep.equal({ ok: true, seen: "n1: Ready=False (KubeletNotReady)" });
      expect(evaluateWait({ kind: "Pod", phase: "Pending" }, [pod("a", "Pending"), pod("b", "Running")])).to.deep.equal({ ok: false, seen: "a: phase Pending; b: phase Running" });
    });
  });

  it("stepName describes unnamed steps", () => {
    const steps: Step[] = [
      { apply: { file: "a.yaml" } },
      { addon: { name: "flannel" } },
      { delete: { kind: "Pod", name: "p" } },
      { run: { node: "all", command: ["ls", "/"] } },
      { wait: { kind: "Node", condition: { type: "Ready" } } },
      { wait: { kind: "Pod", name: "p", exists: false } },
      { name: "custom", wait: { kind: "Pod" } },
    ];
    expect(steps.map(stepName)).to.deep.equal(["apply a.yaml", "add-on flannel", "delete Pod/p", "run `ls /` on all", "wait for Nodes Ready=True", "wait for Pod/p gone", "custom"]);
  });

  describe("add-ons", () => {
    it("flannel: the pod subnet is filled in, objects parse, images are found", async () => {
      const objects = await addonObjects("flannel", { PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.96.0.0/16" });
      const cm = objects.find((o) => o.kind === "ConfigMap") as { data: Record<string, string> } | undefined;
      expect(cm?.data["net-conf.json"]).to.contain('"Network": "192.168.0.0/16"');
      expect(JSON.stringify(objects)).not.to.contain("{{");
      expect(await addonImages("flannel")).to.deep.equal(["ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1", "ghcr.io/flannel-io/flannel:v0.28.10"]);
      expect(await addonImages("kube-router-netpol")).to.deep.equal(["docker.io/cloudnativelabs/kube-router:v2.1.0"]);
    });
    it("an unknown placeholder is an error", () => {
      expect(() => fillPlaceholders("x", "a: {{ .Nope }}", { PodSubnet: "p", ServiceSubnet: "s" })).to.throw(InfraError, "unknown placeholder {{ .Nope }}");
    });
    it("runner/addons matches tools/images/manifests", async () => {
      const { readFile } = await import("node:fs/promises");
      for (const name of ["flannel", "kube-router", "kube-router-netpol"]) {
        const shipped = await readFile(new URL(`../../../runner/addons/${name}.yaml`, import.meta.url), "utf8");
        const built = await readFile(new URL(`../../../tools/images/manifests/${name}.yaml`, import.meta.url), "utf8");
        expect(shipped, `${name}.yaml drifted: copy tools/images/manifests/${name}.yaml to runner/addons/`).to.equal(built);
      }
    });
  });
});
