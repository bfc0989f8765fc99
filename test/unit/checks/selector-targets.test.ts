/**
 * http.to.selector and dns.lookup.selector: a Deployment's pods, whose names
 * are not fixed. Every matching pod the scenario deploys must pass; no
 * matching pod is a failure (not "could not evaluate") naming the selector.
 */
import { expect } from "chai";
import { type Observation } from "../../../checks/context.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { type Check } from "../../../runner/schema/scenario.ts";
import { FakeCluster, NGINX_PAGE, pod, observeCheck } from "./fakes.ts";

const SHOP = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: nginx, image: docker.io/library/nginx:1.22.1 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: shop }
spec: { containers: [{ name: curl, image: docker.io/curlimages/curl:7.88.1 }] }
`;

const RS = [{ kind: "ReplicaSet", name: "web-5d4f8b9c7", uid: "rs-1" }];
const webPod = (name: string, ip: string, extra: Parameters<typeof pod>[1] = {}) =>
  pod(name, { namespace: "shop", ip, container: "nginx", labels: { app: "web" }, ownerReferences: RS, ...extra });
const client = () => pod("client", { namespace: "shop", ip: "10.244.0.9", container: "curl", image: "docker.io/curlimages/curl:7.88.1" });

function observe(cluster: FakeCluster, check: Check): Promise<Observation> {
  return observeCheck(cluster, check, { workloads: new WorkloadIndex().addManifests(SHOP) });
}

const httpCheck = { id: "web-pods", title: "every web pod answers", http: { from: { pod: "client", namespace: "shop" }, to: { selector: { app: "web" } } } } as Check;
const dnsCheck = { id: "web-dns", title: "every web pod's name resolves", dns: { from: { pod: "client", namespace: "shop" }, lookup: { selector: { app: "web" } } } } as Check;

/** Answers HTTP for the listed IPs, refuses the others. */
function serve(c: FakeCluster, ips: string[], urls: string[] = []): string[] {
  c.probe = ({ verb, args }) => {
    if (verb !== "http") return { ok: false, error: "unexpected" };
    urls.push(args.url!);
    const ip = /^http:\/\/([^:/]+)/.exec(args.url!)![1]!;
    return ips.includes(ip) ? { ok: true, status: 200, body: NGINX_PAGE, remoteAddr: `${ip}:80` } : { ok: false, error: `dial tcp ${ip}:80: connect: connection refused` };
  };
  return urls;
}

describe("pod targets by selector", () => {
  describe("http.to.selector", () => {
    it("probes every matching pod of the scenario's Deployment, in the target namespace defaulting to the source's", async () => {
      const c = new FakeCluster().put(client(), webPod("web-5d4f8b9c7-aaaaa", "10.244.0.4"), webPod("web-5d4f8b9c7-bbbbb", "10.244.0.5"));
      const urls = serve(c, ["10.244.0.4", "10.244.0.5"]);
      const o = await observe(c, httpCheck);
      expect(o.ok, o.message).to.equal(true);
      expect(urls.sort()).to.deep.equal(["http://10.244.0.4:80/", "http://10.244.0.5:80/"]);
      expect(o.message).to.match(/^all 2 pods matching app=web passed: shop\/client reached shop\/web-5d4f8b9c7-aaaaa:80/);
      expect(o.connectivity!.map((x) => x.to)).to.deep.equal(["shop/web-5d4f8b9c7-aaaaa:80", "shop/web-5d4f8b9c7-bbbbb:80"]);
    });

    it("fails when one matching pod does not answer, naming it", async () => {
      const c = new FakeCluster().put(client(), webPod("web-5d4f8b9c7-aaaaa", "10.244.0.4"), webPod("web-5d4f8b9c7-bbbbb", "10.244.0.5"));
      serve(c, ["10.244.0.4"]);
      const o = await observe(c, httpCheck);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("1 of 2 pods matching app=web failed: shop/client cannot reach shop/web-5d4f8b9c7-bbbbb:80: dial tcp 10.244.0.5:80: connect: connection refused");
      expect(o.connectivity!.map((x) => x.observed)).to.deep.equal(["allowed", "blocked"]);
    });

    it("fails (a verdict, not an error) when no pod matches, naming the selector and namespace", async () => {
      const c = new FakeCluster().put(client());
      serve(c, []);
      const o = await observe(c, httpCheck);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("no target pod in namespace shop matches app=web");
      expect(o.evidence[0]).to.deep.include({ label: "target shop/pods with app=web", observed: "none" });
      expect(c.ephemeral, "nothing to probe").to.have.length(0);
    });

    it("ignores a learner's pod with the same labels, and never counts it as the target", async () => {
      const fake = pod("web-fake", { namespace: "shop", ip: "10.244.0.7", container: "nginx", labels: { app: "web" } });
      const c = new FakeCluster().put(client(), fake);
      serve(c, ["10.244.0.7"]);
      const o = await observe(c, httpCheck);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("no target pod in namespace shop matches app=web");
      expect(o.evidence.map((e) => e.label)).to.include("pod shop/web-fake");
    });

    it("checks each selected pod's integrity (a replica moved to the host network fails)", async () => {
      const c = new FakeCluster().put(client(), webPod("web-5d4f8b9c7-aaaaa", "10.244.0.4"), webPod("web-5d4f8b9c7-bbbbb", "172.18.0.3", { hostNetwork: true }));
      serve(c, ["10.244.0.4", "172.18.0.3"]);
      const o = await observe(c, httpCheck);
      expect(o.ok).to.equal(false);
      expect(o.evidence[0]!.label).to.equal("target pod shop/web-5d4f8b9c7-bbbbb: hostNetwork");
    });

    it("skips terminating pods, and uses pod DNS names with via: dns", async () => {
      const old = webPod("web-5d4f8b9c7-old", "10.244.0.3");
      old.metadata.deletionTimestamp = "2026-01-01T00:01:00Z";
      const c = new FakeCluster().put(client(), old, webPod("web-5d4f8b9c7-aaaaa", "10.244.0.4"));
      const urls: string[] = [];
      c.probe = ({ args }) => (urls.push(args.url!), { ok: true, status: 200, body: NGINX_PAGE });
      const o = await observe(c, { id: "web-dns-name", title: "by pod DNS name", http: { from: { pod: "client", namespace: "shop" }, to: { selector: { app: "web" }, via: "dns" } } } as Check);
      expect(urls).to.deep.equal(["http://10-244-0-4.shop.pod.cluster.local:80/"]);
      expect(o.message).to.not.match(/old/);
    });
  });

  describe("dns.lookup.selector", () => {
    it("requires every matching pod's DNS name to resolve to its IP", async () => {
      const c = new FakeCluster().put(client(), webPod("web-5d4f8b9c7-aaaaa", "10.244.0.4"), webPod("web-5d4f8b9c7-bbbbb", "10.244.0.5"));
      const names: string[] = [];
      const answers: Record<string, string> = { "10-244-0-4.shop.pod.cluster.local.": "10.244.0.4", "10-244-0-5.shop.pod.cluster.local.": "10.244.0.5" };
      c.probe = ({ args }) => (names.push(args.name!), { ok: true, addresses: [answers[args.name!]!] });
      const o = await observe(c, dnsCheck);
      expect(o.ok, o.message).to.equal(true);
      expect(names.sort()).to.deep.equal(Object.keys(answers));

      answers["10-244-0-5.shop.pod.cluster.local."] = "10.244.0.99";
      const wrong = await observe(c, dnsCheck);
      expect(wrong.ok).to.equal(false);
      expect(wrong.message).to.equal("1 of 2 pods matching app=web failed: pod shop/web-5d4f8b9c7-bbbbb's DNS name resolves to 10.244.0.99, not 10.244.0.5");
    });

    it("fails when no pod matches, naming the selector", async () => {
      const c = new FakeCluster().put(client());
      c.probe = () => ({ ok: true, addresses: ["10.244.0.4"] });
      const o = await observe(c, dnsCheck);
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("no pod in namespace shop matches app=web: nothing to look up");
    });
  });
});
