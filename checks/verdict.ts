/**
 * "Could not evaluate" is never "fails as required".
 *
 * Where a check must NOT pass (the broken state a lab starts in, a shortcut's
 * `mustFail`, an attack in `labrun test`), only a verdict on the cluster
 * counts:
 *
 *   - `failed`: the check looked and the cluster is not as required: proven;
 *   - `skipped` because a check it needs did not pass: proven when that need
 *     is itself proven (failed, or skipped because of a proven need); a chain
 *     that ends in an `error` proves nothing;
 *   - `error` (labrun could not evaluate it: a probe that did not start, API
 *     errors on every attempt): NOT proven. The caller fails its phase with
 *     the check's reason, so a shortcut whose probes merely error is never
 *     reported as "does not pass" and an attack suite cannot be green without
 *     having looked.
 */
import type { CheckResult } from "../runner/schema/report.ts";

export type NeedsOf = (id: string) => readonly string[];

export interface MustNotPassVerdict {
  /** Checks that pass although they must not. */
  passing: string[];
  /** Checks that were not judged: `id: reason` lines (error, or skipped because of an error). */
  unevaluated: { id: string; reason: string }[];
  /** Checks proven not to pass. */
  proven: string[];
}

/** The ids among `results` whose not-passing is proven (see the header). */
export function provenNotPassing(results: readonly CheckResult[], needs: NeedsOf): Set<string> {
  const byId = new Map(results.map((r) => [r.id, r]));
  const memo = new Map<string, boolean>();
  const proven = (id: string, seen: Set<string>): boolean => {
    const cached = memo.get(id);
    if (cached !== undefined) return cached;
    const r = byId.get(id);
    let value = false;
    if (r?.status === "failed") value = true;
    else if (r?.status === "skipped" && !seen.has(id)) {
      const next = new Set(seen).add(id);
      value = needs(id).some((n) => proven(n, next));
    }
    memo.set(id, value);
    return value;
  };
  return new Set(results.filter((r) => proven(r.id, new Set())).map((r) => r.id));
}

/** Judge checks that must not pass: each is passing, proven not to pass, or unevaluated (with the reason). */
export function judgeMustNotPass(results: readonly CheckResult[], ids: readonly string[], needs: NeedsOf): MustNotPassVerdict {
  const byId = new Map(results.map((r) => [r.id, r]));
  const proven = provenNotPassing(results, needs);
  const verdict: MustNotPassVerdict = { passing: [], unevaluated: [], proven: [] };
  for (const id of ids) {
    const r = byId.get(id);
    if (!r) verdict.unevaluated.push({ id, reason: "not in the report" });
    else if (r.status === "passed") verdict.passing.push(id);
    else if (proven.has(id)) verdict.proven.push(id);
    else verdict.unevaluated.push({ id, reason: unevaluatedReason(r, byId, needs) });
  }
  return verdict;
}

/** Every check in the report that ended unevaluated (error, or skipped because of one), with the reason. */
export function unevaluatedChecks(results: readonly CheckResult[], needs: NeedsOf): { id: string; reason: string }[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const proven = provenNotPassing(results, needs);
  return results.filter((r) => r.status === "error" || (r.status === "skipped" && !proven.has(r.id))).map((r) => ({ id: r.id, reason: unevaluatedReason(r, byId, needs) }));
}

/** `could not be evaluated: <message>`; for a skip, the chain down to the check that errored. */
function unevaluatedReason(r: CheckResult, byId: Map<string, CheckResult>, needs: NeedsOf): string {
  if (r.status === "error") return `could not be evaluated: ${r.message}`;
  const chain: string[] = [];
  let current: CheckResult | undefined = r;
  const seen = new Set<string>();
  while (current && current.status === "skipped" && !seen.has(current.id)) {
    seen.add(current.id);
    const next: CheckResult | undefined = needs(current.id)
      .map((n) => byId.get(n))
      .find((n) => n && n.status !== "passed");
    if (!next) break;
    chain.push(next.id);
    current = next;
  }
  if (current && current.status === "error") return `skipped because ${chain.join(" → ")} could not be evaluated: ${current.message}`;
  return `${r.status}: ${r.message}`;
}

/** `needs` lookup over a scenario's checks. */
export function needsOf(checks: readonly { id: string; needs?: readonly string[] }[]): NeedsOf {
  const map = new Map(checks.map((c) => [c.id, c.needs ?? []]));
  return (id) => map.get(id) ?? [];
}
