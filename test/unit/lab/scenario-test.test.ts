import { expect } from "chai";
import { readFileSync } from "node:fs";
import { validateXML } from "xmllint-wasm";
import { needsOf } from "../../../checks/verdict.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";
import { convergedNote, untilConverged } from "../../../runner/lab/broken-state.ts";
import { brokenSettled } from "../../../runner/lab/scenario-verdicts.ts";
import { retryUndo } from "../../../runner/lab/scenario-phases.ts";
import { canShareCluster, judgeAttack, judgeBroken, judgeShortcut, judgeSolution, touchesContainers, type ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";
import type { CheckStatus, Report } from "../../../runner/schema/report.ts";
import { renderTestResults, testSummaryLine } from "../../../runner/report/scenario-test.ts";

function report(statuses: Record<string, CheckStatus>, messages: Record<string, string> = {}): Report {
  const checks = Object.entries(statuses).map(([id, status]) => ({
    id,
    title: id,
    kind: "object",
    status,
    points: status === "passed" ? 1 : 0,
    maxPoints: 1,
    message: messages[id] ?? `${id} is ${status}`,
    evidence: [{ label: `object ${id}`, expected: "present", observed: status === "passed" ? "present" : "absent" }],
    attempts: 1,
    durationMs: 5,
  }));
  const points = checks.reduce((n, c) => n + c.points, 0);
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return {
    apiVersion: "labrun.dev/v1alpha1",
    kind: "Report",
    scenario: { name: "s", title: "S" },
    lab: { name: "l", cluster: "labrun-l", provider: "kind" },
    attempt: 1,
    startedAt: "2026-11-26T00:00:00.000Z",
    durationMs: 10,
    score: { points, maxPoints: checks.length, percent: (100 * points) / checks.length, passPercent: 100, passed: points === checks.length },
    summary: { total: checks.length, passed: count("passed"), failed: count("failed"), skipped: count("skipped"), error: count("error") },
    checks,
    labrun: { version: "0.0.0" },
  };
}

describe("labrun test verdicts", () => {
  const needs = needsOf([{ id: "a" }, { id: "b", needs: ["a"] }, { id: "c" }, { id: "d", needs: ["c"] }]);

  it("broken: passes when exactly the declared checks do not pass (skipped because a needed check failed counts)", () => {
    const verdict = judgeBroken(report({ a: "failed", b: "skipped", c: "passed" }), ["a", "b"], needs);
    expect(verdict.status).to.equal("passed");
  });

  it("broken: a declared check that could not be evaluated fails the phase with its reason, never counts as failing", () => {
    const verdict = judgeBroken(report({ a: "error", b: "skipped", c: "passed" }, { a: "the probe container did not start: ErrImageNeverPull" }), ["a", "b"], needs);
    expect(verdict.status).to.equal("failed");
    expect(verdict.message).to.equal(
      "the broken state could not be verified: a could not be evaluated: the probe container did not start: ErrImageNeverPull; b skipped because a could not be evaluated: the probe container did not start: ErrImageNeverPull",
    );
  });

  it("broken: catches a declared check that already passes (not a lab)", () => {
    const verdict = judgeBroken(report({ a: "failed", b: "passed" }), ["a", "b"]);
    expect(verdict.status).to.equal("failed");
    expect(verdict.details.join("\n")).to.include("already passing before any fix, though listed in broken.failing: b");
  });

  it("broken: catches an undeclared failing check, with its evidence", () => {
    const verdict = judgeBroken(report({ a: "failed", c: "failed" }), ["a"]);
    expect(verdict.status).to.equal("failed");
    expect(verdict.details.join("\n")).to.include("not listed in broken.failing: c").and.include("object c: expected present, observed absent");
  });

  it("broken: a mismatch is regraded until it converges; an unevaluated check ends the wait at once", async () => {
    const clock = new FakeClock();
    const grades = [report({ a: "failed", b: "passed" }), report({ a: "failed", b: "passed" }), report({ a: "failed", b: "failed" })];
    let n = 0;
    const converged = await untilConverged(async () => judgeBroken(grades[Math.min(n++, 2)]!, ["a", "b"]), brokenSettled, { clock });
    expect(converged.outcome.status).to.equal("passed");
    expect(converged.attempts).to.equal(3);
    expect(convergedNote(converged)).to.equal("the broken state took 3 grades (4.0 s) to converge after the break steps");

    n = 0;
    const stuck = await untilConverged(async () => (n++, judgeBroken(report({ a: "failed", b: "passed" }), ["a", "b"])), brokenSettled, { clock: new FakeClock() });
    expect(stuck.outcome.status).to.equal("failed");
    expect(n).to.equal(16);

    n = 0;
    const unevaluated = await untilConverged(async () => (n++, judgeBroken(report({ a: "error", b: "failed" }), ["a", "b"])), brokenSettled, { clock: new FakeClock() });
    expect(unevaluated.outcome.message).to.match(/^the broken state could not be verified/);
    expect(n).to.equal(1);
    expect(convergedNote(unevaluated)).to.equal(undefined);
  });

  it("solution: requires full marks", () => {
    expect(judgeSolution(report({ a: "passed", b: "passed" })).status).to.equal("passed");
    const bad = judgeSolution(report({ a: "passed", b: "failed" }));
    expect(bad.status).to.equal("failed");
    expect(bad.message).to.include("the solution does not fix the lab: 1/2 points, not passing: b");
  });

  it("shortcut with mustFail: fails when a must-fail check passes", () => {
    const shortcut = { name: "x", description: "a wrong fix", steps: [{ delete: { kind: "Pod", name: "p" } }], mustFail: ["b"] };
    expect(judgeShortcut(report({ a: "passed", b: "failed" }), shortcut).status).to.equal("passed");
    const caught = judgeShortcut(report({ a: "passed", b: "passed" }), shortcut);
    expect(caught.status).to.equal("failed");
    expect(caught.message).to.equal("the shortcut passes checks that must fail: b");
  });

  it("shortcut with mustFail: a must-fail check that errored fails the phase (could not be judged); one skipped after a failure is fine", () => {
    const shortcut = { name: "x", description: "a wrong fix", steps: [{ delete: { kind: "Pod", name: "p" } }], mustFail: ["b", "d"] };
    const judged = judgeShortcut(report({ a: "failed", b: "skipped", c: "error", d: "skipped" }, { c: "probe exec timed out" }), shortcut, needs);
    expect(judged.status).to.equal("failed");
    expect(judged.message).to.equal("the shortcut could not be judged: d skipped because c could not be evaluated: probe exec timed out");
    expect(judgeShortcut(report({ a: "failed", b: "skipped", c: "failed", d: "skipped" }), shortcut, needs).status).to.equal("passed");
  });

  it("shortcut without mustFail: only errors are not 'not full marks'", () => {
    const shortcut = { name: "x", description: "a wrong fix", steps: [{ delete: { kind: "Pod", name: "p" } }] };
    expect(judgeShortcut(report({ a: "passed", b: "error" }), shortcut, needs).status).to.equal("failed");
    expect(judgeShortcut(report({ a: "passed", b: "error" }), shortcut, needs).message).to.equal("the shortcut could not be judged: b did not pass but could not be evaluated");
  });

  it("attack: passes when every check that must fail is proven to; fails when one passes or could not be judged", () => {
    expect(judgeAttack(report({ a: "failed", b: "skipped", c: "passed" }), ["a", "b"], needs, "hijacked x").status).to.equal("passed");
    const fooled = judgeAttack(report({ a: "passed", b: "passed", c: "passed" }), ["a", "b"], needs, "hijacked x");
    expect(fooled.status).to.equal("failed");
    expect(fooled.message).to.equal("the attack passes checks that must fail: a, b");
    expect(fooled.details[0]).to.equal("attack: hijacked x");
    const unjudged = judgeAttack(report({ a: "error", b: "skipped" }, { a: "probe could not start" }), ["a", "b"], needs, "hijacked x");
    expect(unjudged.status).to.equal("failed");
    expect(unjudged.message).to.match(/^the attack could not be judged: a could not be evaluated: probe could not start/);
  });

  it("which shortcuts share the main cluster: API-only steps do; node commands and add-ons get a fresh one", () => {
    const s = (steps: object[]) => ({ name: "x", description: "xyz", steps }) as never;
    expect(canShareCluster(s([{ apply: { file: "a.yaml" } }, { delete: { kind: "Pod", name: "p" } }, { kubectl: ["label", "pod", "x", "a=b"] }]))).to.equal(true);
    expect(canShareCluster(s([{ run: { node: "all", command: ["rm", "-rf", "/etc/cni/net.d"] } }]))).to.equal(false);
    expect(canShareCluster(s([{ addon: { name: "flannel" } }]))).to.equal(false);
    expect(touchesContainers(s([{ kubectl: ["exec", "client", "--", "sh", "-c", "echo x >> /etc/hosts"] }]))).to.equal(true);
    expect(touchesContainers(s([{ kubectl: ["label", "pod", "x", "a=b"] }]))).to.equal(false);
  });

  it("shortcut without mustFail: fails when it reaches full marks", () => {
    const shortcut = { name: "x", description: "a wrong fix", steps: [{ delete: { kind: "Pod", name: "p" } }] };
    expect(judgeShortcut(report({ a: "passed", b: "failed" }), shortcut).status).to.equal("passed");
    expect(judgeShortcut(report({ a: "passed", b: "passed" }), shortcut).status).to.equal("failed");
  });

  it("renders results as text, JUnit (valid against the JUnit XSD) and Markdown, escaping what it prints", async function () {
    this.timeout(20_000);
    const results: ScenarioTestResult[] = [
      {
        scenario: "demo",
        title: "Demo <lab> & co",
        status: "failed",
        kept: ["t-demo-ab12"],
        durationMs: 1000,
        phases: [
          { kind: "broken", name: "broken state", status: "passed", message: "exactly the 2 declared checks fail before the fix", details: [], durationMs: 10 },
          { kind: "attack", name: "attack netns-hijack", status: "failed", message: "the attack passes checks that must fail: a", details: ["attack: hijacked shop/client"], notes: ["attack: hijacked shop/client", "undo: restored: deleted 1, created 1 object"], durationMs: 15 },
          { kind: "attack", name: "attack hosts-file", status: "skipped", message: "nothing to attack in the broken state: no running source pod resolves a name", details: [], durationMs: 1 },
          { kind: "solution", name: "solution", status: "failed", message: "the solution does not fix the lab: 1/2 points, not passing: b", details: ["b (failed): a | b"], durationMs: 20 },
        ],
      },
    ];
    const text = renderTestResults(results, "text");
    expect(text).to.include("✗ demo: Demo <lab> & co").and.include("kept lab t-demo-ab12");
    expect(text).to.include("✗ attack netns-hijack").and.include("– attack hosts-file").and.include("undo: restored: deleted 1, created 1 object");
    expect(testSummaryLine(results)).to.equal("0/1 scenario passed — 1 phase passed, 2 failed, 0 errors, 1 skipped — FAIL");
    const junit = renderTestResults(results, "junit");
    const xsd = { fileName: "junit-10.xsd", contents: readFileSync(new URL("../../fixtures/junit/junit-10.xsd", import.meta.url), "utf8") };
    const checked = await validateXML({ xml: [{ fileName: "test.xml", contents: junit }], schema: [xsd] });
    expect(checked.valid, JSON.stringify(checked.errors)).to.equal(true);
    expect(junit).to.include('<testcase classname="demo" name="solution"').and.include("<failure").and.include('tests="4" failures="2" errors="0" skipped="1"');
    expect(junit).to.include('<testcase classname="demo" name="attack netns-hijack"').and.include('<skipped message="nothing to attack in the broken state: no running source pod resolves a name"/>');
    const md = renderTestResults(results, "markdown");
    expect(md).to.include("Demo &lt;lab&gt; &amp; co").and.include("a | b").and.include("| ❌ | attack netns-hijack | the attack passes checks that must fail: a |").and.include("| ⏭️ | attack hosts-file |");
    expect(md).to.include("<details><summary>attack netns-hijack: details</summary>").and.include("undo: restored");
  });

  it("an undo that could not reach the cluster is tried again; a state that does not come back is not, and the last failure is the undo's", async () => {
    let calls = 0;
    const flaky = async () => {
      if (++calls < 3) throw new Error("the Kubernetes API did not answer within 15s (list Service)");
      return { ok: true as const, detail: "restored: deleted 1, created 1 object", snapshot: [] };
    };
    const lines: string[] = [];
    expect(await retryUndo(flaky, { pauseMs: 0, log: (l) => lines.push(l) })).to.deep.include({ ok: true });
    expect(calls).to.equal(3);
    expect(lines[0]).to.contain("attempt 1 could not reach the cluster");
    calls = 0;
    const down = async () => {
      calls++;
      throw new Error("connection refused");
    };
    expect(await retryUndo(down, { pauseMs: 0 })).to.deep.equal({ ok: false, reason: "connection refused (3 attempts)" });
    calls = 0;
    const stuck = async () => {
      calls++;
      return { ok: false as const, reason: "the broken state did not come back: Pod shop/client: missing" };
    };
    expect(await retryUndo(stuck, { pauseMs: 0 })).to.deep.equal({ ok: false, reason: "the broken state did not come back: Pod shop/client: missing" });
    expect(calls, "a state that does not come back is reported at once").to.equal(1);
    const aborted = new AbortController();
    aborted.abort();
    let thrown: unknown;
    await retryUndo(down, { pauseMs: 0, signal: aborted.signal }).catch((e: unknown) => (thrown = e));
    expect(thrown).to.be.instanceOf(Error);
  });
});
