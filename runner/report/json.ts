/**
 * The JSON report: the `Report` as a versioned document (`apiVersion`,
 * `kind: Report`) that validates against the published
 * schemas/report.schema.json. Keys follow the schema's order, so two reports
 * diff cleanly; fields the model does not know are left out (the schema is
 * closed: `additionalProperties: false`).
 */
import type { TSchema } from "@sinclair/typebox";
import { Report } from "../schema/report.ts";

export interface JsonOptions {
  /** Indent with two spaces (default true); false writes one line. */
  pretty?: boolean;
}

export function renderJson(report: Report, options: JsonOptions = {}): string {
  const ordered = orderBySchema(report, Report);
  return JSON.stringify(ordered, null, options.pretty === false ? undefined : 2) + "\n";
}

/** Rebuilds `value` with object keys in the order the schema declares them, dropping undeclared keys of closed objects. */
function orderBySchema(value: unknown, schema: TSchema): unknown {
  if (Array.isArray(value)) {
    const items = (schema as { items?: TSchema }).items;
    return items ? value.map((v) => orderBySchema(v, items)) : value;
  }
  if (value === null || typeof value !== "object") return value;
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!properties) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(properties)) {
    if (source[key] !== undefined) out[key] = orderBySchema(source[key], sub);
  }
  if ((schema as { additionalProperties?: unknown }).additionalProperties !== false) {
    for (const [key, v] of Object.entries(source)) if (!(key in out) && v !== undefined) out[key] = v;
  }
  return out;
}
