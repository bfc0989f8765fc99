import { expect } from "chai";
import * as report from "../../../runner/report/index.ts";
import { formatFromFile, isReportFormat, renderReport, REPORT_FORMATS } from "../../../runner/report/index.ts";
import { makeReport, mixed } from "./fixtures.ts";

describe("report/index", () => {
  it("renders every format, each by its own renderer", () => {
    expect(REPORT_FORMATS).to.deep.equal(["text", "json", "junit", "markdown", "html"]);
    expect(renderReport(mixed, "text", { width: 80 })).to.equal(report.renderTerminal(mixed, { color: false, width: 80 }));
    expect(renderReport(mixed, "text")).to.equal(report.renderTerminal(mixed, { color: false, width: 100 }));
    expect(renderReport(mixed, "json")).to.equal(report.renderJson(mixed));
    expect(renderReport(mixed, "junit")).to.equal(report.renderJunit(mixed));
    expect(renderReport(mixed, "markdown")).to.equal(report.renderMarkdown(mixed));
    expect(renderReport(mixed, "html")).to.equal(report.renderHtml(mixed));
    for (const format of REPORT_FORMATS) expect(renderReport(mixed, format).length, format).to.be.above(100);
  });

  it("is pure: the same report renders the same text, and the report is not changed", () => {
    const before = structuredClone(mixed);
    for (const format of REPORT_FORMATS) expect(renderReport(mixed, format)).to.equal(renderReport(mixed, format));
    expect(mixed).to.deep.equal(before);
  });

  it("renders a report without checks in every format", () => {
    const empty = makeReport({ scenario: { name: "empty", title: "No checks" }, checks: [] });
    expect(renderReport(empty, "text")).to.include("(no checks)").and.include("score 0/0 (100%) — 0 passed, 0 failed, 0 skipped — PASS (pass mark 100%)");
    for (const format of REPORT_FORMATS) expect(renderReport(empty, format), format).to.be.a("string").and.not.equal("");
    expect(renderReport(empty, "junit")).to.include('tests="0"');
  });

  it("formatFromFile picks the format by extension", () => {
    const cases: [string, string | undefined][] = [
      ["report.json", "json"],
      ["out/junit.xml", "junit"],
      ["results.JUNIT.XML", "junit"],
      ["summary.md", "markdown"],
      ["README.markdown", "markdown"],
      ["/tmp/report.html", "html"],
      ["r.htm", "html"],
      ["report.txt", "text"],
      ["report.pdf", undefined],
      ["report", undefined],
      [".json", undefined],
      ["dir.json/report", undefined],
    ];
    for (const [file, format] of cases) expect(formatFromFile(file), file).to.equal(format);
  });

  it("isReportFormat", () => {
    expect(isReportFormat("junit")).to.equal(true);
    expect(isReportFormat("xml")).to.equal(false);
  });
});
