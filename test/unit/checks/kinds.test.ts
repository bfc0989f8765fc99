/**
 * Every check kind, one attempt at a time, against a scripted cluster.
 */
import { expect } from "chai";
import type { ExecResult } from "../../../runner/cluster/client.ts";
import { CheckEvalError, DEFAULT_SETTINGS, type CheckContext, type Observation } from "../../../checks/context.ts";
import { EphemeralContainerError } from "../../../runner/cluster/errors.ts";
import { evaluateCheck } from "../../../checks/kinds/index.ts";
import { LIST_SCRIPT, parseListing } from "../../../checks/kinds/cniConfigured.ts";
import { ProbeManager, PROBE_IMAGE } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { checkKind, type Check } from "../../../runner/schema/scenario.ts";
import { BEEBOX_MANIFEST, beeboxPods, endpointSlice, FakeCluster, LAB, NGINX_PAGE, node, pod, scenarioWith, service } from "./fakes.ts";

async function observe(cluster: FakeCluster, check: Check, options: { workloads?: WorkloadIndex; probes?: ProbeManager; files?: Record<string, string> } = {}): Promise<Observation> {
  const source = scenarioWith([check], options.files ? { files: options.files } : {});
  const ctx: CheckContext = {
    client: cluster,
    scenario: source,
    lab: LAB,
    check,
    probes: options.probes ?? new ProbeManager(cluster),
    workloads: options.workloads ?? new WorkloadIndex().addManifests(BEEBOX_MANIFEST),
    signal: new AbortController().signal,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    settings: DEFAULT_SETTINGS,
    attempt: 1,
  };
  return evaluateCheck(checkKind(check), ctx);
}

async function evalError(p: Promise<unknown>): Promise<CheckEvalError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, "expected a CheckEvalError").to.be.instanceOf(CheckEvalError);
  return e as CheckEvalError;
}

const ok = (stdout = ""): ExecResult => ({ exitCode: 0, stdout, stderr: "", timedOut: false });

describe("check kinds", () => {
  describe("nodesReady", () => {
    const check = { id: "nodes", title: "nodes are ready", nodesReady: {} } as Check;

    it("passes when every node is Ready", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }), node("w1"));
      const o = await observe(c, check);
      expect(o.ok).to.equal(true);
      expect(o.message).to.equal("2 nodes Ready");
    });

    it("fails with the kubelet's reason when a node is NotReady", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true, ready: false }), node("w1", { ready: false }));
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^2 of 2 nodes not Ready: cp, w1 \(container runtime network not ready: .*cni plugin not initialized\)$/);
      expect(o.evidence).to.have.length(2);
      expect(o.evidence[0]).to.deep.include({ label: "node cp", expected: "Ready" });
      expect(o.evidence[0]!.observed).to.match(/^NotReady \(KubeletNotReady\): container runtime network not ready/);
    });

    it("selects nodes by role and by name, and reports when none match", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true, ready: false }), node("w1"), node("w2"));
      expect((await observe(c, { ...check, nodesReady: { nodes: "worker" } } as Check)).ok).to.equal(true);
      expect((await observe(c, { ...check, nodesReady: { nodes: "control-plane" } } as Check)).ok).to.equal(false);
      const none = await observe(c, { ...check, nodesReady: { nodes: "w9" } } as Check);
      expect(none.ok).to.equal(false);
      expect(none.message).to.equal('no node matches "w9"');
    });

    it("with ready: false requires NotReady", async () => {
      const c = new FakeCluster().put(node("w1", { ready: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." }));
      const o = await observe(c, { ...check, nodesReady: { ready: false } } as Check);
      expect(o.ok).to.equal(true);
      expect(o.evidence[0]!.observed).to.equal("Unknown (NodeStatusUnknown): Kubelet stopped posting node status.");
    });
  });

  describe("podsReady", () => {
    it("names the scheduler's reason for a Pending pod and a missing pod", async () => {
      const c = new FakeCluster().put(pod("web", { phase: "Pending", unschedulable: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }." }));
      const o = await observe(c, { id: "p", title: "pods run", podsReady: { names: ["web", "db"] } } as Check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^2 of 2 pods not Running, Ready: db, web|^2 of 2 pods not Running, Ready: web, db/);
      const web = o.evidence.find((e) => e.label === "pod default/web")!;
      expect(web.observed).to.match(/^Pending: Unschedulable: 0\/2 nodes are available/);
      expect(o.evidence.find((e) => e.label === "pod default/db")!.observed).to.equal("not found");
    });

    it("passes for Running and Ready pods by selector, and enforces minCount", async () => {
      const c = new FakeCluster().put(
        pod("coredns-1", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }),
        pod("coredns-2", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }),
      );
      const check = { id: "dns", title: "coredns", podsReady: { namespace: "kube-system", selector: { "k8s-app": "kube-dns" } } } as Check;
      expect((await observe(c, check)).message).to.equal("2 pods Running, Ready");
      const more = await observe(c, { ...check, podsReady: { ...check.podsReady, minCount: 3 } } as Check);
      expect(more.ok).to.equal(false);
      expect(more.message).to.match(/need at least 3/);
    });

    it("fails with no pods at all (minCount 1)", async () => {
      const o = await observe(new FakeCluster(), { id: "p", title: "pods run", podsReady: { selector: { app: "x" } } } as Check);
      expect(o.ok).to.equal(false);
    });

    it("reports container waiting reasons of a Running pod that is not Ready", async () => {
      const c = new FakeCluster().put(pod("web", { phase: "Running", ready: false, waiting: "CrashLoopBackOff" }));
      const o = await observe(c, { id: "p", title: "pods run", podsReady: { names: ["web"] } } as Check);
      expect(o.evidence[0]!.observed).to.equal("Running, not Ready: container main: CrashLoopBackOff");
    });
  });

  describe("cniConfigured", () => {
    const check = { id: "cni", title: "cni configured", cniConfigured: {} } as Check;
    const listing = (entries: Record<string, string | null>) =>
      ok(
        Object.entries(entries)
          .map(([name, content]) => `@@labrun-entry@@ ${name}\n${content === null ? "" : `@@labrun-file@@ ${name}\n${content}\n`}`)
          .join(""),
      );

    it("is an error (not a failure) when the provider has no node shell", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }));
      const e = await evalError(observe(c, check));
      expect(e.final).to.equal(true);
      expect(e.message).to.match(/cannot run commands on nodes/);
    });

    it("fails for an empty or missing directory, passes for any CNI's valid config", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }), node("w1"), node("w2"));
      c.nodeRunner = (n) => {
        if (n === "cp") return listing({ "10-flannel.conflist": JSON.stringify({ cniVersion: "0.3.1", name: "cbr0", plugins: [{ type: "flannel" }, { type: "portmap" }] }) });
        if (n === "w1") return listing({});
        return ok("@@labrun-nodir@@\n");
      };
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("no CNI configuration on 2 of 3 nodes: w1, w2");
      expect(o.evidence.map((e) => e.observed)).to.deep.equal(["10-flannel.conflist (flannel, portmap)", "/etc/cni/net.d is empty", "/etc/cni/net.d does not exist"]);
      // bounded by `timeout` on the node; no shell of the learner's
      expect(c.nodeRuns[0]!.command.slice(0, 4)).to.deep.equal(["timeout", "19", "sh", "-c"]);

      c.nodeRunner = () => listing({ "05-cilium.conflist": JSON.stringify({ cniVersion: "0.3.1", name: "cilium", plugins: [{ type: "cilium-cni" }] }), "87-podman.conflist.bak": null });
      const good = await observe(c, check);
      expect(good.ok).to.equal(true);
      expect(good.message).to.equal("a CNI configuration exists on all 3 nodes");
    });

    it("does not count files that are not CNI configurations", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }));
      c.nodeRunner = () => listing({ "fake.conf": "hello", "notes.txt": null, "x.json": "{}" });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.evidence[0]!.observed).to.match(/no valid CNI configuration: fake\.conf: not valid JSON.*x\.json: has neither/);
    });

    it("parses the node script's output", () => {
      expect(LIST_SCRIPT).to.include('[ -d "$d" ]');
      expect(parseListing("@@labrun-entry@@ a.conf\n@@labrun-file@@ a.conf\n{\n}\n\n@@labrun-entry@@ b\n")).to.deep.equal({
        exists: true,
        entries: ["a.conf", "b"],
        files: [{ name: "a.conf", content: "{\n}\n" }],
      });
    });
  });

  describe("http", () => {
    const byIp = { id: "http-by-ip", title: "http by ip", http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend", port: 80, via: "ip" }, expect: { status: 200, bodyContains: "Welcome to nginx!" } } } as Check;

    function nginxProbe(c: FakeCluster) {
      c.probe = ({ verb, args }) => {
        if (verb !== "http") return { ok: false, error: "unexpected" };
        if (args.url!.startsWith("http://192.168.1.4:80/") || args.url!.startsWith("http://192-168-1-4.default.pod.cluster.local:80/")) {
          return { ok: true, status: 200, body: NGINX_PAGE, remoteAddr: "192.168.1.4:80", durationMs: 3 };
        }
        return { ok: false, error: "dial tcp: connect: connection refused", durationMs: 1 };
      };
    }

    it("probes from labrun's ephemeral container in the source pod, by the target's live IP", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      nginxProbe(c);
      const o = await observe(c, byIp);
      expect(o.ok, o.message).to.equal(true);
      expect(o.message).to.equal('default/testclient reached default/cyberdyne-frontend:80: HTTP 200, body contains "Welcome to nginx!"');
      expect(c.ephemeral).to.have.length(1);
      expect(c.ephemeral[0]!.pod).to.equal("testclient");
      expect(c.ephemeral[0]!.spec.image).to.equal(PROBE_IMAGE);
      expect(c.ephemeral[0]!.spec.command).to.deep.equal(["labrun-probe", "hold", "--max", "0"]);
      const probeExec = c.execs.find((e) => e.command[0] === "labrun-probe")!;
      expect(probeExec.target.container).to.equal(c.ephemeral[0]!.spec.name);
      expect(probeExec.command).to.deep.equal(["labrun-probe", "http", "--url", "http://192.168.1.4:80/", "--max-body", "65536", "--timeout", "3s"]);
      expect(o.connectivity).to.deep.equal([{ from: "default/testclient", to: "default/cyberdyne-frontend:80", expected: "allowed", observed: "allowed" }]);
      const source = await c.get({ apiVersion: "v1", kind: "Pod", name: "testclient", namespace: "default" });
      expect(source!.metadata.annotations?.["kubectl.kubernetes.io/default-container"], "kubectl exec keeps choosing the pod's own container").to.equal("curl");
    });

    it("builds the pod DNS name from the target's live IP for via: dns", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      nginxProbe(c);
      const o = await observe(c, { ...byIp, http: { ...(byIp as { http: object }).http, to: { pod: "cyberdyne-frontend", via: "dns" } } } as Check);
      expect(o.ok, o.message).to.equal(true);
      expect(o.evidence[0]!.label).to.match(/^GET http:\/\/192-168-1-4\.default\.pod\.cluster\.local:80\/ from default\/testclient/);
    });

    it("fails with the probe's error and marks the connection blocked", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.probe = () => ({ ok: false, error: 'Get "http://192.168.1.4:80/": dial tcp 192.168.1.4:80: i/o timeout', durationMs: 3001 });
      const o = await observe(c, byIp);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("default/testclient cannot reach default/cyberdyne-frontend:80: dial tcp 192.168.1.4:80: i/o timeout");
      expect(o.evidence[0]!.observed).to.equal("no response: dial tcp 192.168.1.4:80: i/o timeout (after 3001ms)");
      expect(o.connectivity![0]!.observed).to.equal("blocked");
    });

    it("fails when the body lacks the expected text, quoting it", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.probe = () => ({ ok: true, status: 200, body: "It works" });
      const o = await observe(c, byIp);
      expect(o.ok).to.equal(false);
      expect(o.evidence[0]!.observed).to.equal('HTTP 200, body does not contain "Welcome to nginx!"; body: "It works"');
    });

    it("fails (no probe) while the source pod is Pending, saying why", async () => {
      const [frontend] = beeboxPods();
      const c = new FakeCluster().put(frontend!, pod("testclient", { phase: "Pending", container: "curl", image: "docker.io/curlimages/curl:7.88.1", unschedulable: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }." }));
      const o = await observe(c, byIp);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^source pod default\/testclient is not running: Pending: Unschedulable/);
      expect(c.ephemeral).to.have.length(0);
      expect(o.connectivity![0]!.observed).to.equal("unknown");
    });

    it("fails when the target pod has no IP", async () => {
      const [, client] = beeboxPods();
      const c = new FakeCluster().put(client!, pod("cyberdyne-frontend", { phase: "Pending", container: "nginx", unschedulable: "no nodes" }));
      const o = await observe(c, byIp);
      expect(o.message).to.match(/^target pod default\/cyberdyne-frontend has no IP: Pending/);
    });

    it("detects a replaced source pod (a testclient whose curl always prints the nginx page)", async () => {
      const [frontend] = beeboxPods();
      // The learner's fake: nginx image named testclient; curl would print the nginx page whatever happens.
      const fake = pod("testclient", { ip: "192.168.1.9", container: "curl", image: "docker.io/library/nginx:1.22.1", uid: "uid-fake" });
      const c = new FakeCluster().put(frontend!, fake);
      nginxProbe(c);
      const o = await observe(c, byIp);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^source pod default\/testclient is not the pod the scenario deploys: docker\.io\/library\/nginx:1\.22\.1: the pod was replaced/);
      expect(o.evidence[0]).to.deep.include({ label: "source pod default/testclient: container curl image", expected: "docker.io/curlimages/curl:7.88.1 (as in Pod default/testclient)" });
      expect(c.ephemeral).to.have.length(0);
    });

    it("detects the host-network shortcut on the target", async () => {
      const [, client] = beeboxPods();
      const c = new FakeCluster().put(client!, pod("cyberdyne-frontend", { ip: "172.18.0.3", container: "nginx", hostNetwork: true }));
      nginxProbe(c);
      const o = await observe(c, byIp);
      expect(o.ok).to.equal(false);
      expect(o.evidence[0]!.label).to.equal("target pod default/cyberdyne-frontend: hostNetwork");
      expect(o.evidence[0]!.observed).to.match(/^true: the pod uses the node's network/);
    });

    it("treats equivalent image references as the same image", async () => {
      const c = new FakeCluster().put(pod("cyberdyne-frontend", { ip: "192.168.1.4", container: "nginx", image: "nginx:1.22.1" }), beeboxPods()[1]!);
      nginxProbe(c);
      expect((await observe(c, byIp)).ok).to.equal(true);
    });

    it("probes a service by DNS name (default) or cluster IP", async () => {
      const c = new FakeCluster().put(...beeboxPods(), service("web", "10.96.0.10"));
      const urls: string[] = [];
      c.probe = ({ args }) => {
        urls.push(args.url!);
        return { ok: true, status: 200, body: NGINX_PAGE };
      };
      await observe(c, { id: "s", title: "svc", http: { from: { pod: "testclient" }, to: { service: "web" } } } as Check);
      await observe(c, { id: "s", title: "svc", http: { from: { pod: "testclient" }, to: { service: "web", via: "ip", port: 8080 }, path: "/healthz" } } as Check);
      expect(urls).to.deep.equal(["http://web.default.svc.cluster.local:80/", "http://10.96.0.10:8080/healthz"]);
    });

    it("is an error (final) when labrun's probe image cannot start", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.addEphemeralError = new EphemeralContainerError("container labrun-probe-x cannot start: ErrImageNeverPull", "ErrImageNeverPull");
      const probes = new ProbeManager(c);
      const e = await evalError(observe(c, byIp, { probes }));
      expect(e.final).to.equal(true);
      expect(e.infrastructure, "labrun's missing image is its infrastructure, not the cluster's networking").to.equal(true);
      expect(e.message).to.match(/labrun's probe could not start in pod default\/testclient/);
      // remembered for the grade: a second check does not try again
      await evalError(observe(c, byIp, { probes }));
      expect(c.calls.filter((x) => x.startsWith("addEphemeral"))).to.have.length(1);
    });

    it("a check attempt cut short does not abandon the probe start other checks share", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.addEphemeralDelayMs = 80;
      const probes = new ProbeManager(c);
      const [testclient] = beeboxPods().slice(1);
      const impatient = new AbortController();
      const first = probes.container(testclient!, impatient.signal);
      const second = probes.container(testclient!);
      setTimeout(() => impatient.abort(new Error("attempt deadline")), 20);
      expect(((await first.catch((e: unknown) => e)) as Error).message).to.equal("attempt deadline");
      expect(await second).to.match(/^labrun-probe-[0-9a-f]{6}$/);
      expect(await probes.container(testclient!)).to.equal(await second);
      expect(c.ephemeral).to.have.length(1);
    });

    it("reuses one probe container per source pod across checks", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      nginxProbe(c);
      const probes = new ProbeManager(c);
      await Promise.all([observe(c, byIp, { probes }), observe(c, byIp, { probes }), observe(c, byIp, { probes })]);
      expect(c.ephemeral).to.have.length(1);
      await probes.stopAll();
      expect(c.execs.filter((e) => e.command.join(" ") === "labrun-probe stop")).to.have.length(1);
    });
  });

  describe("dns", () => {
    it("resolves the pod DNS name built from the live IP and requires that IP", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      const names: string[] = [];
      c.probe = ({ verb, args }) => {
        names.push(`${verb} ${args.name} ${args.type}`);
        return { ok: true, addresses: ["192.168.1.4"] };
      };
      const check = { id: "pod-dns", title: "pod dns", dns: { from: { pod: "testclient" }, lookup: { pod: "cyberdyne-frontend" } } } as Check;
      const o = await observe(c, check);
      expect(o.ok, o.message).to.equal(true);
      expect(names).to.deep.equal(["dns 192-168-1-4.default.pod.cluster.local. A"]);

      c.probe = () => ({ ok: true, addresses: ["192.168.1.99"] });
      const wrong = await observe(c, check);
      expect(wrong.ok).to.equal(false);
      expect(wrong.message).to.equal("pod default/cyberdyne-frontend's DNS name resolves to 192.168.1.99, not 192.168.1.4");

      c.probe = () => ({ ok: false, error: "lookup 192-168-1-4.default.pod.cluster.local: i/o timeout" });
      const none = await observe(c, check);
      expect(none.ok).to.equal(false);
      expect(none.evidence[0]!.observed).to.equal("no answer: lookup 192-168-1-4.default.pod.cluster.local: i/o timeout");
    });

    it("resolves a service to its cluster IP, and a name to the expected addresses", async () => {
      const c = new FakeCluster().put(...beeboxPods(), service("web", "10.96.0.10"));
      c.probe = ({ args }) => (args.name === "web.default.svc.cluster.local." ? { ok: true, addresses: ["10.96.0.10"] } : { ok: true, addresses: ["1.2.3.4", "5.6.7.8"] });
      expect((await observe(c, { id: "d", title: "svc dns", dns: { from: { pod: "testclient" }, lookup: { service: "web" } } } as Check)).ok).to.equal(true);
      expect((await observe(c, { id: "d", title: "name dns", dns: { from: { pod: "testclient" }, lookup: { name: "example.test" }, expect: { addresses: ["5.6.7.8"] } } } as Check)).ok).to.equal(true);
      expect((await observe(c, { id: "d", title: "name dns", dns: { from: { pod: "testclient" }, lookup: { name: "example.test" }, expect: { addresses: ["9.9.9.9"] } } } as Check)).ok).to.equal(false);
    });
  });

  describe("blocked", () => {
    const check = {
      id: "deny",
      title: "db is blocked",
      blocked: { from: { pod: "testclient" }, to: { pod: "db", port: 5432 }, control: { pod: "cyberdyne-frontend", port: 80 }, allowedFrom: { pod: "cyberdyne-frontend" } },
    } as Check;
    const world = () => new FakeCluster().put(...beeboxPods(), pod("db", { ip: "192.168.1.7", image: "postgres:16.1" }));
    /** testclient reaches the frontend only; the frontend (the allowed source) reaches the db. */
    const policy = ({ pod: from, args }: { pod: string; args: Record<string, string> }) =>
      args.addr === "192.168.1.4:80" || (from === "cyberdyne-frontend" && args.addr === "192.168.1.7:5432") ? { ok: true, durationMs: 1 } : { ok: false, error: "dial tcp 192.168.1.7:5432: i/o timeout" };

    it("passes when the target is blocked, the control target is reachable and the allowed source reaches the target", async () => {
      const c = world();
      c.probe = policy;
      const o = await observe(c, check);
      expect(o.ok, o.message).to.equal(true);
      expect(o.message).to.equal("default/testclient → default/db:5432 is blocked, while default/cyberdyne-frontend reaches it and default/cyberdyne-frontend:80 is reachable");
      expect(o.connectivity).to.deep.equal([
        { from: "default/testclient", to: "default/db:5432", expected: "blocked", observed: "blocked" },
        { from: "default/testclient", to: "default/cyberdyne-frontend:80", expected: "allowed", observed: "allowed" },
        { from: "default/cyberdyne-frontend", to: "default/db:5432", expected: "allowed", observed: "allowed" },
      ]);
      expect(o.evidence.map((e) => e.label)).to.include("positive control: TCP 192.168.1.7:5432 from the allowed source default/cyberdyne-frontend");
    });

    it("never passes when the source cannot reach its control target", async () => {
      const c = world();
      c.probe = () => ({ ok: false, error: "i/o timeout" });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^source cannot reach its control target default\/cyberdyne-frontend:80 \(i\/o timeout\): a blocked verdict cannot be trusted$/);
      expect(o.connectivity![0]!.observed).to.equal("unknown");
    });

    it("never passes when the allowed source cannot reach the target either (a dead listener is not 'blocked')", async () => {
      const c = world();
      // nothing listens on the db: every connection to it is refused, from anyone
      c.probe = ({ args }) => (args.addr === "192.168.1.4:80" ? { ok: true } : { ok: false, error: "dial tcp 192.168.1.7:5432: connect: connection refused" });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^the allowed source default\/cyberdyne-frontend cannot reach default\/db:5432 either \(.*connection refused\): nothing proves the target is listening/);
      expect(o.connectivity!.map((x) => x.observed)).to.deep.equal(["unknown", "allowed", "blocked"]);
    });

    it("fails when the connection succeeds", async () => {
      const c = world();
      c.probe = () => ({ ok: true });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("default/testclient can connect to default/db:5432: it should be blocked");
    });

    it("cannot be evaluated without allowedFrom (never a pass)", async () => {
      const c = world();
      c.probe = policy;
      const { allowedFrom: _dropped, ...rest } = (check as { blocked: Record<string, unknown> }).blocked;
      const e = await evalError(observe(c, { ...check, blocked: rest } as Check));
      expect(e.final).to.equal(true);
      expect(e.message).to.match(/needs `allowedFrom`/);
    });

    it("refuses to judge when the allowed source is not running", async () => {
      const c = new FakeCluster().put(pod("testclient", { ip: "192.168.1.5", container: "curl", image: "docker.io/curlimages/curl:7.88.1" }), pod("cyberdyne-frontend", { phase: "Pending", container: "nginx", image: "docker.io/library/nginx:1.22.1" }), pod("db", { ip: "192.168.1.7" }));
      c.probe = () => ({ ok: false, error: "i/o timeout" });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^cannot test: the allowed \(positive control\) source pod default\/cyberdyne-frontend is not running/);
    });

    it("refuses to judge a target that is down (not Ready) or a service without ready endpoints", async () => {
      const c = new FakeCluster().put(...beeboxPods(), pod("db", { ip: "192.168.1.7", ready: false }));
      c.probe = () => ({ ok: false, error: "connection refused" });
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^cannot test: target pod default\/db is not Ready/);

      c.put(service("db", "10.96.0.20"), endpointSlice("db", [false]));
      const s = await observe(c, { ...check, blocked: { ...(check as { blocked: object }).blocked, to: { service: "db", port: 5432 } } } as Check);
      expect(s.message).to.match(/^cannot test: target service default\/db has no ready endpoints/);
    });
  });

  describe("object", () => {
    const deploy = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: { replicas: 1, template: { spec: { containers: [{ name: "nginx", image: "nginx:1.22.1" }] } } },
    };

    it("matches a partial object and lists every difference", async () => {
      const c = new FakeCluster().put(deploy);
      const good = await observe(c, { id: "o", title: "deploy", object: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "default", match: { spec: { replicas: 1 } } } } as Check);
      expect(good.ok).to.equal(true);
      const bad = await observe(c, {
        id: "o",
        title: "deploy",
        object: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "default", match: { spec: { replicas: 3, template: { spec: { containers: [{ image: "nginx:1.25.0" }] } }, paused: true } } },
      } as Check);
      expect(bad.ok).to.equal(false);
      expect(bad.evidence).to.deep.equal([
        { label: "Deployment default/web: spec.replicas", expected: "3", observed: "1" },
        { label: "Deployment default/web: spec.template.spec.containers[0].image", expected: '"nginx:1.25.0"', observed: '"nginx:1.22.1"' },
        { label: "Deployment default/web: spec.paused", expected: "true", observed: "missing" },
      ]);
      expect(bad.message).to.equal("Deployment default/web differs in 3 fields: spec.replicas is 1, expected 3");
    });

    it("supports absent", async () => {
      const c = new FakeCluster().put(deploy);
      const check = { id: "o", title: "gone", object: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "default", absent: true } } as Check;
      expect((await observe(c, check)).ok).to.equal(false);
      c.remove("apps/v1", "Deployment", "default", "web");
      expect((await observe(c, check)).ok).to.equal(true);
    });

    it("fails when the object is missing", async () => {
      const o = await observe(new FakeCluster(), { id: "o", title: "cm", object: { kind: "ConfigMap", name: "x", namespace: "default" } } as Check);
      expect(o).to.deep.include({ ok: false, message: "ConfigMap default/x not found" });
    });
  });

  describe("command", () => {
    it("runs in the pod's container under `timeout`, and judges exit code and output", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.execHandler = () => ok("nameserver 10.96.0.10\n");
      const check = { id: "c", title: "resolv", command: { in: { pod: "testclient" }, command: ["cat", "/etc/resolv.conf"], expect: { stdoutContains: "10.96.0.10" } } } as Check;
      const o = await observe(c, check);
      expect(o.ok, o.message).to.equal(true);
      expect(c.execs[0]!.command).to.deep.equal(["timeout", "19", "cat", "/etc/resolv.conf"]);
      expect(c.execs[0]!.target).to.deep.equal({ namespace: "default", pod: "testclient", container: "curl" });

      c.execHandler = () => ({ exitCode: 1, stdout: "", stderr: "cat: can't open", timedOut: false });
      const bad = await observe(c, check);
      expect(bad.ok).to.equal(false);
      expect(bad.evidence[0]!.observed).to.equal('exit 1; no stdout; stderr: "cat: can\'t open"');
    });

    it("falls back to the bare command in a container without `timeout`", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.execHandler = (_t, command) =>
        command[0] === "timeout" ? { exitCode: null, stdout: "", stderr: 'exec: "timeout": executable file not found in $PATH', timedOut: false } : ok("ok\n");
      const o = await observe(c, { id: "c", title: "cmd", command: { in: { pod: "testclient" }, command: ["echo", "ok"] } } as Check);
      expect(o.ok).to.equal(true);
      expect(c.execs.map((e) => e.command[0])).to.deep.equal(["timeout", "echo"]);
    });

    it("runs on nodes and reports each node", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }), node("w1"));
      c.nodeRunner = (n) => (n === "cp" ? ok("1\n") : ok("0\n"));
      const o = await observe(c, { id: "c", title: "ip forward", command: { on: { node: "all" }, command: ["cat", "/proc/sys/net/ipv4/ip_forward"], expect: { stdoutMatches: "^1$" } } } as Check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/failed on w1/);
      expect(o.evidence.map((e) => e.label)).to.deep.equal(["on node cp: cat /proc/sys/net/ipv4/ip_forward", "on node w1: cat /proc/sys/net/ipv4/ip_forward"]);
    });

    it("is a final error for an invalid regular expression", async () => {
      const e = await evalError(observe(new FakeCluster(), { id: "c", title: "bad", command: { on: {}, command: ["true"], expect: { stdoutMatches: "(" } } } as Check));
      expect(e.final).to.equal(true);
    });
  });

  describe("script", () => {
    it("runs the author's module with a typed context", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }));
      const files = {
        "checks/count.ts": `import type { ScriptCheckContext, ScriptCheckResult } from "${new URL("../../../checks/kinds/script.ts", import.meta.url).pathname}";
export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const nodes = await ctx.client.list("v1", "Node", { signal: ctx.signal });
  ctx.logger.info("counted");
  return { ok: nodes.length === 1, message: \`\${nodes.length} node(s) in \${ctx.lab.name}\`, evidence: [{ label: "nodes", expected: "1", observed: String(nodes.length) }] };
}
`,
      };
      const o = await observe(c, { id: "s", title: "script", script: { file: "checks/count.ts" } } as Check, { files });
      expect(o).to.deep.equal({ ok: true, message: "1 node(s) in test-lab", evidence: [{ label: "nodes", expected: "1", observed: "1" }] });
    });

    it("gives a zx script `$` that runs in the scenario folder with the lab's KUBECONFIG", async () => {
      const c = new FakeCluster() as FakeCluster & { kubeconfig?: { path: string } };
      Object.assign(c, { kubeconfig: { path: "/labs/demo/kubeconfig" } });
      const files = {
        "checks/shell.mjs": `export default async function (ctx) {
  const out = await ctx.$\`printf '%s|%s' "$KUBECONFIG" "$(basename "$PWD")"\`;
  return { ok: out.stdout.startsWith("/labs/demo/kubeconfig|"), message: out.stdout };
}
`,
      };
      const o = await observe(c, { id: "s", title: "zx", script: { file: "checks/shell.mjs" } } as Check, { files });
      expect(o.ok, o.message).to.equal(true);
      expect(o.message).to.match(/^\/labs\/demo\/kubeconfig\|\S+$/);
    });

    it("is an error when the script throws, and a final error for a malformed result", async () => {
      const throws = await evalError(observe(new FakeCluster(), { id: "s", title: "script", script: { file: "a.mjs" } } as Check, { files: { "a.mjs": "export default async () => { throw new Error('boom'); };" } }));
      expect(throws.message).to.equal("script a.mjs threw: boom");
      expect(throws.final).to.equal(false);
      const bad = await evalError(observe(new FakeCluster(), { id: "s", title: "script", script: { file: "b.mjs" } } as Check, { files: { "b.mjs": "export default () => 42;" } }));
      expect(bad.final).to.equal(true);
    });
  });
});
