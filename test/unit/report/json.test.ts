import { expect } from "chai";
import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../../runner/errors.ts";
import { renderJson } from "../../../runner/report/json.ts";
import { REPORT_API_VERSION, REPORT_SCHEMA_ID } from "../../../runner/schema/report.ts";
import { isDateTime, parseReport, reportProblems } from "../../../runner/report/validate.ts";
import { ROOT } from "../../helpers/cli.ts";
import { FIXTURES, mixed } from "./fixtures.ts";

/** The published schema, read by a standalone JSON Schema 2020-12 validator, as a course platform would. */
function publishedValidator() {
  const schema = JSON.parse(readFileSync(join(ROOT, "schemas/report.schema.json"), "utf8")) as { $id: string; $schema: string };
  expect(schema.$id).to.equal(REPORT_SCHEMA_ID);
  expect(schema.$schema).to.equal("https://json-schema.org/draft/2020-12/schema");
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addFormat("date-time", { type: "string", validate: isDateTime });
  return ajv.compile(schema);
}

describe("report/json", () => {
  it("every rendered fixture validates against the published schemas/report.schema.json (Ajv, JSON Schema 2020-12, strict)", () => {
    const validate = publishedValidator();
    for (const [name, report] of Object.entries(FIXTURES)) {
      const doc = JSON.parse(renderJson(report)) as unknown;
      expect(validate(doc), `${name}: ${JSON.stringify(validate.errors, null, 1)}`).to.equal(true);
    }
  });

  it("the published schema rejects what is not a report (the validation can fail)", () => {
    const validate = publishedValidator();
    const doc = JSON.parse(renderJson(mixed)) as Record<string, unknown> & { checks: Record<string, unknown>[] };
    expect(validate({ ...doc, extra: 1 })).to.equal(false);
    expect(validate({ ...doc, apiVersion: "labrun.dev/v0" })).to.equal(false);
    expect(validate({ ...doc, startedAt: "yesterday" })).to.equal(false);
    expect(validate({ ...doc, checks: [{ ...doc.checks[0], status: "flaky" }] })).to.equal(false);
    const { score: _score, ...noScore } = doc;
    expect(validate(noScore)).to.equal(false);
  });

  it("is versioned, pretty, ends with a newline and round-trips", () => {
    const text = renderJson(mixed);
    expect(text.startsWith(`{\n  "apiVersion": "${REPORT_API_VERSION}",\n  "kind": "Report",`)).to.equal(true);
    expect(text.endsWith("}\n")).to.equal(true);
    expect(JSON.parse(text)).to.deep.equal(mixed);
    expect(renderJson(mixed, { pretty: false }).split("\n")).to.have.length(2);
  });

  it("orders keys as the schema declares them and leaves out fields the model does not know", () => {
    const reversed = Object.fromEntries(Object.entries(mixed).reverse());
    const checks = mixed.checks.map((c) => ({ internal: "x", ...Object.fromEntries(Object.entries(c).reverse()) }));
    const shuffled = { ...reversed, checks, debug: { secret: 1 } };
    expect(Object.keys(shuffled)[0]).to.equal("labrun");
    const text = renderJson(shuffled as unknown as typeof mixed);
    expect(text).to.equal(renderJson(mixed));
  });

  it("parseReport reads a valid report and explains an invalid one", () => {
    expect(parseReport(renderJson(mixed))).to.deep.equal(mixed);
    expect(() => parseReport("{not json", "attempt-1.json")).to.throw(UsageError, /attempt-1.json is not JSON/);
    const bad = { ...JSON.parse(renderJson(mixed)), attempt: 0, tittle: "x" };
    expect(() => parseReport(JSON.stringify(bad), "r.json")).to.throw(UsageError, /r.json is not a valid labrun report: \(document\): unknown field "tittle"; attempt: must be >= 1$/);
    const future = { ...JSON.parse(renderJson(mixed)), apiVersion: "labrun.dev/v2" };
    expect(() => parseReport(JSON.stringify(future))).to.throw(UsageError, /apiVersion "labrun.dev\/v2"; this labrun reads labrun.dev\/v1alpha1/);
    expect(reportProblems(mixed)).to.deep.equal([]);
    expect(reportProblems({ ...mixed, checks: [{ ...mixed.checks[0], points: -1 }] })).to.deep.equal(["checks[0].points: must be >= 0"]);
  });

  it("isDateTime accepts RFC 3339 date-times only", () => {
    expect(isDateTime("2026-01-05T10:00:00.000Z")).to.equal(true);
    expect(isDateTime("2026-01-05T10:00:00+02:00")).to.equal(true);
    expect(isDateTime("2026-01-05")).to.equal(false);
    expect(isDateTime("2026-13-05T10:00:00Z")).to.equal(false);
  });
});
