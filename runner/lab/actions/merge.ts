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
    const context = clusterNameFor(ctx.name);
    await mergeContext(ctx.kubeconfig, ctx.mergeTarget!, context);
    ctx.merged = { file: ctx.mergeTarget!, context };
  },
};
