/**
 * Grades a learner cannot fool: probe ownership and reuse, pod integrity
 * before a probe is trusted, names resolved by the cluster's DNS Service,
 * the hijack tell-tale, selector sources, batching. Scripted clusters only.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { clusterSearch, dnsServerAddress } from "../../../checks/cluster-dns.ts";
import { DEFAULT_SETTINGS, type CheckContext, type Observation } from "../../../checks/context.ts";
import { checkPodIntegrity, foreignEphemeralContainers } from "../../../checks/integrity.ts";
import { evaluateCheck } from "../../../checks/kinds/index.ts";
import { isLabrunProbeContainer, PROBE_IMAGE, PROBE_SECURITY_CONTEXT, ProbeError, ProbeManager, probeArgs, runningProbeContainers, stopLabProbes } from "../../../checks/probe.ts";
import { resolvePod } from "../../../checks/pods.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { checkKind, type Check } from "../../../runner/schema/scenario.ts";
import { addEphemeral, BEEBOX_MANIFEST, beeboxPods, FakeCluster, LAB, NGINX_PAGE, pod, scenarioWith } from "./fakes.ts";

async function observe(cluster: FakeCluster, check: Check, options: { workloads?: WorkloadIndex; probes?: ProbeManager } = {}): Promise<Observation> {
  const ctx: CheckContext = {
    client: cluster,
    scenario: scenarioWith([check]),
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

/** What labrun's own probe container looks like once the API server has it. */
function labrunProbe(name = "labrun-probe-0a1b2c", max = "0"): Record<string, unknown> {
  return {
    name,
    image: PROBE_IMAGE,
    command: ["labrun-probe", "hold", "--max", max],
    imagePullPolicy: "IfNotPresent",
    stdin: false,
    tty: false,
    terminationMessagePolicy: "FallbackToLogsOnError",
    terminationMessagePath: "/dev/termination-log",
    resources: {},
    securityContext: structuredClone(PROBE_SECURITY_CONTEXT),
  };
}

/** `kubectl debug testclient --image=nginx` (serving :80 in the pod's network namespace). */
const NGINX_DEBUG = { name: "debugger-x7k2p", image: "docker.io/library/nginx:1.22.1", imagePullPolicy: "IfNotPresent", stdin: true, tty: true, terminationMessagePolicy: "File" };
/** `kubectl debug testclient --profile=netadmin --image=busybox -- ip addr add 192.168.1.4/32 dev lo`. */
const NETADMIN_DEBUG = {
  name: "debugger-q9w8e",
  image: "docker.io/library/busybox:1.36",
  command: ["ip", "addr", "add", "192.168.1.4/32", "dev", "lo"],
  securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
};

const byIp = { id: "http-by-ip", title: "http by ip", http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend", port: 80, via: "ip" }, expect: { status: 200, bodyContains: "Welcome to nginx!" } } } as Check;
const byDns = { id: "http-by-dns", title: "http by dns", http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend", port: 80, via: "dns" }, expect: { status: 200, bodyContains: "Welcome to nginx!" } } } as Check;
const podDns = { id: "pod-dns", title: "pod dns", dns: { from: { pod: "testclient" }, lookup: { pod: "cyberdyne-frontend" } } } as Check;

function nginxEverywhere(c: FakeCluster): void {
  c.probe = ({ verb }) => (verb === "http" ? { ok: true, status: 200, body: NGINX_PAGE, remoteAddr: "192.168.1.4:80" } : verb === "dns" ? { ok: true, addresses: ["192.168.1.4"], server: "10.96.0.10:53" } : { ok: true });
}

function testclient(c: FakeCluster): KubeObject {
  return c.objects.get(FakeCluster.key("v1", "Pod", "default", "testclient"))!;
}

describe("probe ownership: a container is labrun's only if its whole spec is", () => {
  it("accepts exactly what labrun creates, with the API server's defaults, for a bounded or unbounded hold", () => {
    expect(isLabrunProbeContainer(labrunProbe(), PROBE_IMAGE)).to.equal(true);
    expect(isLabrunProbeContainer(labrunProbe("labrun-probe-ffffff", "30m"), PROBE_IMAGE)).to.equal(true);
  });

  it("rejects a learner's container that only borrows the name, image or command", () => {
    const variants: [string, Record<string, unknown>][] = [
      ["another image", { ...labrunProbe(), image: "docker.io/library/nginx:1.22.1" }],
      ["a name outside labrun's pattern", { ...labrunProbe(), name: "labrun-probe-x" }],
      ["another command", { ...labrunProbe(), command: ["labrun-probe", "hold", "--listen", ":80"] }],
      ["extra args", { ...labrunProbe(), args: ["--listen", ":80"] }],
      ["added capabilities", { ...labrunProbe(), securityContext: { ...PROBE_SECURITY_CONTEXT, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } } }],
      ["root", { ...labrunProbe(), securityContext: { ...PROBE_SECURITY_CONTEXT, runAsUser: 0 } }],
      ["no securityContext", { ...labrunProbe(), securityContext: undefined }],
      ["a target container", { ...labrunProbe(), targetContainerName: "curl" }],
      ["environment", { ...labrunProbe(), env: [{ name: "X", value: "1" }] }],
      ["volume mounts", { ...labrunProbe(), volumeMounts: [{ name: "v", mountPath: "/x" }] }],
      ["an interactive terminal", { ...labrunProbe(), stdin: true, tty: true }],
    ];
    for (const [why, container] of variants) expect(isLabrunProbeContainer(container, PROBE_IMAGE), why).to.equal(false);
  });

  it("an older labrun's probe (another tag of the probe image) is labrun's too, but only the current one is reused", () => {
    const old = { ...labrunProbe("labrun-probe-0000aa", "600s"), image: "ghcr.io/labrun/probe:v0.1.0" };
    expect(isLabrunProbeContainer(old, PROBE_IMAGE)).to.equal(false);
    expect(isLabrunProbeContainer(old, PROBE_IMAGE, { anyVersion: true })).to.equal(true);
    expect(isLabrunProbeContainer({ ...old, image: "ghcr.io/labrun/probe-fake:v0.1.0" }, PROBE_IMAGE, { anyVersion: true })).to.equal(false);
    expect(isLabrunProbeContainer({ ...old, image: "ghcr.io/labrun/probe@sha256:0123" }, PROBE_IMAGE, { anyVersion: true })).to.equal(false);
    const p = beeboxPods()[1]!;
    addEphemeral(p, old);
    expect(foreignEphemeralContainers(p, PROBE_IMAGE)).to.deep.equal([]);
    expect(runningProbeContainers(p, PROBE_IMAGE)).to.deep.equal([]);
  });

  it("finds the running labrun probes of a pod, not ended ones or look-alikes", () => {
    const p = beeboxPods()[1]!;
    addEphemeral(p, labrunProbe("labrun-probe-000001"), { terminated: { reason: "Completed", exitCode: 0 } });
    addEphemeral(p, { ...labrunProbe("labrun-probe-000002"), args: ["x"] });
    addEphemeral(p, labrunProbe("labrun-probe-000003"));
    expect(runningProbeContainers(p, PROBE_IMAGE)).to.deep.equal(["labrun-probe-000003"]);
    expect(foreignEphemeralContainers(p, PROBE_IMAGE).map((f) => f.name)).to.deep.equal(["labrun-probe-000002"]);
  });
});

describe("one probe container per source pod for the lab's life", () => {
  it("reuses a running probe an earlier grade left in the pod instead of adding one", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(testclient(c), labrunProbe("labrun-probe-abcdef"));
    nginxEverywhere(c);
    const probes = new ProbeManager(c);
    const o = await observe(c, byIp, { probes });
    expect(o.ok, o.message).to.equal(true);
    expect(c.ephemeral).to.have.length(0);
    expect(c.execs.find((e) => e.command[0] === "labrun-probe")!.target.container).to.equal("labrun-probe-abcdef");
    expect(probes.reused.map((r) => r.container)).to.deep.equal(["labrun-probe-abcdef"]);
  });

  it("adds a new probe when labrun's earlier one has ended, and never reuses a look-alike", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(testclient(c), labrunProbe("labrun-probe-000001"), { terminated: { reason: "Completed", exitCode: 0 } });
    nginxEverywhere(c);
    expect((await observe(c, byIp)).ok).to.equal(true);
    expect(c.ephemeral).to.have.length(1);
    expect(c.ephemeral[0]!.spec.name).to.not.equal("labrun-probe-000001");
  });

  it("within a grade, finds or starts again when the probe it used has ended (stopped by the learner)", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    nginxEverywhere(c);
    const probes = new ProbeManager(c);
    expect((await observe(c, byIp, { probes })).ok).to.equal(true);
    const first = c.ephemeral[0]!.spec.name;
    await c.exec({ namespace: "default", pod: "testclient", container: first }, ["labrun-probe", "stop"], { timeoutMs: 1000 });
    expect((await observe(c, byIp, { probes })).ok).to.equal(true);
    expect(c.ephemeral).to.have.length(2);
    expect(c.execs.filter((e) => e.command[1] === "http").at(-1)!.target.container).to.equal(c.ephemeral[1]!.spec.name);
  });

  it("stopLabProbes ends every running labrun probe in the cluster, and nothing of the learner's", async () => {
    const c = new FakeCluster().put(...beeboxPods(), pod("other", { namespace: "shop", ip: "10.0.0.9" }));
    addEphemeral(testclient(c), labrunProbe("labrun-probe-000001"));
    addEphemeral(testclient(c), NGINX_DEBUG);
    addEphemeral(c.objects.get(FakeCluster.key("v1", "Pod", "shop", "other"))!, labrunProbe("labrun-probe-000002"));
    addEphemeral(c.objects.get(FakeCluster.key("v1", "Pod", "shop", "other"))!, labrunProbe("labrun-probe-000003"), { terminated: { reason: "Completed" } });
    const r = await stopLabProbes(c);
    expect(r.failures).to.deep.equal([]);
    expect(r.stopped.sort()).to.deep.equal(["default/testclient/labrun-probe-000001", "shop/other/labrun-probe-000002"]);
    expect(c.execs.map((e) => `${e.target.pod}/${e.target.container} ${e.command.join(" ")}`).sort()).to.deep.equal([
      "other/labrun-probe-000002 labrun-probe stop",
      "testclient/labrun-probe-000001 labrun-probe stop",
    ]);
    expect(runningProbeContainers(testclient(c), PROBE_IMAGE)).to.deep.equal([]);
  });
});

describe("pod integrity before a probe is trusted", () => {
  it("fails (not error) when the source pod has a learner's debug container serving in its network namespace", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(testclient(c), NGINX_DEBUG);
    nginxEverywhere(c);
    const o = await observe(c, byIp);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("pod default/testclient has an ephemeral container debugger-x7k2p (image docker.io/library/nginx:1.22.1) that labrun did not add: a probe from this pod cannot be trusted");
    expect(o.evidence[0]).to.deep.include({ label: "source pod default/testclient: ephemeral container debugger-x7k2p" });
    expect(o.evidence[0]!.observed).to.match(/^image docker\.io\/library\/nginx:1\.22\.1, command "\(image default\)", running$/);
    expect(c.execs.filter((e) => e.command[0] === "labrun-probe"), "no probe runs from an untrusted pod").to.have.length(0);
  });

  it("a netadmin debug container that already ended still counts: what it did to the network namespace stays", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(testclient(c), NETADMIN_DEBUG, { terminated: { reason: "Completed", exitCode: 0 } });
    nginxEverywhere(c);
    const o = await observe(c, byIp);
    expect(o.ok).to.equal(false);
    expect(o.evidence[0]!.observed).to.equal('image docker.io/library/busybox:1.36, command "ip addr add 192.168.1.4/32 dev lo", terminated (Completed), adds NET_ADMIN, NET_RAW');
  });

  it("a debug container named like labrun's probe is not labrun's", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(testclient(c), { ...labrunProbe("labrun-probe-aaaaaa"), securityContext: { capabilities: { add: ["NET_ADMIN"] } } });
    nginxEverywhere(c);
    const o = await observe(c, byIp);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^pod default\/testclient has an ephemeral container labrun-probe-aaaaaa \(image ghcr\.io\/labrun\/probe:v0\.2\.0\) that labrun did not add/);
  });

  it("checks target pods too (http by IP, dns pod lookups): an answer from them cannot be trusted", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    addEphemeral(c.objects.get(FakeCluster.key("v1", "Pod", "default", "cyberdyne-frontend"))!, { name: "sidecar", image: "docker.io/library/nginx:1.22.1" });
    nginxEverywhere(c);
    const http = await observe(c, byIp);
    expect(http.ok).to.equal(false);
    expect(http.message).to.equal("pod default/cyberdyne-frontend has an ephemeral container sidecar (image docker.io/library/nginx:1.22.1) that labrun did not add: an answer from this pod cannot be trusted");
    const dns = await observe(c, podDns);
    expect(dns.ok).to.equal(false);
    expect(dns.message).to.match(/^pod default\/cyberdyne-frontend has an ephemeral container sidecar/);
  });

  it("compares a recreated pod with the scenario's declaration: hostAliases, DNS settings, capabilities, privileges, namespaces, init containers", () => {
    const index = new WorkloadIndex().addManifests(BEEBOX_MANIFEST);
    const base = () => beeboxPods()[1]!;
    const problem = (mutate: (spec: Record<string, unknown>) => void) => {
      const p = base();
      mutate(p.spec as Record<string, unknown>);
      return checkPodIntegrity(p, "source", { workloads: index, probeImage: PROBE_IMAGE });
    };
    expect(problem(() => undefined)).to.equal(undefined);
    const aliases = problem((s) => (s.hostAliases = [{ ip: "192.168.1.4", hostnames: ["web.default.svc.cluster.local"] }]))!;
    expect(aliases.message).to.equal(
      'source pod default/testclient is not the pod the scenario deploys: [{"hostnames":["web.default.svc.cluster.local"],"ip":"192.168.1.4"}]: the pod was recreated with its own /etc/hosts entries',
    );
    expect(aliases.evidence[0]).to.deep.include({ label: "source pod default/testclient: hostAliases", expected: "none (as in Pod default/testclient)" });
    expect(problem((s) => (s.dnsPolicy = "None"))!.evidence[0]!.label).to.equal("source pod default/testclient: dnsPolicy");
    expect(problem((s) => (s.dnsPolicy = "ClusterFirst"))).to.equal(undefined); // the API's default is no change
    expect(problem((s) => (s.dnsConfig = { nameservers: ["10.0.0.53"] }))!.evidence[0]!.label).to.equal("source pod default/testclient: dnsConfig");
    expect(problem((s) => (s.shareProcessNamespace = true))!.evidence[0]!.label).to.equal("source pod default/testclient: shareProcessNamespace");
    expect(problem((s) => (s.hostPID = true))!.evidence[0]!.label).to.equal("source pod default/testclient: hostPID");
    const caps = problem((s) => ((s.containers as Record<string, unknown>[])[0]!.securityContext = { capabilities: { add: ["NET_ADMIN"] } }))!;
    expect(caps.evidence[0]).to.deep.include({ label: "source pod default/testclient: container curl capabilities", observed: "adds NET_ADMIN: the pod was recreated with more privileges than the scenario gives it" });
    expect(problem((s) => ((s.containers as Record<string, unknown>[])[0]!.securityContext = { privileged: true }))!.evidence[0]!.label).to.equal("source pod default/testclient: container curl privileged");
    expect(problem((s) => (s.initContainers = [{ name: "setup", image: "busybox", securityContext: { capabilities: { add: ["NET_ADMIN"] } } }]))!.evidence[0]).to.deep.include({
      label: "source pod default/testclient: init container setup",
      observed: "extra init container setup (image busybox)",
    });
  });

  it("accepts what the scenario declares: its own capabilities and DNS settings, and the reference solution's version of a pod", () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata: { name: client, namespace: default }
spec:
  dnsPolicy: None
  dnsConfig: { nameservers: [10.96.0.99] }
  containers:
    - name: c
      image: busybox:1.36
      securityContext: { capabilities: { add: [NET_ADMIN] } }
`;
    const fixed = manifest.replace("dnsPolicy: None", "dnsPolicy: ClusterFirst").replace("  dnsConfig: { nameservers: [10.96.0.99] }\n", "");
    const index = new WorkloadIndex().addManifests(manifest).addManifests(fixed, "default", " in the solution");
    const live = (spec: Record<string, unknown>): KubeObject => ({ ...pod("client"), spec });
    const container = { name: "c", image: "docker.io/library/busybox:1.36", securityContext: { capabilities: { add: ["CAP_NET_ADMIN"] } } };
    expect(index.verify(live({ containers: [container], dnsPolicy: "None", dnsConfig: { nameservers: ["10.96.0.99"] } }), "source")).to.deep.equal([]);
    expect(index.verify(live({ containers: [container], dnsPolicy: "ClusterFirst" }), "source"), "the solution's pod").to.deep.equal([]);
    const other = index.verify(live({ containers: [container], dnsPolicy: "Default" }), "source");
    expect(other.map((e) => e.label)).to.deep.equal(["source pod default/client: dnsPolicy"]);
  });

  it("a target the scenario puts on the node's network may move to the pod network (a fix), a source may not", () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default }
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{ name: web, image: nginx:1.22.1 }]
`;
    const index = new WorkloadIndex().addManifests(manifest);
    const moved: KubeObject = { ...pod("web"), spec: { dnsPolicy: "ClusterFirstWithHostNet", containers: [{ name: "web", image: "nginx:1.22.1" }] } };
    expect(index.verify(moved, "target")).to.deep.equal([]);
    expect(index.verify(moved, "source").map((e) => e.label)).to.deep.equal(["source pod default/web: hostNetwork"]);
  });
});

describe("names are resolved by the cluster's DNS Service, never the pod's files", () => {
  it("a dns check asks kube-system/kube-dns with the source namespace's search list, and says which server answered", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const calls: Record<string, string>[] = [];
    c.probe = ({ args }) => {
      calls.push(args);
      return { ok: true, addresses: ["192.168.1.4"], server: "10.96.0.10:53", rcode: "NOERROR", name: "192-168-1-4.default.pod.cluster.local." };
    };
    const o = await observe(c, podDns);
    expect(o.ok, o.message).to.equal(true);
    expect(calls).to.deep.equal([{ name: "192-168-1-4.default.pod.cluster.local.", type: "A", server: "10.96.0.10:53", search: "default.svc.cluster.local,svc.cluster.local,cluster.local", ndots: "5", timeout: "3s" }]);
    expect(o.evidence[0]).to.deep.equal({
      label: "lookup 192-168-1-4.default.pod.cluster.local (A) from default/testclient, asking service kube-system/kube-dns (10.96.0.10:53)",
      expected: "answer contains 192.168.1.4",
      observed: "192.168.1.4; answered by 10.96.0.10:53",
    });
  });

  it("an http check by name resolves through the cluster DNS server; by IP it needs none", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const calls: Record<string, string>[] = [];
    c.probe = ({ args }) => {
      calls.push(args);
      return { ok: true, status: 200, body: NGINX_PAGE, remoteAddr: "192.168.1.4:80", resolvedAddr: "192.168.1.4" };
    };
    const o = await observe(c, byDns);
    expect(o.ok, o.message).to.equal(true);
    expect(calls[0]).to.deep.include({ "dns-server": "10.96.0.10:53", search: "default.svc.cluster.local,svc.cluster.local,cluster.local", ndots: "5" });
    expect(o.evidence[0]!.observed).to.equal(
      'HTTP 200, body contains "Welcome to nginx!", answered by 192.168.1.4:80 (192-168-1-4.default.pod.cluster.local resolved by service kube-system/kube-dns (10.96.0.10:53) to 192.168.1.4)',
    );
    await observe(c, byIp);
    expect(calls[1]).to.not.have.property("dns-server");
  });

  it("a cluster without its DNS Service fails the check (the cluster's state), it is not an error", async () => {
    const c = new FakeCluster({ withClusterDns: false }).put(...beeboxPods());
    nginxEverywhere(c);
    const o = await observe(c, podDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("pod default/cyberdyne-frontend's DNS name cannot be looked up: the cluster's DNS Service kube-system/kube-dns does not exist: labrun resolves names by asking it");
    const h = await observe(c, byDns);
    expect(h.ok).to.equal(false);
    expect(h.message).to.match(/^cannot resolve 192-168-1-4\.default\.pod\.cluster\.local: the cluster's DNS Service/);
  });

  it("search lists and server addresses", () => {
    expect(clusterSearch("shop", "cluster.local")).to.deep.equal(["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    expect(dnsServerAddress("10.96.0.10")).to.equal("10.96.0.10:53");
    expect(dnsServerAddress("fd00::a")).to.equal("[fd00::a]:53");
  });
});

describe("the hijack tell-tale: an answer from the source pod's own network namespace", () => {
  it("fails an http check whose destination is local to the probe, however right the page looks", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: false, status: 200, body: NGINX_PAGE, remoteAddr: "192.168.1.4:80", localAddr: "192.168.1.4:51234", localTarget: true });
    const o = await observe(c, byIp);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal(
      "default/cyberdyne-frontend:80 answered from inside default/testclient itself: 192.168.1.4:80 is an address of the source pod's own network namespace (a hijack), not the target",
    );
    expect(o.connectivity![0]!.observed).to.equal("unknown");
  });

  it("a dns check fails when the cluster DNS Service's address is local to the source pod", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: false, addresses: [], localTarget: true, error: "10.96.0.10:53 is local to the source pod" });
    const o = await observe(c, podDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("service kube-system/kube-dns (10.96.0.10:53) is an address of default/testclient's own network namespace (a hijack): the pod would answer its own DNS queries");
  });

  it("a self-connect (peerIsSelf) is a hijack too", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: false, status: 0, peerIsSelf: true, remoteAddr: "192.168.1.5:80", localAddr: "192.168.1.5:80" });
    const o = await observe(c, byIp);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/answered from inside default\/testclient itself/);
  });

  it("a blocked check never counts a local destination as blocked", async () => {
    const c = new FakeCluster().put(...beeboxPods(), pod("db", { ip: "192.168.1.7", image: "postgres:16.1" }));
    c.probe = ({ args }) => (args.addr === "192.168.1.4:80" ? { ok: true } : { ok: false, localTarget: true, remoteAddr: "192.168.1.7:5432", error: "connection refused" });
    const o = await observe(c, { id: "deny", title: "db blocked", blocked: { from: { pod: "testclient" }, to: { pod: "db", port: 5432 }, control: { pod: "cyberdyne-frontend", port: 80 }, allowedFrom: { pod: "cyberdyne-frontend" } } } as Check);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("192.168.1.7:5432 is an address of default/testclient's own network namespace (a hijack): the verdict cannot be trusted");
  });
});

describe("sources chosen by selector", () => {
  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: nginx, image: nginx:1.22.1 }] }
`;
  const owned = (name: string) => pod(name, { ip: "192.168.1.20", labels: { app: "web" }, container: "nginx", ownerReferences: [{ kind: "ReplicaSet", name: "web-5d8f7", uid: "rs" }] });

  it("never picks a pod the scenario does not deploy when it deploys one, and names the learner's pod", async () => {
    const index = new WorkloadIndex().addManifests(manifest);
    const fake = pod("aaa-fake", { ip: "192.168.1.30", labels: { app: "web" }, container: "nginx" });
    const c = new FakeCluster().put(owned("web-5d8f7-x1"), fake);
    const r = await resolvePod(c, { selector: { app: "web" } }, "default", undefined, index);
    expect(r.pod!.metadata.name).to.equal("web-5d8f7-x1");
    expect(r.ignored).to.deep.equal(["default/aaa-fake"]);

    c.remove("v1", "Pod", "default", "web-5d8f7-x1");
    const none = await resolvePod(c, { selector: { app: "web" } }, "default", undefined, index);
    expect(none.pod).to.equal(undefined);
    expect(none.problem).to.equal("no pod the scenario deploys in namespace default matches app=web (default/aaa-fake matches, but the scenario does not deploy it)");
  });

  it("picks any matching pod when the scenario declares none with those labels (cluster add-ons)", async () => {
    const index = new WorkloadIndex().addManifests(manifest);
    const c = new FakeCluster().put(pod("coredns-1", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }));
    const r = await resolvePod(c, { selector: { "k8s-app": "kube-dns" }, namespace: "kube-system" }, "default", undefined, index);
    expect(r.pod!.metadata.name).to.equal("coredns-1");
    expect(r.ignored).to.equal(undefined);
  });

  it("an http check from a selector names the ignored pod in its evidence", async () => {
    const index = new WorkloadIndex().addManifests(BEEBOX_MANIFEST).addManifests(BEEBOX_MANIFEST.replace("name: testclient", "name: testclient\n  labels: { app: testclient }"));
    const c = new FakeCluster().put(beeboxPods()[0]!, pod("testclient", { ip: "192.168.1.5", container: "curl", image: "docker.io/curlimages/curl:7.88.1", labels: { app: "testclient" } }), pod("learner", { ip: "192.168.1.6", labels: { app: "testclient" } }));
    nginxEverywhere(c);
    const check = { id: "http-sel", title: "by selector", http: { from: { selector: { app: "testclient" } }, to: { pod: "cyberdyne-frontend", port: 80 }, expect: { bodyContains: "Welcome to nginx!" } } } as Check;
    const o = await observe(c, check, { workloads: index });
    expect(o.ok, o.message).to.equal(true);
    expect(o.evidence.at(-1)).to.deep.equal({ label: "pod default/learner", expected: "a pod the scenario deploys, matching app=testclient", observed: "matches the selector but the scenario does not deploy it: not used as a source" });
  });
});

describe("batched probes", () => {
  it("probes asked for at once from one pod share one exec; each gets its own line", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    nginxEverywhere(c);
    const probes = new ProbeManager(c);
    const [testclientPod] = beeboxPods().slice(1);
    const [a, b, d] = await Promise.all([
      probes.http(testclientPod!, "http://192.168.1.4:80/", { timeoutMs: 3000 }),
      probes.tcp(testclientPod!, "192.168.1.4:80", { timeoutMs: 3000 }),
      probes.dns(testclientPod!, "x.default.svc.cluster.local", { timeoutMs: 3000, dns: { server: "10.96.0.10:53", search: ["default.svc.cluster.local"], ndots: 5 } }),
    ]);
    expect(a.status).to.equal(200);
    expect(b.ok).to.equal(true);
    expect(d.addresses).to.deep.equal(["192.168.1.4"]);
    expect(c.probeExecs).to.deep.equal(["batch"]);
    expect(probes.execs).to.equal(1);
  });

  it("a probe missing from the batch output is a ProbeError for that probe only", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.execHandler = () => ({ exitCode: 0, stdout: "", stderr: "", timedOut: false });
    const probes = new ProbeManager(c);
    const [p] = beeboxPods().slice(1);
    await probes.container(p!);
    const realExec = c.exec.bind(c);
    const asked: string[] = [];
    c.exec = async (target, command, options) => {
      if (command[0] !== "labrun-probe") return realExec(target, command, options);
      asked.push(command[1]!);
      // the batch's line for probe 0 is lost, and so is the output of its second run
      if (command[1] !== "batch") return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
      return { exitCode: 0, stdout: `${JSON.stringify({ id: "1", kind: "tcp", ok: true })}\n`, stderr: "", timedOut: false };
    };
    const [first, second] = await Promise.allSettled([probes.tcp(p!, "1.2.3.4:1", { timeoutMs: 1000 }), probes.tcp(p!, "1.2.3.4:2", { timeoutMs: 1000 })]);
    expect(first.status).to.equal("rejected");
    expect((first as PromiseRejectedResult).reason).to.be.instanceOf(ProbeError);
    expect(second).to.deep.include({ status: "fulfilled" });
    expect(asked).to.deep.equal(["batch", "tcp"]);
  });

  it("an exec that ended without the probe's lines (output lost in the API server's relay) runs those probes once more, then reports no result", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const probes = new ProbeManager(c);
    const [p] = beeboxPods().slice(1);
    await probes.container(p!);
    const realExec = c.exec.bind(c);
    const asked: string[] = [];
    let lose = 1;
    c.exec = async (target, command, options) => {
      if (command[0] !== "labrun-probe") return realExec(target, command, options);
      asked.push(command[1]!);
      if (lose-- > 0) return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
      return { exitCode: 0, stdout: `${JSON.stringify({ kind: "tcp", ok: true })}\n`, stderr: "", timedOut: false };
    };
    expect((await probes.tcp(p!, "1.2.3.4:1", { timeoutMs: 1000 })).ok).to.equal(true);
    expect(asked).to.deep.equal(["tcp", "tcp"]);

    // lost twice: a ProbeError naming the exit, never a result
    lose = 2;
    asked.length = 0;
    const e = await probes.tcp(p!, "1.2.3.4:1", { timeoutMs: 1000 }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(ProbeError);
    expect((e as Error).message).to.match(/printed no result \(exit 0\)/);
    expect(asked).to.deep.equal(["tcp", "tcp"]);

    // an exit that is not 0 (the runtime refused the exec) is not a lost output: no second exec
    c.exec = async (target, command, options) => {
      if (command[0] !== "labrun-probe") return realExec(target, command, options);
      asked.push(command[1]!);
      return { exitCode: 126, stdout: "", stderr: "OCI runtime exec failed", timedOut: false };
    };
    asked.length = 0;
    expect(((await probes.tcp(p!, "1.2.3.4:1", { timeoutMs: 1000 }).catch((x: unknown) => x)) as Error).message).to.match(/exit 126/);
    expect(asked).to.deep.equal(["tcp"]);
  });

  it("a probe whose check gives up leaves the others of its batch running", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: true });
    const probes = new ProbeManager(c, { batchWindowMs: 20 });
    const [p] = beeboxPods().slice(1);
    const impatient = new AbortController();
    const gaveUp = probes.tcp(p!, "1.2.3.4:1", { timeoutMs: 1000, signal: impatient.signal });
    const patient = probes.tcp(p!, "1.2.3.4:2", { timeoutMs: 1000 });
    impatient.abort(new Error("attempt deadline"));
    expect(((await gaveUp.catch((e: unknown) => e)) as Error).message).to.equal("attempt deadline");
    expect((await patient).ok).to.equal(true);
  });

  it("a single probe runs as its own command, flags from the batch fields", () => {
    expect(probeArgs({ kind: "http", url: "http://x/", maxBody: 10, dnsServer: "10.96.0.10:53", search: ["a", "b"], ndots: 5 }, 1500)).to.deep.equal([
      "http",
      "--url",
      "http://x/",
      "--max-body",
      "10",
      "--dns-server",
      "10.96.0.10:53",
      "--search",
      "a,b",
      "--ndots",
      "5",
      "--timeout",
      "1500ms",
    ]);
  });
});
