/** `--merge-kubeconfig`: the target is read before any cluster work (a broken file fails in seconds), merged at hand-over. */
import { mergeContext, readKubeconfig } from "../kubeconfig-merge.ts";
import { clusterNameFor } from "../names.ts";
import type { Action } from "./action.ts";

export const checkMergeTarget: Action = {
  name: "read the kubeconfig to merge into",
  when: (ctx) => ctx.mergeTarget !== undefined,
  async execute(ctx) {
    await readKubeconfig(ctx.mergeTarget!);
  },
};

export const mergeKubeconfig: Action = {
  name: "merge the lab's context into the learner's kubeconfig",
  when: (ctx) => ctx.mergeTarget !== undefined,
  status: (ctx) => ({ phase: "cluster", title: `merge context ${clusterNameFor(ctx.name)} into ${ctx.mergeTarget}` }),
  async execute(ctx) {
    const merged = { file: ctx.mergeTarget!, context: clusterNameFor(ctx.name) };
    // Recorded before the merge: a start interrupted (or killed) from here on leaves its cleanup,
    // `labrun down` and `labrun gc` the context to remove.
    await ctx.store.update(ctx.name, (r) => {
      r.merged = merged;
    });
    ctx.merged = merged;
    await mergeContext(ctx.kubeconfig, merged.file, merged.context);
  },
};
