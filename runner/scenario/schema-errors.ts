/**
 * JSON Schema validation of scenario data with Ajv, and the translation of
 * Ajv's errors into located, readable problems:
 *
 *   scenario.yaml:14:5  spec.checks[0].tittle  unknown field "tittle" (did you mean "title"?)
 */
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from "ajv";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Script } from "node:vm";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Document } from "yaml";
import type { LineCounter } from "yaml";
import type { Problem } from "../errors.ts";
import { closest } from "../util/suggest.ts";
import { located, nodeAt } from "./read.ts";
import { cacheDir } from "./scenario-cache.ts";

const require = createRequire(import.meta.url);
const AJV_OPTIONS = { allErrors: true, strict: false, verbose: true, allowUnionTypes: true } as const;

let compiled: { validate: ValidateFunction; used?: () => void } | undefined;

/**
 * The scenario schema's validator. Compiling it takes Ajv a good part of a
 * grade's start-up, so the compiled code is kept (Ajv's standalone code) in
 * labrun's cache, keyed by the schema, Ajv's version and options: a changed
 * schema compiles again, and any problem with the cache just compiles. V8's
 * code for it is kept beside it (parsing 650 KB of JavaScript and compiling
 * what the first validation runs took longer than the validation itself).
 */
function validator(): { validate: ValidateFunction; used?: () => void } {
  compiled ??= scenarioValidator(cacheDir());
  return compiled;
}

/**
 * The validator, from `dir`'s cache when it holds one for this schema (`cached`), else compiled and stored there.
 * `used`: call it after the first validation; it stores V8's code cache for the next process (best effort).
 */
export function scenarioValidator(dir: string): { validate: ValidateFunction; cached: boolean; file: string; used?: () => void } {
  const { version } = require("ajv/package.json") as { version: string };
  const key = createHash("sha256").update(JSON.stringify({ schema: schemaSourcesKey(), options: AJV_OPTIONS, ajv: version })).digest("hex").slice(0, 20);
  const file = join(dir, "validators", `scenario-${key}.cjs`);
  try {
    return { ...loadStandalone(readFileSync(file, "utf8"), file), cached: true, file };
  } catch {
    // not cached yet (or unreadable): compile
  }
  const { Ajv } = require("ajv") as { Ajv: typeof AjvClass };
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  // Only now the schema itself: building it loads TypeBox, which a cached validator spares a grade's start-up.
  const { Scenario } = require(fileURLToPath(new URL(`../schema/scenario${SOURCE_EXT}`, import.meta.url))) as typeof import("../schema/scenario.ts");
  const validate = ajv.compile(Scenario);
  try {
    const standaloneCode = require("ajv/dist/standalone/index.js") as (ajv: AjvClass, validate: ValidateFunction) => string;
    mkdirSync(join(dir, "validators"), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, standaloneCode(ajv, validate));
    renameSync(tmp, file);
  } catch {
    // a cache we cannot write only costs time
  }
  return { validate, cached: false, file };
}

/** `.ts` when labrun runs from source, `.js` when compiled (dist/). */
const SOURCE_EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/**
 * What the scenario schema is made of: every module of runner/schema (the
 * TypeBox builders; the same sources build the same schema) and TypeBox's
 * version, without building it.
 */
function schemaSourcesKey(): string {
  const dir = fileURLToPath(new URL("../schema/", import.meta.url));
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).filter((n) => n.endsWith(SOURCE_EXT) && !n.endsWith(".d.ts")).sort()) hash.update(`${name}\0`).update(readFileSync(join(dir, name)));
  return `${hash.digest("hex")} typebox ${typeboxVersion()}`;
}

/** TypeBox's version, from its package.json (found above its entry point: the package exports no package.json). */
function typeboxVersion(): string {
  try {
    let dir = dirname(require.resolve("@sinclair/typebox"));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
        if (pkg.name === "@sinclair/typebox" && pkg.version) return pkg.version;
      } catch {
        // not here: one level up
      }
    }
  } catch {
    // unresolvable: the sources alone make the key
  }
  return "unknown";
}

function loadStandalone(code: string, file: string): { validate: ValidateFunction; used?: () => void } {
  // V8's code cache for this file on this Node (a cache from another V8 is rejected by V8 itself, then rewritten).
  const codeCache = `${file}.${process.version}-${process.arch}.v8`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(codeCache);
  } catch {
    // none yet
  }
  const script = new Script(`(function (module, exports, require) {${code}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module: { exports: Record<string, unknown> } = { exports: {} };
  (script.runInThisContext() as (m: typeof module, e: typeof module.exports, r: NodeJS.Require) => void)(module, module.exports, require);
  const fn = (module.exports.default ?? module.exports) as unknown;
  if (typeof fn !== "function") throw new Error("not a validator");
  const stale = !cachedData || script.cachedDataRejected === true;
  const used = () => {
    try {
      const tmp = `${codeCache}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData()); // after a validation: it holds the functions that one compiled
      renameSync(tmp, codeCache);
    } catch {
      // a cache we cannot write only costs time
    }
  };
  return { validate: fn as ValidateFunction, ...(stale ? { used } : {}) };
}

/** Friendly names for the patterns the schema uses. */
const PATTERN_MESSAGES: Record<string, string> = {
  "^([0-9]+(ms|s|m|h))+$": "must be a duration: a number and a unit (ms, s, m, h), for example 30s, 2m or 1m30s",
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "must be a lower-case name: letters, digits and '-', starting and ending with a letter or digit",
  "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$": "must be a Kubernetes object name: lower-case letters, digits, '-' and '.'",
  "^v[0-9]+\\.[0-9]+\\.[0-9]+$": "must be a Kubernetes version such as v1.34.12",
  "^[0-9.]+/[0-9]{1,2}$": "must be an IPv4 CIDR such as 192.168.0.0/16",
  "^[^\\s]+:[^\\s:/]+$": "must be an image reference with an explicit tag, such as docker.io/library/nginx:1.22.1",
  "^/": "must start with '/'",
};

type Segment = string | number;

function pointerToPath(pointer: string): Segment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function dotted(path: Segment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping (key: value)",
  array: "a list",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
};

function valueAt(data: unknown, path: Segment[]): unknown {
  let v: unknown = data;
  for (const s of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[s as string];
  }
  return v;
}

/** Validates scenario data against the schema; problems are located in the YAML document. */
export function schemaProblems(file: string, doc: Document.Parsed, lineCounter: LineCounter, data: unknown): Problem[] {
  const { validate, used } = validator();
  const valid = validate(data);
  if (used && compiled?.used === used) {
    delete compiled.used;
    used();
  }
  if (valid) return [];
  const errors = validate.errors ?? [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  // paths where an unknown field was reported: a missing operation there is most likely that typo
  const unknownAt = new Set(errors.filter((e) => e.keyword === "additionalProperties").map((e) => e.instancePath));

  const push = (path: Segment[], message: string, useKey = false) => {
    const { node, keyNode } = nodeAt(doc, path);
    const target = (useKey ? keyNode : undefined) ?? node;
    const offset = target?.range?.[0] ?? 0;
    const problem = located(file, lineCounter, offset, message, dotted(path));
    const id = `${problem.path}|${problem.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  };

  for (const error of errors) {
    if (error.schemaPath.includes("/oneOf/")) continue; // the branches of ExactlyOneOf: summarized by the oneOf error
    const path = pointerToPath(error.instancePath);
    const message = translate(error, data, path, unknownAt);
    if (message === undefined) continue;
    if (error.keyword === "additionalProperties") {
      push([...path, (error.params as { additionalProperty: string }).additionalProperty], message, true);
    } else if (error.keyword === "required") {
      push([...path, (error.params as { missingProperty: string }).missingProperty], message);
    } else {
      push(path, message);
    }
  }
  return problems;
}

function translate(error: ErrorObject, data: unknown, path: Segment[], unknownAt: Set<string>): string | undefined {
  const value = valueAt(data, path);
  const schema = error.parentSchema as Record<string, unknown> | undefined;
  switch (error.keyword) {
    case "additionalProperties": {
      const field = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((schema?.properties as object | undefined) ?? {});
      const guess = closest(field, known);
      const hint = guess ? ` (did you mean "${guess}"?)` : known.length ? ` (known fields: ${known.join(", ")})` : "";
      return `unknown field "${field}"${hint}`;
    }
    case "required":
      return "required field is missing";
    case "type": {
      const wanted = String((error.params as { type: string }).type)
        .split(",")
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(" or ");
      return `must be ${wanted} (found ${describeType(value)})`;
    }
    case "enum": {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const guess = typeof value === "string" ? closest(value, allowed) : undefined;
      return `must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (found ${describeType(value)})${guess ? `; did you mean "${guess}"?` : ""}`;
    }
    case "const":
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)} (found ${describeType(value)})`;
    case "pattern": {
      const pattern = (error.params as { pattern: string }).pattern;
      return `${PATTERN_MESSAGES[pattern] ?? `must match the pattern ${pattern}`} (found ${describeType(value)})`;
    }
    case "minLength":
      return (error.params as { limit: number }).limit === 1 ? "must not be empty" : `must be at least ${(error.params as { limit: number }).limit} characters long`;
    case "maxLength":
      return `must be at most ${(error.params as { limit: number }).limit} characters long`;
    case "minItems":
      return `must have at least ${(error.params as { limit: number }).limit} item${(error.params as { limit: number }).limit === 1 ? "" : "s"}`;
    case "maxItems":
      return `must have at most ${(error.params as { limit: number }).limit} items`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `must be ${(error.params as { comparison: string }).comparison} ${(error.params as { limit: number }).limit} (found ${describeType(value)})`;
    case "uniqueItems": {
      const { i, j } = error.params as { i: number; j: number };
      return `has duplicate items (items ${j} and ${i} are equal)`;
    }
    case "oneOf": {
      const ops = (schema?.["x-labrun-operations"] as string[] | undefined) ?? [];
      const present = value && typeof value === "object" ? ops.filter((op) => op in (value as object)) : [];
      if (present.length === 0) {
        if (unknownAt.has(error.instancePath)) return undefined; // the unknown field message already says what is wrong
        return `needs exactly one of ${ops.map((o) => `"${o}"`).join(", ")} (found none)`;
      }
      if (present.length > 1) return `has ${present.map((o) => `"${o}"`).join(" and ")}: give exactly one of ${ops.map((o) => `"${o}"`).join(", ")}`;
      return undefined; // the branch's own errors are reported at their fields
    }
    case "if":
    case "anyOf":
      return undefined;
    default:
      return error.message ?? `is invalid (${error.keyword})`;
  }
}
