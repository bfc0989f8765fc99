/** The cluster: created by the provider (kind), or someone else's reached through its kubeconfig; then a client for it. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { defaultClientFactory } from "../client.ts";
import { renderKindConfig } from "../render.ts";
import { writeMirrorConfig } from "../online-images.ts";
import { atomicWrite } from "../../util/files.ts";
import type { Action } from "./action.ts";
import { startEarlyLoad } from "./images.ts";
import { oneLine } from "../../util/text.ts";

/** How many times `kind create` runs before start gives up (a transient failure is retried once). */
export const CREATE_ATTEMPTS = 2;

export const createCluster: Action = {
  name: "create the cluster",
  when: (ctx) => ctx.can.createClusters && !ctx.claimed,
  status: (ctx) => ({ phase: "cluster", title: `create cluster ${ctx.cluster}` }),
  async execute(ctx) {
    let firstError = "";
    // The mark: a mount of the lab's directory in every node, by which `gc` knows the cluster is labrun's.
    const markDir = path.join(ctx.store.labDir(ctx.name), "mark");
    await fs.mkdir(markDir, { recursive: true });
    await fs.writeFile(path.join(markDir, "lab"), `${ctx.name}\n`);
    // Online through a mirror: containerd's hosts.toml files, mounted into every node.
    const mirror = ctx.imageChoice?.mode === "online" ? ctx.imageChoice.mirror : undefined;
    const registryConfigDir = mirror ? path.join(ctx.store.labDir(ctx.name), "certs.d") : undefined;
    if (mirror && registryConfigDir) await writeMirrorConfig(registryConfigDir, mirror);
    const config = renderKindConfig(ctx.loaded.scenario.spec.cluster, { markDir, ...(registryConfigDir ? { registryConfigDir } : {}) });
    ctx.created = true; // from here on a failure may leave containers behind
    const attempts = ctx.options.retain ? 1 : CREATE_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      ctx.guard?.watchNodes(); // a node killed or removed, a Docker that stops answering: a fault, not a wait
      try {
        await ctx.provider.create({
          name: ctx.cluster,
          nodeImage: ctx.nodeImage!,
          config,
          kubeconfigPath: ctx.kubeconfig,
          // A failed create keeps kind's logs here (bounded, the newest few labs'); the error says where.
          logsDir: path.join(ctx.store.dir, "logs", ctx.name),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.options.retain ? { retain: true } : {}),
          onOutput: (line) => ctx.onEvent?.({ type: "log", phase: "cluster", line }),
          // The node containers run: load images while the control plane starts.
          onNodesStarted: () => startEarlyLoad(ctx),
        });
        return attempt > 1 ? `${ctx.nodeImage} (attempt ${attempt}: ${firstError})` : ctx.nodeImage;
      } catch (error) {
        await ctx.earlyLoad; // never delete nodes under a running `kind load`
        // A node container killed or removed under kind: labrun's infrastructure failed, and a retry would not help.
        const fault = await ctx.guard?.afterFailedCreate();
        if (fault) throw fault;
        if (attempt >= attempts || ctx.signal?.aborted) throw error;
        // kubeadm's control plane can miss its deadlines on a starved machine (several clusters
        // starting at once on two cores): delete what was made and create it once more.
        firstError = oneLine(error instanceof Error ? error.message : String(error), 80);
        ctx.onEvent?.({ type: "log", phase: "cluster", line: `kind create failed (${firstError}); deleting it and trying once more` });
        ctx.earlyLoad = undefined;
        ctx.guard?.forgetNodes();
        await ctx.provider.delete(ctx.cluster, { kubeconfigPath: ctx.kubeconfig, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      }
    }
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
