/**
 * A self-contained one-page HTML report a learner can open: inline CSS, no
 * script, no external resource (a Content-Security-Policy forbids them even
 * if something slipped through). The score with a bar and the pass mark; a
 * card per check with its status, points, duration, message, evidence
 * (expected versus observed), connectivity probes and hint; and, for network
 * scenarios, a connectivity matrix: sources × targets, each cell showing what
 * was expected and what the probe observed, mismatches highlighted.
 *
 * Every string from the report is HTML-escaped; only `code` spans in
 * author-written text (titles, hints, messages) become <code> elements.
 */
import type { CheckResult, CheckStatus, Evidence, Report } from "../schema/report.ts";
import { cellOf, connectivityMatrix, type ConnectivityMatrix, type MatrixEntry } from "./connectivity.ts";
import { countsText, displayTime, reportDuration, formatPercent, formatPoints, needsDetail, sanitize, scoreFraction, truncate, verdict } from "./format.ts";

export interface HtmlOptions {
  /** Characters of one evidence value to show before cutting (default 20000). */
  maxEvidenceChars?: number;
}

const STATUS_ICON: Record<CheckStatus, string> = { passed: "✓", failed: "✗", skipped: "–", error: "!" };

export function renderHtml(report: Report, options: HtmlOptions = {}): string {
  const maxChars = options.maxEvidenceChars ?? 20_000;
  const { score } = report;
  const state = score.passed ? "pass" : "fail";
  const matrix = connectivityMatrix(report);
  const pct = clampPercent(score.percent);
  const passMark = clampPercent(score.passPercent);

  const body: string[] = [];
  body.push(`<header>`);
  body.push(`<p class="eyebrow">labrun report</p>`);
  body.push(`<h1>${rich(report.scenario.title)}</h1>`);
  body.push(
    `<p class="meta">scenario <code>${esc(report.scenario.name)}</code> · lab <code>${esc(report.lab.name)}</code> on ` +
      `<code>${esc(report.lab.cluster)}</code> (${esc(report.lab.provider)}) · attempt ${report.attempt} · ` +
      `<time datetime="${esc(report.startedAt)}">${esc(displayTime(report.startedAt))}</time> · took ${esc(reportDuration(report.durationMs))}</p>`,
  );
  body.push(`</header>`);

  // ---- score card
  body.push(`<section class="score ${state}" aria-label="score">`);
  body.push(`<div class="figures">`);
  body.push(`<p class="points" id="score"><span class="label">score</span> <strong>${esc(scoreFraction(score))}</strong> <span class="pct">(${esc(formatPercent(score.percent))})</span></p>`);
  body.push(`<p class="verdict">${verdict(report)}</p>`);
  body.push(`</div>`);
  body.push(
    `<div class="bar" role="img" aria-label="${esc(formatPercent(score.percent))} of the points; pass mark ${esc(formatPercent(score.passPercent))}">` +
      `<span class="fill" style="width:${pct}%"></span><span class="mark" style="left:${passMark}%"></span></div>`,
  );
  body.push(`<p class="counts">${esc(countsText(report.summary))} — pass mark ${esc(formatPercent(score.passPercent))}</p>`);
  body.push(`</section>`);

  // ---- connectivity matrix
  if (matrix.total) body.push(...matrixSection(matrix));

  // ---- checks
  body.push(`<section class="checks" aria-label="checks">`);
  body.push(`<h2>Checks</h2>`);
  if (report.checks.length === 0) body.push(`<p>(no checks)</p>`);
  body.push(`<ol>`);
  for (const check of report.checks) body.push(...checkCard(check, maxChars));
  body.push(`</ol>`);
  body.push(`</section>`);

  body.push(`<footer>labrun ${esc(report.labrun.version)} · report <code>${esc(report.apiVersion)}</code></footer>`);

  const title = `${verdict(report)} ${scoreFraction(score)} — ${report.scenario.title} — labrun`;
  return [
    "<!DOCTYPE html>",
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="generator" content="labrun ${esc(report.labrun.version)}">`,
    `<title>${esc(oneLine(title))}</title>`,
    `<style>${CSS}</style>`,
    `</head>`,
    `<body>`,
    `<main>`,
    ...body,
    `</main>`,
    `</body>`,
    `</html>`,
    "",
  ].join("\n");
}

function checkCard(c: CheckResult, maxChars: number): string[] {
  const out: string[] = [];
  const ratio = c.maxPoints > 0 ? clampPercent((c.points / c.maxPoints) * 100) : c.status === "passed" ? 100 : 0;
  const time = c.status === "skipped" && c.durationMs === 0 ? "" : reportDuration(c.durationMs);
  out.push(`<li class="check ${c.status}" id="check-${esc(anchor(c.id))}">`);
  out.push(`<div class="row">`);
  out.push(`<span class="status" title="${c.status}"><span class="icon" aria-hidden="true">${STATUS_ICON[c.status]}</span> ${c.status}</span>`);
  out.push(`<span class="title"><span class="check-title">${rich(c.title)}</span> <code class="id">${esc(c.id)}</code></span>`);
  out.push(
    `<span class="pts" title="${esc(formatPoints(c.points))} of ${esc(formatPoints(c.maxPoints))} points">` +
      `<span class="minibar"><span style="width:${ratio}%"></span></span> ${esc(formatPoints(c.points))}/${esc(formatPoints(c.maxPoints))}</span>`,
  );
  out.push(`<span class="time">${esc(time)}</span>`);
  out.push(`</div>`);
  if (c.status !== "passed") {
    const tries = c.attempts > 1 && c.status !== "skipped" ? ` <span class="tries">(${c.attempts} attempts)</span>` : "";
    out.push(`<p class="message">${c.status === "error" ? "<b>labrun could not evaluate this check:</b> " : ""}${rich(c.message)}${tries}</p>`);
  } else {
    out.push(`<p class="message quiet">${rich(c.message)}</p>`);
  }
  if (needsDetail(c)) {
    for (const ev of c.evidence) out.push(...evidenceBlock(ev, maxChars));
    const conn = c.connectivity ?? [];
    if (conn.length) {
      out.push(`<div class="scroll probes-wrap"><table class="probes"><thead><tr><th></th><th>from</th><th>to</th><th>expected</th><th>observed</th></tr></thead><tbody>`);
      for (const e of conn) {
        const ok = e.observed === e.expected;
        out.push(
          `<tr class="${ok ? "ok" : "bad"}"><td>${ok ? "✓" : "✗"}</td><td><code>${esc(e.from)}</code></td><td><code>${esc(e.to)}</code></td>` +
            `<td>${esc(e.expected)}</td><td>${esc(e.observed)}</td></tr>`,
        );
      }
      out.push(`</tbody></table></div>`);
    }
  }
  if (c.hint && needsDetail(c)) {
    out.push(`<p class="hint"><b>Hint</b> ${rich(c.hint)}</p>`);
  }
  out.push(`</li>`);
  return out;
}

function evidenceBlock(ev: Evidence, maxChars: number): string[] {
  const out = [`<div class="evidence">`, `<p class="label">${esc(ev.label)}</p>`, `<dl>`];
  for (const key of ["expected", "observed"] as const) {
    const value = ev[key];
    if (value === undefined) continue;
    out.push(`<dt>${key}</dt><dd class="${key}"><pre>${esc(value === "" ? "(empty)" : truncate(value, maxChars))}</pre></dd>`);
  }
  out.push(`</dl>`, `</div>`);
  return out;
}

function matrixSection(m: ConnectivityMatrix): string[] {
  const out: string[] = [];
  out.push(`<section class="connectivity" aria-label="connectivity matrix">`);
  out.push(`<h2>Connectivity</h2>`);
  out.push(
    `<p>${m.total - m.mismatches} of ${m.total} connections as required${m.mismatches ? `; <b class="bad-text">${m.mismatches} not</b>` : ""}. ` +
      `Rows are sources, columns are targets; each cell shows what the probe observed and what the scenario expects.</p>`,
  );
  out.push(`<div class="scroll"><table class="matrix">`);
  out.push(`<thead><tr><th class="corner" scope="col">from \\ to</th>${m.targets.map((t) => `<th scope="col"><code>${esc(t)}</code></th>`).join("")}</tr></thead>`);
  out.push(`<tbody>`);
  for (const source of m.sources) {
    const cells = m.targets.map((target) => matrixCell(cellOf(m, source, target)));
    out.push(`<tr><th scope="row"><code>${esc(source)}</code></th>${cells.join("")}</tr>`);
  }
  out.push(`</tbody></table></div>`);
  out.push(
    `<p class="legend"><span class="cell-demo ok allowed">✓ allowed</span> <span class="cell-demo ok blocked">✓ blocked</span> as expected · ` +
      `<span class="cell-demo bad">✗ mismatch</span> · <span class="cell-demo unknown">? not observed</span> · <span class="cell-demo none">·</span> not probed</p>`,
  );
  out.push(`</section>`);
  return out;
}

function matrixCell(entries: MatrixEntry[]): string {
  if (!entries.length) return `<td class="none" title="not probed">·</td>`;
  const mismatches = entries.filter((e) => e.mismatch);
  const cls = mismatches.length ? (mismatches.every((e) => e.observed === "unknown") ? "bad unknown" : "bad") : `ok ${entries[0]!.observed}`;
  const title = entries.map((e) => `${e.check}: expected ${e.expected}, observed ${e.observed}`).join("; ");
  const inner = entries
    .map((e) => {
      const icon = e.mismatch ? (e.observed === "unknown" ? "?" : "✗") : "✓";
      return `<span class="obs">${icon} ${esc(e.observed)}</span><span class="exp">expected ${esc(e.expected)}</span>`;
    })
    .join(`<hr>`);
  return `<td class="${cls}" title="${esc(title)}">${inner}</td>`;
}

// ------------------------------------------------------------ escaping

/** Escapes text for HTML element content and attribute values. */
export function esc(text: string): string {
  return sanitize(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Author-written text: escaped, `code` spans as <code>, line breaks kept. */
function rich(text: string): string {
  return sanitize(text)
    .trim()
    .split(/(`[^`\n]+`)/)
    .map((part) => (/^`[^`\n]+`$/.test(part) ? `<code>${esc(part.slice(1, -1))}</code>` : esc(part).replace(/\n/g, "<br>")))
    .join("");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** A safe fragment id from a check id. */
function anchor(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "-");
}

function clampPercent(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.round(Math.min(100, Math.max(0, n)) * 100) / 100;
}

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1c2128;--muted:#5b6572;--line:#d8dde3;--code:#eef1f4;
--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--skip:#9a6700;--skip-bg:#fff8c5;--err:#8250df;--err-bg:#fbefff;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--code:#21262d;
--pass:#3fb950;--pass-bg:#12261e;--fail:#f85149;--fail-bg:#2d1517;--skip:#d29922;--skip-bg:#2b2111;--err:#a371f7;--err-bg:#241a38;--accent:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 16px 48px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.88em}
code{background:var(--code);padding:.1em .35em;border-radius:4px;overflow-wrap:anywhere}
header h1{margin:.1em 0 .2em;font-size:1.6em;line-height:1.25}
.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:.75em;font-weight:600}
.meta{margin:0;color:var(--muted);font-size:.9em}
h2{font-size:1.15em;margin:0 0 .6em}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin-top:18px}
.score{border-left:6px solid var(--fail)}
.score.pass{border-left-color:var(--pass)}
.figures{display:flex;align-items:baseline;justify-content:space-between;gap:12px;flex-wrap:wrap}
.points{margin:0;font-size:1.9em;font-weight:300}
.points .label{font-size:.5em;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);font-weight:600}
.points strong{font-weight:700}
.points .pct{color:var(--muted)}
.verdict{margin:0;font-weight:800;font-size:1.3em;letter-spacing:.05em;padding:.1em .7em;border-radius:6px;color:var(--fail);background:var(--fail-bg)}
.pass .verdict{color:var(--pass);background:var(--pass-bg)}
.bar{position:relative;height:12px;border-radius:6px;background:var(--code);margin:12px 0 6px;overflow:visible}
.bar .fill{position:absolute;left:0;top:0;bottom:0;border-radius:6px;background:var(--fail)}
.pass .bar .fill{background:var(--pass)}
.bar .mark{position:absolute;top:-4px;bottom:-4px;width:3px;margin-left:-1px;background:var(--fg);border-radius:2px}
.counts{margin:0;color:var(--muted)}
.checks ol{list-style:none;margin:0;padding:0}
.check{border:1px solid var(--line);border-left:5px solid var(--line);border-radius:8px;padding:10px 14px;margin:10px 0;background:var(--card)}
.check.passed{border-left-color:var(--pass)}
.check.failed{border-left-color:var(--fail)}
.check.skipped{border-left-color:var(--skip)}
.check.error{border-left-color:var(--err)}
.row{display:grid;grid-template-columns:100px 1fr auto 4.5em;gap:10px;align-items:baseline}
.status{font-weight:700;font-size:.85em;text-transform:uppercase;letter-spacing:.04em}
.status .icon{display:inline-block;width:1.4em;height:1.4em;line-height:1.4em;text-align:center;border-radius:50%;color:#fff;margin-right:.2em}
.passed .status{color:var(--pass)}.passed .icon{background:var(--pass)}
.failed .status{color:var(--fail)}.failed .icon{background:var(--fail)}
.skipped .status{color:var(--skip)}.skipped .icon{background:var(--skip)}
.error .status{color:var(--err)}.error .icon{background:var(--err)}
.title{font-weight:600;overflow-wrap:anywhere}
.title .id{font-weight:400;color:var(--muted);font-size:.8em;white-space:nowrap}
.pts{white-space:nowrap;font-variant-numeric:tabular-nums;font-weight:600}
.minibar{display:inline-block;width:48px;height:6px;border-radius:3px;background:var(--code);vertical-align:middle;overflow:hidden}
.minibar span{display:block;height:100%;background:var(--pass)}
.failed .minibar span,.error .minibar span{background:var(--skip)}
.time{text-align:right;color:var(--muted);font-size:.85em;font-variant-numeric:tabular-nums}
.message{margin:.4em 0 0 110px}
.message.quiet{color:var(--muted);font-size:.9em}
.tries{color:var(--muted)}
.evidence{margin:.6em 0 0 110px;border-top:1px dashed var(--line);padding-top:.4em}
.evidence .label{margin:0;font-weight:600;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.85em;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:5.5em 1fr;gap:4px 10px;margin:.3em 0}
dt{color:var(--muted);font-size:.85em;padding-top:.35em}
dd{margin:0;min-width:0}
pre{margin:0;padding:.4em .6em;border-radius:6px;background:var(--code);white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;overflow:auto}
dd.observed pre{background:var(--fail-bg)}
.hint{margin:.6em 0 0 110px;padding:.5em .8em;border-radius:6px;background:var(--skip-bg);font-size:.93em}
.hint b{color:var(--skip);margin-right:.3em}
table{border-collapse:collapse}
.probes-wrap{margin:.6em 0 0 110px}
.probes{font-size:.88em}
.matrix code,.probes code{overflow-wrap:normal;white-space:nowrap}
.probes th,.probes td{border:1px solid var(--line);padding:3px 8px;text-align:left}
.probes tr.bad td{background:var(--fail-bg)}
.scroll{overflow-x:auto}
.matrix{font-size:.9em}
.matrix th,.matrix td{border:1px solid var(--line);padding:6px 10px;text-align:center}
.matrix thead th{background:var(--code);font-weight:600}
.matrix tbody th{text-align:left;background:var(--code)}
.matrix .corner{color:var(--muted);font-weight:400}
.matrix td{min-width:8.5em}
.matrix .obs{display:block;font-weight:700}
.matrix .exp{display:block;font-size:.8em;color:var(--muted)}
.matrix td.ok.allowed{background:var(--pass-bg)}
.matrix td.ok.allowed .obs{color:var(--pass)}
.matrix td.ok.blocked{background:var(--code)}
.matrix td.bad{background:var(--fail-bg);outline:3px solid var(--fail);outline-offset:-3px}
.matrix td.bad .obs,.bad-text{color:var(--fail)}
.matrix td.bad.unknown{background:var(--skip-bg);outline-color:var(--skip)}
.matrix td.bad.unknown .obs{color:var(--skip)}
.matrix td.none{color:var(--muted)}
.matrix hr{border:0;border-top:1px solid var(--line);margin:4px 0}
.legend{font-size:.85em;color:var(--muted)}
.cell-demo{display:inline-block;padding:0 .5em;border-radius:4px;border:1px solid var(--line)}
.cell-demo.ok.allowed{background:var(--pass-bg);color:var(--pass)}
.cell-demo.ok.blocked{background:var(--code)}
.cell-demo.bad{background:var(--fail-bg);color:var(--fail);border-color:var(--fail)}
.cell-demo.unknown{background:var(--skip-bg);color:var(--skip)}
footer{margin-top:24px;color:var(--muted);font-size:.8em;text-align:center}
@media (max-width:640px){.row{grid-template-columns:1fr auto}.status{grid-column:1/-1}.time{display:none}
.message,.evidence,.hint,.probes-wrap{margin-left:0}dl{grid-template-columns:1fr}}
@media print{body{background:#fff}section,.check{break-inside:avoid}pre{max-height:none}}
`
  .trim()
  .replace(/\n/g, "");
