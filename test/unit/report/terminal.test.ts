import { expect } from "chai";
import { renderTerminal } from "../../../runner/report/terminal.ts";
import type { Report } from "../../../runner/schema/report.ts";
import { summaryLine, textWidth, wrapLine } from "../../../runner/report/format.ts";
import { allPassed, FIXTURES, makeReport, mixed, network } from "./fixtures.ts";

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("report/terminal", () => {
  it("ends with the one-line summary: score, counts, verdict and pass mark", () => {
    const c = (id: string, status: "passed" | "failed" | "skipped", points: number, maxPoints: number) =>
      ({ id, title: id, kind: "k", status, points, maxPoints, message: status, evidence: [], attempts: 1, durationMs: 5 });
    const report = makeReport({
      scenario: { name: "s", title: "S" },
      checks: [c("a", "passed", 2, 2), c("b", "passed", 2, 2), c("c", "passed", 1, 1), c("d", "failed", 0, 2), c("e", "failed", 0, 2), c("f", "skipped", 0, 0.5), c("g", "skipped", 0, 0.5)],
    });
    const text = renderTerminal(report, { color: false, width: 80 });
    const last = text.trimEnd().split("\n").pop();
    expect(last).to.equal("score 5/10 (50%) — 3 passed, 2 failed, 2 skipped — FAIL (pass mark 100%)");
    expect(summaryLine(report)).to.equal(last);
  });

  it("counts errors in the summary only when there are some", () => {
    expect(summaryLine(mixed)).to.equal("score 1.5/9 (16.6%) — 1 passed, 2 failed, 2 skipped, 1 error — FAIL (pass mark 100%)");
    expect(summaryLine(allPassed)).to.equal("score 10/10 (100%) — 7 passed, 0 failed, 0 skipped — PASS (pass mark 100%)");
  });

  it("marks each check ✓ ✗ – ! with its points, and shows message, evidence and hint only for checks that did not pass", () => {
    const text = renderTerminal(mixed, { color: false, width: 100 });
    expect(text).to.match(/^ {2}✗ Every node is Ready {2}nodes-ready +0\/2 +1m00s$/m);
    expect(text).to.match(/^ {2}✓ A CNI configuration exists on every node {2}cni-configured +1\/1 +1\.2s$/m);
    expect(text).to.match(/^ {2}– Cluster DNS \(CoreDNS\) is running {2}coredns-running +0\/1$/m);
    expect(text).to.match(/^ {2}! testclient reaches cyberdyne-frontend over HTTP by pod IP {2}http-by-ip +0\/2 +15s$/m);
    expect(text).to.include("expected: Ready=True");
    expect(text).to.include("hint: `kubectl describe node` shows why");
    expect(text).to.include("skipped: needs nodes-ready, which failed");
    // a skipped check's hint is not shown (the failed check it needs carries the useful one)
    expect(text).not.to.include("CoreDNS pods are ordinary pods");
    // a passed check shows only its row
    expect(text).not.to.include("10-calico.conflist");
  });

  it("has no escape sequences or control characters without colour, even when the evidence has them", () => {
    for (const report of Object.values(FIXTURES)) {
      const text = renderTerminal(report, { color: false, width: 80 });
      expect(text).not.to.match(ANSI);
      expect(CONTROL.test(text), "control character in output").to.equal(false);
    }
    const text = renderTerminal(mixed, { color: false, width: 80 });
    expect(text).to.include("\\u001b[31m<html>"); // shown, not interpreted
  });

  it("colours only when told, and the coloured text is the plain text plus SGR codes", () => {
    for (const report of Object.values(FIXTURES)) {
      const plain = renderTerminal(report, { color: false, width: 90 });
      const coloured = renderTerminal(report, { color: true, width: 90 });
      expect(coloured).to.match(ANSI);
      expect(coloured.replace(ANSI, "")).to.equal(plain);
      // only SGR sequences: no cursor movement or other escapes
      expect(coloured.replace(ANSI, "")).not.to.include("\u001b");
    }
  });

  it("wraps every line to the width it is given", () => {
    for (const width of [40, 60, 80, 120]) {
      for (const report of Object.values(FIXTURES)) {
        const lines = renderTerminal(report, { color: false, width }).trimEnd().split("\n").slice(0, -1); // the summary stays one line
        for (const line of lines) expect(textWidth(line), `${JSON.stringify(line)} at width ${width}`).to.be.at.most(width);
      }
    }
  });

  it("cuts very long evidence and says where the rest is", () => {
    const text = renderTerminal(mixed, { color: false, width: 200, maxEvidenceLines: 10 });
    expect(text).to.match(/… \(\d+ more lines; see the JSON report\)/);
    expect(renderTerminal(mixed, { color: false, width: 200, maxEvidenceChars: 500 })).to.match(/… \(\d+ more characters; see the JSON report\)/);
    const full = renderTerminal(mixed, { color: false, width: 200, maxEvidenceLines: 1000, maxEvidenceChars: 100_000 });
    expect(full).to.include("event 48:");
  });

  it("lists connectivity probes of failed network checks, marking mismatches", () => {
    const text = renderTerminal(network, { color: false, width: 100 });
    expect(text).to.include("✗ web/client → api/api:8080  allowed (expected blocked)");
    expect(text).to.include("✓ other/intruder → api/api:8080  blocked (expected blocked)");
    expect(text).to.include("✗ api/api → example.com:443  unknown (expected blocked)");
  });

  it("prints a truth table as expected, observed and comparison matrices, like the netpol e2e suite", () => {
    const conn = (from: string, to: string, expected: "allowed" | "blocked", observed: "allowed" | "blocked" | "unknown") => ({ from, to, expected, observed });
    const table: Report = {
      ...network,
      checks: [
        {
          ...network.checks[0]!,
          id: "only-client",
          kind: "reachability",
          status: "failed",
          points: 0,
          message: "2 connections not as expected",
          evidence: [],
          connectivity: [
            conn("shop/client", "shop/frontend:80", "allowed", "allowed"),
            conn("shop/client", "shop/frontend:443", "blocked", "blocked"),
            conn("shop/intruder", "shop/frontend:80", "blocked", "blocked"),
            conn("shop/intruder", "shop/frontend:443", "blocked", "blocked"),
            conn("shop/(stranger)", "shop/frontend:80", "blocked", "allowed"),
            conn("shop/(stranger)", "shop/frontend:443", "blocked", "unknown"),
          ],
        },
      ],
    };
    const lines = renderTerminal(table, { color: false, width: 120 }).split("\n");
    const at = lines.findIndex((l) => l.includes("expected     observed     comparison"));
    expect(lines.slice(at, at + 6)).to.deep.equal([
      "                          expected     observed     comparison",
      "                          1 2          1 2          1 2",
      "        shop/client       . X          . X          . .",
      "        shop/intruder     X X          X X          . .",
      "        shop/(stranger)   X X          . ?          X X",
      "        (. allowed, X blocked, ? unknown; comparison: . as expected, X not) 1 = shop/frontend:80, 2 = shop/frontend:443",
    ]);
  });

  it("wrapLine breaks at spaces and inside words longer than a line", () => {
    expect(wrapLine("aaa bbb ccc", 7)).to.deep.equal(["aaa bbb", "ccc"]);
    expect(wrapLine("x".repeat(20), 8)).to.deep.equal(["xxxxxxxx", "xxxxxxxx", "xxxx"]);
    expect(wrapLine("  indented text that wraps", 14)).to.deep.equal(["  indented", "  text that", "  wraps"]);
  });
});
