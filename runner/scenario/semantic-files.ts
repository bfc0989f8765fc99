/** The semantic rules of files a scenario names: inside its folder, manifests that parse and pin their images. */
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Problem } from "../errors.ts";
import { closest } from "../util/suggest.ts";
import { LIMITS, located, nodeAt, parseYaml, readTextFile, toData } from "./read.ts";
import { dotted } from "./schema-errors.ts";
import { isObj, type Obj, type Segment } from "./semantic-shape.ts";

/**
 * Resolves a scenario-relative path, refusing anything outside the folder
 * (absolute paths, `..`, symlinks pointing out). Returns the absolute path, or
 * a message prefixed with "!".
 */
export async function resolveInside(dir: string, rel: string): Promise<string> {
  if (isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel)) return "!must be a path relative to the scenario folder, not an absolute path";
  if (rel.includes("\\")) return "!use '/' to separate folders";
  const full = resolve(dir, rel);
  const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  if (!inside(full, resolve(dir))) return `!must stay inside the scenario folder ("${rel}" points outside it)`;
  let st;
  try {
    st = await stat(full);
  } catch {
    const siblings = await listSiblings(dirname(full));
    const guess = closest(basename(rel), siblings);
    return `!file not found: ${rel}${guess ? ` (did you mean "${join(dirname(rel), guess).replace(/^\.\//, "")}"?)` : ""}`;
  }
  if (!st.isFile()) return `!is not a file: ${rel}`;
  const [realFull, realDir] = await Promise.all([realpath(full), realpath(dir)]);
  if (!inside(realFull, realDir)) return `!must stay inside the scenario folder ("${rel}" is a link to ${relative(realDir, realFull)})`;
  return full;
}

async function listSiblings(dir: string): Promise<string[]> {
  try {
    const { readdir } = await import("node:fs/promises");
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** A manifest file must be YAML of Kubernetes objects whose images are pinned. */
export async function manifestProblems(file: string): Promise<Problem[]> {
  const read = await readTextFile(file, LIMITS.fileBytes);
  if (!read.text) return read.problems;
  const parsed = parseYaml(file, read.text, { multi: true });
  if (parsed.problems.length) return parsed.problems;
  const problems: Problem[] = [];
  parsed.docs.forEach((doc, d) => {
    const { value, problem } = toData(file, parsed.lineCounter, doc);
    if (problem) return problems.push(problem);
    if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
    const at = (path: Segment[], message: string) => {
      const { node } = nodeAt(doc, path);
      problems.push(located(file, parsed.lineCounter, node?.range?.[0] ?? doc.range[0], message, `[document ${d + 1}]${path.length ? "." + dotted(path) : ""}`));
    };
    if (!isObj(value)) return at([], "a manifest document must be a Kubernetes object (a mapping)");
    for (const key of ["apiVersion", "kind"]) if (typeof value[key] !== "string") at([], `a Kubernetes object needs "${key}"`);
    if (value.kind === "List") return;
    if (!isObj(value.metadata) || (typeof value.metadata.name !== "string" && typeof value.metadata.generateName !== "string")) {
      at(["metadata"], 'a Kubernetes object needs "metadata.name"');
    }
    for (const { path, image } of imagesOf(value)) {
      if (!/[:@]/.test(image.split("/").pop() ?? "")) at(path, `image "${image}" has no tag: pin a version (e.g. ${image}:1.2.3)`);
      else if (/:latest$/.test(image)) at(path, `image "${image}" uses the tag "latest": pin a version`);
    }
  });
  return problems;
}

/** Every `image:` of a pod template, pod, or workload object, with its path. */
export function imagesOf(object: Obj): { path: Segment[]; image: string }[] {
  const found: { path: Segment[]; image: string }[] = [];
  const walk = (value: unknown, path: Segment[]) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (isObj(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (key === "image" && typeof v === "string" && /containers$/i.test(String(path[path.length - 2] ?? ""))) found.push({ path: [...path, key], image: v });
        else walk(v, [...path, key]);
      }
    }
  };
  walk(object, []);
  return found;
}
