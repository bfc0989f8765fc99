/**
 * A warm start: claim a ready pool cluster of the scenario's shape instead of
 * creating one (runner/lab/pool/). kind cannot rename a cluster, so the lab's
 * record points at the claimed cluster (`labrun-pool-<id>`) and names its pool
 * entry; from the claim on the cluster is the lab's, deleted with it.
 */
import { promises as fs } from "node:fs";
import { atomicWrite } from "../../util/files.ts";
import { shapeOf } from "../pool/shape.ts";
import { PoolStore } from "../pool/store.ts";
import type { Action } from "./action.ts";

export const claimPooled: Action = {
  name: "claim a warm cluster from the pool",
  when: (ctx) => ctx.can.createClusters && ctx.options.pool === true,
  status: () => ({ phase: "cluster", title: "claim a warm cluster" }),
  async execute(ctx) {
    const choice = ctx.imageChoice;
    const shape = shapeOf(ctx.loaded.scenario.spec.cluster, ctx.env, choice ? { nodeImage: choice.nodeImage, mirror: choice.mode === "online" ? choice.mirror?.nodeUrl : undefined } : undefined);
    const pool = new PoolStore(ctx.store.dir);
    for (;;) {
      const entry = await pool.claim(shape.key, ctx.name, ctx.images, ctx.options.poolIds);
      if (!entry) return `none ready (shape ${shape.key}); creating one`;
      // A pool cluster whose nodes stopped (Docker restarted, a reboot) is thrown away, not handed over.
      const running = ctx.provider.runningNodes ? await ctx.provider.runningNodes(entry.cluster, ctx.signal) : entry.nodes;
      if (running >= entry.nodes) {
        ctx.claimed = entry;
        ctx.cluster = entry.cluster;
        return entry.cluster;
      }
      ctx.onEvent?.({ type: "warning", message: `warm pool cluster ${entry.cluster} does not run (${running} of ${entry.nodes} nodes); deleting it` });
      await ctx.provider.delete(entry.cluster, { kubeconfigPath: pool.kubeconfigPath(entry.id) }).catch(() => undefined);
      await pool.remove(entry.id);
    }
  },
};

export const adoptPooled: Action = {
  name: "give the claimed cluster's kubeconfig to the lab",
  when: (ctx) => ctx.claimed !== undefined,
  async execute(ctx) {
    ctx.created = true; // a claimed cluster is spent: a failure from here on deletes it
    const pool = new PoolStore(ctx.store.dir);
    await atomicWrite(ctx.kubeconfig, await fs.readFile(pool.kubeconfigPath(ctx.claimed!.id), "utf8"));
  },
};

/** Images the lab needs that its cluster does not have yet (a claimed cluster was loaded by its fill). */
export function imagesToLoad(images: readonly string[], loaded: readonly string[] | undefined): string[] {
  return loaded ? images.filter((i) => !loaded.includes(i)) : [...images];
}
