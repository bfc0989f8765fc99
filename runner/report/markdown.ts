/**
 * GitHub-flavoured Markdown for job summaries ($GITHUB_STEP_SUMMARY) and pull
 * request comments: a score line, a table of checks, and a `<details>` block
 * per failed or errored check with its message, evidence, connectivity and
 * hint. For network scenarios, a connectivity matrix table.
 *
 * Text from scenarios and clusters is escaped: HTML (`& < >`) everywhere,
 * pipes in table cells. Scenario hints keep their inline Markdown (`code`);
 * evidence goes into fenced code blocks whose fence is longer than any run of
 * backticks inside. Evidence is cut at `maxEvidenceChars` (default 3000)
 * so a report stays under GitHub's limits (65,536 characters for a comment,
 * 1 MiB for a step summary).
 */
import type { CheckResult, CheckStatus, Report } from "../schema/report.ts";
import { cellOf, connectivityMatrix } from "./connectivity.ts";
import {
  countsText,
  reportDuration,
  formatPercent,
  formatPoints,
  needsDetail,
  sanitize,
  scoreFraction,
  truncate,
  verdict,
} from "./format.ts";

export interface MarkdownOptions {
  /** Heading level of the title (default 2: `##`). */
  headingLevel?: number;
  /** Characters of one evidence value to show before cutting (default 3000). */
  maxEvidenceChars?: number;
}

export const STATUS_EMOJI: Record<CheckStatus, string> = {
  passed: "✅",
  failed: "❌",
  skipped: "⏭️",
  error: "⚠️",
};

export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const level = Math.min(6, Math.max(1, options.headingLevel ?? 2));
  const maxChars = options.maxEvidenceChars ?? 3000;
  const h = (n: number) => "#".repeat(Math.min(6, level + n));
  const out: string[] = [];
  const { score } = report;

  out.push(`${h(0)} ${score.passed ? "✅" : "❌"} labrun: ${inline(report.scenario.title)}`);
  out.push("");
  out.push(
    `**score ${scoreFraction(score)} (${formatPercent(score.percent)})** — ${countsText(report.summary)} — ` +
      `**${verdict(report)}** (pass mark ${formatPercent(score.passPercent)})`,
  );
  out.push("");
  out.push(
    `<sub>scenario <code>${html(report.scenario.name)}</code> · lab <code>${html(report.lab.name)}</code> on ` +
      `<code>${html(report.lab.cluster)}</code> (${html(report.lab.provider)}) · attempt ${report.attempt} · ` +
      `${html(report.startedAt)} · took ${reportDuration(report.durationMs)} · labrun ${html(report.labrun.version)}</sub>`,
  );
  out.push("");

  // ---- table
  out.push("| | Check | Points | Time |");
  out.push("|:-:|:--|--:|--:|");
  for (const c of report.checks) {
    const time = c.status === "skipped" && c.durationMs === 0 ? "" : reportDuration(c.durationMs);
    out.push(`| ${STATUS_EMOJI[c.status]} | ${cell(inline(c.title))} <sub>\`${cell(codeSpan(c.id))}\`</sub> | ${formatPoints(c.points)}/${formatPoints(c.maxPoints)} | ${time} |`);
  }
  if (report.checks.length === 0) out.push("| | (no checks) | | |");
  out.push("");

  // ---- connectivity matrix
  const matrix = connectivityMatrix(report);
  if (matrix.total) {
    out.push(`${h(1)} Connectivity`);
    out.push("");
    out.push(
      `${matrix.total - matrix.mismatches} of ${matrix.total} connections as required` +
        (matrix.mismatches ? ` — ${matrix.mismatches} not` : "") +
        ". Rows are sources, columns targets; each cell is what the probe observed (and what was expected when they differ).",
    );
    out.push("");
    out.push(`| from \\ to | ${matrix.targets.map((t) => `\`${cell(codeSpan(t))}\``).join(" | ")} |`);
    out.push(`|:--|${matrix.targets.map(() => ":-:").join("|")}|`);
    for (const source of matrix.sources) {
      const cells = matrix.targets.map((target) => {
        const entries = cellOf(matrix, source, target);
        if (!entries.length) return "";
        return entries
          .map((e) => (e.mismatch ? `❌ ${e.observed} (expected ${e.expected})` : `${e.observed === "allowed" ? "🟢" : "⛔"} ${e.observed}`))
          .join("<br>");
      });
      out.push(`| \`${cell(codeSpan(source))}\` | ${cells.join(" | ")} |`);
    }
    out.push("");
  }

  // ---- details for failures and errors
  const failing = report.checks.filter(needsDetail);
  const skipped = report.checks.filter((c) => c.status === "skipped");
  if (failing.length) {
    out.push(`${h(1)} What went wrong`);
    out.push("");
    for (const c of failing) out.push(...details(c, maxChars));
  }
  if (skipped.length) {
    out.push(`${h(1)} Skipped`);
    out.push("");
    for (const c of skipped) out.push(`- ${STATUS_EMOJI.skipped} ${inline(c.title)} (\`${codeSpan(c.id)}\`): ${literal(c.message)}`);
    out.push("");
  }
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

function details(c: CheckResult, maxChars: number): string[] {
  const out: string[] = [];
  const tries = c.attempts > 1 ? ` after ${c.attempts} attempts` : "";
  out.push(
    `<details open><summary>${STATUS_EMOJI[c.status]} <b>${summaryHtml(c.title)}</b> <code>${html(oneLine(c.id))}</code> — ` +
      `${formatPoints(c.points)}/${formatPoints(c.maxPoints)} points${html(tries)}</summary>`,
  );
  out.push("");
  out.push(`${c.status === "error" ? "**labrun could not evaluate this check:** " : ""}${literal(c.message)}`);
  out.push("");
  for (const ev of c.evidence) {
    out.push(`**${literal(ev.label)}**`);
    out.push("");
    for (const key of ["expected", "observed"] as const) {
      const value = ev[key];
      if (value === undefined) continue;
      out.push(`${key}:`);
      out.push("");
      out.push(...fenced(truncate(sanitize(value), maxChars)));
      out.push("");
    }
  }
  const conn = c.connectivity ?? [];
  if (conn.length) {
    out.push("| | from | to | expected | observed |");
    out.push("|:-:|:--|:--|:--|:--|");
    for (const e of conn) {
      out.push(`| ${e.observed === e.expected ? "✅" : "❌"} | \`${cell(codeSpan(e.from))}\` | \`${cell(codeSpan(e.to))}\` | ${e.expected} | ${e.observed} |`);
    }
    out.push("");
  }
  if (c.hint) {
    const lines = sanitize(c.hint).split("\n");
    out.push(`> 💡 **hint:** ${inline(lines[0]!)}`);
    for (const line of lines.slice(1)) out.push(`> ${inline(line)}`);
    out.push("");
  }
  out.push("</details>");
  out.push("");
  return out;
}

/** A fenced code block that nothing inside can close. */
function fenced(text: string): string[] {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return [fence + "text", text === "" ? "(empty)" : text, fence];
}

/** Author-written text (titles, hints): HTML escaped, inline Markdown such as `code` kept. */
function inline(text: string): string {
  return html(oneLine(text));
}

/** Machine-written text (messages, evidence labels) that may quote the cluster: HTML escaped and Markdown punctuation neutralised. */
function literal(text: string): string {
  return html(oneLine(text)).replace(/[\\`*_[\]~|]/g, (c) => `\\${c}`);
}

/** Escapes `&`, `<`, `>` for HTML inside Markdown; sanitises control characters. */
function html(text: string): string {
  return sanitize(text).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
}

/** HTML for a `<summary>` (where Markdown is not parsed): escaped, with `code` spans as <code>. */
function summaryHtml(text: string): string {
  return oneLine(sanitize(text))
    .split(/(`[^`]+`)/)
    .map((part) => (/^`[^`]+`$/.test(part) ? `<code>${html(part.slice(1, -1))}</code>` : html(part)))
    .join("");
}

/** A table cell: pipes escaped (GFM splits cells before it parses code spans, so this holds inside code too). */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/** Text inside a single-backtick code span: a backtick would end it, so it becomes a prime. */
function codeSpan(text: string): string {
  return oneLine(sanitize(text)).replace(/`/g, "ˋ");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
