import { expect } from "chai";
import { esc, renderHtml } from "../../../runner/report/html.ts";
import { FIXTURES, mixed, network } from "./fixtures.ts";

describe("report/html", () => {
  it("is one self-contained page: inline CSS, no script, no external resource, a CSP that forbids them", () => {
    for (const report of Object.values(FIXTURES)) {
      const html = renderHtml(report);
      expect(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">")).to.equal(true);
      expect(html).to.include(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
      expect(html).to.match(/<style>[^<]+<\/style>/);
      expect(html).not.to.match(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import/i);
    }
  });

  it("shows the score, and a row per check with status, title, id and points", () => {
    const html = renderHtml(mixed);
    expect(html).to.include('<p class="points" id="score"><span class="label">score</span> <strong>1.5/9</strong> <span class="pct">(16.6%)</span></p>');
    expect(html).to.include('<p class="verdict">FAIL</p>');
    for (const c of mixed.checks) {
      expect(html).to.include(`<li class="check ${c.status}" id="check-${c.id}">`);
      expect(html).to.include(`<code class="id">${c.id}</code>`);
    }
    expect(html).to.include("<dt>expected</dt>");
    expect(html).to.include('<p class="hint"><b>Hint</b> <code>kubectl describe node</code> shows why');
  });

  it("escapes everything from the report", () => {
    const html = renderHtml(mixed);
    expect(html).not.to.include("<h1>Welcome");
    expect(html).not.to.include('alert("pwned")');
    expect(html).to.include("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
    expect(html).to.include("Body contains &quot;&lt;h1&gt;Welcome &amp; hello&lt;/h1&gt;&quot; | pipes | and <code>code</code>");
    expect(html).to.include("\\u001b[31m"); // shown, not a raw escape
    // eslint-disable-next-line no-control-regex
    expect(/[\u0000-\u0008\u000b-\u001f]/.test(html)).to.equal(false);
    expect(esc(`<a href="x" onclick='y'>&`)).to.equal("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;");
  });

  it("draws the connectivity matrix for network scenarios: sources × targets, mismatches highlighted", () => {
    const html = renderHtml(network);
    expect(html).to.include('<table class="matrix">');
    const header = /<thead><tr><th class="corner" scope="col">from \\ to<\/th>(.*?)<\/tr><\/thead>/.exec(html)?.[1] ?? "";
    expect(header.match(/<th scope="col">/g)).to.have.length(3);
    const body = /<table class="matrix">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? "";
    expect(body.match(/<th scope="row">/g)).to.have.length(4);
    expect(body.match(/<td class="bad"/g)).to.have.length(2);
    expect(body.match(/<td class="bad unknown"/g)).to.have.length(1);
    expect(body.match(/<td class="ok /g)).to.have.length(4);
    expect(body).to.include('<span class="obs">✗ allowed</span><span class="exp">expected blocked</span>');
    expect(renderHtml(mixed)).not.to.include('class="matrix"');
  });
});
