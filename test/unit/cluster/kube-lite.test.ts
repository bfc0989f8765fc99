/**
 * cluster/kube-lite.ts passes the same ClusterClient contract as checks/kube.ts,
 * plus what only it has: exec over its own WebSocket client, kubeconfig
 * reading, and the choice between the two clients.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterClient, LiteKubeClient, readKubeConfig } from "../../../runner/cluster/kube-lite.ts";
import { WebSocketServer, type WebSocket } from "ws";
import { describeClusterClient, kubeconfigFor } from "./kube-contract.ts";

describeClusterClient("cluster/kube-lite LiteKubeClient", (options) => new LiteKubeClient(options));

/** A fake API server whose exec endpoint speaks the channel.k8s.io WebSocket protocol (on ws's server). */
async function execApi(onExec: (query: URLSearchParams, send: (channel: number, data: string | Buffer) => void, ws: WebSocket, received: Buffer[]) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", message: `pods "${req.url}" not found`, code: 404 }));
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => "v4.channel.k8s.io" });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push(`UPGRADE ${req.url} ${req.headers["sec-websocket-protocol"]}`);
    const url = new URL(req.url!, "http://x");
    if (url.pathname.includes("/pods/missing/")) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n{"kind":"Status","message":"pods \\"missing\\" not found","code":404}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const received: Buffer[] = [];
      ws.on("message", (data: Buffer) => received.push(data));
      const send = (channel: number, data: string | Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]), { binary: true });
      onExec(url.searchParams, send, ws, received);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe("cluster/kube-lite exec over WebSocket", function () {
  this.timeout(10_000);

  it("runs a command: the query, stdout and stderr by channel, the exit code from the status", async () => {
    const api = await execApi((query, send, socket) => {
      expect(query.getAll("command")).to.deep.equal(["labrun-probe", "http", "--url", "http://x/"]);
      expect(query.get("container")).to.equal("labrun-probe-abc123");
      send(1, '{"ok":tr');
      send(1, 'ue}\n');
      send(2, "warning\n");
      send(3, JSON.stringify({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "1" }] } }));
      socket.close(1000);
    });
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const r = await c.exec({ namespace: "default", pod: "web", container: "labrun-probe-abc123" }, ["labrun-probe", "http", "--url", "http://x/"], { timeoutMs: 3000 });
    expect(r).to.deep.include({ exitCode: 1, stdout: '{"ok":true}\n', timedOut: false });
    expect(r.stderr).to.match(/^warning\n/);
    expect(api.requests[0]).to.match(/^UPGRADE \/api\/v1\/namespaces\/default\/pods\/web\/exec\?command=labrun-probe&command=http.* v5\.channel\.k8s\.io, ?v4\.channel\.k8s\.io$/);
    await c.close();
    api.server.close();
  });

  it("a refused upgrade (pod not found) is an ExecError with the API's message", async () => {
    const api = await execApi(() => undefined);
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const error = await c.exec({ namespace: "default", pod: "missing", container: "c" }, ["true"], { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect((error as Error).name).to.equal("ExecError");
    expect((error as Error).message).to.match(/failed to start: pods "missing" not found \(HTTP 404\)/);
    await c.close();
    api.server.close();
  });

  it("never hangs: a command that never ends is cut at the deadline", async () => {
    const api = await execApi((_q, send) => send(1, "partial"));
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const t0 = Date.now();
    const r = await c.exec({ namespace: "default", pod: "web", container: "c" }, ["sleep", "1000"], { timeoutMs: 300 });
    expect(r).to.deep.include({ timedOut: true, exitCode: null, stdout: "partial" });
    expect(Date.now() - t0).to.be.lessThan(2000);
    await c.close();
    api.server.closeAllConnections();
    api.server.close();
  });

  it("sends stdin on channel 0", async () => {
    let got: Buffer[] = [];
    const api = await execApi((_q, send, socket, received) => {
      got = received;
      // like `cat`: the status once the input has arrived
      socket.on("message", () => {
        send(3, JSON.stringify({ status: "Success" }));
        socket.close(1000);
      });
    });
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const r = await c.exec({ namespace: "default", pod: "web", container: "c" }, ["cat"], { timeoutMs: 3000, stdin: "hello" });
    expect(r.exitCode).to.equal(0);
    expect(got.map((b) => b.toString("latin1"))).to.include("\u0000hello");
    await c.close();
    api.server.close();
  });

  it("long output arrives whole (messages over 64 KiB)", async () => {
    const long = "x".repeat(70_000);
    const api = await execApi((_q, send, ws) => {
      send(1, long);
      send(3, JSON.stringify({ status: "Success" }));
      ws.close(1000);
    });
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const r = await c.exec({ namespace: "default", pod: "web", container: "c" }, ["cat", "big"], { timeoutMs: 3000 });
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.equal(long);
    await c.close();
    api.server.close();
});
});

describe("cluster/kube-lite kubeconfig", () => {
  function write(text: string): string {
    const dir = mkdtempSync(join(tmpdir(), "labrun-kc-"));
    writeFileSync(join(dir, "ca.crt"), "CA FROM FILE");
    writeFileSync(join(dir, "kubeconfig"), text);
    return join(dir, "kubeconfig");
  }

  it("reads kind's inline certificates, files relative to the kubeconfig, and tokens", () => {
    const file = write(`apiVersion: v1
kind: Config
current-context: kind-x
clusters:
- name: kind-x
  cluster: { server: "https://127.0.0.1:6443/", certificate-authority: ca.crt }
contexts:
- name: kind-x
  context: { cluster: kind-x, user: kind-x }
users:
- name: kind-x
  user: { client-certificate-data: ${Buffer.from("CERT").toString("base64")}, client-key-data: ${Buffer.from("KEY").toString("base64")}, token: abc }
`);
    const c = readKubeConfig(file);
    expect(c).to.deep.include({ context: "kind-x", cluster: "kind-x", server: "https://127.0.0.1:6443", insecure: false, token: "abc" });
    expect(c.ca!.toString()).to.equal("CA FROM FILE");
    expect(c.cert!.toString()).to.equal("CERT");
    expect(c.key!.toString()).to.equal("KEY");
    expect(c.unsupported).to.equal(undefined);
  });

  it("leaves exec plugins, auth providers and proxies to client-node", async () => {
    const file = write(`apiVersion: v1
kind: Config
current-context: eks
clusters:
- name: eks
  cluster: { server: "https://example.invalid", proxy-url: "http://proxy:3128" }
contexts:
- name: eks
  context: { cluster: eks, user: eks }
users:
- name: eks
  user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token] } }
`);
    expect(readKubeConfig(file).unsupported).to.equal("exec, proxy-url");
    const client = await createClusterClient({ kubeconfig: file });
    expect(client).to.not.be.instanceOf(LiteKubeClient);
    await client.close();
    const simple = await createClusterClient({ kubeconfig: kubeconfigFor("http://127.0.0.1:1") });
    expect(simple).to.be.instanceOf(LiteKubeClient);
    await simple.close();
  });
});
