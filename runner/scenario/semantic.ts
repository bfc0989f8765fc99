/**
 * Rules the JSON Schema cannot express: cross references between checks, file
 * references that must stay inside the scenario folder, manifests that must
 * parse and pin their images, subnets that must be valid. Defensive about the
 * data's shape: it runs even when the schema found problems, so one run of
 * `labrun validate` reports everything at once.
 *
 * Nothing here executes anything from the scenario.
 */
import { basename } from "node:path";
import type { Document, LineCounter } from "yaml";
import type { Problem } from "../errors.ts";
import { closest } from "../util/suggest.ts";
import { LIMITS, located, nodeAt, readTextFile } from "./read.ts";
import { dotted } from "./schema-errors.ts";
import { parseCidr, overlaps, type Cidr } from "./semantic-cidr.ts";
import { CHECK_RULES, durationRule, findCycle } from "./semantic-checks.ts";
import { manifestProblems, resolveInside } from "./semantic-files.ts";
import { declaredBy, needsFailingProblems, referenceProblems, type AtCode } from "./semantic-xref.ts";
import { arr, isObj, str, type Segment } from "./semantic-shape.ts";
import { placeholderNames } from "./placeholders.ts";
import { cniProblems } from "./semantic-cni.ts";

export { imagesOf, manifestProblems, resolveInside } from "./semantic-files.ts";

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

  // hosts outside the cluster
  const outsideNames = new Set<string>();
  arr(spec.outside).forEach((h, i) => {
    const hname = isObj(h) ? str(h.name) : undefined;
    if (hname === undefined) return;
    if (outsideNames.has(hname)) at(["spec", "outside", i, "name"], `duplicate outside host name "${hname}"`);
    outsideNames.add(hname);
  });

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

  // cross references: declared objects, needs of failing checks (semantic-xref.ts)
  const atCode: AtCode = (path, message, code) => {
    at(path, message);
    problems[problems.length - 1]!.code = code;
  };
  arr(spec.learnerCreates).forEach((o, i) => {
    if (!isObj(o)) return;
    const path: Segment[] = ["spec", "learnerCreates", i];
    if (o.kind === "Pod" && (o.name === undefined) === (o.selector === undefined)) at(path, 'a Pod needs exactly one of "name" or "selector"');
    if (o.kind !== "Pod" && o.kind !== undefined && o.name === undefined) at(path, `a ${String(o.kind)} needs "name"`);
    if (o.kind !== "Pod" && o.selector !== undefined) at([...path, "selector"], '"selector" is for pods only', true);
    if (o.kind === "Namespace" && o.namespace !== undefined) at([...path, "namespace"], "a Namespace has no namespace", true);
  });
  needsFailingProblems(atCode, checks, arr(broken.failing));
  const declared = await declaredBy(ctx.dir, spec);
  if (declared) referenceProblems(declared, atCode, checks);

  // the lab's CNI (semantic-cni.ts)
  cniProblems(at, spec);

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
    if (ref.kind === "manifest") {
      problems.push(...(await manifestProblems(resolved)));
      const read = await readTextFile(resolved, LIMITS.fileBytes);
      for (const placeholder of placeholderNames(read.text ?? "")) {
        if (placeholder === "" ? outsideNames.size > 0 : outsideNames.has(placeholder)) continue;
        at(ref.path, placeholder === "" ? `${ref.rel} uses {{ .OutsideNetwork }}, but the scenario declares no host outside the cluster (spec.outside)` : `${ref.rel} uses {{ .Outside.${placeholder} }}, but spec.outside declares no host "${placeholder}"`);
      }
    }
  }
  return problems;
}
