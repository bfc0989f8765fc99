/** The lab's record: made before the cluster (so `gc` and `down` know of it), marked ready at hand-over. */
import { VERSION } from "../../version.ts";
import type { Action } from "./action.ts";

export const recordLab: Action = {
  name: "record the lab (status creating)",
  async execute(ctx) {
    ctx.lab = await ctx.store.create({
      name: ctx.name,
      scenario: ctx.loaded.name,
      scenarioDir: ctx.loaded.dir,
      provider: ctx.provider.name,
      cluster: ctx.cluster,
      kubeconfig: ctx.kubeconfig,
      context: await ctx.provider.context(ctx.cluster),
      pid: process.pid,
      labrunVersion: VERSION,
      ...(ctx.nodeImage ? { nodeImage: ctx.nodeImage } : {}),
      ...(ctx.imageChoice ? { images: { mode: ctx.imageChoice.mode, reason: ctx.imageChoice.reason, ...(ctx.imageChoice.mirror ? { mirror: ctx.imageChoice.mirror.url } : {}) } } : {}),
      ...(ctx.claimed ? { pool: { id: ctx.claimed.id, shape: ctx.claimed.shape } } : {}),
    });
  },
};

export const markReady: Action = {
  name: "mark the lab ready",
  async execute(ctx) {
    ctx.lab = await ctx.store.update(ctx.name, (r) => {
      r.status = "ready";
      delete r.pid;
      if (ctx.merged) r.merged = ctx.merged;
    });
  },
};
