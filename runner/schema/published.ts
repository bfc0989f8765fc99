import { readFileSync } from "node:fs";
import { Report } from "./report.ts";
import { withReference } from "./docs.ts";
import { openApiDocument } from "./openapi.ts";
import { Scenario } from "./scenario.ts";

/** A schema as it is committed under schemas/: pretty JSON with a trailing newline. */
export function renderSchema(schema: unknown): string {
  return JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...(schema as object) }, null, 2) + "\n";
}

/** Every JSON Schema labrun publishes, with the file it lives in. */
export function publishedSchemas(): { file: string; text: string }[] {
  return [
    { file: "schemas/scenario.schema.json", text: renderSchema(Scenario) },
    { file: "schemas/report.schema.json", text: renderSchema(Report) },
  ];
}

/** Every file generated from the schemas: the JSON Schemas and the field reference in docs/authoring.md. */
export function generatedFiles(root: string): { file: string; text: string }[] {
  const authoring = "docs/authoring.md";
  return [...publishedSchemas(), { file: "schemas/openapi.json", text: JSON.stringify(openApiDocument(), null, 2) + "\n" }, { file: authoring, text: withReference(readFileSync(root + authoring, "utf8")) }];
}
