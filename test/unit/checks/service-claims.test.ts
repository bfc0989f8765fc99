/**
 * Services that claim an address (checks/service-claims.ts): externalIPs and
 * load balancer IPs make kube-proxy redirect that address to the Service's
 * pods, so a network check's pass does not count while one exists.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { addressClaimFailure, addressClaims } from "../../../checks/service-claims.ts";
import { type Check } from "../../../runner/schema/scenario.ts";
import { beeboxPods, FakeCluster, node, NGINX_PAGE, observeCheck, pod, service } from "./fakes.ts";

const claiming = (name: string, namespace: string, externalIPs: string[], lbIPs: string[] = []): KubeObject => ({
  ...service(name, "10.96.44.44", namespace),
  spec: { clusterIP: "10.96.44.44", ports: [{ port: 80 }], selector: { app: "standin" }, ...(externalIPs.length ? { externalIPs } : {}) },
  ...(lbIPs.length ? { status: { loadBalancer: { ingress: lbIPs.map((ip) => ({ ip })) } } } : {}),
});

const withAddress = (n: KubeObject, ip: string): KubeObject => ({ ...n, status: { ...(n.status as object), addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: n.metadata.name }] } });

describe("Services that claim an address", () => {
  it("names what each claimed address is: a Service's cluster IP, a pod's IP, a node's address, or nothing known", () => {
    const services = [service("kube-dns", "10.96.0.10", "kube-system"), claiming("dns-copy", "kube-system", ["10.96.0.10", "192.168.1.4"]), claiming("lb", "shop", [], ["172.18.0.3", "203.0.113.9"])];
    const pods = [...beeboxPods(), pod("host-agent", { ip: "172.18.0.3", hostNetwork: true })];
    const claims = addressClaims(services, pods, [withAddress(node("lab-worker"), "172.18.0.3")]);
    expect(claims).to.deep.equal([
      { service: "kube-system/dns-copy", address: "10.96.0.10", via: "externalIPs", owner: "the cluster IP of Service kube-system/kube-dns" },
      { service: "kube-system/dns-copy", address: "192.168.1.4", via: "externalIPs", owner: "the IP of pod default/cyberdyne-frontend" },
      { service: "shop/lb", address: "172.18.0.3", via: "status.loadBalancer", owner: "an address of node lab-worker" },
      { service: "shop/lb", address: "203.0.113.9", via: "status.loadBalancer" },
    ]);
  });

  it("finds nothing in ordinary Services (cluster IPs, headless, NodePort, a load balancer without an address)", () => {
    const plain: KubeObject[] = [
      service("web", "10.96.80.80"),
      { ...service("headless", "None"), spec: { clusterIP: "None", ports: [{ port: 80 }] } },
      { ...service("lb", "10.96.1.1"), spec: { type: "LoadBalancer", clusterIP: "10.96.1.1", ports: [{ port: 80, nodePort: 30080 }] }, status: { loadBalancer: {} } },
    ];
    expect(addressClaimFailure(plain, beeboxPods(), [node("lab-worker")])).to.equal(undefined);
  });

  it("turns a passing http check by pod IP into a failure while a Service claims the target's IP (a stand-in answers for it)", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: true, status: 200, body: NGINX_PAGE });
    const check = { id: "http-by-ip", title: "frontend by IP", http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend", port: 80, via: "ip" }, expect: { status: 200, bodyContains: "Welcome to nginx!" } } } as Check;
    expect((await observeCheck(c, check)).ok).to.equal(true);
    c.put(claiming("frontend-standin", "standin", ["192.168.1.4"]));
    const o = await observeCheck(c, check);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(
      /^Service standin\/frontend-standin claims 192\.168\.1\.4 \(externalIPs\), the IP of pod default\/cyberdyne-frontend: kube-proxy on every node sends traffic for that address to the Service's own pods instead, so a network verdict cannot be trusted while it exists \(the check's own test held: /,
    );
    expect(o.evidence[0]).to.deep.include({ label: "Service standin/frontend-standin", observed: "claims 192.168.1.4 (externalIPs), the IP of pod default/cyberdyne-frontend" });
  });

  it("does not look at Services for checks that do not go through the network (podsReady)", async () => {
    const c = new FakeCluster().put(...beeboxPods(), claiming("frontend-standin", "standin", ["192.168.1.4"]));
    const check = { id: "running", title: "pods run", podsReady: { names: ["cyberdyne-frontend", "testclient"] } } as Check;
    expect((await observeCheck(c, check)).ok).to.equal(true);
  });
});
