/**
 * Validated scenarios, cached between runs. Validating a scenario (YAML with
 * positions, the schema, the cross-file rules over its manifests) costs every
 * `labrun grade` about a tenth of a second of CPU for a scenario that has not
 * changed since `labrun start` validated it. The cache key is everything the
 * verdict depends on: every file under the scenario's folder (names and
 * contents) and labrun's own validation code (runner/scenario and
 * runner/schema, the duration parser, Ajv's version). Only valid scenarios are kept; any problem
 * with the cache (unreadable, unwritable, a folder too large to hash) just
 * validates again.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Scenario } from "../schema/scenario.ts";

/** A scenario folder with more than this many files or bytes is not cached (hashing it would cost what validating does). */
const MAX_FILES = 400;
const MAX_BYTES = 8 * 1024 * 1024;

let sources: string | undefined;

/** `$LABRUN_CACHE`, else `$XDG_CACHE_HOME/labrun`, else `~/.cache/labrun` (where tools/images keeps its cache too). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LABRUN_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "labrun");
}

/** The cache entry of the scenario folder `dir` (its scenario file `file`): the cached scenario, if any, and how to store one. */
export function scenarioCacheEntry(file: string, dir: string, cache = cacheDir()): { scenario?: Scenario; store(scenario: Scenario): void } {
  const none = { store: () => undefined };
  let path: string;
  try {
    const key = folderKey(file, dir);
    if (!key) return none;
    path = join(cache, "scenarios", `${key}.json`);
  } catch {
    return none;
  }
  const store = (scenario: Scenario) => {
    try {
      mkdirSync(join(cache, "scenarios"), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(scenario));
      renameSync(tmp, path);
    } catch {
      // a cache we cannot write only costs time
    }
  };
  try {
    return { scenario: JSON.parse(readFileSync(path, "utf8")) as Scenario, store };
  } catch {
    return { store };
  }
}

/** sha256 over labrun's validation code, the scenario file's path in its folder, and every file of the folder; undefined when the folder is too large. */
function folderKey(file: string, dir: string): string | undefined {
  const hash = createHash("sha256").update(validationSources()).update(`\0${relative(dir, file)}\0`);
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        hash.update(`dir\0${relative(dir, p)}\0`);
        walk(p);
      } else if (entry.isFile() || (entry.isSymbolicLink() && statSync(p).isFile())) {
        const content = readFileSync(p);
        if (++files > MAX_FILES || (bytes += content.length) > MAX_BYTES) throw new Error("too large");
        hash.update(`file\0${relative(dir, p)}\0${content.length}\0`).update(content);
      } else {
        throw new Error("not a plain folder"); // a link to a folder, a special file: not cached
      }
    }
  };
  try {
    walk(dir);
  } catch {
    return undefined;
  }
  return hash.digest("hex").slice(0, 32);
}

/** The code that judges a scenario: runner/scenario, runner/schema (from source or dist/), and Ajv's version. */
function validationSources(): string {
  if (sources) return sources;
  const hash = createHash("sha256");
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  for (const sub of ["../scenario/", "../schema/"]) {
    const d = fileURLToPath(new URL(sub, import.meta.url));
    for (const name of readdirSync(d).filter((n) => n.endsWith(ext) && !n.endsWith(".d.ts")).sort()) hash.update(`${sub}${name}\0`).update(readFileSync(join(d, name)));
  }
  hash.update(readFileSync(fileURLToPath(new URL(`../util/duration${ext}`, import.meta.url)))); // durations are validated with it
  const { version } = createRequire(import.meta.url)("ajv/package.json") as { version: string };
  sources = `${hash.digest("hex")} ajv ${version}`;
  return sources;
}
