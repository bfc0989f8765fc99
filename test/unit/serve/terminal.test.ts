/**
 * The lab terminal's WebSocket on a listening server over the fake lab layer
 * (a FakeShell echoes what it gets): who may open it (the lab's learner token
 * or the platform token, in the header or as the browser's subprotocol; not
 * another lab's, not none, not before the lab is ready), what crosses it
 * (keystrokes, resizes, output, the end), and when it ends (the browser goes,
 * the shell ends, the lab is deleted, too many are open).
 */
import { expect } from "chai";
import WebSocket from "ws";
import { TERMINAL_PROTOCOL, TERMINAL_TOKEN_PROTOCOL_PREFIX } from "../../../runner/schema/api.ts";
import { bearer, pickProtocol } from "../../../runner/serve/server-terminal.ts";
import { parseResize } from "../../../runner/serve/terminal.ts";
import { deferred, harness, settle, TOKEN, type Harness } from "./fakes.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64url");

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Client {
  ws: WebSocket;
  text: string[];
  output: () => string;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens the terminal; resolves once open, or rejects with the HTTP status of a refusal. */
function connect(base: string, lab: string, o: { token?: string | null; header?: boolean; query?: string } = {}): Promise<Client> {
  const token = o.token === undefined ? TOKEN : o.token;
  const protocols = [TERMINAL_PROTOCOL, ...(token !== null && !o.header ? [TERMINAL_TOKEN_PROTOCOL_PREFIX + b64(token)] : [])];
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/labs/${lab}/terminal${o.query ?? ""}`, protocols, o.header && token !== null ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text: string[] = [];
  const out: Buffer[] = [];
  ws.on("message", (data: Buffer, isBinary) => (isBinary ? out.push(data) : text.push(data.toString("utf8"))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.on("error", reject);
    ws.on("open", () => resolve({ ws, text, output: () => Buffer.concat(out).toString("utf8"), closed }));
  });
}

async function refused(p: Promise<Client>): Promise<{ status: number; body: string }> {
  try {
    const c = await p;
    c.ws.close();
  } catch (error) {
    return error as { status: number; body: string };
  }
  throw new Error("the terminal was opened");
}

describe("serve: the lab terminal's WebSocket", function () {
  this.timeout(20_000);
  let h: Harness;
  let base: string;

  async function readyLab(scenario = "one-node") {
    const res = await h.call("POST", "/v1/labs", { body: { scenario } });
    const { lab, learnerToken } = res.json<{ lab: { id: string }; learnerToken: string }>();
    h.backend.startOf(lab.id).done.resolve({ task: "Fix it." });
    await settle();
    return { id: lab.id, learnerToken };
  }

  beforeEach(async () => {
    h = await harness();
    base = await h.app.listen({ port: 0, host: "127.0.0.1" });
  });
  afterEach(async () => {
    await h.app.close();
  });

  it("with the learner token as subprotocol: the shell opens at the asked size, keystrokes and resizes reach it, its output comes back", async () => {
    const { id, learnerToken } = await readyLab();
    const c = await connect(base, id, { token: learnerToken, query: "?cols=120&rows=30" });
    expect(c.ws.protocol, "the server never echoes the token's subprotocol").to.equal(TERMINAL_PROTOCOL);
    await until("ready", () => c.text.includes(JSON.stringify({ type: "ready" })));
    const shell = h.backend.shells[0]!;
    expect(shell.lab).to.equal(id);
    expect(shell.sizes).to.deep.equal([{ cols: 120, rows: 30 }]);
    c.ws.send(Buffer.from("kubectl get nodes\r"), { binary: true });
    await until("the echo", () => c.output().includes("kubectl get nodes"));
    shell.handlers.onOutput(Buffer.from("NAME STATUS\r\n"));
    await until("the output", () => c.output().includes("NAME STATUS"));
    expect(shell.input).to.equal("kubectl get nodes\r");
    c.ws.send(JSON.stringify({ type: "resize", cols: 100, rows: 40 }));
    c.ws.send(JSON.stringify({ type: "resize", cols: 100000, rows: 40 })); // out of bounds: ignored
    c.ws.send("not json");
    await until("the resize", () => shell.sizes.length === 2);
    await settle();
    expect(shell.sizes).to.deep.equal([{ cols: 120, rows: 30 }, { cols: 100, rows: 40 }]);
    c.ws.close();
    await until("the shell closed", () => shell.closed);
  });

  it("with the platform token in the Authorization header", async () => {
    const { id } = await readyLab();
    const c = await connect(base, id, { header: true });
    await until("ready", () => c.text.length > 0);
    expect(h.backend.shells.map((s) => s.lab)).to.deep.equal([id]);
    c.ws.close();
  });

  it("refuses before the upgrade: no token or a wrong one (401), another lab's token (403), a lab not ready (409), bad sizes (400), no such lab (404)", async () => {
    const a = await readyLab();
    const b = await readyLab();
    expect((await refused(connect(base, a.id, { token: null }))).status).to.equal(401);
    expect((await refused(connect(base, a.id, { token: "wrong-token-0123456789" }))).status).to.equal(401);
    const other = await refused(connect(base, a.id, { token: b.learnerToken }));
    expect(other.status).to.equal(403);
    expect(other.body).to.include("FORBIDDEN");
    expect((await refused(connect(base, a.id, { token: b.learnerToken, header: true }))).status).to.equal(403);
    expect((await refused(connect(base, a.id, { query: "?cols=5" }))).status).to.equal(400);
    expect((await refused(connect(base, "nope-1"))).status).to.equal(404);
    const starting = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json<{ lab: { id: string } }>().lab.id;
    const notReady = await refused(connect(base, starting));
    expect(notReady.status).to.equal(409);
    expect(notReady.body).to.include("LAB_NOT_READY");
    expect(h.backend.shells, "no shell was opened for a refused request").to.deep.equal([]);
  });

  it("the token subprotocol counts only for the terminal: other routes want the header", async () => {
    const { id, learnerToken } = await readyLab();
    const res = await h.app.inject({ method: "GET", url: `/v1/labs/${id}`, headers: { "sec-websocket-protocol": `${TERMINAL_PROTOCOL}, ${TERMINAL_TOKEN_PROTOCOL_PREFIX}${b64(learnerToken)}` } });
    expect(res.statusCode).to.equal(401);
    expect(bearer({ headers: { "sec-websocket-protocol": `${TERMINAL_TOKEN_PROTOCOL_PREFIX}${b64("abc")}` } }, true)).to.equal("abc");
    expect(bearer({ headers: { "sec-websocket-protocol": `${TERMINAL_TOKEN_PROTOCOL_PREFIX}a+b/=` } }, true)).to.equal(undefined);
    expect(pickProtocol(new Set([`${TERMINAL_TOKEN_PROTOCOL_PREFIX}${b64("abc")}`]))).to.equal(false);
  });

  it("a plain GET (no upgrade) is 426 UPGRADE_REQUIRED", async () => {
    const { id, learnerToken } = await readyLab();
    const res = await h.call("GET", `/v1/labs/${id}/terminal`, { token: learnerToken });
    expect(res.statusCode).to.equal(426);
    expect(res.json<{ error: { code: string } }>().error.code).to.equal("UPGRADE_REQUIRED");
  });

  it("keystrokes typed while the shell opens are delivered once it is open", async () => {
    const { id } = await readyLab();
    const gate = deferred<void>();
    h.backend.terminalGate = gate.promise;
    const c = await connect(base, id);
    c.ws.send(Buffer.from("early"), { binary: true });
    c.ws.send(JSON.stringify({ type: "resize", cols: 90, rows: 20 }));
    await new Promise((r) => setTimeout(r, 50));
    gate.resolve();
    await until("ready", () => c.text.length > 0);
    const shell = h.backend.shells[0]!;
    expect(shell.input).to.equal("early");
    expect(shell.sizes.at(-1)).to.deep.equal({ cols: 90, rows: 20 });
    c.ws.close();
  });

  it("ends when the shell ends, says why when it cannot open, and when the lab is deleted", async () => {
    const { id } = await readyLab();
    const c1 = await connect(base, id);
    await until("ready", () => c1.text.length > 0);
    h.backend.shells[0]!.handlers.onExit({ status: { status: "Success" } });
    expect((await c1.closed).code).to.equal(1000);
    expect(c1.text.at(-1)).to.include('"exit"');

    h.backend.terminalError = new Error('pods "labrun-toolbox" not found');
    const c2 = await connect(base, id);
    const end2 = await c2.closed;
    expect(end2.code).to.equal(1011);
    expect(JSON.parse(c2.text.at(-1)!)).to.deep.include({ type: "error", code: "TERMINAL_UNAVAILABLE" });
    expect(c2.text.at(-1)).to.include("labrun-toolbox");
    h.backend.terminalError = undefined;

    const c3 = await connect(base, id);
    await until("ready", () => c3.text.length > 0);
    const deleting = h.call("DELETE", `/v1/labs/${id}`);
    const end3 = await c3.closed;
    expect(end3.code).to.equal(1001);
    expect(end3.reason).to.include("deleting");
    expect((await deleting).statusCode).to.equal(200);
    expect(h.backend.shells.at(-1)!.closed).to.equal(true);
  });

  it("a lab has at most 4 terminals at once (503 TOO_MANY_TERMINALS); closing one makes room", async () => {
    const { id } = await readyLab();
    const open: Client[] = [];
    for (let i = 0; i < 4; i++) open.push(await connect(base, id));
    const fifth = await refused(connect(base, id));
    expect(fifth.status).to.equal(503);
    expect(fifth.body).to.include("TOO_MANY_TERMINALS");
    open[0]!.ws.close();
    await open[0]!.closed;
    await until("room", () => h.backend.shells[0]!.closed);
    const again = await connect(base, id);
    for (const c of [...open.slice(1), again]) c.ws.close();
  });

  it("resize messages: only whole sizes within bounds", () => {
    expect(parseResize('{"type":"resize","cols":80,"rows":24}')).to.deep.equal({ cols: 80, rows: 24 });
    for (const bad of ['{"type":"resize","cols":80.5,"rows":24}', '{"type":"resize","cols":9,"rows":24}', '{"type":"resize","cols":80,"rows":201}', '{"type":"input"}', "[]", "null", "{"]) {
      expect(parseResize(bad), bad).to.equal(undefined);
    }
  });
});
