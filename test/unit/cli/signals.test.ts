/**
 * Ctrl-C on a real `labrun` process (runner/cli/bin.ts): a second signal is
 * exit 130, never a death by the signal, even when it lands while the process
 * is already exiting after the first (CI: "SIGINT twice during the grade"
 * ended killed by SIGINT after labrun had printed "interrupted by SIGINT").
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, fakeKubeconfig, ROOT } from "../../helpers/cli.ts";

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs `labrun grade` against an API server that never answers, sends SIGINT once it asks, then SIGINT every millisecond until it ends. */
function gradeInterruptedTwice(kubeconfig: string, state: string, asked: Promise<void>): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "grade", "beebox-cni", "--kubeconfig", kubeconfig], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", LABRUN_STATE_DIR: state },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stderr });
    });
    void asked.then(() => {
      child.kill("SIGINT");
      // The second Ctrl-C may come at any moment of the first one's shutdown, its very end included.
      timer = setInterval(() => child.kill("SIGINT"), 1);
    });
  });
}

describe("labrun process: a second Ctrl-C (runner/cli/bin.ts)", function () {
  this.timeout(60_000);
  let server: Server;
  let asked: () => void = () => undefined;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    // An API server that takes every request and never answers: the grade waits until it is interrupted.
    server = createServer(() => asked());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    dir = mkdtempSync(join(tmpdir(), "labrun-signals-"));
    kubeconfig = fakeKubeconfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 130 (not killed by SIGINT) however late the second SIGINT comes, five runs in a row", async () => {
    for (let run = 1; run <= 5; run++) {
      const ended = await gradeInterruptedTwice(kubeconfig, join(dir, `state-${run}`), new Promise<void>((resolve) => (asked = resolve)));
      const where = `run ${run}: ${JSON.stringify(ended)}`;
      expect(ended.signal, where).to.equal(null);
      expect(ended.code, where).to.equal(130);
      expect(ended.stderr, where).to.include("SIGINT: stopping");
    }
  });
});
