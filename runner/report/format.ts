/**
 * Small pure helpers the reporters share: numbers, durations, the summary
 * line, text sanitising and wrapping. No I/O, no clock, no environment.
 */
import { formatDuration } from "../util/duration.ts";
import type { CheckResult, CheckStatus, Report } from "../schema/report.ts";

/** `2` → `2`; `1.5` → `1.5`; `0.3333` → `0.33`. */
export function formatPoints(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Math.round(n * 100) / 100);
}

/**
 * A percentage for people: whole numbers as they are, otherwise one decimal,
 * rounded down so that 99.96 never reads as 100 (which is the pass mark of
 * many scenarios).
 */
export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return `${p}%`;
  if (Number.isInteger(p)) return `${p}%`;
  const floored = Math.floor(p * 10) / 10;
  return `${Number.isInteger(floored) ? floored.toFixed(0) : floored.toFixed(1)}%`;
}

/** A duration in a report: {@link formatDuration} with two-digit columns (`1m05s`). */
export function reportDuration(ms: number): string {
  return formatDuration(ms, { pad: true });
}

/** `score 5/10`: points over maximum. */
export function scoreFraction(score: { points: number; maxPoints: number }): string {
  return `${formatPoints(score.points)}/${formatPoints(score.maxPoints)}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `3 passed, 2 failed, 2 skipped` (and `, 1 error` when there are errors). */
export function countsText(summary: Report["summary"]): string {
  const parts = [`${summary.passed} passed`, `${summary.failed} failed`, `${summary.skipped} skipped`];
  if (summary.error) parts.push(plural(summary.error, "error"));
  return parts.join(", ");
}

/** `PASS` or `FAIL`. */
export function verdict(report: Report): "PASS" | "FAIL" {
  return report.score.passed ? "PASS" : "FAIL";
}

/**
 * The one-line summary every text format ends with:
 * `score 5/10 (50%) — 3 passed, 2 failed, 2 skipped — FAIL (pass mark 100%)`.
 */
export function summaryLine(report: Report): string {
  const { score } = report;
  return `score ${scoreFraction(score)} (${formatPercent(score.percent)}) — ${countsText(report.summary)} — ${verdict(report)} (pass mark ${formatPercent(score.passPercent)})`;
}

/** Words for each status, as the text formats print them. */
export const STATUS_WORD: Record<CheckStatus, string> = {
  passed: "passed",
  failed: "failed",
  skipped: "skipped",
  error: "error",
};

/** Checks that did not pass and deserve their evidence and hint. */
export function needsDetail(check: CheckResult): boolean {
  return check.status === "failed" || check.status === "error";
}

/** `2026-01-05T10:00:03.120Z` → `2026-01-05 10:00:03 UTC`; anything else as it is. */
export function displayTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(iso);
  if (!m) return sanitize(iso);
  return `${m[1]} ${m[2]} ${m[3] === "Z" ? "UTC" : m[3]}`;
}

// ------------------------------------------------------------------ text

/**
 * Characters that must not reach a terminal, an XML or HTML document
 * verbatim: C0 controls other than tab, newline and carriage return, DEL,
 * C1 controls, lone surrogates and the non-characters U+FFFE and U+FFFF.
 * (ESC is one of them: evidence such as pod logs may carry ANSI sequences.)
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes text from the cluster safe to print: unsafe characters become visible
 * escapes (`\u001b`), `\r\n` and lone `\r` become `\n`.
 */
export function sanitize(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Display width of a string, counting code points (good enough for the ASCII-heavy text of a report). */
export function textWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += isWide(ch.codePointAt(0)!) ? 2 : 1;
  return n;
}

function isWide(cp: number): boolean {
  // East Asian wide and full-width ranges, and most emoji.
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/**
 * Wraps one line of text to `width` columns: at spaces where it can, hard
 * breaks inside words longer than a line (URLs, JSON without spaces).
 * Leading indentation of the input line is kept on every piece.
 */
export function wrapLine(line: string, width: number): string[] {
  const w = Math.max(8, width);
  if (textWidth(line) <= w) return [line];
  const lead = /^\s*/.exec(line)![0].slice(0, Math.floor(w / 2));
  const words = line.slice(lead.length).split(/(?<= )/); // keep the trailing space with each word
  const out: string[] = [];
  let current = lead;
  const push = () => {
    out.push(current.trimEnd());
    current = lead;
  };
  for (let word of words) {
    if (textWidth(current) + textWidth(word.trimEnd()) <= w) {
      current += word;
      continue;
    }
    if (current.trim()) push();
    while (textWidth(lead) + textWidth(word.trimEnd()) > w) {
      const [head, rest] = splitAtWidth(word, w - textWidth(lead));
      out.push(lead + head);
      word = rest;
    }
    current = lead + word;
  }
  if (current.trim() || out.length === 0) push();
  return out;
}

function splitAtWidth(text: string, width: number): [string, string] {
  let n = 0;
  let i = 0;
  for (const ch of text) {
    const cw = isWide(ch.codePointAt(0)!) ? 2 : 1;
    if (n + cw > width && i > 0) break;
    n += cw;
    i += ch.length;
  }
  return [text.slice(0, i), text.slice(i)];
}

/** Wraps multi-line text, keeping its line breaks. */
export function wrapText(text: string, width: number): string[] {
  return text.split("\n").flatMap((line) => wrapLine(line.replace(/\t/g, "    "), width));
}

/**
 * Keeps at most `max` characters of `text`, cutting at a line break when one
 * is near, and says how much was left out.
 */
export function truncate(text: string, max: number, where = "see the JSON report"): string {
  if (text.length <= max) return text;
  let cut = text.lastIndexOf("\n", max);
  if (cut < max * 0.8) cut = max;
  // do not split a surrogate pair
  if (/[\uD800-\uDBFF]/.test(text.charAt(cut - 1))) cut--;
  const rest = text.length - cut;
  return `${text.slice(0, cut).trimEnd()}\n… (${rest} more characters; ${where})`;
}

/** Keeps at most `max` lines of `lines`. */
export function truncateLines(lines: string[], max: number, where = "see the JSON report"): string[] {
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `… (${lines.length - max} more lines; ${where})`];
}
