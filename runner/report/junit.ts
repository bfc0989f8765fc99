/**
 * JUnit XML, as GitLab, Jenkins and the common GitHub Actions reporters
 * (dorny/test-reporter, mikepenz/action-junit-report,
 * EnricoMi/publish-unit-test-result-action) read it:
 *
 *   <testsuites>                      one document
 *     <testsuite name=SCENARIO>       one per report (scenario and lab)
 *       <properties>                  lab, cluster, attempt, score, pass mark
 *       <testcase classname=SCENARIO name="ID: TITLE" time=SECONDS>
 *         <failure message type>      failed: evidence and hint as text
 *         <error message type>        error: labrun could not evaluate it
 *         <skipped message/>          skipped: the reason
 *         <system-out>                points earned, the message
 *
 * Validated in tests against the Jenkins xunit-plugin junit-10.xsd. Text is
 * escaped for XML 1.0, including the control characters it forbids (they
 * become visible `\u001b` escapes).
 */
import type { CheckResult, Evidence, Report } from "../schema/report.ts";
import { formatPercent, formatPoints, sanitize, scoreFraction } from "./format.ts";

export function renderJunit(reports: Report | readonly Report[]): string {
  const list: readonly Report[] = Array.isArray(reports) ? reports : [reports as Report];
  const total = (f: (r: Report) => number) => list.reduce((n, r) => n + f(r), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attrs({
      name: "labrun",
      tests: total((r) => r.summary.total),
      failures: total((r) => r.summary.failed),
      errors: total((r) => r.summary.error),
      time: seconds(total((r) => r.durationMs)),
    })}>`,
  );
  for (const report of list) out.push(...suite(report));
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}

function suite(report: Report): string[] {
  const out: string[] = [];
  const name = suiteName(report);
  out.push(
    `  <testsuite${attrs({
      name,
      tests: report.summary.total,
      failures: report.summary.failed,
      errors: report.summary.error,
      skipped: report.summary.skipped,
      time: seconds(report.durationMs),
      timestamp: report.startedAt,
      package: "labrun",
    })}>`,
  );
  const { score } = report;
  const properties: [string, string | number | boolean][] = [
    ["labrun.scenario", report.scenario.name],
    ["labrun.scenario.title", report.scenario.title],
    ["labrun.lab", report.lab.name],
    ["labrun.cluster", report.lab.cluster],
    ["labrun.provider", report.lab.provider],
    ["labrun.attempt", report.attempt],
    ["labrun.score", `${scoreFraction(score)} (${formatPercent(score.percent)})`],
    ["labrun.score.points", score.points],
    ["labrun.score.maxPoints", score.maxPoints],
    ["labrun.score.percent", score.percent],
    ["labrun.score.passPercent", score.passPercent],
    ["labrun.score.passed", score.passed],
    ["labrun.version", report.labrun.version],
  ];
  out.push("    <properties>");
  for (const [n, v] of properties) out.push(`      <property${attrs({ name: n, value: v })}/>`);
  out.push("    </properties>");
  for (const check of report.checks) out.push(...testcase(report, check));
  out.push("  </testsuite>");
  return out;
}

function testcase(report: Report, check: CheckResult): string[] {
  const open = `    <testcase${attrs({ classname: report.scenario.name, name: `${check.id}: ${check.title}`, time: seconds(check.durationMs) })}>`;
  const out = [open];
  const detail = details(check);
  switch (check.status) {
    case "passed":
      break;
    case "failed":
      out.push(`      <failure${attrs({ message: check.message, type: "CheckFailed" })}>${text(detail)}</failure>`);
      break;
    case "error":
      out.push(`      <error${attrs({ message: check.message, type: "CheckError" })}>${text(detail)}</error>`);
      break;
    case "skipped":
      out.push(`      <skipped${attrs({ message: check.message })}/>`);
      break;
    default: {
      const never: never = check.status;
      throw new Error(`unknown check status ${String(never)}`);
    }
  }
  const points = `points ${formatPoints(check.points)}/${formatPoints(check.maxPoints)} · ${check.kind} · ${check.attempts} attempt${check.attempts === 1 ? "" : "s"}\n${check.message}`;
  out.push(`      <system-out>${text(points)}</system-out>`);
  out.push("    </testcase>");
  return out;
}

/** The text of a failure or error: message, evidence, connectivity and hint, readable in a CI log. */
function details(check: CheckResult): string {
  const lines: string[] = [check.message];
  for (const ev of check.evidence) lines.push("", ...evidence(ev));
  const conn = check.connectivity ?? [];
  if (conn.length) {
    lines.push("", "connectivity:");
    for (const c of conn) lines.push(`  ${c.observed === c.expected ? "ok  " : "FAIL"} ${c.from} -> ${c.to}: ${c.observed} (expected ${c.expected})`);
  }
  if (check.hint) lines.push("", `hint: ${check.hint}`);
  lines.push("", `points: ${formatPoints(check.points)}/${formatPoints(check.maxPoints)}`);
  return lines.join("\n");
}

function evidence(ev: Evidence): string[] {
  const lines = [ev.label];
  for (const key of ["expected", "observed"] as const) {
    const value = ev[key];
    if (value === undefined) continue;
    lines.push(value.includes("\n") ? `  ${key}:\n${indent(value, "    ")}` : `  ${key}: ${value}`);
  }
  return lines;
}

function indent(text: string, by: string): string {
  return text
    .split("\n")
    .map((l) => by + l)
    .join("\n");
}

function suiteName(report: Report): string {
  return report.lab.name === report.scenario.name ? report.scenario.name : `${report.scenario.name} (lab ${report.lab.name})`;
}

/** Milliseconds as JUnit seconds: at most three decimals (the XSD's SUREFIRE_TIME). */
function seconds(ms: number): string {
  return (Math.max(0, Math.round(ms)) / 1000).toFixed(3);
}

// ------------------------------------------------------------ XML escaping

/** Escapes character data for XML 1.0 (control characters it forbids become visible escapes). */
export function xmlText(value: string): string {
  return sanitize(value).replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/** Escapes an attribute value: quotes too, and tab and newline as references so parsers keep them. */
export function xmlAttr(value: string): string {
  return xmlText(value).replace(/["'\t\n]/g, (c) => ({ '"': "&quot;", "'": "&apos;", "\t": "&#9;", "\n": "&#10;" })[c]!);
}

function text(value: string): string {
  return xmlText(value);
}

function attrs(values: Record<string, string | number | boolean | undefined>): string {
  let out = "";
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out += ` ${k}="${xmlAttr(String(v))}"`;
  return out;
}
