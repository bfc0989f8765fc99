/**
 * Rules the JSON Schema cannot express: cross references between checks, file
 * references that must stay inside the scenario folder, manifests that must
 * parse and pin their images, subnets that must be valid. Defensive about the
 * data's shape: it runs even when the schema found problems, so one run of
 * `labrun validate` reports everything at once.
 *
 * Nothing here executes anything from the scenario.
 */
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Document, LineCounter } from "yaml";
import type { Problem } from "../errors.ts";
import { closest } from "../util/suggest.ts";
import { parseDuration } from "../util/duration.ts";
import { LIMITS, located, nodeAt, parseYaml, readTextFile, toData } from "./read.ts";
import { dotted } from "./schema-errors.ts";

type Segment = string | number;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export interface SemanticContext {
  file: string;
  dir: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export async function semanticProblems(ctx: SemanticContext, data: unknown): Promise<Problem[]> {
  const problems: Problem[] = [];
  const at = (path: Segment[], message: string, useKey = false) => {
    const { node, keyNode } = nodeAt(ctx.doc, path);
    const target = (useKey ? keyNode : undefined) ?? node;
    problems.push(located(ctx.file, ctx.lineCounter, target?.range?.[0] ?? 0, message, dotted(path)));
  };
  if (!isObj(data)) {
    if (data === null || data === undefined) at([], "file is empty: a scenario needs apiVersion, kind, metadata and spec");
    else at([], `a scenario must be a mapping (key: value), found ${Array.isArray(data) ? "a list" : typeof data}`);
    return problems;
  }
  const metadata = isObj(data.metadata) ? data.metadata : {};
  const spec = isObj(data.spec) ? data.spec : {};

  // metadata.name must be the folder's name
  const name = str(metadata.name);
  const folder = basename(ctx.dir);
  if (name && basename(ctx.file) === "scenario.yaml" && name !== folder) {
    at(["metadata", "name"], `must equal the scenario's folder name "${folder}" (found "${name}")`);
  }

  // cluster
  const cluster = isObj(spec.cluster) ? spec.cluster : {};
  const nodes = arr(cluster.nodes);
  if (nodes.length && !nodes.some((n) => isObj(n) && n.role === "control-plane")) {
    at(["spec", "cluster", "nodes"], 'needs at least one node with role "control-plane"');
  }
  const networking = isObj(cluster.networking) ? cluster.networking : {};
  const cidrs: { key: string; cidr: Cidr }[] = [];
  for (const key of ["podSubnet", "serviceSubnet"]) {
    const value = str(networking[key]);
    if (value === undefined) continue;
    const cidr = parseCidr(value);
    if (typeof cidr === "string") at(["spec", "cluster", "networking", key], cidr);
    else cidrs.push({ key, cidr });
  }
  if (cidrs.length === 2 && overlaps(cidrs[0]!.cidr, cidrs[1]!.cidr)) {
    at(["spec", "cluster", "networking", "serviceSubnet"], "overlaps the pod subnet: pods and services need separate ranges");
  }
  if (isObj(cluster.kind)) {
    for (const key of ["nodes", "networking"]) {
      if (key in cluster.kind) at(["spec", "cluster", "kind", key], `set ${key} with spec.cluster.${key}, not the kind pass-through`, true);
    }
    for (const key of ["kind", "apiVersion", "name"]) {
      if (key in cluster.kind) at(["spec", "cluster", "kind", key], `labrun sets ${key} itself; remove it`, true);
    }
  }

  // images
  arr(spec.images).forEach((image, i) => {
    if (typeof image === "string" && /:latest$/.test(image)) at(["spec", "images", i], 'pin a version: the tag "latest" changes under the lab');
  });

  // checks: ids, needs, durations, references
  const checks = arr(spec.checks);
  const ids = new Map<string, number>();
  checks.forEach((check, i) => {
    if (!isObj(check)) return;
    const id = str(check.id);
    if (id === undefined) return;
    if (ids.has(id)) at(["spec", "checks", i, "id"], `duplicate check id "${id}" (also used by spec.checks[${ids.get(id)}])`);
    else ids.set(id, i);
  });
  const knownIds = [...ids.keys()];
  const refCheck = (path: Segment[], ref: unknown) => {
    if (typeof ref !== "string" || ids.has(ref)) return;
    const guess = closest(ref, knownIds);
    at(path, `no check has the id "${ref}"${guess ? ` (did you mean "${guess}"?)` : ""}`);
  };
  checks.forEach((check, i) => {
    if (!isObj(check)) return;
    arr(check.needs).forEach((need, j) => {
      if (need === check.id) at(["spec", "checks", i, "needs", j], "a check cannot need itself");
      else refCheck(["spec", "checks", i, "needs", j], need);
    });
    for (const key of ["timeout", "interval", "consistently"]) durationRule(at, ["spec", "checks", i, key], check[key]);
    const op = CHECK_RULES.find((rule) => rule.key in check);
    op?.check(at, ["spec", "checks", i, op.key], check[op.key], spec);
  });
  const cycle = findCycle(checks);
  if (cycle) at(["spec", "checks", cycle.index, "needs"], `checks need each other in a cycle: ${cycle.ids.join(" → ")}`);

  // broken state, grading, shortcuts
  const broken = isObj(spec.broken) ? spec.broken : {};
  arr(broken.failing).forEach((ref, j) => refCheck(["spec", "broken", "failing", j], ref));
  const shortcutNames = new Set<string>();
  arr(spec.shortcuts).forEach((shortcut, i) => {
    if (!isObj(shortcut)) return;
    const sname = str(shortcut.name);
    if (sname && shortcutNames.has(sname)) at(["spec", "shortcuts", i, "name"], `duplicate shortcut name "${sname}"`);
    if (sname) shortcutNames.add(sname);
    arr(shortcut.mustFail).forEach((ref, j) => refCheck(["spec", "shortcuts", i, "mustFail", j], ref));
  });

  // steps
  const stepLists: [Segment[], unknown][] = [
    [["spec", "setup"], spec.setup],
    [["spec", "break"], spec.break],
    [["spec", "solution", "steps"], isObj(spec.solution) ? spec.solution.steps : undefined],
    ...arr(spec.shortcuts).map((s, i): [Segment[], unknown] => [["spec", "shortcuts", i, "steps"], isObj(s) ? s.steps : undefined]),
  ];
  const files: { path: Segment[]; rel: string; kind: "manifest" | "markdown" | "script" }[] = [];
  for (const [base, steps] of stepLists) {
    arr(steps).forEach((step, i) => {
      if (!isObj(step)) return;
      durationRule(at, [...base, i, "timeout"], step.timeout);
      if (isObj(step.apply) && typeof step.apply.file === "string") files.push({ path: [...base, i, "apply", "file"], rel: step.apply.file, kind: "manifest" });
      if (isObj(step.wait)) {
        const w = step.wait;
        if (w.name !== undefined && w.selector !== undefined) at([...base, i, "wait"], 'give "name" or "selector", not both');
        if (w.condition === undefined && w.phase === undefined && w.exists === undefined) {
          at([...base, i, "wait"], 'says what to wait for: add "condition", "phase" or "exists"');
        }
      }
    });
  }
  for (const [path, md] of [
    [["spec", "task"], spec.task],
    [["spec", "solution", "description"], isObj(spec.solution) ? spec.solution.description : undefined],
  ] as [Segment[], unknown][]) {
    if (isObj(md) && typeof md.file === "string") files.push({ path: [...path, "file"], rel: md.file, kind: "markdown" });
  }
  checks.forEach((check, i) => {
    if (isObj(check) && isObj(check.script) && typeof check.script.file === "string") {
      files.push({ path: ["spec", "checks", i, "script", "file"], rel: check.script.file, kind: "script" });
    }
  });
  for (const ref of files) {
    const resolved = await resolveInside(ctx.dir, ref.rel);
    if (typeof resolved === "string" && resolved.startsWith("!")) {
      at(ref.path, resolved.slice(1));
      continue;
    }
    if (ref.kind === "script" && !/\.(m?ts|mjs|js)$/.test(ref.rel)) at(ref.path, "a script check must be a .ts, .mts, .mjs or .js module");
    if (ref.kind === "markdown") {
      const read = await readTextFile(resolved, LIMITS.fileBytes);
      problems.push(...read.problems);
    }
    if (ref.kind === "manifest") problems.push(...(await manifestProblems(resolved)));
  }
  return problems;
}

type At = (path: Segment[], message: string, useKey?: boolean) => void;

function durationRule(at: At, path: Segment[], value: unknown) {
  if (typeof value !== "string") return;
  try {
    const ms = parseDuration(value);
    if (ms > 3_600_000) at(path, `is longer than an hour (${value}): a lab step or check should not wait that long`);
    if (ms === 0) at(path, "must be longer than zero");
  } catch {
    // the schema's pattern already reported it
  }
}

function podRefRule(at: At, path: Segment[], ref: unknown) {
  if (!isObj(ref)) return;
  if (ref.pod === undefined && ref.selector === undefined) at(path, 'needs "pod" (a name) or "selector" (labels)');
  if (ref.pod !== undefined && ref.selector !== undefined) at(path, 'give "pod" or "selector", not both');
}

function targetRule(at: At, path: Segment[], target: unknown) {
  if (!isObj(target)) return;
  if (target.host !== undefined && target.via !== undefined) at([...path, "via"], '"via" applies to pod and service targets, not "host"', true);
  if (target.host !== undefined && target.namespace !== undefined) at([...path, "namespace"], '"namespace" applies to pod and service targets, not "host"', true);
}

const CHECK_RULES: { key: string; check: (at: At, path: Segment[], value: unknown, spec: Obj) => void }[] = [
  { key: "http", check: (at, p, v) => isObj(v) && (podRefRule(at, [...p, "from"], v.from), targetRule(at, [...p, "to"], v.to)) },
  { key: "dns", check: (at, p, v) => isObj(v) && podRefRule(at, [...p, "from"], v.from) },
  {
    key: "blocked",
    check: (at, p, v) => {
      if (!isObj(v)) return;
      podRefRule(at, [...p, "from"], v.from);
      targetRule(at, [...p, "to"], v.to);
      targetRule(at, [...p, "control"], v.control);
      if (v.allowedFrom === undefined) {
        at(
          p,
          'needs "allowedFrom": a pod that the policy allows to reach the same target and port (the positive control, for example `allowedFrom: { pod: client, namespace: shop }`). Without it a target that is down or not listening looks exactly like a blocked one, and the check would pass on a broken lab',
        );
      } else podRefRule(at, [...p, "allowedFrom"], v.allowedFrom);
    },
  },
  { key: "reachability", check: reachabilityRule },
  {
    key: "command",
    check: (at, p, v) => {
      if (!isObj(v)) return;
      if ((v.in === undefined) === (v.on === undefined)) at(p, 'give exactly one of "in" (a pod) or "on" (nodes)');
      if (v.in !== undefined) podRefRule(at, [...p, "in"], v.in);
      if (isObj(v.expect) && typeof v.expect.stdoutMatches === "string") {
        try {
          new RegExp(v.expect.stdoutMatches);
        } catch (error) {
          at([...p, "expect", "stdoutMatches"], `is not a valid regular expression: ${(error as Error).message}`);
        }
      }
    },
  },
  {
    key: "podNetwork",
    check: (at, p, v, spec) => {
      if (!isObj(v) || typeof v.minNodes !== "number") return;
      const nodes = arr(isObj(spec.cluster) ? spec.cluster.nodes : undefined).length;
      if (nodes && v.minNodes > nodes) at([...p, "minNodes"], `the cluster has ${nodes} node${nodes === 1 ? "" : "s"} (spec.cluster.nodes): this check could never pass`);
    },
  },
  { key: "podsReady", check: (at, p, v) => isObj(v) && v.names !== undefined && v.selector !== undefined && at(p, 'give "names" or "selector", not both') },
  { key: "object", check: (at, p, v) => isObj(v) && v.absent === true && v.match !== undefined && at(p, '"absent: true" and "match" contradict each other') },
];

const REACH = new Set(["allowed", "blocked"]);

/**
 * A truth table's names must resolve, and every column with a "blocked" cell
 * needs a source expected to reach it: labrun only believes "blocked" when some
 * source reached the same target and port in the same run.
 */
function reachabilityRule(at: At, p: Segment[], v: unknown) {
  if (!isObj(v)) return;
  const sourceNames: string[] = [];
  arr(v.sources).forEach((s, i) => {
    if (!isObj(s)) return;
    const path = [...p, "sources", i];
    if (s.stranger === "otherNamespace" && s.namespace !== undefined) at([...path, "namespace"], 'a stranger from another namespace gets a fresh namespace of its own: remove "namespace"', true);
    const name = str(s.name) ?? str(s.pod) ?? (s.stranger === "sameNamespace" ? "stranger" : s.stranger === "otherNamespace" ? "stranger-other-namespace" : undefined);
    if (name === undefined) {
      if (s.selector !== undefined || s.labels !== undefined) at(path, `give this source a "name" (for example name: ${s.labels !== undefined ? "labelled" : "selected"}-${i + 1}): expect.cells refers to rows by name`);
      return;
    }
    if (sourceNames.includes(name)) at(path, `two sources are named "${name}": give one a different "name"`);
    sourceNames.push(name);
  });
  const targetPorts = new Map<string, number[]>();
  arr(v.targets).forEach((t, i) => {
    if (!isObj(t)) return;
    const path = [...p, "targets", i];
    const name = str(t.name) ?? str(t.pod) ?? str(t.service);
    if (name === undefined) {
      if (t.selector !== undefined) at(path, 'give this target a "name": expect.cells refers to columns by name');
      return;
    }
    if (targetPorts.has(name)) at(path, `two targets are named "${name}": give one a different "name"`);
    const ports = arr(t.ports).filter((x): x is number => typeof x === "number");
    targetPorts.set(name, ports.length ? ports : [80]);
  });
  const expect = isObj(v.expect) ? v.expect : {};
  const rules: { from?: string; to?: string; port?: number; is: string }[] = [];
  let unresolved = false;
  arr(expect.cells).forEach((c, i) => {
    if (!isObj(c)) return;
    const path = [...p, "expect", "cells", i];
    const from = str(c.from);
    const to = str(c.to);
    const port = typeof c.port === "number" ? c.port : undefined;
    if (from !== undefined && !sourceNames.includes(from)) {
      unresolved = true;
      const guess = closest(from, sourceNames);
      at([...path, "from"], `no source is named "${from}"${guess ? ` (did you mean "${guess}"?)` : ""}; sources: ${sourceNames.join(", ") || "none"}`);
    }
    if (to !== undefined && !targetPorts.has(to)) {
      unresolved = true;
      const guess = closest(to, [...targetPorts.keys()]);
      at([...path, "to"], `no target is named "${to}"${guess ? ` (did you mean "${guess}"?)` : ""}; targets: ${[...targetPorts.keys()].join(", ") || "none"}`);
    }
    if (port !== undefined) {
      const ports = to !== undefined ? (targetPorts.get(to) ?? []) : [...new Set([...targetPorts.values()].flat())];
      if (targetPorts.size && !ports.includes(port)) at([...path, "port"], `no target${to !== undefined ? ` "${to}"` : ""} is probed on port ${port} (ports: ${ports.join(", ")})`);
    }
    if (typeof c.is === "string" && REACH.has(c.is)) rules.push({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(port !== undefined ? { port } : {}), is: c.is });
  });
  if (typeof expect.default !== "string" || !REACH.has(expect.default) || !sourceNames.length || unresolved) return;
  // The positive-control rule, per column.
  for (const [to, ports] of targetPorts) {
    for (const port of ports) {
      const column = sourceNames.map((from) => {
        let is = expect.default as string;
        for (const r of rules) if ((r.from === undefined || r.from === from) && (r.to === undefined || r.to === to) && (r.port === undefined || r.port === port)) is = r.is;
        return is;
      });
      if (column.includes("blocked") && !column.includes("allowed")) {
        at(
          [...p, "expect"],
          `column ${to}:${port} has "blocked" cells but no source expected to reach it: add a source the policy allows (the positive control). labrun counts "blocked" only when some source reached the same target and port in the same run, so this column could never pass`,
        );
      }
    }
  }
}

function findCycle(checks: unknown[]): { index: number; ids: string[] } | undefined {
  const needs = new Map<string, string[]>();
  const index = new Map<string, number>();
  checks.forEach((c, i) => {
    if (isObj(c) && typeof c.id === "string") {
      needs.set(c.id, arr(c.needs).filter((n): n is string => typeof n === "string"));
      index.set(c.id, i);
    }
  });
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, "visiting");
    stack.push(id);
    for (const next of needs.get(id) ?? []) {
      if (!needs.has(next) || next === id) continue;
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of needs.keys()) {
    const cycle = visit(id);
    if (cycle) return { index: index.get(cycle[0]!)!, ids: cycle };
  }
  return undefined;
}

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

// --- IPv4 CIDRs

interface Cidr {
  base: number;
  bits: number;
}

function parseCidr(text: string): Cidr | string {
  const [ip, bitsText] = text.split("/");
  const octets = (ip ?? "").split(".");
  if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return `"${text}" is not a valid IPv4 CIDR`;
  const bits = Number(bitsText);
  if (!Number.isInteger(bits) || bits < 8 || bits > 28) return `"${text}": the prefix length must be between /8 and /28`;
  const base = octets.reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  if ((base & mask) >>> 0 !== base) return `"${text}" has host bits set (did you mean ${maskText(base, mask)}/${bits}?)`;
  return { base, bits };
}

function maskText(base: number, mask: number): string {
  const n = (base & mask) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = 2 ** 32 - 2 ** (32 - bits);
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}
