/**
 * The host-level sweep and the node audit: a pass of a network check never
 * counts while an undeclared pod could steer a node's network, or a node has
 * rules no component wrote. Scripted clusters and recorded node dumps only.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { type Observation } from "../../../checks/context.ts";
import { hostAccess, KUBE_PROXY_MANIFEST, MIRROR_ANNOTATION, shapeMatches, trustedAddonIndex, unaccountedHostPods } from "../../../checks/hostlevel.ts";
import { partialMatch } from "../../../checks/match.ts";
import { auditNodeDump } from "../../../checks/node-firewall.ts";
import { toolboxPod } from "../../../checks/toolbox.ts";
import { PROBE_IMAGE, PROBE_SECURITY_CONTEXT } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { type Check } from "../../../runner/schema/scenario.ts";
import { beeboxPods, FakeCluster, node, pod, observeCheck } from "./fakes.ts";

type Obj = Record<string, unknown>;

/** The first object of `kind` in a manifest. */
function manifestObject(text: string, kind: string): Obj {
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as Obj | null;
    if (o?.kind === kind) return o;
  }
  throw new Error(`no ${kind}`);
}

/** A pod as the API server makes it from a workload's template: defaults added, placeholders filled. */
function podFrom(workload: Obj, name: string, fill: Record<string, string> = {}): KubeObject {
  const meta = workload.metadata as Obj;
  const template = structuredClone((workload.spec as Obj).template as Obj);
  let spec = JSON.stringify(template.spec);
  for (const [k, v] of Object.entries(fill)) spec = spec.replaceAll(`{{ .${k} }}`, v);
  const s = JSON.parse(spec) as Obj;
  for (const c of [...((s.containers as Obj[]) ?? []), ...((s.initContainers as Obj[]) ?? [])]) {
    c.terminationMessagePath = "/dev/termination-log";
    c.imagePullPolicy ??= "IfNotPresent";
    for (const e of (c.env as Obj[]) ?? []) if (e.valueFrom && (e.valueFrom as Obj).fieldRef) ((e.valueFrom as Obj).fieldRef as Obj).apiVersion = "v1";
    for (const m of (c.volumeMounts as Obj[]) ?? []) if (m.readOnly === undefined) m.readOnly = false;
  }
  // The service account token admission adds to every pod.
  const token = { name: "kube-api-access-x7k2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true };
  for (const c of [...((s.containers as Obj[]) ?? []), ...((s.initContainers as Obj[]) ?? [])]) c.volumeMounts = [...((c.volumeMounts as Obj[]) ?? []), token];
  s.volumes = [...((s.volumes as Obj[]) ?? []), { name: token.name, projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }];
  s.dnsPolicy ??= "ClusterFirst";
  s.nodeName = "n1";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: String(meta.namespace ?? "default"), uid: `uid-${name}`, ownerReferences: [{ kind: String(workload.kind), name: String(meta.name), uid: "u" }] },
    spec: s,
    status: { phase: "Running" },
  };
}

const FLANNEL = manifestObject(readFileSync(new URL("../../../runner/addons/flannel.yaml", import.meta.url), "utf8"), "DaemonSet");
const KUBE_ROUTER = manifestObject(readFileSync(new URL("../../../runner/addons/kube-router-netpol.yaml", import.meta.url), "utf8"), "DaemonSet");
const KUBE_PROXY = manifestObject(KUBE_PROXY_MANIFEST, "DaemonSet");

const FIREWALL = `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-firewall, namespace: kube-system }
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: firewall
          image: docker.io/cloudnativelabs/kube-router:v2.1.0
          command: [sh, -c, "iptables -t raw -I PREROUTING -s 10.244.1.9 -j DROP; sleep infinity"]
          securityContext: { privileged: true }
`;

const options = (workloads = new WorkloadIndex()) => ({ workloads, probeImage: PROBE_IMAGE, trusted: trustedAddonIndex() });

describe("host-level sweep", () => {
  it("says which pods have access to their node, and ignores the runtime's default capabilities and labrun's probe", () => {
    expect(hostAccess({ containers: [{ name: "a", securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "NET_RAW"] } } }] }, PROBE_IMAGE)).to.deep.equal([]);
    expect(hostAccess({ hostNetwork: true, containers: [{ name: "a", securityContext: { capabilities: { add: ["net_admin"] } } }] }, PROBE_IMAGE)).to.deep.equal(["hostNetwork", "container a adds NET_ADMIN"]);
    expect(hostAccess({ volumes: [{ name: "h", hostPath: { path: "/etc/cni/net.d" } }], initContainers: [{ name: "i", securityContext: { privileged: true } }] }, PROBE_IMAGE)).to.deep.equal(["hostPath /etc/cni/net.d", "init container i privileged"]);
    expect(hostAccess({ ephemeralContainers: [{ name: "debugger", image: "nicolaka/netshoot", securityContext: { capabilities: { add: ["NET_ADMIN"] } } }] }, PROBE_IMAGE)).to.deep.equal(["ephemeral container debugger adds NET_ADMIN"]);
  });

  it("accounts for labrun's add-ons and kubeadm's kube-proxy as the API server makes their pods (placeholders filled)", () => {
    const pods = [
      podFrom(FLANNEL, "kube-flannel-ds-abcde"),
      podFrom(KUBE_ROUTER, "kube-router-xyz12", { ServiceSubnet: "10.96.0.0/16" }),
      podFrom(KUBE_PROXY, "kube-proxy-7bq2x", { KubernetesVersion: "v1.34.12" }),
    ];
    expect(unaccountedHostPods(pods, options())).to.deep.equal([]);
  });

  it("accounts for labrun serve's toolbox pod exactly as labrun makes it, not for a copy given NET_ADMIN", () => {
    const toolbox = toolboxPod({ node: "lab-control-plane" });
    (toolbox.spec as Obj).volumes = [...((toolbox.spec as Obj).volumes as Obj[]), { name: "kube-api-access-x1", projected: { sources: [] } }];
    expect(unaccountedHostPods([toolbox], options())).to.deep.equal([]);
    const copy = structuredClone(toolbox);
    ((copy.spec as Obj).containers as Obj[])[0]!.securityContext = { capabilities: { add: ["NET_ADMIN"] } };
    expect(unaccountedHostPods([copy], options()).map((p) => p.pod)).to.deep.equal(["labrun-system/labrun-toolbox"]);
  });

  it("names an add-on's pod whose command, init containers or privileges were changed", () => {
    const router = podFrom(KUBE_ROUTER, "kube-router-xyz12", { ServiceSubnet: "10.96.0.0/16" });
    ((router.spec as Obj).containers as Obj[])[0]!.command = ["sh", "-c", "iptables -I FORWARD -s 10.244.1.9 -j DROP; exec kube-router"];
    const flannel = podFrom(FLANNEL, "kube-flannel-ds-abcde");
    ((flannel.spec as Obj).initContainers as Obj[]).push({ name: "fw", image: "ghcr.io/flannel-io/flannel:v0.28.10", command: ["iptables", "-I", "FORWARD", "-j", "DROP"] });
    const found = unaccountedHostPods([router, flannel], options());
    expect(found.map((f) => f.pod)).to.deep.equal(["kube-system/kube-router-xyz12", "kube-flannel/kube-flannel-ds-abcde"]);
    expect(found[0]!.why).to.match(/^differs from DaemonSet kube-system\/kube-router \(labrun add-on kube-router-netpol\)/);
  });

  it("names a learner's firewall DaemonSet, even one that has completed or is being deleted; a mirror (static) pod is the node's own", () => {
    const fw = podFrom(manifestObject(FIREWALL, "DaemonSet"), "node-firewall-q8xz1");
    const done = { ...podFrom(manifestObject(FIREWALL, "DaemonSet"), "node-firewall-done"), status: { phase: "Succeeded" } };
    const mirror = pod("kube-apiserver-n1", { namespace: "kube-system", hostNetwork: true });
    mirror.metadata.annotations = { [MIRROR_ANNOTATION]: "abc" };
    const found = unaccountedHostPods([fw, done, mirror], options());
    expect(found.map((f) => f.pod)).to.deep.equal(["kube-system/node-firewall-q8xz1", "kube-system/node-firewall-done"]);
    expect(found[0]!.access).to.deep.equal(["hostNetwork", "container firewall privileged"]);
    expect(found[0]!.why).to.equal("the scenario does not deploy it and it is not an add-on labrun serves");
  });

  it("accounts for a host-level pod the scenario declares, as declared, and names it once its command changes", () => {
    const manifest = `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-agent, namespace: monitoring }
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - { name: agent, image: "nginx:1.22.1", command: [nginx, -g, "daemon off;"] }
`;
    const workloads = new WorkloadIndex().addManifests(manifest);
    const agent = podFrom(manifestObject(manifest, "DaemonSet"), "node-agent-1");
    expect(unaccountedHostPods([agent], options(workloads))).to.deep.equal([]);
    // labrun's own probe in it (a network check probed from it) changes nothing
    (agent.spec as Obj).ephemeralContainers = [{ name: "labrun-probe-0a1b2c", image: PROBE_IMAGE, command: ["labrun-probe", "hold", "--max", "0"], securityContext: PROBE_SECURITY_CONTEXT }];
    expect(unaccountedHostPods([agent], options(workloads))).to.deep.equal([]);
    ((agent.spec as Obj).containers as Obj[])[0]!.command = ["sh", "-c", "iptables -F; nginx"];
    expect(unaccountedHostPods([agent], options(workloads)).map((f) => f.why)).to.deep.equal([
      "differs from DaemonSet monitoring/node-agent (its containers, commands, environment, privileges or host mounts were changed)",
    ]);
  });

  it("matches placeholders against any value inside one string, nothing else", () => {
    expect(shapeMatches('["--range={{ .ServiceSubnet }}"]', '["--range=10.96.0.0/16"]')).to.equal(true);
    expect(shapeMatches('["--range={{ .ServiceSubnet }}"]', '["--range=10.96.0.0/16","--extra"]')).to.equal(false);
    expect(shapeMatches('["a.b"]', '["axb"]')).to.equal(false);
  });

  it("turns a passing blocked check into a failure while a firewall pod exists, with both verdicts in the report", async () => {
    const c = new FakeCluster().put(...beeboxPods(), pod("db", { ip: "192.168.1.7", image: "postgres:16.1" }));
    c.probe = ({ pod: from, args }) => (args.addr === "192.168.1.4:80" || (from === "cyberdyne-frontend" && args.addr === "192.168.1.7:5432") ? { ok: true } : { ok: false, error: "i/o timeout" });
    const check = { id: "deny", title: "db is blocked", blocked: { from: { pod: "testclient" }, to: { pod: "db", port: 5432 }, control: { pod: "cyberdyne-frontend", port: 80 }, allowedFrom: { pod: "cyberdyne-frontend" } } } as Check;
    expect((await observe(c, check)).ok).to.equal(true);
    c.put(podFrom(manifestObject(FIREWALL, "DaemonSet"), "node-firewall-q8xz1"));
    const o = await observe(c, check);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^pod kube-system\/node-firewall-q8xz1 \(hostNetwork, container firewall privileged\) can change its node's network .* \(the check's own test held: default\/testclient → default\/db:5432 is blocked/);
    expect(o.evidence[0]!.label).to.equal("host-level pod kube-system/node-firewall-q8xz1");
    expect(o.connectivity!.length).to.equal(3);
  });

  it("turns a passing blocked check into a failure when a node has a hand-made DROP, and not for the components' own rules", async () => {
    const world = (n2: string) => {
      const c = new FakeCluster().put(...beeboxPods(), pod("db", { ip: "192.168.1.7", image: "postgres:16.1" }), node("n1"), node("n2"));
      c.probe = ({ pod: from, args }) => (args.addr === "192.168.1.4:80" || (from === "cyberdyne-frontend" && args.addr === "192.168.1.7:5432") ? { ok: true } : { ok: false, error: "i/o timeout" });
      c.nodeRunner = (name) => ({ exitCode: 0, stdout: name === "n2" ? n2 : CLEAN_DUMP, stderr: "", timedOut: false });
      return c;
    };
    const check = { id: "deny", title: "db is blocked", blocked: { from: { pod: "testclient" }, to: { pod: "db", port: 5432 }, control: { pod: "cyberdyne-frontend", port: 80 }, allowedFrom: { pod: "cyberdyne-frontend" } } } as Check;
    const clean = world(CLEAN_DUMP);
    expect((await observe(clean, check)).ok).to.equal(true);
    expect(clean.nodeRuns.map((r) => r.node)).to.deep.equal(["n1", "n2"]);
    const o = await observe(world(CLEAN_DUMP.replace("-A PREROUTING -j KUBE-ROUTER-PREROUTING-X\n", "-A PREROUTING -s 192.168.1.5/32 -d 192.168.1.7/32 -p tcp -j DROP\n")), check);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^node n2 has a firewall, NAT or routing rule no component of the cluster wrote \(iptables-nft -t raw -A PREROUTING -s 192\.168\.1\.5\/32/);
  });
});

/** A kind node with kube-proxy, flannel (and its portmap), kube-router and Docker's DNS, as the nodes show them. */
const CLEAN_DUMP = `### iptables-nft-save
# Generated by iptables-nft-save
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j KUBE-ROUTER-PREROUTING-X
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-IPTABLES-HINT - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FLANNEL-FWD - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A OUTPUT -j KUBE-FIREWALL
-A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -d 172.18.0.1/32 -j DOCKER_OUTPUT
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A POSTROUTING -d 172.18.0.1/32 -j DOCKER_POSTROUTING
-A POSTROUTING -s 10.244.1.0/24 -m comment --comment "name: cbr0 id: 0a1b" -j CNI-a1b2c3d4e5f6a7b8c9d0e1f2
COMMIT
### iptables-legacy-save
### nft-tables
table ip filter
table ip nat
table ip mangle
table ip raw
table ip6 filter
### ip-rule
0:	from all lookup local
32766:	from all lookup main
32767:	from all lookup default
0:	from all lookup local
32766:	from all lookup main
### ip-route
default via 172.18.0.1 dev eth0
10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink
local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1
`;

describe("node audit", () => {
  it("finds nothing in the rules the cluster's components write", () => {
    expect(auditNodeDump(CLEAN_DUMP.replace("KUBE-ROUTER-PREROUTING-X", "KUBE-ROUTER-INPUT"))).to.deep.equal([]);
  });

  it("lets Cilium's feeder jumps to its own chains through, by their exact names", () => {
    const feeders = [
      "### iptables-nft-save",
      "*raw",
      '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_raw" -j CILIUM_PRE_raw',
      '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT_raw" -j CILIUM_OUTPUT_raw',
      "*mangle",
      '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_mangle" -j CILIUM_PRE_mangle',
      '-A POSTROUTING -m comment --comment "cilium-feeder: CILIUM_POST_mangle" -j CILIUM_POST_mangle',
      "*nat",
      '-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_nat" -j CILIUM_PRE_nat',
      '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT_nat" -j CILIUM_OUTPUT_nat',
      '-A POSTROUTING -m comment --comment "cilium-feeder: CILIUM_POST_nat" -j CILIUM_POST_nat',
      "*filter",
      '-A INPUT -m comment --comment "cilium-feeder: CILIUM_INPUT" -j CILIUM_INPUT',
      '-A FORWARD -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD',
      '-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT" -j CILIUM_OUTPUT',
    ].join("\n");
    expect(auditNodeDump(feeders)).to.deep.equal([]);
    // a learner's DROP among Cilium's feeders on a Cilium node is found, and only it
    const withDrop = auditNodeDump(feeders.replace("*filter\n", "*filter\n-A INPUT -s 192.168.1.7/32 -j DROP\n"));
    expect(withDrop).to.have.length(1);
    expect(JSON.stringify(withDrop)).to.contain("192.168.1.7");
    // a learner's chain named like Cilium's, and a verdict in a built-in chain, are still found
    expect(auditNodeDump(["### iptables-nft-save", "*filter", "-A FORWARD -j CILIUM_FW", "-A FORWARD -m comment --comment cilium -j DROP"].join("\n"))).to.have.length(2);
  });

  it("lets kube-router's add-on rule closing GoBGP's port 50051 through, and only that port", () => {
    const rule = (port: number) => ["### iptables-nft-save", "*filter", `-A INPUT ! -i lo -p tcp -m tcp --dport ${port} -j DROP`].join("\n");
    expect(auditNodeDump(rule(50051))).to.deep.equal([]);
    expect(auditNodeDump(rule(8080))).to.deep.equal(["iptables-nft -t filter -A INPUT ! -i lo -p tcp -m tcp --dport 8080 -j DROP"]);
    expect(auditNodeDump(["### iptables-nft-save", "*filter", "-A INPUT -s 10.244.1.9/32 -p tcp -m tcp --dport 50051 -j DROP"].join("\n"))).to.have.length(1);
  });

  it("finds hand-made verdicts and NAT in built-in chains, foreign chains, nftables tables, routing rules and blackhole routes", () => {
    const dump = [
      "### iptables-legacy-save",
      "*raw",
      "-A PREROUTING -s 10.244.1.9/32 -j DROP",
      "*filter",
      "-A FORWARD -j LEARNER-FW",
      "-A INPUT -p tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
      "*nat",
      "-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.244.1.7:8080",
      "### nft-tables",
      "table ip filter",
      "table inet fw",
      "### ip-rule",
      "0:\tfrom all lookup local",
      "100:\tfrom 10.244.1.9 blackhole",
      "### ip-route",
      "blackhole 10.244.1.7",
      "blackhole 10.244.3.0/26 proto bird",
    ].join("\n");
    expect(auditNodeDump(dump)).to.deep.equal([
      "iptables-legacy -t raw -A PREROUTING -s 10.244.1.9/32 -j DROP",
      "iptables-legacy -t filter -A FORWARD -j LEARNER-FW",
      "iptables-legacy -t filter -A INPUT -p tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
      "iptables-legacy -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.244.1.7:8080",
      "nftables table inet fw (not made by iptables or kube-proxy)",
      "ip rule 100: from 10.244.1.9 blackhole",
      "route blackhole 10.244.1.7",
    ]);
  });
});

describe("node audit: hostPorts", () => {
  const id = "4f9c2a7e1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
  const dump = (rules: string[], sandboxes: string[]) =>
    ["### iptables-nft-save", "*nat", "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT", ...rules, "COMMIT", "### sandboxes", ...sandboxes].join("\n");
  const portmap = `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"${id}\\"" -m multiport --dports 8080 -j CNI-DN-0a1b2c3d4e5f60718293a`;

  it("accepts the portmap plugin's jump for a sandbox that runs on the node", () => {
    expect(auditNodeDump(dump([portmap], [id]))).to.deep.equal([]);
  });

  it("finds a hand-made DNAT in portmap's chain, and a jump for a sandbox the node does not run", () => {
    const found = auditNodeDump(dump([portmap, "-A CNI-HOSTPORT-DNAT -p tcp --dport 8080 -j DNAT --to-destination 10.244.1.7:8080"], ["0123456789abcdef0123"]));
    expect(found).to.have.length(2);
    expect(found[0]).to.match(/^iptables-nft -t nat -A CNI-HOSTPORT-DNAT -p tcp -m comment .* \(not the portmap plugin's rule for a pod of this node\)$/);
    expect(found[1]).to.match(/^iptables-nft -t nat -A CNI-HOSTPORT-DNAT -p tcp --dport 8080 -j DNAT/);
  });
});

describe("object matching: selectors match exactly", () => {
  it("an empty map matches an empty map only: podSelector {} is every pod, a selector with labels is not", () => {
    expect(partialMatch({ spec: { podSelector: {} } }, { spec: { podSelector: {} } })).to.deep.equal([]);
    expect(partialMatch({ spec: { podSelector: {} } }, { spec: { podSelector: { matchLabels: { app: "none" } } } }).map((m) => m.path)).to.deep.equal(["spec.podSelector"]);
  });

  it("matchLabels with a label more selects fewer pods: a mismatch; other maps stay partial", () => {
    const policy = { metadata: { name: "deny", labels: { a: "1", b: "2" } }, spec: { podSelector: { matchLabels: { app: "frontend", tier: "nothing" } } } };
    const diffs = partialMatch({ metadata: { labels: { a: "1" } }, spec: { podSelector: { matchLabels: { app: "frontend" } } } }, policy);
    expect(diffs.map((m) => [m.path, m.observed])).to.deep.equal([["spec.podSelector.matchLabels", '{"app":"frontend","tier":"nothing"} (also tier)']]);
  });
});

function observe(cluster: FakeCluster, check: Check): Promise<Observation> {
  return observeCheck(cluster, check);
}

