/**
 * The learner's lab page: one static HTML document (no lab data in it) that
 * reads the learner token from the link's fragment (`#token=...`, never sent
 * to a server or a log), then shows the lab's state and task, a grade button,
 * the HTML report of the last grade and the history of attempts, all through
 * the JSON API with that token, and a terminal (xterm.js, served by labrun
 * from its npm dependencies) on the lab's WebSocket terminal, a shell in the
 * lab's toolbox pod. The token reaches the WebSocket as a subprotocol
 * (browsers cannot set its headers), never in its URL.
 */
import { TERMINAL_PROTOCOL, TERMINAL_TOKEN_PROTOCOL_PREFIX } from "../schema/api.ts";

/** The page's Content-Security-Policy: nothing but this page's own scripts and styles (xterm.js from /v1/assets) and the API of the same origin (its WebSocket too). */
export const PAGE_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'";

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f5f6f8; }
header { background: #1d2430; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1; }
#state { padding: 2px 10px; border-radius: 10px; background: #51607a; font-size: 13px; }
#state[data-state=ready] { background: #1f7a3d; } #state[data-state=failed] { background: #a12c2c; }
main { display: grid; grid-template-columns: minmax(300px, 1fr) minmax(480px, 1.5fr); gap: 16px; padding: 16px 24px; }
main > div { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
#terminal { height: 440px; background: #101418; padding: 4px; border-radius: 4px; }
#term-state { font-size: 13px; color: #51607a; margin-left: 8px; }
#reconnect { font-size: 13px; padding: 2px 10px; margin-left: 8px; }
.note { font-size: 13px; color: #51607a; margin: 4px 0 8px; }
section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
#task code { background: #eef1f5; padding: 0 3px; border-radius: 3px; }
#task pre { background: #eef1f5; padding: 8px; overflow-x: auto; }
button { font-size: 15px; padding: 6px 18px; border: 0; border-radius: 4px; background: #2b59c3; color: #fff; cursor: pointer; }
button:disabled { background: #9aa5b8; cursor: default; }
#report { width: 100%; height: 420px; border: 1px solid #d5d9e0; border-radius: 4px; }
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
    $("state").textContent = view.state + (view.warmCluster ? " (warm start)" : ""); $("state").dataset.state = view.state;
    $("state").title = view.warmCluster ? "started on warm pool cluster " + view.warmCluster : "";
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
// The terminal: xterm.js on the lab's WebSocket; binary frames both ways, JSON text frames for control.
let term = null, fit = null, socket = null;
function b64url(s) { return btoa(unescape(encodeURIComponent(s))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""); }
function termState(text) { $("term-state").textContent = text; $("term-state").dataset.state = text; $("reconnect").hidden = text !== "disconnected"; }
function connect() {
  if (!token || (socket && socket.readyState <= 1)) return;
  if (!term) {
    term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, convertEol: false, theme: { background: "#101418" } });
    fit = new FitAddon.FitAddon(); term.loadAddon(fit); term.open($("terminal")); fit.fit();
    term.onData((d) => { if (socket && socket.readyState === 1) socket.send(new TextEncoder().encode(d)); });
    term.onResize(({ cols, rows }) => { if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "resize", cols, rows })); });
    new ResizeObserver(() => fit.fit()).observe($("terminal"));
  }
  termState("connecting");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/labs/" + lab + "/terminal?cols=" + term.cols + "&rows=" + term.rows;
  socket = new WebSocket(url, [${JSON.stringify(TERMINAL_PROTOCOL)}, ${JSON.stringify(TERMINAL_TOKEN_PROTOCOL_PREFIX)} + b64url(token)]);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => {
    if (typeof e.data !== "string") { term.write(new Uint8Array(e.data)); return; }
    const m = JSON.parse(e.data);
    if (m.type === "ready") { termState("connected"); term.focus(); }
    else if (m.type === "exit" || m.type === "error") term.write("\\r\\n[" + m.message + "]\\r\\n");
  };
  socket.onclose = () => termState("disconnected");
}
$("reconnect").addEventListener("click", connect);
(async function poll() {
  const v = await refresh();
  if (v && (v.state === "ready" || v.state === "grading") && !socket) connect();
  if (!v || v.state === "starting" || v.state === "grading") setTimeout(poll, 2000);
})();
`;

export function labPageHtml(lab: string): string {
  const id = lab.replace(/[^a-z0-9-]/g, "");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>labrun lab ${id}</title><link rel="stylesheet" href="/v1/assets/xterm.css"><style>${STYLE}</style></head>
<body data-lab="${id}">
<header><h1>labrun lab <span id="lab">${id}</span></h1><span id="state">loading</span></header>
<main>
<div>
<section><h2>Task</h2><div id="task">Loading ...</div></section>
<section><h2>Grade</h2><p><button id="grade" disabled>Grade</button> <strong id="score"></strong></p><p id="error" role="alert"></p>
<h3>Attempts</h3><table id="attempts"></table></section>
</div>
<div>
<section><h2>Terminal <span id="term-state">not connected</span><button id="reconnect" hidden>Reconnect</button></h2>
<p class="note">A shell in the lab's cluster: <code>kubectl</code> has your rights there (cluster-admin). It cannot reach the machine that runs labrun.
Network add-ons work offline: <code>labrun addon --list</code>, then e.g. <code>labrun addon flannel | kubectl apply -f -</code> (the manifests are also in <code>/labrun/addons</code>). Grade with the button.</p>
<div id="terminal"></div></section>
<section><h2>Report</h2><iframe id="report" title="report" sandbox></iframe></section>
</div>
</main>
<script src="/v1/assets/xterm.js"></script><script src="/v1/assets/addon-fit.js"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
