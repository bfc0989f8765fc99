import { expect } from "chai";
import { Writable } from "node:stream";
import { progress } from "../../../runner/cli/lab-progress.ts";

function sink(isTTY: boolean) {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => text };
}

describe("cli/lab-progress", () => {
  it("plain: one line per finished step with its duration; warnings; logs only with --debug", () => {
    const out = sink(false);
    const p = progress({ stderr: out.stream, env: {} });
    p.listener({ type: "step-start", phase: "cluster", name: "create cluster labrun-x" });
    p.listener({ type: "log", phase: "cluster", line: "Creating cluster" });
    p.listener({ type: "step-end", phase: "cluster", name: "create cluster labrun-x", status: "ok", durationMs: 61_500, detail: "img:1" });
    p.listener({ type: "warning", message: "careful" });
    p.listener({ type: "step-end", phase: "verify", name: "verify", status: "skipped", durationMs: 0 });
    p.listener({ type: "step-end", phase: "setup", name: "apply", status: "failed", durationMs: 1500 });
    p.stop();
    expect(out.text()).to.equal("✓ create cluster labrun-x (1m1s)  img:1\nwarning: careful\n- verify (0ms)  (skipped)\n✗ apply (1.5s)\n");
  });

  it("debug: tool output is shown indented", () => {
    const out = sink(false);
    const p = progress({ stderr: out.stream, env: {} }, { debug: true });
    p.listener({ type: "log", phase: "cluster", line: "Creating cluster" });
    expect(out.text()).to.equal("  Creating cluster\n");
  });

  it("TTY: a spinner line that the finished step replaces", () => {
    const out = sink(true);
    const p = progress({ stderr: out.stream, env: { TERM: "xterm", NO_COLOR: "1" } });
    p.listener({ type: "step-start", phase: "cluster", name: "create cluster labrun-x" });
    p.listener({ type: "step-end", phase: "cluster", name: "create cluster labrun-x", status: "ok", durationMs: 2000 });
    p.stop();
    expect(out.text()).to.contain("\r\u001b[2K⠋ create cluster labrun-x");
    expect(out.text().endsWith("\r\u001b[2K✓ create cluster labrun-x (2s)\n")).to.equal(true);
  });
});
