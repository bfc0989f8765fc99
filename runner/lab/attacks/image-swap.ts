/**
 * image-swap: the source and target pods of a check trade containers (image,
 * command and arguments), keeping their names and labels: the source runs
 * the server, the target runs the client. A listener that disappears makes a
 * naive "blocked" check pass; a source that serves the expected page itself
 * fools a check that trusts the source's own tools.
 */
import type { KubeObject } from "../../cluster/client.ts";
import { isRunning, netChecks, podKey, sourceNamespace, sourcePod, targetPods } from "./network.ts";
import { mainContainer, rebuildPod, specOf } from "./pods.ts";
import type { Attack, AttackContext, AttackOutcome } from "./types.ts";

const SWAPPED = ["image", "command", "args"] as const;

export const imageSwap: Attack = {
  name: "image-swap",
  description: "The source and target pods of a check recreated with each other's container (image, command, arguments), names and labels kept.",
  appliesTo: (scenario) => netChecks(scenario).some((c) => (c.kind === "http" || c.kind === "blocked") && (c.to?.pod !== undefined || c.to?.selector !== undefined)),
  async apply(ctx: AttackContext): Promise<AttackOutcome> {
    const pairs = new Map<string, [KubeObject, KubeObject]>();
    const skipped: string[] = [];
    for (const c of netChecks(ctx.scenario.scenario)) {
      if ((c.kind !== "http" && c.kind !== "blocked") || (c.to?.pod === undefined && c.to?.selector === undefined)) continue;
      const src = await sourcePod(ctx.client, c.from, ctx.signal);
      const ns = c.to.namespace ?? src?.metadata.namespace ?? sourceNamespace(c.from);
      // A selector target: the first matching pod (a Deployment's template change reaches all of them).
      const dst = (await targetPods(ctx.client, c.to, ns, ctx.signal))[0];
      if (!src || !dst) {
        skipped.push(`${c.id}: its source or target pod does not exist`);
        continue;
      }
      if (podKey(src) === podKey(dst)) continue;
      if (!isRunning(src) && !isRunning(dst)) {
        skipped.push(`${c.id}: neither its source nor its target runs in the broken state`);
        continue;
      }
      const key = [podKey(src), podKey(dst)].sort().join(" ");
      if (!pairs.has(key) && ![...pairs.values()].some(([a, b]) => [a, b].some((p) => podKey(p) === podKey(src) || podKey(p) === podKey(dst)))) pairs.set(key, [src, dst]);
    }
    if (pairs.size === 0) return { skipped: `no pair of pods to swap: ${skipped.join("; ") || "every check's source is its target"}` };
    const done: string[] = [];
    for (const [src, dst] of pairs.values()) {
      const a = pick(mainContainer(specOf(src)));
      const b = pick(mainContainer(specOf(dst)));
      await rebuildPod(ctx, src, (spec) => assign(mainContainer(spec), b));
      await rebuildPod(ctx, dst, (spec) => assign(mainContainer(spec), a));
      done.push(`${podKey(src).slice(4)} now runs ${String(b.image)}, ${podKey(dst).slice(4)} runs ${String(a.image)}`);
    }
    return { applied: done.join("; ") };
  },
};

function pick(c: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SWAPPED.map((k) => [k, c[k]]));
}

function assign(c: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const k of SWAPPED) {
    if (from[k] === undefined) delete c[k];
    else c[k] = structuredClone(from[k]);
  }
}
