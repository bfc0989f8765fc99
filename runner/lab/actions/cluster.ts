/** The cluster: created by the provider (kind), or someone else's reached through its kubeconfig; then a client for it. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { defaultClientFactory } from "../client.ts";
import { renderKindConfig } from "../render.ts";
import { atomicWrite } from "../../util/files.ts";
import type { Action } from "./action.ts";
import { startEarlyLoad } from "./images.ts";

export const createCluster: Action = {
  name: "create the cluster",
  when: (ctx) => ctx.can.createClusters && !ctx.claimed,
  status: (ctx) => ({ phase: "cluster", title: `create cluster ${ctx.cluster}` }),
  async execute(ctx) {
    // The mark: a mount of the lab's directory in every node, by which `gc` knows the cluster is labrun's.
    const markDir = path.join(ctx.store.labDir(ctx.name), "mark");
    await fs.mkdir(markDir, { recursive: true });
    await fs.writeFile(path.join(markDir, "lab"), `${ctx.name}\n`);
    const config = renderKindConfig(ctx.loaded.scenario.spec.cluster, { markDir });
    ctx.created = true; // from here on a failure may leave containers behind
    try {
      await ctx.provider.create({
        name: ctx.cluster,
        nodeImage: ctx.nodeImage!,
        config,
        kubeconfigPath: ctx.kubeconfig,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.options.retain ? { retain: true } : {}),
        onOutput: (line) => ctx.onEvent?.({ type: "log", phase: "cluster", line }),
        // The node containers run: load images while the control plane starts.
        onNodesStarted: () => startEarlyLoad(ctx),
      });
    } catch (error) {
      await ctx.earlyLoad; // never delete nodes under a running `kind load`
      throw error;
    }
    return ctx.nodeImage;
  },
};

export const useContext: Action = {
  name: "use an existing cluster's context",
  when: (ctx) => !ctx.can.createClusters,
  status: (ctx) => ({ phase: "cluster", title: `use context ${ctx.lab!.context}` }),
  async execute(ctx) {
    await atomicWrite(ctx.kubeconfig, await ctx.provider.kubeconfig(ctx.cluster));
  },
};

export const connect: Action = {
  name: "connect a client",
  async execute(ctx) {
    const factory = ctx.options.clientFactory ?? defaultClientFactory;
    ctx.client = await factory({ kubeconfig: ctx.kubeconfig, context: ctx.lab!.context, provider: ctx.provider, cluster: ctx.cluster });
    // Someone else's cluster is either there or not: say so within seconds (a new cluster gets the patient wait for its nodes).
    if (!ctx.can.createClusters) await ctx.client.ping({ timeoutMs: 10_000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  },
};
