/**
 * The OpenAPI 3.1 document of `labrun serve`, built from the route table in
 * api.ts (the schemas are JSON Schema 2020-12, which OpenAPI 3.1 takes as is).
 * Written to schemas/openapi.json by `npm run schema` and served at
 * GET /v1/openapi.json.
 */
import type { TSchema } from "@sinclair/typebox";
import { ROUTES, type ApiRoute } from "./api.ts";
import { Report } from "./report.ts";
import { VERSION } from "../version.ts";

type Json = Record<string, unknown>;

/** A plain copy of a schema; the Report becomes a reference to components.schemas.Report. */
function schemaOf(schema: TSchema): Json {
  if (schema === Report) return { $ref: "#/components/schemas/Report" };
  return JSON.parse(JSON.stringify(schema)) as Json;
}

function parameters(route: ApiRoute): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.querystring],
  ] as const) {
    if (!schema) continue;
    const required = new Set<string>((schema as { required?: string[] }).required ?? []);
    for (const [name, prop] of Object.entries((schema as unknown as { properties: Record<string, TSchema> }).properties)) {
      out.push({ name, in: where, required: where === "path" || required.has(name), schema: schemaOf(prop) });
    }
  }
  return out;
}

function operation(route: ApiRoute): Json {
  const responses: Json = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    const content: Json = {};
    if (answer.schema) content["application/json"] = { schema: schemaOf(answer.schema) };
    if (answer.contentType) content[answer.contentType] = { schema: { type: "string" } };
    for (const type of answer.otherTypes ?? []) content[type] = { schema: { type: "string" } };
    responses[status] = { description: answer.description, content };
  }
  const params = parameters(route);
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.auth === "none" ? { security: [] } : {}),
    ...(route.auth === "lab" ? { description: "The platform token or this lab's learner token." } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(route.body) } } } } : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly ApiRoute[] = ROUTES): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, "{$1}");
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  const report = schemaOf({ ...Report } as TSchema);
  delete report.$id;
  return {
    openapi: "3.1.0",
    info: {
      title: "labrun serve",
      version: VERSION,
      description: "Start, grade and delete Kubernetes troubleshooting labs over HTTP. Every route but this document needs `Authorization: Bearer <token>`.",
    },
    paths,
    components: {
      schemas: { Report: report },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The platform token (`labrun serve --token-file`), or a lab's learner token." } },
    },
    security: [{ bearer: [] }],
  };
}
