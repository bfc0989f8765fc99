import { expect } from "chai";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validateXML } from "xmllint-wasm";
import { renderJunit, xmlAttr, xmlText } from "../../../runner/report/junit.ts";
import { allPassed, FIXTURES, makeReport, mixed, network } from "./fixtures.ts";

const empty = makeReport({ scenario: { name: "empty", title: "No checks" }, checks: [] });

/** The Jenkins xunit-plugin JUnit schema (see test/fixtures/junit/README.md). */
const XSD = readFileSync(fileURLToPath(new URL("../../fixtures/junit/junit-10.xsd", import.meta.url)), "utf8");

async function xsdErrors(xml: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: "report.xml", contents: xml }], schema: [XSD] });
  return result.valid ? [] : result.errors.map((e) => e.message);
}

describe("report/junit", function () {
  this.timeout(20_000); // xmllint-wasm starts a worker per call

  it("validates against the JUnit XSD (junit-10.xsd) for every fixture, and for several reports in one document", async () => {
    for (const [name, report] of Object.entries(FIXTURES)) {
      expect(await xsdErrors(renderJunit(report)), name).to.deep.equal([]);
    }
    expect(await xsdErrors(renderJunit([allPassed, mixed, network]))).to.deep.equal([]);
    expect(await xsdErrors(renderJunit(empty))).to.deep.equal([]);
    expect(await xsdErrors(renderJunit([]))).to.deep.equal([]);
  });

  it("the XSD check rejects broken documents (it can fail)", async () => {
    // required attributes missing
    expect(await xsdErrors('<testsuites><testsuite tests="1"><testcase/></testsuite></testsuites>')).to.include.members([
      "Schemas validity error : Element 'testsuite': The attribute 'name' is required but missing.",
      "Schemas validity error : Element 'testcase': The attribute 'name' is required but missing.",
    ]);
    // an element JUnit does not have
    const unknown = renderJunit(mixed).replace("<system-out>", "<points>2</points><system-out>");
    expect((await xsdErrors(unknown)).join("\n")).to.match(/Element 'points': This element is not expected/);
    // a time the schema's SUREFIRE_TIME pattern refuses
    expect((await xsdErrors(renderJunit(allPassed).replace('time="8.412"', 'time="8.4129"'))).join("\n")).to.match(/time/);
    // unescaped text: not even well-formed
    const raw = renderJunit(mixed).replace("&lt;h1&gt;Welcome &amp; hello", "<h1>Welcome & hello");
    expect(await xsdErrors(raw)).not.to.deep.equal([]);
    // a control character XML 1.0 forbids
    const control = renderJunit(allPassed).replace("Every node is Ready", "Every node is \u0001Ready");
    expect(await xsdErrors(control)).not.to.deep.equal([]);
  });

  it("one testsuite per report, one testcase per check: classname = scenario, name = id: title, time in seconds", () => {
    const xml = renderJunit(mixed);
    expect(xml.match(/<testsuite /g)).to.have.length(1);
    expect(xml.match(/<testcase /g)).to.have.length(mixed.checks.length);
    expect(xml).to.include('<testsuite name="beebox-cni" tests="6" failures="2" errors="1" skipped="2" time="95.020"');
    expect(xml).to.include('<testcase classname="beebox-cni" name="nodes-ready: Every node is Ready" time="60.123">');
    expect(xml.match(/<failure /g)).to.have.length(2);
    expect(xml.match(/<error /g)).to.have.length(1);
    expect(xml.match(/<skipped /g)).to.have.length(2);
    expect(xml).to.include('<skipped message="skipped: needs nodes-ready, which failed"/>');
    expect(xml).to.include('<property name="labrun.score" value="1.5/9 (16.6%)"/>');
    const multi = renderJunit([mixed, network]);
    expect(multi.match(/<testsuite /g)).to.have.length(2);
    expect(multi).to.include('<testsuite name="netpol-frontdoor (lab frontdoor-2)"');
    expect(multi).to.match(/<testsuites name="labrun" tests="10" failures="4" errors="1" time="136.520">/);
  });

  it("a failure carries the message, the evidence (expected and observed), the hint and the points as text", () => {
    const xml = renderJunit(mixed);
    const failure = /<failure message="0 of 2 nodes are Ready" type="CheckFailed">([\s\S]*?)<\/failure>/.exec(xml)?.[1] ?? "";
    expect(failure).to.include("node beebox-control-plane\n  expected: Ready=True\n  observed: Ready=False (KubeletNotReady:");
    expect(failure).to.include("hint: `kubectl describe node` shows why a node is NotReady.");
    expect(failure).to.include("points: 0/2");
    const net = renderJunit(network);
    expect(net).to.include("FAIL web/client -&gt; api/api:8080: allowed (expected blocked)");
  });

  it("escapes markup, quotes and the control characters XML 1.0 forbids", () => {
    expect(xmlText(`a < b & c > d "q" 'a'`)).to.equal(`a &lt; b &amp; c &gt; d "q" 'a'`);
    expect(xmlAttr(`<"x" & 'y'>\n\tz`)).to.equal("&lt;&quot;x&quot; &amp; &apos;y&apos;&gt;&#10;&#9;z");
    expect(xmlText("nul\u0000 esc\u001b[31m bell\u0007 del\u007f c1\u0085 nonchar\ufffe")).to.equal(
      "nul\\u0000 esc\\u001b[31m bell\\u0007 del\\u007f c1\\u0085 nonchar\\ufffe",
    );
    expect(xmlText("lone \ud800 surrogate, pair 🚀")).to.equal("lone \\ud800 surrogate, pair 🚀");
    expect(xmlText("crlf\r\nand cr\rend")).to.equal("crlf\nand cr\nend");
    const xml = renderJunit(mixed);
    // eslint-disable-next-line no-control-regex
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(xml)).to.equal(false);
    expect(xml).not.to.include("<script>");
    expect(xml).to.include('&lt;script&gt;alert("pwned")&lt;/script&gt;]]&gt;');
  });
});
