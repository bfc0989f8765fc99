/**
 * sidecar-localhost's fixed-in-spec script: the fix must be in the orders
 * Deployment and the pod it runs, not in a configuration rewritten inside the
 * running proxy (which the API does not show: the spec is all there is to judge).
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { FakeCluster, pod } from "../checks/fakes.ts";

const SCRIPT_URL = new URL("../../../scenarios/sidecar-localhost/checks/fixed-in-spec.ts", import.meta.url);
type Script = { default: (ctx: unknown) => Promise<{ ok: boolean; message: string }>; TEAM_COMMANDS: Record<string, string[]> };
const load = async () => (await import(SCRIPT_URL.href)) as Script;
const run = async (c: FakeCluster) => (await load()).default({ client: c, signal: new AbortController().signal });

/** The team's Deployment template (manifests/app.yaml), with the proxy's backend and the API's listen address. */
function template(backend: unknown, listen: unknown = "127.0.0.1:8080", change: (spec: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const docs = parseAllDocuments(readFileSync(new URL("../../../scenarios/sidecar-localhost/manifests/app.yaml", import.meta.url), "utf8")).map((d) => d.toJS() as KubeObject);
  const spec = structuredClone((docs.find((d) => d.kind === "Deployment")!.spec as { template: { spec: Record<string, unknown> } }).template.spec);
  for (const c of spec.containers as { name: string; env: { name: string; value?: string; valueFrom?: unknown }[] }[]) {
    const v = c.name === "proxy" ? backend : listen;
    c.env = [typeof v === "string" ? { name: c.env[0]!.name, value: v } : { name: c.env[0]!.name, valueFrom: v }];
  }
  change(spec);
  return spec;
}

function world(deploymentSpec: Record<string, unknown>, podSpecs: Record<string, unknown>[]): FakeCluster {
  const c = new FakeCluster();
  c.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "orders", namespace: "orders" }, spec: { template: { metadata: { labels: { app: "orders" } }, spec: deploymentSpec } } });
  podSpecs.forEach((spec, i) => {
    const p = pod(`orders-abc-${i}`, { namespace: "orders", labels: { app: "orders" } });
    p.spec = spec;
    c.put(p);
  });
  return c;
}

const BROKEN = "orders-api.orders.svc.cluster.local:8080";

describe("sidecar-localhost: fixed-in-spec", () => {
  it("knows the team's commands as manifests/app.yaml declares them", async () => {
    const { TEAM_COMMANDS } = await load();
    const spec = template(BROKEN) as { containers: { name: string; command: string[] }[] };
    expect(Object.fromEntries(spec.containers.map((c) => [c.name, c.command]))).to.deep.equal(TEAM_COMMANDS);
  });

  it("fails in the broken state, and so after the proxy was rewritten inside its running container (the API shows the same spec)", async () => {
    const r = await run(world(template(BROKEN), [template(BROKEN)]));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal(
      `Deployment orders/orders does not start a proxy that forwards over the pod's loopback: container proxy's ORDERS_BACKEND is "${BROKEN}", not the pod's loopback port 8080 (a configuration changed inside a running container is not the fix: the next pod starts from the Deployment)`,
    );
  });

  it("passes with the fix in the Deployment and a pod made from it (127.0.0.1, localhost or [::1])", async () => {
    for (const backend of ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"]) {
      const r = await run(world(template(backend), [template(backend)]));
      expect(r.ok, `${backend}: ${r.message}`).to.equal(true);
    }
  });

  it("fails while the pod that runs was made from an older spec (a paused rollout, a fix the pod never got)", async () => {
    const r = await run(world(template("127.0.0.1:8080"), [template(BROKEN)]));
    expect(r.ok).to.equal(false);
    expect(r.message).to.match(/^orders pod orders-abc-0: container proxy's ORDERS_BACKEND is "orders-api\.orders\.svc\.cluster\.local:8080"/);
  });

  it("fails for an API opened to the network, a changed command or another template, and for no pod at all", async () => {
    expect((await run(world(template("127.0.0.1:8080", "0.0.0.0:8080"), [template("127.0.0.1:8080", "0.0.0.0:8080")]))).message).to.include(`container app's ORDERS_LISTEN is "0.0.0.0:8080"`);
    const hardcoded = template(BROKEN, "127.0.0.1:8080", (s) => ((s.containers as { name: string; command: string[] }[]).find((c) => c.name === "proxy")!.command = ["sh", "-c", "echo 'server { listen 80; location / { proxy_pass http://127.0.0.1:8080; } }' > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"]));
    expect((await run(world(hardcoded, [hardcoded]))).message).to.include("container proxy's command is not the team's");
    const otherTemplate = template("127.0.0.1:8080", "127.0.0.1:8080", (s) => ((s.volumes as { configMap: { name: string } }[])[0]!.configMap = { name: "my-nginx" }));
    expect((await run(world(otherTemplate, [otherTemplate]))).message).to.include("reads its template from ConfigMap my-nginx, not orders-nginx");
    expect((await run(world(template("127.0.0.1:8080"), []))).message).to.equal("no orders pod runs from Deployment orders/orders");
  });

  it("reads a value from a ConfigMap key as the container gets it", async () => {
    const ref = { configMapKeyRef: { name: "proxy-settings", key: "backend" } };
    const c = world(template(ref), [template(ref)]);
    c.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "proxy-settings", namespace: "orders" }, data: { backend: "127.0.0.1:8080" } });
    expect((await run(c)).ok).to.equal(true);
    c.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "proxy-settings", namespace: "orders" }, data: { backend: BROKEN } });
    expect((await run(c)).ok).to.equal(false);
  });
});
