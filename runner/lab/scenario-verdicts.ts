/** The verdicts of `labrun test` phases (runner/lab/scenario-test.ts): pure functions of a grade's report. */
import { judgeMustNotPass, provenNotPassing, type NeedsOf } from "../../checks/verdict.ts";
import type { PhaseResult } from "../report/scenario-test.ts";
import type { Report } from "../schema/report.ts";
import type { Shortcut } from "../schema/scenario.ts";

/** A phase's outcome before its kind, name and duration are added. */
export type Verdict = Omit<PhaseResult, "kind" | "name" | "durationMs">;

const notPassed = (report: Report) => report.checks.filter((c) => c.status !== "passed").map((c) => c.id);
const noNeeds: NeedsOf = () => [];

function evidenceOf(report: Report, ids: string[]): string[] {
  return report.checks
    .filter((c) => ids.includes(c.id))
    .map((c) => {
      const seen = c.evidence.map((e) => `${e.label}: expected ${e.expected ?? "-"}, observed ${e.observed ?? "-"}`).join("; ");
      return `${c.id} (${c.status}): ${c.message}${seen ? ` [${seen}]` : ""}`;
    });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Exactly the declared checks must fail right after start, each proven to (an error proves nothing). */
export function judgeBroken(report: Report, declared: readonly string[], needs: NeedsOf = noNeeds): Verdict {
  const verdict = judgeMustNotPass(report.checks, declared, needs);
  const failingUndeclared = notPassed(report).filter((id) => !declared.includes(id));
  if (!verdict.passing.length && !verdict.unevaluated.length && !failingUndeclared.length) {
    return { status: "passed", message: `exactly the ${plural(declared.length, "declared check")} fail before the fix`, details: [], report };
  }
  const details: string[] = [];
  if (verdict.passing.length) {
    details.push(`already passing before any fix, though listed in broken.failing: ${verdict.passing.join(", ")} (a scenario whose checks pass is not a lab)`);
    details.push(...evidenceOf(report, verdict.passing));
  }
  if (verdict.unevaluated.length) {
    details.push(`listed in broken.failing but not judged (could not evaluate is not failing): ${verdict.unevaluated.map((u) => u.id).join(", ")}`);
    details.push(...verdict.unevaluated.map((u) => `${u.id}: ${u.reason}`));
  }
  if (failingUndeclared.length) {
    details.push(`failing before any fix, but not listed in broken.failing: ${failingUndeclared.join(", ")}`);
    details.push(...evidenceOf(report, failingUndeclared));
  }
  const message =
    verdict.passing.length || failingUndeclared.length
      ? "the cluster is not broken the way broken.failing declares"
      : `the broken state could not be verified: ${verdict.unevaluated.map((u) => `${u.id} ${u.reason}`).join("; ")}`;
  return { status: "failed", message, details, report };
}

/** Whether another grade could change a broken-state verdict (a check that could not be evaluated is reported, not retried). */
export function brokenSettled(verdict: Verdict): boolean {
  return verdict.status === "passed" || !verdict.message.startsWith("the cluster is not broken");
}

/** After the reference solution, every check passes. */
export function judgeSolution(report: Report): Verdict {
  const failing = notPassed(report);
  if (failing.length === 0 && report.score.points === report.score.maxPoints) {
    return { status: "passed", message: `full marks after the solution (${report.score.points}/${report.score.maxPoints})`, details: [], report };
  }
  return {
    status: "failed",
    message: `the solution does not fix the lab: ${report.score.points}/${report.score.maxPoints} points, not passing: ${failing.join(", ")}`,
    details: evidenceOf(report, failing),
    report,
  };
}

/**
 * A shortcut must not pass: its mustFail checks are proven to fail (or,
 * without mustFail, some check is proven not to pass). A check that could not
 * be evaluated proves nothing: the phase fails with its reason.
 */
export function judgeShortcut(report: Report, shortcut: Shortcut, needs: NeedsOf = noNeeds): Verdict {
  if (shortcut.mustFail?.length) {
    const verdict = judgeMustNotPass(report.checks, shortcut.mustFail, needs);
    if (verdict.passing.length) {
      return { status: "failed", message: `the shortcut passes checks that must fail: ${verdict.passing.join(", ")}`, details: [`shortcut: ${shortcut.description}`], report };
    }
    if (verdict.unevaluated.length) {
      return {
        status: "failed",
        message: `the shortcut could not be judged: ${verdict.unevaluated.map((u) => `${u.id} ${u.reason}`).join("; ")}`,
        details: [`shortcut: ${shortcut.description}`, ...verdict.unevaluated.map((u) => `${u.id}: ${u.reason}`)],
        report,
      };
    }
    return { status: "passed", message: `the shortcut does not pass: ${shortcut.mustFail.join(", ")} fail`, details: [], report };
  }
  const proven = provenNotPassing(report.checks, needs);
  if (proven.size > 0) return { status: "passed", message: `the shortcut does not reach full marks (${report.score.points}/${report.score.maxPoints}; failing: ${[...proven].join(", ")})`, details: [], report };
  const failing = notPassed(report);
  if (failing.length > 0) {
    return { status: "failed", message: `the shortcut could not be judged: ${failing.join(", ")} did not pass but could not be evaluated`, details: [`shortcut: ${shortcut.description}`, ...evidenceOf(report, failing)], report };
  }
  return { status: "failed", message: `the shortcut reaches full marks (${report.score.points}/${report.score.maxPoints})`, details: [`shortcut: ${shortcut.description}`], report };
}

/** After an attack on the broken state, no check listed in broken.failing passes, and each is proven not to. */
export function judgeAttack(report: Report, mustFail: readonly string[], needs: NeedsOf, applied: string): Verdict {
  const verdict = judgeMustNotPass(report.checks, mustFail, needs);
  const notes = [`attack: ${applied}`];
  if (verdict.passing.length) {
    return { status: "failed", message: `the attack passes checks that must fail: ${verdict.passing.join(", ")}`, details: [`attack: ${applied}`, ...evidenceOf(report, verdict.passing)], notes, report };
  }
  if (verdict.unevaluated.length) {
    return {
      status: "failed",
      message: `the attack could not be judged: ${verdict.unevaluated.map((u) => `${u.id} ${u.reason}`).join("; ")}`,
      details: [`attack: ${applied}`, ...verdict.unevaluated.map((u) => `${u.id}: ${u.reason}`)],
      notes,
      report,
    };
  }
  return { status: "passed", message: `no check that must fail passes (${plural(verdict.proven.length, "check")} still fail)`, details: [], notes, report };
}
