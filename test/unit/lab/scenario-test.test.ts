import { expect } from "chai";
import { readFileSync } from "node:fs";
import { validateXML } from "xmllint-wasm";
import { judgeBroken, judgeShortcut, judgeSolution, type ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";
import type { CheckStatus, Report } from "../../../runner/schema/report.ts";
import { renderTestResults, testSummaryLine } from "../../../runner/report/scenario-test.ts";

function report(statuses: Record<string, CheckStatus>): Report {
  const checks = Object.entries(statuses).map(([id, status]) => ({
    id,
    title: id,
    kind: "object",
    status,
    points: status === "passed" ? 1 : 0,
    maxPoints: 1,
    message: `${id} is ${status}`,
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
  it("broken: passes when exactly the declared checks do not pass (skipped counts as failing)", () => {
    const verdict = judgeBroken(report({ a: "failed", b: "skipped", c: "passed" }), ["a", "b"]);
    expect(verdict.status).to.equal("passed");
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
          { kind: "solution", name: "solution", status: "failed", message: "the solution does not fix the lab: 1/2 points, not passing: b", details: ["b (failed): a | b"], durationMs: 20 },
        ],
      },
    ];
    const text = renderTestResults(results, "text");
    expect(text).to.include("✗ demo: Demo <lab> & co").and.include("kept lab t-demo-ab12");
    expect(testSummaryLine(results)).to.equal("0/1 scenario passed — 1 phase passed, 1 failed, 0 errors — FAIL");
    const junit = renderTestResults(results, "junit");
    const xsd = { fileName: "junit-10.xsd", contents: readFileSync(new URL("../../fixtures/junit/junit-10.xsd", import.meta.url), "utf8") };
    const checked = await validateXML({ xml: [{ fileName: "test.xml", contents: junit }], schema: [xsd] });
    expect(checked.valid, JSON.stringify(checked.errors)).to.equal(true);
    expect(junit).to.include('<testcase classname="demo" name="solution"').and.include("<failure").and.include('tests="2" failures="1" errors="0"');
    const md = renderTestResults(results, "markdown");
    expect(md).to.include("Demo &lt;lab&gt; &amp; co").and.include("a | b");
  });
});
