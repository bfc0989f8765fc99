/**
 * podsReady: pods (by names or a selector) are in a phase (default Running)
 * and Ready; the evidence says why one is not (the scheduler's reason, a
 * container's waiting reason).
 */
import type { Evidence } from "../../runner/schema/report.ts";
import type { PodsReadyCheck } from "../../runner/schema/scenario.ts";
import type { KubeObject } from "../../runner/cluster/client.ts";
import type { CheckContext, Observation } from "../context.ts";
import { describePod, podView } from "../pods.ts";
import { labelSelector } from "../../runner/cluster/client.ts";

export async function evaluate(ctx: CheckContext, spec: PodsReadyCheck): Promise<Observation> {
  const namespace = spec.namespace ?? "default";
  const phase = spec.phase ?? "Running";
  const needReady = spec.ready ?? true;
  const minCount = spec.minCount ?? 1;
  const selector = spec.selector ? labelSelector(spec.selector) : undefined;
  const pods = await ctx.client.list("v1", "Pod", { namespace, ...(selector ? { labelSelector: selector } : {}), signal: ctx.signal });
  const expected = `${phase}${needReady ? ", Ready" : ""}`;
  const evidence: Evidence[] = [];
  const bad: string[] = [];
  let matched: KubeObject[];
  if (spec.names) {
    matched = [];
    for (const name of spec.names) {
      const pod = pods.find((p) => p.metadata.name === name);
      if (!pod) {
        evidence.push({ label: `pod ${namespace}/${name}`, expected, observed: "not found" });
        bad.push(name);
      } else matched.push(pod);
    }
  } else {
    matched = [...pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }
  for (const pod of matched) {
    const v = podView(pod);
    const ok = !v.terminating && v.phase === phase && (!needReady || v.ready);
    evidence.push({ label: `pod ${namespace}/${pod.metadata.name}`, expected, observed: describePod(pod) });
    if (!ok) bad.push(pod.metadata.name);
  }
  const what = spec.names ? spec.names.join(", ") : selector ? `pods with ${selector}` : `pods in ${namespace}`;
  if (!spec.names && matched.length < minCount) {
    evidence.unshift({ label: `pods in ${namespace}${selector ? ` with ${selector}` : ""}`, expected: `at least ${minCount}`, observed: `${matched.length}` });
    return { ok: false, message: `found ${matched.length} ${what}${selector ? "" : ""}, need at least ${minCount}`, evidence };
  }
  if (bad.length) {
    const first = evidence.find((e) => e.label === `pod ${namespace}/${bad[0]}`);
    return {
      ok: false,
      message: `${bad.length} of ${spec.names ? spec.names.length : matched.length} pod${bad.length === 1 ? "" : "s"} not ${expected}: ${bad.join(", ")}${first?.observed ? ` (${first.observed})` : ""}`,
      evidence,
    };
  }
  return { ok: true, message: `${matched.length} pod${matched.length === 1 ? "" : "s"} ${expected}`, evidence };
}
