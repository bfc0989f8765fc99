/**
 * `labrun serve` on a real kind cluster, driven with plain HTTP the way a
 * course platform would: list the scenarios, create a lab of the one-node
 * hosts-file fixture, follow its start-up as server-sent events, grade it
 * (broken: a 200 report that did not pass), read the HTML report, delete it,
 * and find nothing left (no node containers, no lab record). Then the server
 * stops on SIGINT.
 *
 * Needs Docker, kind and the offline node image (tools/images/build.sh); skipped otherwise.
 *
 *   /work/logs/slot npx mocha --timeout 0 'test/e2e/serve/*.test.ts'
 */
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";
import { resolveKindBinary } from "../../../runner/providers/kind.ts";
import { reportProblems } from "../../../runner/report/validate.ts";
import type { LabView } from "../../../runner/schema/api.ts";
import type { Report } from "../../../runner/schema/report.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TOKEN = "e2e-platform-token-0123456789abcdef";

async function containers(cluster: string): Promise<string[]> {
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${cluster}`]);
  return stdout.split("\n").filter(Boolean);
}

describe("e2e: labrun serve over HTTP on kind", function () {
  this.timeout(6 * 60_000);
  let stateDir: string;
  let server: ResultPromise | undefined;
  let base = "";
  let output = "";
  let labId: string | undefined;
  let exited = false;

  const api = (url: string, init: RequestInit = {}) =>
    fetch(base + url, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers } });

  before(async function () {
    await skipWithoutNodeImage(this);
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-serve-"));
    server = execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "serve", "--port", "0"], {
      cwd: ROOT,
      env: { ...process.env, LABRUN_STATE_DIR: stateDir, LABRUN_SCENARIOS: path.join(ROOT, "test/e2e/fixtures/scenarios"), LABRUN_SERVE_TOKEN: TOKEN, NO_COLOR: "1" },
      reject: false,
      stdin: "ignore",
    });
    void server.finally(() => (exited = true));
    server.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    server.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    for (let i = 0; i < 600 && !base; i++) {
      base = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? "";
      if (!base) await new Promise((r) => setTimeout(r, 100));
    }
    expect(base, output).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    if (server && !exited) {
      server.kill("SIGINT");
      await server;
    }
    if (labId) {
      const cluster = `labrun-${labId}`;
      await execa(resolveKindBinary(), ["delete", "cluster", "--name", cluster, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
      const ids = await containers(cluster);
      if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
    }
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("creates a lab, streams its progress, grades it, serves the report, deletes it and leaves nothing behind", async () => {
    const scenarios = (await (await api("/v1/scenarios")).json()) as { scenarios: { name: string; nodes: number }[] };
    expect(scenarios.scenarios.find((s) => s.name === "hosts-file")).to.include({ nodes: 1 });
    expect((await fetch(`${base}/v1/labs`)).status, "no token").to.equal(401);

    const created = await api("/v1/labs", { method: "POST", body: JSON.stringify({ scenario: "hosts-file", ttlSeconds: 900 }) });
    expect(created.status, output).to.equal(202);
    const { lab, learnerToken } = (await created.json()) as { lab: LabView; learnerToken: string };
    labId = lab.id;
    expect(lab.state).to.equal("starting");

    // Progress as server-sent events, read until the stream ends with the lab ready (or failed).
    const events = await api(`/v1/labs/${lab.id}/events`);
    expect(events.headers.get("content-type")).to.match(/^text\/event-stream/);
    const text = await events.text();
    const blocks = text
      .trim()
      .split("\n\n")
      .map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] ?? "null") as Record<string, unknown> }));
    const last = blocks.at(-1)!;
    expect(last.event, text.slice(-2000)).to.equal("state");
    expect(last.data.state, JSON.stringify(last.data)).to.equal("ready");
    expect(last.data.task).to.include("Fix cluster DNS");
    const phases = new Set(blocks.filter((b) => b.event === "progress" && b.data.status === "ok").map((b) => b.data.phase));
    expect([...phases]).to.include.members(["cluster", "setup", "break", "verify"]);

    // The learner grades with their own token: unsolved is a 200 report that did not pass.
    const graded = await fetch(`${base}/v1/labs/${lab.id}/grade`, { method: "POST", headers: { authorization: `Bearer ${learnerToken}` } });
    const report = (await graded.json()) as Report;
    expect(graded.status, JSON.stringify(report)).to.equal(200);
    expect(reportProblems(report)).to.deep.equal([]);
    expect(report.score.passed).to.equal(false);
    expect(report.checks.filter((c) => c.status !== "passed").map((c) => c.id)).to.deep.equal(["svc-dns", "http-by-name"]);

    const attempts = (await (await api(`/v1/labs/${lab.id}/attempts`)).json()) as { attempts: { attempt: number; passed: boolean }[] };
    expect(attempts.attempts.map((a) => [a.attempt, a.passed])).to.deep.equal([[report.attempt, false]]);
    const html = await api(`/v1/labs/${lab.id}/attempts/${report.attempt}/report?format=html`);
    expect(html.headers.get("content-type")).to.match(/^text\/html/);
    expect(await html.text()).to.include("Cluster DNS serves the wrong zone");

    const deleted = await api(`/v1/labs/${lab.id}`, { method: "DELETE" });
    expect(deleted.status).to.equal(200);
    expect(await containers(`labrun-${lab.id}`)).to.deep.equal([]);
    expect((await api(`/v1/labs/${lab.id}`)).status).to.equal(404);
    const labsDir = await readdir(path.join(stateDir, "labs")).catch(() => []);
    expect(labsDir.filter((n) => n.startsWith(lab.id))).to.deep.equal([]);
    labId = undefined;

    server!.kill("SIGINT");
    const ended = await server!;
    expect(ended.exitCode, output).to.equal(0);
  });
});
