import { expect } from "chai";
import { renderMarkdown } from "../../../runner/report/markdown.ts";
import { allPassed, FIXTURES, mixed, network } from "./fixtures.ts";

/** The cells of a GFM table row: split at pipes that are not escaped. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/);
}

describe("report/markdown", () => {
  it("starts with the verdict and score line", () => {
    const md = renderMarkdown(mixed);
    expect(md.split("\n")[0]).to.equal("## ❌ labrun: BeeBox: the new cluster's pods never start");
    expect(md).to.include("**score 1.5/9 (16.6%)** — 1 passed, 2 failed, 2 skipped, 1 error — **FAIL** (pass mark 100%)");
    expect(renderMarkdown(allPassed).split("\n")[0]).to.match(/^## ✅ /);
    expect(renderMarkdown(allPassed, { headingLevel: 3 }).split("\n")[0]).to.match(/^### ✅ /);
  });

  it("has one table row per check with status emoji and points, and every row has the table's number of cells (pipes escaped)", () => {
    for (const report of Object.values(FIXTURES)) {
      const lines = renderMarkdown(report).split("\n");
      const start = lines.indexOf("| | Check | Points | Time |");
      expect(start).to.be.at.least(0);
      const rows = lines.slice(start + 2, start + 2 + report.checks.length);
      for (const [i, row] of rows.entries()) {
        expect(cells(row), row).to.have.length(4);
        expect(row).to.include(`${report.checks[i]!.points}/${report.checks[i]!.maxPoints}`);
      }
    }
    expect(renderMarkdown(mixed)).to.include('| ❌ | Body contains "&lt;h1&gt;Welcome &amp; hello&lt;/h1&gt;" \\| pipes \\| and `code` <sub>`body-escaping`</sub> | 0.5/1 | 812ms |');
  });

  it("puts failures and errors in <details> with evidence in fences nothing inside can close, and the hint", () => {
    const md = renderMarkdown(mixed);
    expect(md.match(/<details open>/g)).to.have.length(3);
    expect(md.match(/<\/details>/g)).to.have.length(3);
    // the evidence contains ``` so its fence is four backticks
    expect(md).to.include("````text\nHTTP/1.1 200 OK");
    expect(md).to.include("> 💡 **hint:** `kubectl describe node` shows why");
    // skipped checks are listed with their reason, not detailed
    expect(md).to.include("- ⏭️ Cluster DNS (CoreDNS) is running (`coredns-running`): skipped: needs nodes-ready, which failed");
  });

  it("escapes HTML everywhere outside code: no raw tags from the report reach the page", () => {
    const md = renderMarkdown(mixed);
    const outsideFences = md.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, "");
    expect(outsideFences).not.to.match(/<(script|h1|title|html|body)\b/);
    expect(outsideFences).to.include("A second hint line with &lt;b&gt;HTML&lt;/b&gt;");
    expect(outsideFences).to.include("&lt;script&gt;");
    // eslint-disable-next-line no-control-regex
    expect(/[\u0000-\u0008\u000b-\u001f]/.test(md)).to.equal(false);
  });

  it("draws the connectivity matrix for network scenarios only", () => {
    const md = renderMarkdown(network);
    expect(md).to.include("### Connectivity");
    expect(md).to.include("| from \\ to | `db/postgres:5432` | `api/api:8080` | `example.com:443` |");
    expect(md).to.include("| `web/client` | ⛔ blocked | ❌ allowed (expected blocked) |  |");
    expect(renderMarkdown(mixed)).not.to.include("Connectivity");
  });

  it("cuts long evidence to stay under GitHub's comment limit", () => {
    const md = renderMarkdown(mixed, { maxEvidenceChars: 200 });
    expect(md).to.match(/… \(\d+ more characters; see the JSON report\)/);
    expect(renderMarkdown(mixed).length).to.be.below(65_536);
  });
});
