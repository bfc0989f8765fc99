/**
 * The contract of a ClusterClient over a kubeconfig, against a tiny fake API
 * server (plain HTTP on localhost, no Docker): requests, server-side apply,
 * the ephemeralcontainers patch, exec, error mapping, and above all that an
 * unreachable or hanging API becomes an InfraError within the deadline.
 * checks/kube.ts (client-node) and checks/kube-lite.ts both run it.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterClient } from "../../../runner/cluster/client.ts";
import { EphemeralContainerError, KubeApiError, NodeShellUnavailableError, UnknownKindError, type KubeClientOptions } from "../../../runner/cluster/kube-common.ts";
import { InfraError, NotFoundError, UsageError } from "../../../runner/errors.ts";

export function kubeconfigFor(server: string, name = "fake"): string {
  const dir = mkdtempSync(join(tmpdir(), "labrun-kube-"));
  const file = join(dir, "kubeconfig");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: ${name}
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
contexts:
- name: ${name}
  context: { cluster: ${name}, user: ${name} }
- name: other
  context: { cluster: ${name}, user: ${name} }
current-context: ${name}
users:
- name: ${name}
  user: { token: t0k3n }
`,
  );
  return file;
}

interface Recorded {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, body: string) => { status: number; json?: unknown } | undefined;

export async function fakeApi(handler: Handler): Promise<{ server: Server; url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      requests.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"], auth: req.headers.authorization, body });
      const r = handler(req, body) ?? { status: 404, json: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", message: `${req.url} not found`, code: 404 } };
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(r.json === undefined ? "" : JSON.stringify(r.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const CORE_RESOURCES = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "v1",
  resources: [
    { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list", "patch"] },
    { name: "pods/ephemeralcontainers", singularName: "", namespaced: true, kind: "Pod", verbs: ["get", "patch"] },
    { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["get", "list"] },
    { name: "configmaps", singularName: "configmap", namespaced: true, kind: "ConfigMap", verbs: ["get", "list", "patch", "delete"] },
  ],
};

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default", uid: "u1", creationTimestamp: "2026-01-01T00:00:00Z", labels: { app: "web" } },
  spec: { containers: [{ name: "nginx", image: "nginx:1.22.1" }], someFutureField: { x: 1 } },
  status: { phase: "Running", podIP: "192.168.1.4" },
};

export type TestClient = ClusterClient & { readonly server: string; close(): Promise<void> };

/** The tests every ClusterClient over a kubeconfig passes; `create` makes the client under test. */
export function describeClusterClient(name: string, create: (options: KubeClientOptions) => TestClient): void {
describe(name, function () {
  this.timeout(10_000);
  const clients: TestClient[] = [];
  const servers: Server[] = [];
  const createKubeClient = create;
  const client = (file: string, extra: Partial<KubeClientOptions> = {}) => {
    const c = create({ kubeconfig: file, ...extra });
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  it("pings GET /version", async () => {
    const api = await fakeApi((req) => (req.url === "/version" ? { status: 200, json: { gitVersion: "v1.34.12", major: "1", minor: "34" } } : undefined));
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url));
    expect(await c.ping()).to.deep.equal({ gitVersion: "v1.34.12" });
    expect(api.requests[0]!.auth).to.equal("Bearer t0k3n");
  });

  it("turns a refused connection into InfraError within seconds", async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const port = (tcp.address() as AddressInfo).port;
    await new Promise<void>((r) => tcp.close(() => r()));
    const c = client(kubeconfigFor(`http://127.0.0.1:${port}`));
    const t0 = Date.now();
    const error = await c.ping().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("CLUSTER_UNREACHABLE");
    expect((error as InfraError).message).to.match(/cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(GET \/version\): .*ECONNREFUSED/);
    expect((error as InfraError).hint).to.match(/labrun status/);
    expect(Date.now() - t0).to.be.lessThan(3000);
  });

  it("turns an API that accepts connections but never answers into InfraError at the deadline", async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const c = client(kubeconfigFor(`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`), { pingTimeoutMs: 300, requestTimeoutMs: 400 });
    const t0 = Date.now();
    const ping = await c.ping().catch((e: unknown) => e);
    expect(ping).to.be.instanceOf(InfraError);
    expect((ping as Error).message).to.match(/did not answer within 300ms \(GET \/version\)/);
    const get = await c.get({ apiVersion: "v1", kind: "Pod", name: "x", namespace: "default" }).catch((e: unknown) => e);
    expect(get).to.be.instanceOf(InfraError);
    expect(Date.now() - t0).to.be.lessThan(2500);
    for (const s of sockets) s.destroy();
    tcp.close();
  });

  it("gets objects as plain JSON (no model classes, no dropped fields) and undefined for 404", async () => {
    const api = await fakeApi((req) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.url === "/api/v1/namespaces/default/pods/web") return { status: 200, json: POD };
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url));
    const pod = await c.get({ apiVersion: "v1", kind: "Pod", name: "web", namespace: "default" });
    expect(pod).to.deep.equal(POD);
    expect(typeof pod!.metadata.creationTimestamp).to.equal("string");
    expect(await c.get({ apiVersion: "v1", kind: "Pod", name: "gone", namespace: "default" })).to.equal(undefined);
  });

  it("lists with selectors, following continue tokens, and fills apiVersion/kind on items", async () => {
    const api = await fakeApi((req) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.url!.startsWith("/api/v1/namespaces/default/pods?")) {
        const u = new URL(req.url!, "http://x");
        expect(u.searchParams.get("labelSelector")).to.equal("app=web");
        if (!u.searchParams.get("continue")) return { status: 200, json: { kind: "PodList", apiVersion: "v1", metadata: { continue: "next" }, items: [{ metadata: { name: "a" } }] } };
        return { status: 200, json: { kind: "PodList", apiVersion: "v1", metadata: {}, items: [{ metadata: { name: "b" } }] } };
      }
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url));
    const pods = await c.list("v1", "Pod", { namespace: "default", labelSelector: "app=web" });
    expect(pods).to.deep.equal([
      { apiVersion: "v1", kind: "Pod", metadata: { name: "a" } },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "b" } },
    ]);
  });

  it("applies server-side: PATCH application/apply-patch+yaml with fieldManager and force", async () => {
    const api = await fakeApi((req, body) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.method === "PATCH") return { status: 200, json: { ...JSON.parse(body), metadata: { ...JSON.parse(body).metadata, uid: "new" } } };
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url));
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { a: "1" }, futureField: true };
    const applied = await c.apply(cm, { fieldManager: "labrun", force: true });
    expect(applied.metadata.uid).to.equal("new");
    const patch = api.requests.find((r) => r.method === "PATCH")!;
    expect(patch.url).to.equal("/api/v1/namespaces/default/configmaps/cfg?fieldManager=labrun&force=true");
    expect(patch.contentType).to.equal("application/apply-patch+yaml");
    expect(JSON.parse(patch.body)).to.deep.equal(cm);
  });

  it("maps API errors: 401 is InfraError, 500 is KubeApiError, an unknown kind is UnknownKindError, delete of a missing object is false", async () => {
    let status = 500;
    const api = await fakeApi((req) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.url === "/apis/example.com/v1") return { status: 404, json: { kind: "Status", code: 404, message: "not found" } };
      if (req.method === "DELETE") return undefined;
      if (req.url!.startsWith("/api/v1/nodes/")) return { status, json: { kind: "Status", apiVersion: "v1", status: "Failure", message: "etcdserver: leader changed", reason: "InternalError", code: status } };
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url));
    const e500 = await c.get({ apiVersion: "v1", kind: "Node", name: "n1" }).catch((e: unknown) => e);
    expect(e500).to.be.instanceOf(KubeApiError);
    expect((e500 as KubeApiError).status).to.equal(500);
    expect((e500 as Error).message).to.equal("get Node n1: etcdserver: leader changed");
    status = 401;
    const e401 = await c.get({ apiVersion: "v1", kind: "Node", name: "n1" }).catch((e: unknown) => e);
    expect(e401).to.be.instanceOf(InfraError);
    const unknown = await c.get({ apiVersion: "example.com/v1", kind: "Widget", name: "w", namespace: "default" }).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(UnknownKindError);
    expect(await c.delete({ apiVersion: "v1", kind: "ConfigMap", name: "nope", namespace: "default" })).to.equal(false);
  });

  it("adds an ephemeral container with a strategic merge patch of the subresource and waits until it runs", async () => {
    let polls = 0;
    const api = await fakeApi((req) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.method === "PATCH" && req.url!.startsWith("/api/v1/namespaces/default/pods/web/ephemeralcontainers")) return { status: 200, json: POD };
      if (req.url === "/api/v1/namespaces/default/pods/web") {
        polls++;
        const state = polls < 3 ? { waiting: { reason: "ContainerCreating" } } : { running: { startedAt: "2026-01-01T00:00:01Z" } };
        return { status: 200, json: { ...POD, status: { ...POD.status, ephemeralContainerStatuses: [{ name: "labrun-probe-1", state }] } } };
      }
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url), { pollIntervalMs: 10 });
    await c.addEphemeralContainer(
      { namespace: "default", pod: "web" },
      { name: "labrun-probe-1", image: "ghcr.io/labrun/probe:v0.1.0", command: ["labrun-probe", "hold"], securityContext: { runAsNonRoot: true } },
      { timeoutMs: 2000 },
    );
    const patch = api.requests.find((r) => r.method === "PATCH")!;
    expect(patch.contentType).to.equal("application/strategic-merge-patch+json");
    expect(patch.url).to.match(/^\/api\/v1\/namespaces\/default\/pods\/web\/ephemeralcontainers\?fieldManager=labrun$/);
    const sent = JSON.parse(patch.body) as { spec: { ephemeralContainers: Record<string, unknown>[] } };
    expect(sent.spec.ephemeralContainers[0]).to.deep.include({ name: "labrun-probe-1", image: "ghcr.io/labrun/probe:v0.1.0", imagePullPolicy: "IfNotPresent", securityContext: { runAsNonRoot: true } });
    expect(polls).to.equal(3);
  });

  it("fails fast when the ephemeral container's image cannot be pulled", async () => {
    const api = await fakeApi((req) => {
      if (req.url === "/api/v1") return { status: 200, json: CORE_RESOURCES };
      if (req.method === "PATCH") return { status: 200, json: POD };
      if (req.url === "/api/v1/namespaces/default/pods/web") {
        return { status: 200, json: { ...POD, status: { ...POD.status, ephemeralContainerStatuses: [{ name: "p", state: { waiting: { reason: "ErrImageNeverPull", message: "image not present" } } }] } } };
      }
      return undefined;
    });
    servers.push(api.server);
    const c = client(kubeconfigFor(api.url), { pollIntervalMs: 10 });
    const error = await c.addEphemeralContainer({ namespace: "default", pod: "web" }, { name: "p", image: "x:1", command: ["x"] }, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EphemeralContainerError);
    expect((error as EphemeralContainerError).reason).to.equal("ErrImageNeverPull");
  });

  it("stops a request when the caller's signal aborts", async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const c = client(kubeconfigFor(`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("SIGINT")), 50);
    const t0 = Date.now();
    const error = await c.ping({ signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(Date.now() - t0).to.be.lessThan(1000);
    for (const s of sockets) s.destroy();
    tcp.close();
  });

  it("delegates node commands to the injected runner, and says when there is none", async () => {
    const file = kubeconfigFor("http://127.0.0.1:1");
    const calls: string[] = [];
    const withRunner = client(file, { nodeRunner: async (n, argv) => (calls.push(`${n}: ${argv.join(" ")}`), { exitCode: 0, stdout: "ok", stderr: "", timedOut: false }) });
    expect((await withRunner.runOnNode("n1", ["ls"], { timeoutMs: 1000 })).stdout).to.equal("ok");
    expect(calls).to.deep.equal(["n1: ls"]);
    const without = client(file);
    expect(await without.runOnNode("n1", ["ls"], { timeoutMs: 1000 }).catch((e: unknown) => e)).to.be.instanceOf(NodeShellUnavailableError);
  });

  it("refuses a missing kubeconfig or an unknown context with usage errors", () => {
    expect(() => createKubeClient({ kubeconfig: "/nonexistent/kubeconfig" })).to.throw(NotFoundError);
    expect(() => createKubeClient({ kubeconfig: kubeconfigFor("http://127.0.0.1:1"), context: "nope" })).to.throw(UsageError, /no context "nope"/);
    expect(createKubeClient({ kubeconfig: kubeconfigFor("http://127.0.0.1:1"), context: "other" }).server).to.equal("http://127.0.0.1:1");
  });
});
}
