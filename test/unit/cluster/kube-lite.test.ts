/**
 * cluster/kube-lite.ts passes the same ClusterClient contract as checks/kube.ts,
 * plus what only it has: exec over its own WebSocket client, kubeconfig
 * reading, and the choice between the two clients.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterClient, LiteKubeClient, readKubeConfig } from "../../../runner/cluster/kube-lite.ts";
import { encodeFrame, parseFrame } from "../../../runner/cluster/ws-exec.ts";
import { describeClusterClient, kubeconfigFor } from "./kube-contract.ts";

describeClusterClient("cluster/kube-lite LiteKubeClient", (options) => new LiteKubeClient(options));

/** A fake API server whose exec endpoint speaks the channel.k8s.io WebSocket protocol. */
async function execApi(onExec: (query: URLSearchParams, send: (channel: number, data: string | Buffer) => void, socket: Socket, received: Buffer[]) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", message: `pods "${req.url}" not found`, code: 404 }));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    requests.push(`UPGRADE ${req.url} ${req.headers["sec-websocket-protocol"]}`);
    const url = new URL(req.url!, "http://x");
    if (url.pathname.includes("/pods/missing/")) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n{"kind":"Status","message":"pods \\"missing\\" not found","code":404}');
      return;
    }
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`);
    const received: Buffer[] = [];
    let buf = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (let f = parseFrame(buf); f; f = parseFrame(buf)) {
        buf = buf.subarray(f.length);
        received.push(Buffer.concat([Buffer.from([f.opcode]), f.payload]));
      }
    });
    // The server's frames are unmasked: build them by hand.
    const send = (channel: number, data: string | Buffer) => {
      const payload = Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);
      const head = payload.length < 126 ? Buffer.from([0x82, payload.length]) : Buffer.from([0x82, 126, payload.length >> 8, payload.length & 0xff]);
      socket.write(Buffer.concat([head, payload]));
    };
    onExec(url.searchParams, send, socket, received);
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
      socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    });
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const r = await c.exec({ namespace: "default", pod: "web", container: "labrun-probe-abc123" }, ["labrun-probe", "http", "--url", "http://x/"], { timeoutMs: 3000 });
    expect(r).to.deep.include({ exitCode: 1, stdout: '{"ok":true}\n', timedOut: false });
    expect(r.stderr).to.match(/^warning\n/);
    expect(api.requests[0]).to.match(/^UPGRADE \/api\/v1\/namespaces\/default\/pods\/web\/exec\?command=labrun-probe&command=http.* v5\.channel\.k8s\.io, v4\.channel\.k8s\.io$/);
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

  it("sends stdin on channel 0 (masked frames)", async () => {
    let got: Buffer[] = [];
    const api = await execApi((_q, send, socket, received) => {
      got = received;
      setTimeout(() => {
        send(3, JSON.stringify({ status: "Success" }));
        socket.end();
      }, 100);
    });
    const c = new LiteKubeClient({ kubeconfig: kubeconfigFor(api.url) });
    const r = await c.exec({ namespace: "default", pod: "web", container: "c" }, ["cat"], { timeoutMs: 3000, stdin: "hello" });
    expect(r.exitCode).to.equal(0);
    expect(got.map((b) => b.toString("latin1"))).to.include("\u0002\u0000hello");
    await c.close();
    api.server.close();
  });

  it("frames: long payloads, fragments, masking round-trip", () => {
    const long = Buffer.alloc(70_000, 7);
    const f = parseFrame(encodeFrame(0x2, long))!;
    expect(f.payload.equals(long)).to.equal(true);
    expect(f.opcode).to.equal(2);
    const mid = Buffer.alloc(300, 1);
    expect(parseFrame(encodeFrame(0x1, mid))!.payload.equals(mid)).to.equal(true);
    expect(parseFrame(encodeFrame(0x1, mid).subarray(0, 10))).to.equal(undefined);
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
