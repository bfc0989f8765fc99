/**
 * Small helpers over TypeBox that keep the scenario schema readable.
 *
 * The schema objects are plain JSON Schema (draft 2020-12 compatible), so the
 * same values are used for validation (Ajv), for the published JSON Schema file
 * and, through `Static`, for the TypeScript types. Nothing else describes the
 * format.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema, type TUnsafe } from "@sinclair/typebox";

/** A closed object: unknown fields are errors (a typo must never pass silently). */
export function Closed<P extends TProperties>(properties: P, options: { description: string; title?: string; examples?: unknown[] }) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** Durations such as `500ms`, `30s`, `2m`, `1m30s`, `1h`. */
export const Duration = Type.String({
  pattern: "^([0-9]+(ms|s|m|h))+$",
  description: "A duration: a number and a unit (ms, s, m, h), for example `30s`, `2m` or `1m30s`.",
  examples: ["30s", "2m", "1m30s"],
});

/** A DNS-1123 label, as Kubernetes names most objects. */
export const Dns1123Label = Type.String({
  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
  maxLength: 63,
  description: "A lower-case name: letters, digits and '-', starting and ending with a letter or digit (at most 63 characters).",
});

/** A DNS-1123 subdomain (object names such as pods may contain dots). */
export const ObjectName = Type.String({
  pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
  maxLength: 253,
  description: "A Kubernetes object name.",
});

/** A path to a file inside the scenario folder, relative to it. */
export const FilePath = Type.String({
  minLength: 1,
  maxLength: 512,
  pattern: "^[^\\u0000]+$",
  description: "A path relative to the scenario folder; it must stay inside the folder.",
});

export const Labels = Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), {
  description: "Label keys and values, as in a Kubernetes label selector's matchLabels.",
});

/** The TypeScript side of {@link ExactlyOneOf}: one key of `Ops` present, the others absent. */
export type OneKeyOf<Ops> = {
  [K in keyof Ops]: { [P in K]-?: Ops[P] } & { [P in Exclude<keyof Ops, K>]?: never };
}[keyof Ops];

/**
 * An object with some shared fields and exactly one of several operation
 * fields, in the style of chainsaw's steps (`apply`, `assert`, ...):
 *
 *     - id: frontend-http
 *       http: { ... }          # exactly one of nodesReady, http, dns, ...
 *
 * The JSON Schema lists every field under `properties` (so editors complete
 * them and unknown fields are rejected) and adds `oneOf: [{required:[op]}...]`.
 * The loader turns a failed `oneOf` into one readable message.
 */
export function ExactlyOneOf<B extends TProperties, O extends TProperties>(
  base: B,
  ops: O,
  options: { description: string; title?: string },
): TUnsafe<Static<TObject<B>> & OneKeyOf<{ [K in keyof O]: Static<O[K]> }>> {
  const required = Object.entries(base)
    .filter(([, schema]) => !isOptional(schema))
    .map(([key]) => key);
  const properties: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries({ ...base, ...ops })) properties[key] = schema;
  const schema = {
    type: "object",
    description: options.description,
    ...(options.title ? { title: options.title } : {}),
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
    oneOf: Object.keys(ops).map((op) => ({ required: [op] })),
    "x-labrun-operations": Object.keys(ops),
  };
  return Type.Unsafe(schema) as never;
}

const OptionalKind = Symbol.for("TypeBox.Optional");

function isOptional(schema: TSchema): boolean {
  return (schema as unknown as Record<symbol, unknown>)[OptionalKind] === "Optional";
}

/** One of a few fixed strings; rendered as a JSON Schema `enum` (clear errors, editor completion). */
export function Enum<const V extends readonly string[]>(values: V, options: { description: string; default?: V[number] }): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: "string", enum: [...values], ...options });
}
