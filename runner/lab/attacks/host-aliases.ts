/**
 * host-aliases: the source pod recreated with `hostAliases` that point every
 * name a check resolves at the address that would make it pass (a pod's IP,
 * a service's cluster IP, or, for an HTTP check to a service, a pod that
 * serves it directly). The same image, command and labels: only the pod's
 * /etc/hosts differs. What a learner does with `kubectl get pod -o yaml`,
 * an edit and `kubectl replace --force`.
 */
import type { Attack, AttackContext, AttackOutcome } from "./types.ts";
import { nameMappings } from "./names.ts";
import { rebuildPod } from "./pods.ts";
import { netChecks, resolvesName } from "./network.ts";

export const hostAliases: Attack = {
  name: "host-aliases",
  description: "The source pod recreated from its live spec with hostAliases pointing each name a check resolves at the address that would pass (a pod serving a broken service directly).",
  appliesTo: (scenario) => netChecks(scenario).some(resolvesName),
  async apply(ctx: AttackContext): Promise<AttackOutcome> {
    const { sources, skipped } = await nameMappings(ctx);
    if (sources.length === 0) return { skipped: `no running source pod resolves a name: ${skipped.join("; ")}` };
    const done: string[] = [];
    for (const { pod, names } of sources) {
      const byIp = new Map<string, string[]>();
      for (const [name, ip] of names) byIp.set(ip, [...(byIp.get(ip) ?? []), name]);
      const where = await rebuildPod(ctx, pod, (spec) => {
        const existing = Array.isArray(spec.hostAliases) ? (spec.hostAliases as unknown[]) : [];
        spec.hostAliases = [...existing, ...[...byIp].map(([ip, hostnames]) => ({ ip, hostnames }))];
      });
      done.push(`${where}: ${[...names].map(([n, ip]) => `${n} → ${ip}`).join(", ")}`);
    }
    return { applied: `recreated ${done.join("; ")}${skipped.length ? ` (not: ${skipped.join("; ")})` : ""}` };
  },
};
