/**
 * object: an object exists and matches a partial spec (every field given has
 * the same value), or with `absent: true` does not exist. The evidence lists
 * each differing field: expected versus observed.
 */
import type { Evidence } from "../../runner/report/model.ts";
import type { ObjectCheck } from "../../runner/schema/scenario.ts";
import type { CheckContext, Observation } from "../context.ts";
import { UnknownKindError } from "../kube-common.ts";
import { partialMatch } from "../match.ts";

const MAX_DIFFS = 12;

export async function evaluate(ctx: CheckContext, spec: ObjectCheck): Promise<Observation> {
  const apiVersion = spec.apiVersion ?? "v1";
  const ref = { apiVersion, kind: spec.kind, name: spec.name, ...(spec.namespace ? { namespace: spec.namespace } : {}) };
  const label = `${spec.kind} ${spec.namespace ? `${spec.namespace}/` : ""}${spec.name}`;
  let object;
  try {
    object = await ctx.client.get(ref, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof UnknownKindError) {
      if (spec.absent) return { ok: true, message: `${label} is absent (the API server does not serve ${spec.kind} in ${apiVersion})`, evidence: [{ label, expected: "absent", observed: `kind ${spec.kind} not served in ${apiVersion}` }] };
      return { ok: false, message: `${label} cannot exist: the API server does not serve kind ${spec.kind} in ${apiVersion}`, evidence: [{ label, expected: "exists", observed: `kind ${spec.kind} not served in ${apiVersion} (is its CRD installed? is the apiVersion right?)` }] };
    }
    throw error;
  }
  if (spec.absent) {
    if (!object) return { ok: true, message: `${label} is absent`, evidence: [{ label, expected: "absent", observed: "absent" }] };
    const deleting = typeof object.metadata.deletionTimestamp === "string";
    return {
      ok: false,
      message: `${label} still exists${deleting ? " (being deleted)" : ""}`,
      evidence: [{ label, expected: "absent", observed: `exists (uid ${object.metadata.uid ?? "?"}, created ${object.metadata.creationTimestamp ?? "?"}${deleting ? ", being deleted" : ""})` }],
    };
  }
  if (!object) return { ok: false, message: `${label} not found`, evidence: [{ label, expected: "exists", observed: "not found" }] };
  if (!spec.match) return { ok: true, message: `${label} exists`, evidence: [{ label, expected: "exists", observed: "exists" }] };
  const diffs = partialMatch(spec.match, object);
  if (diffs.length === 0) return { ok: true, message: `${label} matches`, evidence: [{ label, expected: "matches the partial object", observed: "matches" }] };
  const evidence: Evidence[] = diffs.slice(0, MAX_DIFFS).map((d) => ({ label: `${label}: ${d.path}`, expected: d.expected, observed: d.observed }));
  if (diffs.length > MAX_DIFFS) evidence.push({ label: `${label}: …`, observed: `${diffs.length - MAX_DIFFS} more differences` });
  const first = diffs[0]!;
  return {
    ok: false,
    message: `${label} differs in ${diffs.length} field${diffs.length === 1 ? "" : "s"}: ${first.path} is ${first.observed}, expected ${first.expected}`,
    evidence,
  };
}
