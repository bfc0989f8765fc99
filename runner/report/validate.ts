/**
 * Validation of report documents against the report model (the same schema
 * that is published as schemas/report.schema.json): for course platforms and
 * tools that read saved reports, and for `labrun` itself when it re-reads one.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { UsageError } from "../errors.ts";
import { Report, REPORT_API_VERSION } from "../schema/report.ts";

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addFormat("date-time", { type: "string", validate: isDateTime });
    compiled = ajv.compile(Report);
  }
  return compiled;
}

/** RFC 3339 date-time, as JSON Schema's `date-time` format requires. */
export function isDateTime(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

/** The problems that make `value` not a valid report, as `path: message` lines; empty when it is valid. */
export function reportProblems(value: unknown): string[] {
  const validate = validator();
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

export function isReport(value: unknown): value is Report {
  return reportProblems(value).length === 0;
}

/**
 * Parses and validates a JSON report (e.g. a saved attempt).
 * @param source where the text came from, for messages.
 */
export function parseReport(text: string, source = "report"): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`, {
      hint: "pass a report written by `labrun grade -o json` or `--report FILE.json`",
    });
  }
  const apiVersion = (value as { apiVersion?: unknown } | null)?.apiVersion;
  if (value && typeof value === "object" && apiVersion !== REPORT_API_VERSION && (value as { kind?: unknown }).kind === "Report") {
    throw new UsageError(`${source} is a report of apiVersion ${JSON.stringify(apiVersion)}; this labrun reads ${REPORT_API_VERSION}`, {
      hint: "use the labrun version that wrote it, or grade again",
    });
  }
  const problems = reportProblems(value);
  if (problems.length) {
    const shown = problems.slice(0, 5).join("; ");
    throw new UsageError(`${source} is not a valid labrun report: ${shown}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`, {
      hint: "see schemas/report.schema.json for the format",
    });
  }
  return value as Report;
}

function describe(error: ErrorObject): string {
  const path = error.instancePath
    ? error.instancePath
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
        .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
        .join("")
    : "(document)";
  if (error.keyword === "additionalProperties") {
    return `${path}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (error.keyword === "required") {
    return `${path}: missing field "${(error.params as { missingProperty: string }).missingProperty}"`;
  }
  return `${path}: ${error.message ?? "is invalid"}`;
}
