/**
 * Renderers for `labrun test` results: pure functions of ScenarioTestResult[].
 *
 *   text      a line per phase, details (and for attacks, what the attack
 *             did) under phases that did not pass, a summary line
 *   json      the results (each phase with its grade report)
 *   junit     a testsuite per scenario, a testcase per phase (broken state,
 *             each attack, each shortcut, solution); a skipped attack is a
 *             skipped testcase
 *   markdown  a table per scenario for job summaries and PR comments
 *
 * Attack phases (`attack <name>`) render like shortcut phases.
 */
import type { Report } from "../schema/report.ts";
import { reportDuration, sanitize } from "./format.ts";
import { xmlAttr, xmlText } from "./junit.ts";

// The results of `labrun test` (runner/lab/scenario-test.ts makes them).

export type PhaseKind = "broken" | "attack" | "shortcut" | "solution";
/** `skipped`: an attack with nothing to act on in the broken state (counts as passed for the scenario). */
export type PhaseStatus = "passed" | "failed" | "error" | "skipped";

export interface PhaseResult {
  kind: PhaseKind;
  /** `broken state`, `solution`, `shortcut delete-the-policy`, `attack netns-hijack`. */
  name: string;
  status: PhaseStatus;
  /** One line: what held or what did not. */
  message: string;
  /** Details for the author: mismatched checks with their evidence. */
  details: string[];
  /** What an attack did, or how a phase was undone. */
  notes?: string[];
  /** The grade the verdict is based on, when there was one. */
  report?: Report;
  /** The lab the phase ran on. */
  lab?: string;
  durationMs: number;
  /** How long undoing the phase on its shared cluster took (not part of durationMs). */
  undoMs?: number;
}

/** Where a scenario's time went, in ms. Its runs may overlap, so the parts can add up to more than its duration. */
export interface ScenarioTimings {
  /** Waiting for a place among `concurrency` runs before its first run began (not part of durationMs). */
  queuedMs: number;
  /** Starting its labs (cluster create or warm claim, images, setup and break steps). */
  startMs: number;
  /** Undoing attacks and shortcuts on the shared cluster. */
  undoMs: number;
  /** Deleting its labs. */
  downMs: number;
  /** Clusters it used, and how many of them were warmed ahead. */
  clusters: number;
  warmed: number;
}

export interface ScenarioTestResult {
  scenario: string;
  title: string;
  status: PhaseStatus;
  phases: PhaseResult[];
  /** Labs kept for debugging (`keepOnFailure`). */
  kept: string[];
  /** From its first run's start to its last run's end (time queued for a place excluded: see timings). */
  durationMs: number;
  timings?: ScenarioTimings;
}

export const TEST_FORMATS = ["text", "json", "junit", "markdown"] as const;
export type TestFormat = (typeof TEST_FORMATS)[number];

const SYMBOL: Record<PhaseStatus, string> = { passed: "✓", failed: "✗", error: "!", skipped: "–" };
const EMOJI: Record<PhaseStatus, string> = { passed: "✅", failed: "❌", error: "⚠️", skipped: "⏭️" };

export function renderTestResults(results: readonly ScenarioTestResult[], format: TestFormat, options: { color?: boolean } = {}): string {
  switch (format) {
    case "text":
      return text(results, options.color === true);
    case "json":
      return JSON.stringify({ apiVersion: "labrun.dev/v1alpha1", kind: "ScenarioTestResults", passed: allPassed(results), results }, null, 2) + "\n";
    case "junit":
      return junit(results);
    case "markdown":
      return markdown(results);
  }
}

export function allPassed(results: readonly ScenarioTestResult[]): boolean {
  return results.every((r) => r.status === "passed");
}

export function testSummaryLine(results: readonly ScenarioTestResult[]): string {
  const phases = results.flatMap((r) => r.phases);
  const count = (s: PhaseStatus) => phases.filter((p) => p.status === s).length;
  const bad = results.filter((r) => r.status !== "passed").length;
  const skipped = count("skipped") ? `, ${count("skipped")} skipped` : "";
  return `${results.length - bad}/${results.length} scenario${results.length === 1 ? "" : "s"} passed — ${count("passed")} phase${count("passed") === 1 ? "" : "s"} passed, ${count("failed")} failed, ${count("error")} errors${skipped} — ${bad ? "FAIL" : "PASS"}`;
}

function text(results: readonly ScenarioTestResult[], color: boolean): string {
  const paint = (code: number, s: string) => (color ? `\u001b[${code}m${s}\u001b[39m` : s);
  const tone: Record<PhaseStatus, number> = { passed: 32, failed: 31, error: 33, skipped: 90 };
  const out: string[] = [];
  for (const r of results) {
    out.push(`${paint(tone[r.status], SYMBOL[r.status])} ${sanitize(r.scenario)}: ${sanitize(r.title)} (${reportDuration(r.durationMs)})`);
    for (const p of r.phases) {
      out.push(`    ${paint(tone[p.status], SYMBOL[p.status])} ${p.name.padEnd(28)} ${sanitize(p.message)} (${reportDuration(p.durationMs)})`);
      for (const d of p.details) out.push(`        ${sanitize(d)}`);
      if (p.status === "failed" || p.status === "error") for (const n of p.notes ?? []) if (!p.details.includes(n)) out.push(`        ${sanitize(n)}`);
    }
    if (r.timings) out.push(`    ${timingLine(r)}`);
    for (const lab of r.kept) out.push(`    kept lab ${lab} for debugging: \`labrun shell ${lab}\`, then \`labrun down ${lab}\``);
  }
  out.push("", testSummaryLine(results));
  return out.join("\n") + "\n";
}

/** One line: where the time went. */
export function timingLine(r: ScenarioTestResult): string {
  const t = r.timings!;
  const phases = r.phases.reduce((n, p) => n + p.durationMs, 0);
  const clusters = `${t.clusters} cluster${t.clusters === 1 ? "" : "s"}${t.warmed ? `, ${t.warmed} warmed ahead` : ""}`;
  return `time: start ${reportDuration(t.startMs)}, phases ${reportDuration(phases)}, undo ${reportDuration(t.undoMs)}, teardown ${reportDuration(t.downMs)} (${clusters}${t.queuedMs >= 1000 ? `; queued ${reportDuration(t.queuedMs)} before` : ""})`;
}

function junit(results: readonly ScenarioTestResult[]): string {
  const phases = results.flatMap((r) => r.phases);
  const attrs = (o: Record<string, string | number>) =>
    Object.entries(o)
      .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
      .join("");
  const seconds = (ms: number) => (Math.max(0, Math.round(ms)) / 1000).toFixed(3);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attrs({
      name: "labrun test",
      tests: phases.length,
      failures: phases.filter((p) => p.status === "failed").length,
      errors: phases.filter((p) => p.status === "error").length,
      time: seconds(results.reduce((n, r) => n + r.durationMs, 0)),
    })}>`,
  );
  for (const r of results) {
    out.push(
      `  <testsuite${attrs({
        name: r.scenario,
        tests: r.phases.length,
        failures: r.phases.filter((p) => p.status === "failed").length,
        errors: r.phases.filter((p) => p.status === "error").length,
        skipped: r.phases.filter((p) => p.status === "skipped").length,
        time: seconds(r.durationMs),
      })}>`,
    );
    if (r.timings) {
      out.push("    <properties>");
      for (const [k, v] of Object.entries(r.timings)) out.push(`      <property${attrs({ name: `labrun.${k}`, value: v })}/>`);
      out.push("    </properties>");
    }
    for (const p of r.phases) {
      out.push(`    <testcase${attrs({ classname: r.scenario, name: p.name, time: seconds(p.durationMs) })}>`);
      const body = xmlText([p.message, ...p.details].join("\n"));
      if (p.status === "failed") out.push(`      <failure${attrs({ message: p.message, type: "ScenarioTestFailed" })}>${body}</failure>`);
      if (p.status === "error") out.push(`      <error${attrs({ message: p.message, type: "ScenarioTestError" })}>${body}</error>`);
      if (p.status === "skipped") out.push(`      <skipped${attrs({ message: p.message })}/>`);
      out.push(`      <system-out>${xmlText([p.message, ...(p.notes ?? [])].join("\n"))}</system-out>`);
      out.push("    </testcase>");
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}

function markdown(results: readonly ScenarioTestResult[]): string {
  const esc = (s: string) => sanitize(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!).replace(/\|/g, "\\|");
  const out: string[] = [`## ${allPassed(results) ? "✅" : "❌"} labrun test`, "", testSummaryLine(results), ""];
  for (const r of results) {
    out.push(`### ${EMOJI[r.status]} \`${esc(r.scenario)}\`: ${esc(r.title)}`, "", "| | Phase | Result | Time |", "|---|---|---|---|");
    for (const p of r.phases) out.push(`| ${EMOJI[p.status]} | ${esc(p.name)} | ${esc(p.message)} | ${reportDuration(p.durationMs)} |`);
    const failed = r.phases.filter((p: PhaseResult) => (p.status === "failed" || p.status === "error") && (p.details.length || p.notes?.length));
    for (const p of failed) {
      const lines = [...p.details, ...(p.notes ?? []).filter((n) => !p.details.includes(n))];
      out.push("", `<details><summary>${esc(p.name)}: details</summary>`, "", "```text", ...lines.map((d) => sanitize(d).replace(/```/g, "ˋˋˋ")), "```", "", "</details>");
    }
    out.push("");
  }
  return out.join("\n");
}
