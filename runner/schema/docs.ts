/**
 * Generates the field reference of docs/authoring.md from the scenario
 * schema's descriptions, so the documentation cannot drift from the format.
 * `npm run schema` rewrites the part between the markers; a unit test fails
 * when the committed file differs.
 */
import { Scenario } from "./scenario.ts";

export const START = "<!-- generated:reference:start (npm run schema) -->";
export const END = "<!-- generated:reference:end -->";

interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: string[];
  const?: string;
  pattern?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  "x-labrun-operations"?: string[];
}

const isObject = (s: JsonSchema) => s.type === "object" && s.properties !== undefined && Object.keys(s.properties).length > 0;

function typeOf(schema: JsonSchema, link: string | undefined): string {
  if (schema.const !== undefined) return `\`${schema.const}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${v}\``).join(" \\| ");
  if (schema.type === "array" && schema.items) return `list of ${typeOf(schema.items, link)}`;
  if (link) return `[object](#${link})`;
  if (schema.type === "object") return schema.patternProperties ? "map of string to string" : "mapping";
  if (schema.type === "integer") {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` ${schema.minimum}–${schema.maximum}` : "";
    return `integer${range}`;
  }
  if (schema.pattern === "^([0-9]+(ms|s|m|h))+$") return "duration";
  return schema.type ?? "any";
}

function anchor(path: string): string {
  return path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The reference: one section per object in the format, in document order. */
export function renderReference(): string {
  const sections: string[] = [];
  // each object schema is documented once, at the first path that reaches it; later uses link there
  const documented = new Map<JsonSchema, string>();
  const walk = (schema: JsonSchema, path: string) => {
    const rows: string[] = [];
    const children: [JsonSchema, string][] = [];
    const ops = schema["x-labrun-operations"] ?? [];
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      const target = prop.type === "array" && prop.items ? prop.items : prop;
      const childPath = `${path}${path ? "." : ""}${name}${prop.type === "array" ? "[]" : ""}`;
      let link: string | undefined;
      if (isObject(target)) {
        if (!documented.has(target)) {
          documented.set(target, childPath);
          children.push([target, childPath]);
        }
        link = anchor(documented.get(target)!);
      }
      const required = schema.required?.includes(name) ? "yes" : ops.includes(name) ? "one of" : "";
      const fallback = prop.default !== undefined ? ` Default: \`${JSON.stringify(prop.default)}\`.` : "";
      rows.push(`| \`${name}\` | ${typeOf(prop, link)} | ${required} | ${cell((prop.description ?? target.description ?? "") + fallback)} |`);
    }
    const title = path ? `\`${path}\`` : "The scenario file";
    sections.push(
      [
        `### ${title}`,
        "",
        `<a id="${anchor(path || "scenario")}"></a>${cell(schema.description ?? "")}`,
        ...(ops.length ? ["", `Exactly one of: ${ops.map((o) => `\`${o}\``).join(", ")}.`] : []),
        "",
        "| Field | Type | Required | Description |",
        "|---|---|---|---|",
        ...rows,
      ].join("\n"),
    );
    for (const [child, childPath] of children) walk(child, childPath);
  };
  walk(Scenario as unknown as JsonSchema, "");
  return sections.join("\n\n") + "\n";
}

/** Replaces the generated part of a document. */
export function withReference(document: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`docs/authoring.md lacks the markers ${START} ... ${END}`);
  return document.slice(0, start + START.length) + "\n\n" + renderReference() + "\n" + document.slice(end);
}
