/**
 * Finding, reading and validating scenarios.
 *
 *   validateScenarioFile(file)  → every problem at once (never throws for bad input)
 *   loadScenario(ref)           → a LoadedScenario, or a ScenarioError with every problem
 *
 * A scenario reference is a path to a scenario.yaml, a path to its folder, or
 * the name of a scenario in one of the scenario roots (see scenarioRoots).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, ScenarioError, type Problem } from "../errors.ts";
import type { Markdown, Scenario } from "../schema/scenario.ts";
import { closest } from "../util/suggest.ts";
import { LIMITS, parseYaml, readTextFile, toData } from "./read.ts";
import { scenarioCacheEntry } from "./scenario-cache.ts";
import { schemaProblems } from "./schema-errors.ts";
import { resolveInside, semanticProblems } from "./semantic.ts";

export const SCENARIO_FILE = "scenario.yaml";

export interface LoadedScenario {
  /** The validated scenario. */
  scenario: Scenario;
  /** Absolute path of scenario.yaml. */
  file: string;
  /** Absolute path of the scenario folder. */
  dir: string;
  /** metadata.name */
  name: string;
}

export interface ValidationResult {
  file: string;
  scenario?: Scenario;
  problems: Problem[];
}

/** Validates one scenario file: YAML, schema, then the cross-field rules. Never executes anything. */
export async function validateScenarioFile(file: string): Promise<ValidationResult> {
  const abs = resolve(file);
  const shown = file;
  const read = await readTextFile(abs, LIMITS.scenarioBytes);
  if (read.text === undefined) return { file: abs, problems: read.problems.map((p) => ({ ...p, file: shown })) };
  const parsed = parseYaml(shown, read.text, { multi: false });
  if (parsed.problems.length) return { file: abs, problems: parsed.problems };
  const doc = parsed.docs[0];
  if (!doc) return { file: abs, problems: [{ file: shown, line: 1, col: 1, path: "", message: "file is empty: a scenario needs apiVersion, kind, metadata and spec" }] };
  const { value, problem } = toData(shown, parsed.lineCounter, doc);
  if (problem) return { file: abs, problems: [problem] };
  const problems = [
    ...(value !== null && typeof value === "object" && !Array.isArray(value) ? schemaProblems(shown, doc, parsed.lineCounter, value) : []),
    ...(await semanticProblems({ file: shown, dir: dirname(abs), doc, lineCounter: parsed.lineCounter }, value)),
  ];
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return problems.length ? { file: abs, problems } : { file: abs, scenario: value as Scenario, problems };
}

/** Loads and validates a scenario by name, folder or file; throws ScenarioError or NotFoundError. */
export async function loadScenario(ref: string, options: { cwd?: string; roots?: string[] } = {}): Promise<LoadedScenario> {
  const file = resolveScenarioRef(ref, options);
  // A scenario validated before, unchanged since (every file of its folder), is not validated again.
  const abs = resolve(file);
  const cached = scenarioCacheEntry(abs, dirname(abs));
  if (cached.scenario) return { scenario: cached.scenario, file: abs, dir: dirname(abs), name: cached.scenario.metadata.name };
  const result = await validateScenarioFile(file);
  if (!result.scenario) throw new ScenarioError(result.problems, { hint: `run \`labrun validate ${ref}\` to see every problem` });
  cached.store(result.scenario);
  return { scenario: result.scenario, file: result.file, dir: dirname(result.file), name: result.scenario.metadata.name };
}

/**
 * Where scenarios are found: the folders in $LABRUN_SCENARIOS (a path list) if
 * set; else ./scenarios if it exists; else the scenarios shipped with labrun.
 */
export function scenarioRoots(options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string[] {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (env.LABRUN_SCENARIOS) return [...new Set(env.LABRUN_SCENARIOS.split(delimiter).filter(Boolean).map((r) => resolve(cwd, r)))];
  const local = join(cwd, "scenarios");
  if (isDir(local)) return [local];
  const bundled = [fileURLToPath(new URL("../../scenarios/", import.meta.url)), fileURLToPath(new URL("../../../scenarios/", import.meta.url))];
  return bundled.filter((r) => isDir(r) && existsSync(r)).slice(0, 1);
}

export function resolveScenarioRef(ref: string, options: { cwd?: string; roots?: string[] } = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const asPath = resolve(cwd, ref);
  if (ref.includes("/") || ref.endsWith(".yaml") || ref.endsWith(".yml") || ref === "." || ref === "..") {
    if (isDir(asPath)) {
      const file = join(asPath, SCENARIO_FILE);
      if (existsSync(file)) return file;
      throw new NotFoundError(`no ${SCENARIO_FILE} in ${ref}`, { hint: "a scenario folder holds a scenario.yaml; `labrun new <name>` creates one" });
    }
    if (existsSync(asPath)) return asPath;
    throw new NotFoundError(`scenario file not found: ${ref}`);
  }
  const roots = options.roots ?? scenarioRoots({ cwd });
  for (const root of roots) {
    const file = join(root, ref, SCENARIO_FILE);
    if (existsSync(file)) return file;
  }
  if (isDir(asPath) && existsSync(join(asPath, SCENARIO_FILE))) return join(asPath, SCENARIO_FILE);
  const names = roots.flatMap((root) => safeList(root));
  const guess = closest(ref, names);
  throw new NotFoundError(`unknown scenario "${ref}"${guess ? ` (did you mean "${guess}"?)` : ""}`, {
    hint: names.length ? "run `labrun list` to see the scenarios" : "no scenarios found; set LABRUN_SCENARIOS or run labrun where a scenarios/ folder is",
  });
}

/** Every scenario.yaml under the given roots (one level of folders), sorted by name. */
export async function findScenarioFiles(roots: string[]): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith(".") || entry.name.startsWith("_") || seen.has(entry.name)) continue;
      const file = join(root, entry.name, SCENARIO_FILE);
      if (existsSync(file)) {
        seen.add(entry.name);
        files.push(file);
      }
    }
  }
  return files;
}

/** The Markdown of a `Markdown` field (inline text or a file in the scenario folder). */
export async function readMarkdown(loaded: LoadedScenario, markdown: Markdown): Promise<string> {
  if ("text" in markdown && markdown.text !== undefined) return markdown.text;
  const file = await resolveInside(loaded.dir, markdown.file!);
  if (file.startsWith("!")) throw new ScenarioError([{ file: loaded.file, line: 1, col: 1, path: "spec.task.file", message: file.slice(1) }]);
  return readFile(file, "utf8");
}

/** The learner's task as Markdown. */
export function readTask(loaded: LoadedScenario): Promise<string> {
  return readMarkdown(loaded, loaded.scenario.spec.task);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Names of the scenario folders in a root. */
function safeList(root: string): string[] {
  try {
    return readdirSync(root).filter((n) => existsSync(join(root, n, SCENARIO_FILE)));
  } catch {
    return [];
  }
}
