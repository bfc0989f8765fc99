/**
 * host-network: the source and target pods of the network checks recreated
 * with `hostNetwork: true` (and the tolerations that let them run on a node
 * that is not Ready), instead of fixing the pod network: they answer on
 * their node's address, and the checks' connections never touch the CNI or
 * NetworkPolicies.
 */
import type { KubeObject } from "../../cluster/client.ts";
import { controllerOf } from "../recreate.ts";
import { isRunning, netChecks, podKey, sourceNamespace, sourcePod, targetPods } from "./network.ts";
import { rebuildPod } from "./pods.ts";
import type { Attack, AttackContext, AttackOutcome } from "./types.ts";

const TOLERATIONS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/network-unavailable"].map((key) => ({ key, operator: "Exists", effect: "NoSchedule" }));

export const hostNetwork: Attack = {
  name: "host-network",
  description: "The source and target pods recreated with hostNetwork (and tolerations to run on NotReady nodes): they answer on the node's address, bypassing the pod network and its policies.",
  appliesTo: (scenario) => netChecks(scenario).length > 0,
  async apply(ctx: AttackContext): Promise<AttackOutcome> {
    const pods = new Map<string, KubeObject>();
    for (const c of netChecks(ctx.scenario.scenario)) {
      const src = await sourcePod(ctx.client, c.from, ctx.signal);
      if (src) add(pods, src);
      const ref = c.to ?? c.lookup;
      if (ref && (ref.pod !== undefined || ref.selector !== undefined)) {
        const ns = ref.namespace ?? src?.metadata.namespace ?? sourceNamespace(c.from);
        for (const t of await targetPods(ctx.client, ref, ns, ctx.signal)) add(pods, t);
      }
    }
    if (pods.size === 0) return { skipped: "no source or target pod exists in the broken state" };
    const done: string[] = [];
    for (const pod of pods.values()) {
      const where = await rebuildPod(ctx, pod, (spec) => {
        spec.hostNetwork = true;
        spec.dnsPolicy = "ClusterFirstWithHostNet";
        spec.tolerations = [...(Array.isArray(spec.tolerations) ? (spec.tolerations as unknown[]) : []), ...TOLERATIONS];
      });
      done.push(where);
    }
    const running = [];
    for (const pod of pods.values()) {
      const live = await ctx.client.get({ apiVersion: "v1", kind: "Pod", name: pod.metadata.name, namespace: pod.metadata.namespace ?? "default" }, ctx.signal ? { signal: ctx.signal } : {});
      if (live && isRunning(live)) running.push(pod.metadata.name);
    }
    return { applied: `recreated on the host network: ${done.join(", ")} (running: ${running.join(", ") || "none"})` };
  },
};

/** Adds a pod, once per controller: rebuilding one pod of a Deployment changes the template all its pods come from. */
function add(pods: Map<string, KubeObject>, pod: KubeObject): void {
  const owner = controllerOf(pod);
  const key = owner ? `${owner.kind} ${pod.metadata.namespace ?? "default"}/${owner.name}` : podKey(pod);
  if (!pods.has(key)) pods.set(key, pod);
}
