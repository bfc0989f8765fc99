/**
 * Cluster DNS answers are the cluster's CoreDNS's: kube-dns's endpoints must be
 * kubeadm's CoreDNS pods (checks/cluster-dns-integrity.ts), and a dns check
 * also resolves a Service labrun makes for the grade (checks/dns-canary.ts).
 */
import { expect } from "chai";
import type { Check } from "../../../runner/schema/scenario.ts";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { OwnedPods } from "../../../checks/owned.ts";
import { beeboxPods, FakeCluster, observeCheck, pod, service } from "./fakes.ts";

const COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1";
const TOKEN = { name: "kube-api-access-x", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true };

/** A pod of a ReplicaSet `rs` in kube-system, shaped like kubeadm's CoreDNS unless `change` says otherwise. */
function dnsPod(name: string, ip: string, rs: string, change: (spec: Record<string, unknown>) => void = () => undefined): KubeObject {
  const p = pod(name, { namespace: "kube-system", ip, labels: { "k8s-app": "kube-dns" }, ownerReferences: [{ kind: "ReplicaSet", name: rs, uid: `uid-${rs}`, controller: true } as never] });
  const spec = p.spec as Record<string, unknown>;
  spec.dnsPolicy = "Default";
  spec.containers = [{ name: "coredns", image: COREDNS_IMAGE, args: ["-conf", "/etc/coredns/Corefile"], volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }, TOKEN] }];
  spec.volumes = [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }, { name: "kube-api-access-x", projected: {} }];
  change(spec);
  return p;
}

function replicaSet(name: string, deployment: string): KubeObject {
  return { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name, namespace: "kube-system", ownerReferences: [{ kind: "Deployment", name: deployment, uid: `uid-${deployment}`, controller: true }] as never } };
}

/** kube-dns's EndpointSlice: one endpoint per pod (its IP, and a targetRef unless `targetRef: false`). */
function dnsSlice(pods: { name: string; ip: string; targetRef?: boolean }[], name = "kube-dns-abc"): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "kube-system", labels: { "kubernetes.io/service-name": "kube-dns" } },
    endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: true }, ...(p.targetRef === false ? {} : { targetRef: { kind: "Pod", name: p.name, namespace: "kube-system" } }) })),
  } as KubeObject;
}

/** A healthy cluster: two CoreDNS pods of the coredns Deployment behind kube-dns, and the web Service. */
function world(): FakeCluster {
  const c = new FakeCluster().put(...beeboxPods(), service("web", "10.96.80.80"), replicaSet("coredns-66bc5c9577", "coredns"));
  c.put(dnsPod("coredns-66bc5c9577-a", "10.244.0.2", "coredns-66bc5c9577"), dnsPod("coredns-66bc5c9577-b", "10.244.0.3", "coredns-66bc5c9577"));
  c.put(dnsSlice([{ name: "coredns-66bc5c9577-a", ip: "10.244.0.2" }, { name: "coredns-66bc5c9577-b", ip: "10.244.0.3" }]));
  c.probe = ({ verb, args }) => (verb === "dns" && args.name === "web.default.svc.cluster.local." ? { ok: true, addresses: ["10.96.80.80"], server: "10.96.0.10:53" } : { ok: false, error: "NXDOMAIN" });
  return c;
}

const serviceDns = { id: "service-dns", title: "web resolves", dns: { from: { pod: "testclient" }, lookup: { service: "web" } } } as Check;

describe("cluster DNS: kube-dns must be the cluster's CoreDNS", () => {
  it("passes with kubeadm's CoreDNS behind kube-dns, and names the canary Service it also resolved", async () => {
    const o = await observeCheck(world(), serviceDns);
    expect(o.ok, o.message).to.equal(true);
    expect(o.evidence.map((e) => e.label)).to.satisfy((labels: string[]) => labels.some((l) => /^lookup canary-[0-9a-f]{10}\.labrun-stranger-[0-9a-f]{8}\.svc\.cluster\.local\. \(A\)/.test(l)));
  });

  it("fails when kube-dns's selector sends queries to a second CoreDNS with a Corefile of its own (a stand-in Deployment)", async () => {
    const c = world();
    c.remove("discovery.k8s.io/v1", "EndpointSlice", "kube-system", "kube-dns-abc");
    c.put(replicaSet("dns-standin-7f9", "dns-standin"), dnsPod("dns-standin-7f9-x", "10.244.0.9", "dns-standin-7f9", (s) => ((s.volumes as { configMap?: { name: string } }[])[0]!.configMap = { name: "dns-standin" })));
    c.put(dnsSlice([{ name: "dns-standin-7f9-x", ip: "10.244.0.9" }]));
    const o = await observeCheck(c, serviceDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal(
      "service default/web's DNS name cannot be looked up: the cluster's DNS Service kube-system/kube-dns sends queries to pod kube-system/dns-standin-7f9-x, which is not the cluster's CoreDNS: it is not made by Deployment kube-system/coredns (made by ReplicaSet dns-standin-7f9 of Deployment dns-standin)",
    );
    expect(o.evidence[0]!.observed).to.include("its Corefile comes from ConfigMap dns-standin, not ConfigMap kube-system/coredns at /etc/coredns");
    expect(c.probeExecs, "kube-dns is not asked at all").to.deep.equal([]);
  });

  it("fails for a second Deployment labelled k8s-app=kube-dns, even with CoreDNS's image and arguments", async () => {
    const c = world();
    c.put(replicaSet("coredns-fixed-5d8", "coredns-fixed"), dnsPod("coredns-fixed-5d8-q", "10.244.0.7", "coredns-fixed-5d8"));
    c.put(dnsSlice([{ name: "coredns-66bc5c9577-a", ip: "10.244.0.2" }, { name: "coredns-fixed-5d8-q", ip: "10.244.0.7" }]));
    const o = await observeCheck(c, serviceDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/sends queries to pod kube-system\/coredns-fixed-5d8-q, which is not the cluster's CoreDNS: it is not made by Deployment kube-system\/coredns \(made by ReplicaSet coredns-fixed-5d8 of Deployment coredns-fixed\)$/);
  });

  it("fails when the coredns Deployment itself runs another image, other arguments, another Corefile or a mount over it", async () => {
    const cases: [string, (s: Record<string, unknown>) => void, RegExp][] = [
      ["dnsmasq", (s) => ((s.containers as Record<string, unknown>[])[0]!.image = "docker.io/dockurr/dnsmasq:2.90"), /runs image docker\.io\/dockurr\/dnsmasq:2\.90, not CoreDNS's/],
      ["args", (s) => ((s.containers as Record<string, unknown>[])[0]!.args = ["-conf", "/tmp/Corefile"]), /starts with "-conf \/tmp\/Corefile", not kubeadm's "-conf \/etc\/coredns\/Corefile"/],
      ["configmap", (s) => ((s.volumes as { configMap?: { name: string } }[])[0]!.configMap = { name: "my-corefile" }), /its Corefile comes from ConfigMap my-corefile/],
      [
        "subPath",
        (s) => ((s.containers as { volumeMounts: unknown[] }[])[0]!.volumeMounts.push({ name: "hosts", mountPath: "/etc/coredns/Corefile", subPath: "Corefile" })),
        /it also mounts hosts at \/etc\/coredns\/Corefile \(subPath Corefile\)/,
      ],
      ["sidecar", (s) => (s.containers as unknown[]).push({ name: "dnsmasq", image: "dnsmasq" }), /it has 2 containers \(coredns, dnsmasq\)/],
      ["host network", (s) => (s.hostNetwork = true), /it runs on its node's network/],
    ];
    for (const [what, change, message] of cases) {
      const c = world();
      c.put(dnsPod("coredns-66bc5c9577-a", "10.244.0.2", "coredns-66bc5c9577", change));
      const o = await observeCheck(c, serviceDns);
      expect(o.ok, what).to.equal(false);
      expect(o.message, what).to.match(message);
    }
  });

  it("fails for a hand-made endpoint: an address that is not a pod, or not the address of the pod it names", async () => {
    const c = world();
    c.put(dnsSlice([{ name: "x", ip: "10.244.0.50", targetRef: false }], "kube-dns-manual"));
    const notPod = await observeCheck(c, serviceDns);
    expect(notPod.ok).to.equal(false);
    expect(notPod.message).to.include("sends queries to 10.244.0.50, which is not a pod (a hand-made EndpointSlice kube-dns-manual)");

    const d = world();
    d.put(dnsSlice([{ name: "coredns-66bc5c9577-a", ip: "10.244.0.50" }], "kube-dns-manual"));
    const wrongIp = await observeCheck(d, serviceDns);
    expect(wrongIp.ok).to.equal(false);
    expect(wrongIp.message).to.include("sends queries to 10.244.0.50, which is not the address of pod kube-system/coredns-66bc5c9577-a its EndpointSlice kube-dns-manual names");
  });

  it("is a kind lab's rule: on another distribution's cluster (--kubeconfig), its own DNS pods are not judged by kubeadm's shape", async () => {
    const c = world();
    c.put(dnsPod("coredns-66bc5c9577-a", "10.244.0.2", "coredns-66bc5c9577", (s) => ((s.containers as Record<string, unknown>[])[0]!.image = "rancher/mirrored-coredns-coredns:1.12.1")));
    expect((await observeCheck(c, serviceDns)).ok).to.equal(false);
    const o = await observeCheck(c, serviceDns, { lab: { name: "ctx", cluster: "k3s", provider: "kubeconfig" } });
    expect(o.ok, o.message).to.equal(true);
  });

  it("fails when a CoreDNS pod has an ephemeral container labrun did not add (it shares the pod's network namespace)", async () => {
    const c = world();
    c.put(dnsPod("coredns-66bc5c9577-b", "10.244.0.3", "coredns-66bc5c9577", (s) => (s.ephemeralContainers = [{ name: "debugger-abc", image: "busybox" }])));
    const o = await observeCheck(c, serviceDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/coredns-66bc5c9577-b, which is not the cluster's CoreDNS: it has an ephemeral container labrun did not add: debugger-abc/);
  });
});

describe("cluster DNS: the canary Service", () => {
  it("fails when cluster DNS answers the checked name but not a Service made for the grade (hosts or template entries)", async () => {
    const c = world();
    c.clusterDnsKnowsServices = false;
    const o = await observeCheck(c, serviceDns);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(
      /^service kube-system\/kube-dns \(10\.96\.0\.10:53\) answers the checked name but not a Service labrun made for this grade \(labrun's Service labrun-stranger-[0-9a-f]{8}\/canary-[0-9a-f]{10}'s DNS name does not resolve from default\/testclient: NXDOMAIN\): answers written for the checked names \(a Corefile's hosts or template entries\) are not cluster DNS$/,
    );
  });

  it("is made once per grade in the grade's own namespace, and goes with it", async () => {
    const c = world();
    const owned = new OwnedPods(c);
    for (let i = 0; i < 3; i++) expect((await observeCheck(c, serviceDns, { owned })).ok).to.equal(true);
    const canaries = [...c.objects.values()].filter((o) => o.kind === "Service" && o.metadata.name.startsWith("canary-"));
    expect(canaries).to.have.length(1);
    expect(canaries[0]!.metadata.annotations?.["labrun.dev/owned-by"]).to.be.a("string");
    expect(canaries[0]!.spec).to.not.have.property("selector");
    await owned.dispose();
    expect([...c.objects.values()].filter((o) => o.kind === "Namespace")).to.deep.equal([]);
  });

  it("without the grade's OwnedPods, an attempt makes its own canary and deletes its namespace afterwards", async () => {
    const c = world();
    expect((await observeCheck(c, serviceDns)).ok).to.equal(true);
    expect([...c.objects.values()].filter((o) => o.kind === "Namespace")).to.deep.equal([]);
  });
});
