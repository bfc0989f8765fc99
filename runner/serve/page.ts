/**
 * The learner's lab page: one static HTML document (no lab data in it) that
 * reads the learner token from the link's fragment (`#token=...`, never sent
 * to a server or a log), then shows the lab's state and task, a grade button,
 * the HTML report of the last grade and the history of attempts, all through
 * the JSON API with that token.
 */

/** The page's Content-Security-Policy: nothing but this page's own script and style and the API of the same origin. */
export const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'";

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f5f6f8; }
header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; }
#state { padding: 2px 10px; border-radius: 10px; background: #51607a; font-size: 13px; }
#state[data-state=ready] { background: #1f7a3d; } #state[data-state=failed] { background: #a12c2c; }
main { display: grid; grid-template-columns: minmax(300px, 1fr) minmax(400px, 1.4fr); gap: 16px; padding: 16px 24px; }
section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
#task code { background: #eef1f5; padding: 0 3px; border-radius: 3px; }
#task pre { background: #eef1f5; padding: 8px; overflow-x: auto; }
button { font-size: 15px; padding: 6px 18px; border: 0; border-radius: 4px; background: #2b59c3; color: #fff; cursor: pointer; }
button:disabled { background: #9aa5b8; cursor: default; }
#report { width: 100%; height: 560px; border: 1px solid #d5d9e0; border-radius: 4px; }
#error { color: #a12c2c; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
`;

// Runs in the browser. Markdown: headings, fenced code, inline code, bold, list items; everything escaped first.
const SCRIPT = `
const lab = document.body.dataset.lab;
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const $ = (id) => document.getElementById(id);
const esc = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
function inline(s) { return esc(s).replace(/\`([^\`]+)\`/g, "<code>$1</code>").replace(/\\*\\*([^*]+)\\*\\*/g, "<strong>$1</strong>"); }
function markdown(md) {
  const out = []; let code = null; let para = []; let list = false;
  const flush = () => { if (para.length) out.push("<p>" + para.map(inline).join(" ") + "</p>"); para = []; if (list) out.push("</ul>"); list = false; };
  for (const line of md.split("\\n")) {
    if (line.startsWith("\`\`\`")) { if (code) { out.push("<pre><code>" + esc(code.join("\\n")) + "</code></pre>"); code = null; } else { flush(); code = []; } continue; }
    if (code) { code.push(line); continue; }
    const h = /^(#{1,4})\\s+(.*)$/.exec(line);
    if (h) { flush(); out.push("<h" + (h[1].length + 1) + ">" + inline(h[2]) + "</h" + (h[1].length + 1) + ">"); continue; }
    const li = /^\\s*[-*]\\s+(.*)$/.exec(line);
    if (li) { if (!list) { flush(); out.push("<ul>"); list = true; } out.push("<li>" + inline(li[1]) + "</li>"); continue; }
    if (!line.trim()) flush();
    else { if (list) { out.push("</ul>"); list = false; } para.push(line); }
  }
  flush();
  return out.join("\\n");
}
async function api(path, init = {}) {
  const res = await fetch("/v1/labs/" + lab + path, { ...init, headers: { authorization: "Bearer " + token } });
  const type = res.headers.get("content-type") || "";
  const body = type.startsWith("application/json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body && body.error ? body.error.code + ": " + body.error.message : "HTTP " + res.status);
  return body;
}
function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }
async function refresh() {
  try {
    const view = await api("");
    showError(null);
    $("state").textContent = view.state; $("state").dataset.state = view.state;
    if (view.task !== undefined && !$("task").dataset.shown) { $("task").innerHTML = markdown(view.task); $("task").dataset.shown = "1"; }
    if (view.state === "starting") { const s = view.progress.at(-1); $("task").textContent = "Starting the lab" + (s ? ": " + s.name : "") + " ..."; }
    if (view.state === "failed" && view.error) showError(new Error(view.error.code + ": " + view.error.message));
    $("grade").disabled = view.state !== "ready";
    const { attempts } = await api("/attempts");
    $("attempts").innerHTML = attempts.map((a) => "<tr><td>#" + a.attempt + "</td><td>" + a.points + "/" + a.maxPoints + "</td><td>" + (a.passed ? "passed" : "not yet") + "</td><td>" + esc(new Date(a.at).toLocaleTimeString()) + "</td></tr>").join("");
    return view;
  } catch (e) { showError(e); return undefined; }
}
async function grade() {
  $("grade").disabled = true; $("grade").textContent = "Grading ...";
  try {
    const report = await api("/grade", { method: "POST" });
    $("score").textContent = report.score.points + "/" + report.score.maxPoints + (report.score.passed ? " passed" : " not yet");
    $("report").srcdoc = await api("/attempts/" + report.attempt + "/report?format=html");
  } catch (e) { showError(e); }
  $("grade").textContent = "Grade";
  await refresh();
}
$("grade").addEventListener("click", grade);
(async function poll() { const v = await refresh(); if (!v || v.state === "starting" || v.state === "grading") setTimeout(poll, 2000); })();
`;

export function labPageHtml(lab: string): string {
  const id = lab.replace(/[^a-z0-9-]/g, "");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>labrun lab ${id}</title><style>${STYLE}</style></head>
<body data-lab="${id}">
<header><h1>labrun lab <span id="lab">${id}</span></h1><span id="state">loading</span></header>
<main>
<section><h2>Task</h2><div id="task">Loading ...</div></section>
<section><h2>Grade</h2><p><button id="grade" disabled>Grade</button> <strong id="score"></strong></p><p id="error" role="alert"></p>
<iframe id="report" title="report" sandbox></iframe>
<h3>Attempts</h3><table id="attempts"></table></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
