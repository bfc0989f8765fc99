/**
 * hosts-file: a line appended to /etc/hosts inside the running source pod
 * (`kubectl exec <source> -- sh -c 'echo "<ip> <name>" >> /etc/hosts'`) for
 * every name a check resolves, pointing it at the address that would pass.
 * The kubelet mounts one hosts file into every container of a pod, labrun's
 * probe included.
 */
import { errorMessage } from "../../util/text.ts";
import { nameMappings } from "./names.ts";
import { netChecks, podKey, resolvesName } from "./network.ts";
import { shq } from "./netns-hijack.ts";
import { AttackError, type Attack, type AttackContext, type AttackOutcome } from "./types.ts";

export const hostsFile: Attack = {
  name: "hosts-file",
  description: "A line appended to /etc/hosts inside the running source pod for each name a check resolves, pointing it at the address that would pass.",
  appliesTo: (scenario) => netChecks(scenario).some(resolvesName),
  async apply(ctx: AttackContext): Promise<AttackOutcome> {
    const { sources, skipped } = await nameMappings(ctx);
    if (sources.length === 0) return { skipped: `no running source pod resolves a name: ${skipped.join("; ")}` };
    const done: string[] = [];
    for (const { pod, names } of sources) {
      const lines = [...names].map(([name, ip]) => `${ip} ${name}`);
      ctx.touch(pod);
      const container = ((pod.spec as { containers?: { name: string }[] }).containers ?? [])[0]?.name;
      let result;
      try {
        result = await ctx.client.exec(
          { namespace: pod.metadata.namespace ?? "default", pod: pod.metadata.name, ...(container ? { container } : {}) },
          ["sh", "-c", `printf '%s\\n' ${lines.map(shq).join(" ")} >> /etc/hosts`],
          { timeoutMs: 20_000, ...(ctx.signal ? { signal: ctx.signal } : {}) },
        );
      } catch (error) {
        throw new AttackError(`could not edit /etc/hosts in ${podKey(pod).slice(4)}: ${errorMessage(error)}`, { cause: error });
      }
      if (result.exitCode !== 0) {
        return { skipped: `the source pod ${podKey(pod).slice(4)} cannot edit its /etc/hosts (exit ${String(result.exitCode)}: ${result.stderr.trim().slice(0, 200)})` };
      }
      done.push(`${podKey(pod).slice(4)}: ${lines.join(", ")}`);
    }
    return { applied: `appended to /etc/hosts in ${done.join("; ")}${skipped.length ? ` (not: ${skipped.join("; ")})` : ""}` };
  },
};
