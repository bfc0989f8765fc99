/**
 * The terminal report: one row per check (✓ passed, ✗ failed, – skipped,
 * ! error) with its points and duration; for checks that did not pass, the
 * message, the evidence (expected versus observed), the connectivity probes
 * and the hint; a one-line summary at the end.
 *
 * A pure function of the report: colour and width are options the caller
 * decides (the CLI: a TTY, NO_COLOR, FORCE_COLOR; see runner/cli/report-output.ts).
 * With `color: false` the output has no escape sequences at all, and text
 * from the cluster is sanitised so it cannot inject any.
 */
import type { CheckResult, CheckStatus, Evidence, Report } from "../schema/report.ts";
import {
  countsText,
  displayTime,
  reportDuration,
  formatPercent,
  formatPoints,
  needsDetail,
  sanitize,
  scoreFraction,
  summaryLine,
  textWidth,
  truncate,
  truncateLines,
  wrapLine,
  verdict,
  wrapText,
} from "./format.ts";

export interface TerminalOptions {
  /** Emit ANSI colours and styles. */
  color: boolean;
  /** Columns to wrap at (clamped to 40..200). */
  width: number;
  /** Lines of one evidence value to show before cutting (default 40; the JSON report has them all). */
  maxEvidenceLines?: number;
  /** Characters of one evidence value to show before cutting (default 4000). */
  maxEvidenceChars?: number;
}

export const STATUS_SYMBOL: Record<CheckStatus, string> = {
  passed: "✓",
  failed: "✗",
  skipped: "–",
  error: "!",
};

type Style = (text: string) => string;

interface Palette {
  green: Style;
  red: Style;
  yellow: Style;
  magenta: Style;
  cyan: Style;
  dim: Style;
  bold: Style;
}

function palette(color: boolean): Palette {
  const sgr =
    (open: number, close: number): Style =>
    (text) =>
      color && text ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    magenta: sgr(35, 39),
    cyan: sgr(36, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

const DETAIL = "      ";
const SUB = "          ";

export function renderTerminal(report: Report, options: TerminalOptions): string {
  const width = Math.min(200, Math.max(40, Math.floor(options.width) || 80));
  const maxLines = options.maxEvidenceLines ?? 40;
  const maxChars = options.maxEvidenceChars ?? 4000;
  const p = palette(options.color);
  const statusStyle: Record<CheckStatus, Style> = { passed: p.green, failed: p.red, skipped: p.yellow, error: p.magenta };
  const out: string[] = [];

  // ---- header
  out.push(...wrapLine(clean(report.scenario.title), width).map(p.bold));
  const where = [
    clean(report.scenario.name),
    `lab ${clean(report.lab.name)} on ${clean(report.lab.cluster)} (${clean(report.lab.provider)})`,
    `attempt ${report.attempt}`,
    displayTime(report.startedAt),
    `took ${reportDuration(report.durationMs)}`,
  ];
  out.push(...joinWrapped(where, " · ", width).map(p.dim));
  out.push("");

  // ---- one row per check
  const pointsCol = Math.max(...report.checks.map((c) => pointsText(c).length), 3);
  const timeCol = Math.max(...report.checks.map((c) => durationText(c).length), 0);
  const right = (c: CheckResult) => `${pointsText(c).padStart(pointsCol)}${timeCol ? "  " + durationText(c).padStart(timeCol) : ""}`.trimEnd();
  const rightWidth = pointsCol + (timeCol ? timeCol + 2 : 0);
  const natural = Math.max(0, ...report.checks.map((c) => textWidth(`${clean(c.title)}  ${clean(c.id)}`))) + 4;
  const leftWidth = Math.max(24, Math.min(width - rightWidth - 2, natural));

  for (const check of report.checks) {
    const style = statusStyle[check.status];
    const symbol = STATUS_SYMBOL[check.status];
    const title = clean(check.title);
    const id = clean(check.id);
    // Wrap "title  id" in the left column; the symbol hangs outside it.
    const plain = wrapLine(`${title}  ${id}`, leftWidth - 4);
    plain.forEach((line, i) => {
      const styled = styleTitleLine(line, id, i === plain.length - 1, check.status, p);
      const prefix = i === 0 ? `  ${style(symbol)} ` : "    ";
      if (i === 0) {
        const gap = Math.max(2, leftWidth - 4 - textWidth(line) + 2);
        out.push(`${prefix}${styled}${" ".repeat(gap)}${style(right(check))}`.trimEnd());
      } else {
        out.push(`${prefix}${styled}`);
      }
    });

    if (check.status === "passed") continue;

    // message (+ how often it was tried when that says something)
    const tries = check.attempts > 1 && check.status !== "skipped" ? ` (${check.attempts} attempts)` : "";
    for (const line of wrapText(clean(check.message) + tries, width - DETAIL.length)) out.push(DETAIL + line);

    if (!needsDetail(check)) continue;

    for (const ev of check.evidence) out.push(...evidenceLines(ev, width, maxLines, maxChars, p));

    const conn = check.connectivity ?? [];
    if (conn.length) {
      out.push(`${DETAIL}connectivity:`);
      for (const c of conn) {
        const ok = c.observed === c.expected;
        const mark = ok ? p.green("✓") : p.red("✗");
        const text = `${clean(c.from)} → ${clean(c.to)}  ${c.observed} (expected ${c.expected})`;
        wrapLine(text, width - DETAIL.length - 4).forEach((line, i) => out.push(`${DETAIL}  ${i === 0 ? mark : " "} ${line}`));
      }
    }

    if (check.hint) {
      const hint = wrapText(clean(check.hint), width - DETAIL.length - 6);
      hint.forEach((line, i) => out.push(`${DETAIL}${i === 0 ? p.cyan("hint: ") : "      "}${line}`));
    }
  }
  if (report.checks.length === 0) out.push("  (no checks)");

  // ---- summary: always one line, whatever the width (scripts grep it)
  out.push("");
  if (options.color) {
    const { score } = report;
    const verdictStyle = score.passed ? p.green : p.red;
    out.push(
      `${p.bold(`score ${scoreFraction(score)} (${formatPercent(score.percent)})`)} — ${countsText(report.summary)} — ` +
        `${p.bold(verdictStyle(verdict(report)))} (pass mark ${formatPercent(score.passPercent)})`,
    );
  } else {
    out.push(summaryLine(report));
  }
  return out.join("\n") + "\n";
}

function styleTitleLine(line: string, id: string, last: boolean, status: CheckStatus, p: Palette): string {
  // The id is the last word of the last wrapped line: dim it.
  const emphasise = status === "failed" || status === "error" ? p.bold : (s: string) => s;
  if (last && line.endsWith(id)) {
    const head = line.slice(0, line.length - id.length);
    return emphasise(head.trimEnd()) + head.slice(head.trimEnd().length) + p.dim(id);
  }
  return emphasise(line);
}

function evidenceLines(ev: Evidence, width: number, maxLines: number, maxChars: number, p: Palette): string[] {
  const out: string[] = [];
  const inner = width - DETAIL.length - 2;
  wrapText(clean(ev.label), inner).forEach((line, i) => out.push(`${DETAIL}${i === 0 ? "• " : "  "}${line}`));
  for (const key of ["expected", "observed"] as const) {
    const value = ev[key];
    if (value === undefined) continue;
    const text = clean(value);
    const label = `${key}: `;
    const style = key === "observed" ? p.yellow : (s: string) => s;
    const oneLine = !text.includes("\n") && textWidth(SUB + label + text) <= width;
    if (oneLine) {
      out.push(`${SUB}${p.dim(label)}${style(text === "" ? "(empty)" : text)}`);
      continue;
    }
    out.push(`${SUB}${p.dim(key + ":")}`);
    const kept = truncateLines(truncate(text, maxChars).split("\n"), maxLines).join("\n");
    const lines = wrapText(kept, width - SUB.length - 2);
    for (const l of lines) out.push(`${SUB}  ${style(l)}`.trimEnd());
  }
  return out;
}

/** Joins parts with `sep`, breaking lines between parts (and inside a part only when it alone is too long). */
function joinWrapped(parts: string[], sep: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const part of parts) {
    if (current && textWidth(current + sep + part) > width) {
      lines.push(current);
      current = "";
    }
    current = current ? current + sep + part : part;
  }
  if (current) lines.push(current);
  return lines.flatMap((l) => wrapLine(l, width));
}

function pointsText(c: CheckResult): string {
  return `${formatPoints(c.points)}/${formatPoints(c.maxPoints)}`;
}

function durationText(c: CheckResult): string {
  if (c.status === "skipped" && c.durationMs === 0) return "";
  return reportDuration(c.durationMs);
}

/** Trims trailing blanks and makes text safe for a terminal. */
function clean(text: string): string {
  return sanitize(text).replace(/\s+$/, "");
}
