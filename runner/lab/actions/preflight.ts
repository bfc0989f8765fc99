/** Before anything is made: the host can run the lab, and the cluster's name is free. */
import { UsageError } from "../../errors.ts";
import { assertPreflight, hostProbes, preflight } from "../preflight.ts";
import type { Action } from "./action.ts";
import { imageSources } from "./images.ts";
import { DEFAULT_REGISTRY } from "../image-mode.ts";

export const checkHost: Action = {
  name: "check the host (docker, kind, memory, inotify, images)",
  when: (ctx) => ctx.can.createClusters && !ctx.claimed && !ctx.options.skipPreflight,
  status: () => ({ phase: "preflight", title: "check the host" }),
  async execute(ctx) {
    const probes = ctx.options.probes ?? hostProbes({ env: ctx.env, ...ctx.provider.hostTools?.() });
    const choice = ctx.imageChoice;
    const request =
      choice?.mode === "online"
        ? { nodes: ctx.loaded.scenario.spec.cluster.nodes.length, registry: choice.mirror?.url ?? DEFAULT_REGISTRY }
        : { nodes: ctx.loaded.scenario.spec.cluster.nodes.length, images: [ctx.nodeImage!, ...imageSources(ctx.provider, ctx.images, ctx.env).docker] };
    if (choice) ctx.onEvent?.({ type: "log", phase: "preflight", line: `images: ${choice.mode} (${choice.reason})` });
    const results = await preflight(request, probes);
    for (const r of results) if (r.warning) ctx.onEvent?.({ type: "warning", message: r.warning });
    assertPreflight(results);
    return results
      .filter((r) => r.name === "docker" || r.name === "kind" || r.name === "memory")
      .map((r) => r.detail)
      .concat(choice ? [`images ${choice.mode}${choice.mirror ? ` via ${choice.mirror.url}` : ""}`] : [])
      .join(", ");
  },
};

export const refuseClusterClash: Action = {
  name: "refuse a cluster of the lab's name that no lab owns",
  when: (ctx) => ctx.can.createClusters && !ctx.claimed,
  async execute(ctx) {
    if ((await ctx.provider.list(ctx.signal ? { signal: ctx.signal } : {})).includes(ctx.cluster)) {
      throw new UsageError(`a kind cluster named "${ctx.cluster}" exists but no lab "${ctx.name}" does`, {
        hint: `remove it with \`labrun gc\` (if labrun made it) or \`kind delete cluster --name ${ctx.cluster}\`, or pick another name with \`--name\``,
      });
    }
  },
};
