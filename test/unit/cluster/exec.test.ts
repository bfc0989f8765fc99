/**
 * The exec wrapper's hang cases, driven by a fake client-node Exec: it must
 * settle on status, close, deadline, abort or error, whichever comes first.
 */
import { expect } from "chai";
import { EventEmitter } from "node:events";
import { ExecError, runExec, statusExitCode, type ExecSocket, type ExecStarter, type ExecStatus, type ExecStreams } from "../../../runner/cluster/exec.ts";

class FakeSocket extends EventEmitter implements ExecSocket {
  readyState = 1;
  closed = false;
  terminated = false;
  close(): void {
    this.closed = true;
  }
  terminate(): void {
    this.terminated = true;
  }
}

interface Session {
  socket: FakeSocket;
  streams: ExecStreams;
  command: string[];
}

/** A starter whose behaviour each test scripts through the returned session. */
function fakeStarter(options: { open?: "now" | "never" | "reject" | "manual" } = {}) {
  const sessions: Session[] = [];
  let openLater: ((s: FakeSocket) => void) | undefined;
  const start: ExecStarter = (_target, command, streams) => {
    const socket = new FakeSocket();
    sessions.push({ socket, streams, command });
    if (options.open === "never") return new Promise<ExecSocket>(() => undefined);
    if (options.open === "reject") return Promise.reject(Object.assign(new Error("Unexpected server response: 404"), {}));
    if (options.open === "manual") return new Promise<ExecSocket>((resolve) => (openLater = resolve as (s: FakeSocket) => void));
    return Promise.resolve(socket);
  };
  return { start, sessions, open: (s: FakeSocket) => openLater?.(s) };
}

const target = { namespace: "default", pod: "p", container: "c" };
const tick = () => new Promise((r) => setImmediate(r));
const success: ExecStatus = { status: "Success" };
const exit = (code: number): ExecStatus => ({ status: "Failure", reason: "NonZeroExitCode", message: `command terminated with non-zero exit code: ${code}`, details: { causes: [{ reason: "ExitCode", message: String(code) }] } });

describe("cluster/exec runExec", () => {
  it("settles on the status message with the exit code and the output", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["echo", "hi"], { timeoutMs: 1000 });
    await tick();
    const s = f.sessions[0]!;
    s.streams.stdout.write("hello ");
    s.streams.stdout.write(Buffer.from("world\n"));
    s.streams.stderr.write("warn\n");
    s.streams.onStatus(success);
    const r = await p;
    expect(r).to.deep.equal({ exitCode: 0, stdout: "hello world\n", stderr: "warn\n", timedOut: false });
  });

  it("reads a non-zero exit code from the status causes", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["false"], { timeoutMs: 1000 });
    await tick();
    f.sessions[0]!.streams.onStatus(exit(3));
    const r = await p;
    expect(r.exitCode).to.equal(3);
    expect(r.timedOut).to.equal(false);
  });

  it("settles when the socket closes before a status arrives (exit code unknown), and ignores a late status", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["x"], { timeoutMs: 1000 });
    await tick();
    const s = f.sessions[0]!;
    s.streams.stdout.write("partial");
    s.socket.emit("close");
    s.streams.onStatus(exit(9));
    const r = await p;
    expect(r).to.deep.equal({ exitCode: null, stdout: "partial", stderr: "", timedOut: false });
  });

  it("settles at the deadline when neither status nor close ever comes, and terminates the socket", async () => {
    const f = fakeStarter();
    // No status and no close ever come: only the deadline can settle it (else mocha's timeout fails the test).
    const r = await runExec(f.start, target, ["sleep", "infinity"], { timeoutMs: 50 });
    expect(r.timedOut).to.equal(true);
    expect(r.exitCode).to.equal(null);
    expect(f.sessions[0]!.socket.terminated).to.equal(true);
  });

  it("settles at the deadline when the socket never opens, and drops the socket if it opens later", async () => {
    const f = fakeStarter({ open: "manual" });
    const r = await runExec(f.start, target, ["x"], { timeoutMs: 30 });
    expect(r.timedOut).to.equal(true);
    const late = new FakeSocket();
    f.open(late);
    await tick();
    expect(late.terminated).to.equal(true);
  });

  it("settles at the deadline when the connection hangs forever", async () => {
    const f = fakeStarter({ open: "never" });
    const r = await runExec(f.start, target, ["x"], { timeoutMs: 30 });
    expect(r).to.include({ timedOut: true, exitCode: null });
  });

  it("rejects with ExecError (keeping partial output) on a socket error mid-stream", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["x"], { timeoutMs: 1000 });
    await tick();
    const s = f.sessions[0]!;
    s.streams.stdout.write("half");
    s.socket.emit("error", new Error("read ECONNRESET"));
    s.socket.emit("close");
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ExecError);
    expect((error as ExecError).message).to.match(/broke off: read ECONNRESET/);
    expect((error as ExecError).stdout).to.equal("half");
    expect(s.socket.terminated).to.equal(true);
  });

  it("rejects with ExecError when the exec cannot start (pod or container gone)", async () => {
    const f = fakeStarter({ open: "reject" });
    const error = await runExec(f.start, target, ["x"], { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ExecError);
    expect((error as Error).message).to.match(/failed to start: Unexpected server response: 404/);
  });

  it("rejects with the abort reason when the signal aborts, and terminates the socket", async () => {
    const f = fakeStarter();
    const controller = new AbortController();
    const p = runExec(f.start, target, ["x"], { timeoutMs: 5000, signal: controller.signal });
    await tick();
    controller.abort(new Error("SIGINT"));
    const error = await p.catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(f.sessions[0]!.socket.terminated).to.equal(true);
  });

  it("rejects at once for an already aborted signal without starting anything", async () => {
    const f = fakeStarter();
    const controller = new AbortController();
    controller.abort("SIGTERM");
    const error = await runExec(f.start, target, ["x"], { timeoutMs: 5000, signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/SIGTERM/);
    expect(f.sessions).to.have.length(0);
  });

  it("settles when the socket is already closed by the time it is handed over", async () => {
    const socket = new FakeSocket();
    socket.readyState = 3;
    const r = await runExec(() => Promise.resolve(socket), target, ["x"], { timeoutMs: 1000 });
    expect(r).to.include({ exitCode: null, timedOut: false });
  });

  it("settles on a status delivered before the socket is handed over", async () => {
    const socket = new FakeSocket();
    const r = await runExec(
      (_t, _c, streams) => {
        streams.stdout.write("early");
        streams.onStatus(success);
        return Promise.resolve(socket);
      },
      target,
      ["x"],
      { timeoutMs: 1000 },
    );
    expect(r).to.deep.equal({ exitCode: 0, stdout: "early", stderr: "", timedOut: false });
    await tick();
    expect(socket.closed || socket.terminated).to.equal(true);
  });

  it("caps stdout and stderr", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["yes"], { timeoutMs: 1000, maxOutputBytes: 10 });
    await tick();
    const s = f.sessions[0]!;
    s.streams.stdout.write("0123456789abcdef");
    s.streams.stdout.write("more");
    s.streams.onStatus(success);
    const r = await p;
    expect(r.stdout).to.match(/^0123456789\n\[labrun: 10 more bytes dropped\]$/);
  });

  it("appends the runtime's message when the command could not run", async () => {
    const f = fakeStarter();
    const p = runExec(f.start, target, ["nope"], { timeoutMs: 1000 });
    await tick();
    f.sessions[0]!.streams.onStatus({ status: "Failure", reason: "InternalError", message: 'exec: "nope": executable file not found in $PATH' });
    const r = await p;
    expect(r.exitCode).to.equal(null);
    expect(r.stderr).to.match(/executable file not found/);
  });

  it("never hangs: many sessions with random endings all settle", async () => {
    const f = fakeStarter();
    // Only the sessions that never end have a short deadline: a busy machine cannot make the others time out.
    const runs = Array.from({ length: 30 }, (_, i) => runExec(f.start, target, ["x"], { timeoutMs: i % 3 === 2 ? 40 : 60_000 }));
    await tick();
    f.sessions.forEach((s, i) => {
      if (i % 3 === 0) s.streams.onStatus(success);
      else if (i % 3 === 1) s.socket.emit("close");
      // else: nothing ever comes
    });
    const results = await Promise.all(runs);
    expect(results.map((r, i) => (r.timedOut ? i % 3 : -1)).filter((x) => x !== -1)).to.deep.equal(Array(10).fill(2));
  });
});

describe("cluster/exec statusExitCode", () => {
  it("maps statuses to exit codes", () => {
    expect(statusExitCode({ status: "Success" }).exitCode).to.equal(0);
    expect(statusExitCode(exit(127)).exitCode).to.equal(127);
    expect(statusExitCode({ status: "Failure", message: "boom" })).to.deep.equal({ exitCode: null, message: "boom" });
  });
});
