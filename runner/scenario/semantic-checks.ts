/** The semantic rules of spec.checks: durations, per-kind rules, truth tables, cycles of needs. */
import { closest } from "../util/suggest.ts";
import { parseDuration } from "../util/duration.ts";
import { arr, isObj, str, type At, type Obj, type Segment } from "./semantic-shape.ts";

export function durationRule(at: At, path: Segment[], value: unknown) {
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

function targetRule(at: At, path: Segment[], target: unknown, spec: Obj) {
  if (!isObj(target)) return;
  for (const kind of ["host", "outside", "node"]) {
    if (target[kind] === undefined) continue;
    if (target.via !== undefined) at([...path, "via"], `"via" applies to pod and service targets, not "${kind}"`, true);
    if (target.namespace !== undefined) at([...path, "namespace"], `"namespace" applies to pod and service targets, not "${kind}"`, true);
  }
  outsideRule(at, [...path, "outside"], target.outside, spec);
}

/** An `outside` reference must name a host of spec.outside. */
function outsideRule(at: At, path: Segment[], name: unknown, spec: Obj) {
  if (typeof name !== "string") return;
  const declared = arr(spec.outside).flatMap((h) => (isObj(h) && typeof h.name === "string" ? [h.name] : []));
  if (declared.includes(name)) return;
  if (!declared.length) at(path, `names the outside host "${name}", but the scenario declares none: add it to spec.outside`);
  else {
    const guess = closest(name, declared);
    at(path, `names no host of spec.outside: "${name}"${guess ? ` (did you mean "${guess}"?)` : ` (declared: ${declared.join(", ")})`}`);
  }
}

function httpRule(at: At, p: Segment[], v: unknown, spec: Obj) {
  if (!isObj(v)) return;
  const from = v.from;
  if (isObj(from) && from.outside !== undefined) {
    if (from.pod !== undefined || from.selector !== undefined) at([...p, "from"], 'give "pod", "selector" or "outside", not several');
    if (from.namespace !== undefined || from.container !== undefined) at([...p, "from"], '"namespace" and "container" apply to a pod source, not "outside"');
    outsideRule(at, [...p, "from", "outside"], from.outside, spec);
  } else podRefRule(at, [...p, "from"], from);
  targetRule(at, [...p, "to"], v.to, spec);
  const expect = isObj(v.expect) ? v.expect : {};
  const echo = (isObj(v.to) && v.to.outside !== undefined) || expect.echoFrom !== undefined;
  if (echo && (expect.status !== undefined || expect.bodyContains !== undefined)) {
    at([...p, "expect"], 'an echo answer (a target "outside", or "echoFrom") is judged by its nonce and host name: drop "status" and "bodyContains"');
  }
  if (isObj(v.to) && v.to.outside !== undefined && expect.echoFrom !== undefined) at([...p, "expect", "echoFrom"], 'an outside host answers for itself: "echoFrom" is for pods', true);
  if (expect.echoFrom !== undefined) podRefRule(at, [...p, "expect", "echoFrom"], expect.echoFrom);
  if (echo && v.path !== undefined) at([...p, "path"], "an echo goes to labrun's echo path: drop \"path\"", true);
}

export const CHECK_RULES: { key: string; check: (at: At, path: Segment[], value: unknown, spec: Obj) => void }[] = [
  { key: "http", check: httpRule },
  { key: "dns", check: (at, p, v) => isObj(v) && podRefRule(at, [...p, "from"], v.from) },
  {
    key: "blocked",
    check: (at, p, v, spec) => {
      if (!isObj(v)) return;
      podRefRule(at, [...p, "from"], v.from);
      targetRule(at, [...p, "to"], v.to, spec);
      targetRule(at, [...p, "control"], v.control, spec);
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

export function findCycle(checks: unknown[]): { index: number; ids: string[] } | undefined {
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
