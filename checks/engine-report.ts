/** A grade's results as data: one check's CheckResult, and the scored Report of runner/schema/report.ts. */
import type { CheckResult, Connectivity, Report } from "../runner/schema/report.ts";
import type { Check } from "../runner/schema/scenario.ts";
import { checkKind, REPORT_API_VERSION } from "../runner/schema/values.ts";
import { VERSION } from "../runner/version.ts";
import type { LabInfo } from "./context.ts";

export const DEFAULT_POINTS = 1;
export const DEFAULT_PASS_PERCENT = 100;

/** What the engine found for a check, before points, kind and hint are added. */
export type CheckOutcome = Pick<CheckResult, "status" | "message" | "evidence" | "attempts" | "durationMs"> & { connectivity?: Connectivity[] };

/** A check's result: its points when it passed, its hint when it did not. */
export function checkResultOf(check: Check, r: CheckOutcome): CheckResult {
    const maxPoints = check.points ?? DEFAULT_POINTS;
    const result: CheckResult = {
      id: check.id,
      title: check.title,
      kind: checkKind(check),
      status: r.status,
      points: r.status === "passed" ? maxPoints : 0,
      maxPoints,
      message: r.message,
      ...(r.status !== "passed" && check.hint ? { hint: check.hint } : {}),
      evidence: r.evidence,
      ...(r.connectivity?.length ? { connectivity: r.connectivity } : {}),
      attempts: r.attempts,
      durationMs: r.durationMs,
    };
    return result;
}

export interface ReportInput {
  scenario: { name: string; title: string };
  lab: LabInfo;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  results: CheckResult[];
  passPercent?: number;
}

/** Scores results into the Report of runner/schema/report.ts. */
export function buildReport(input: ReportInput): Report {
  const points = sum(input.results.map((r) => r.points));
  const maxPoints = sum(input.results.map((r) => r.maxPoints));
  const percent = maxPoints === 0 ? 100 : Math.round((points / maxPoints) * 10_000) / 100;
  const passPercent = input.passPercent ?? DEFAULT_PASS_PERCENT;
  const count = (s: CheckResult["status"]) => input.results.filter((r) => r.status === s).length;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: "Report",
    scenario: { name: input.scenario.name, title: input.scenario.title },
    lab: { name: input.lab.name, cluster: input.lab.cluster, provider: input.lab.provider },
    attempt: input.attempt,
    startedAt: input.startedAt.toISOString(),
    durationMs: Math.max(0, Math.round(input.durationMs)),
    score: { points, maxPoints, percent, passPercent, passed: percent >= passPercent },
    summary: { total: input.results.length, passed: count("passed"), failed: count("failed"), skipped: count("skipped"), error: count("error") },
    checks: input.results,
    labrun: { version: VERSION },
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
