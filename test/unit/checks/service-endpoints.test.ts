/**
 * A Service the scenario declares answers only from pods the scenario deploys:
 * a stand-in pod behind its selector, a hand-made endpoint or a replaced pod
 * fails an http check, however right the page it prints.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { type Observation } from "../../../checks/context.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { type Check } from "../../../runner/schema/scenario.ts";
import { BEEBOX_MANIFEST, beeboxPods, FakeCluster, NGINX_PAGE, pod, service, observeCheck } from "./fakes.ts";

const MANIFEST = `${BEEBOX_MANIFEST}---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`;

function slice(endpoints: { ip: string; pod?: string; kind?: string }[]): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-abc", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: true }, ...(e.pod ? { targetRef: { kind: e.kind ?? "Pod", name: e.pod, namespace: "default" } } : {}) })),
  };
}

const check = { id: "s", title: "svc", http: { from: { pod: "testclient" }, to: { service: "web" }, expect: { status: 200, bodyContains: "Welcome to nginx!" } } } as Check;

function world(endpoints: { ip: string; pod?: string; kind?: string }[], ...extra: KubeObject[]): FakeCluster {
  const c = new FakeCluster().put(...beeboxPods(), service("web", "10.96.0.20"), slice(endpoints), ...extra);
  c.probe = () => ({ ok: true, status: 200, body: NGINX_PAGE });
  return c;
}

describe("service targets answer from the scenario's pods", () => {
  it("passes when every ready endpoint is a pod the scenario deploys", async () => {
    const o = await observe(world([{ ip: "192.168.1.4", pod: "cyberdyne-frontend" }]));
    expect(o.ok, o.message).to.equal(true);
  });

  it("fails when the selector sends traffic to a stand-in pod that prints the expected page", async () => {
    const o = await observe(world([{ ip: "192.168.1.9", pod: "standin" }], pod("standin", { ip: "192.168.1.9", labels: { app: "standin" } })));
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("target service default/web sends traffic to pod default/standin, which the scenario does not deploy: the answer comes from a stand-in, not the scenario's pods");
    expect(o.evidence[0]!.observed).to.equal("pod default/standin (labels app=standin; image docker.io/library/nginx:1.22.1)");
  });

  it("fails for a hand-made endpoint that is not a pod", async () => {
    const o = await observe(world([{ ip: "172.18.0.5" }]));
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^target service default\/web sends traffic to 172\.18\.0\.5, which is not a pod/);
  });

  it("fails when the endpoint pod was replaced with another image", async () => {
    const replaced = pod("cyberdyne-frontend", { ip: "192.168.1.4", container: "nginx", image: "docker.io/library/httpd:2.4" });
    const c = world([{ ip: "192.168.1.4", pod: "cyberdyne-frontend" }]).put(replaced);
    const o = await observe(c);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^target service default\/web: target pod default\/cyberdyne-frontend is not the pod the scenario deploys/);
  });

  it("does not judge a Service the scenario does not declare (kube-dns, the learner's own)", async () => {
    const o = await observe(world([{ ip: "192.168.1.9", pod: "standin" }], pod("standin", { ip: "192.168.1.9" })), new WorkloadIndex().addManifests(BEEBOX_MANIFEST));
    expect(o.ok, o.message).to.equal(true);
  });
});

function observe(cluster: FakeCluster, workloads = new WorkloadIndex().addManifests(MANIFEST)): Promise<Observation> {
  return observeCheck(cluster, check, { workloads });
}
