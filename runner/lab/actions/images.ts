/**
 * Images: side-loaded into the nodes when the provider can (kind), at best
 * while kind starts the control plane; otherwise the cluster must pull them.
 */
import { PROBE_IMAGE } from "../../cluster/images.ts";
import type { ClusterProvider } from "../../providers/provider.ts";
import type { Scenario, Step } from "../../schema/scenario.ts";
import { cniOf } from "../../schema/values.ts";
import { ADDONS, addonImages, stepAddons, type AddonName } from "../addons.ts";
import { step } from "../events.ts";
import { loadProbeImage, probeBinary } from "../probe-image.ts";
import type { Action, LoadOutcome, StartContext } from "./action.ts";
import { imagesToLoad } from "./pool.ts";
import type { ImageMode } from "../image-mode.ts";
import { pullInNodes } from "../online-images.ts";

export const loadImages: Action = {
  name: "load images into the nodes",
  async execute(ctx) {
    const images = imagesToLoad(ctx.images, ctx.claimed?.images);
    if (ctx.can.loadImages && images.length) {
      const what = `${ctx.imageChoice?.mode === "online" ? "pull" : "load"} ${images.length} image${images.length === 1 ? "" : "s"}`;
      const early = ctx.earlyLoad ? await ctx.earlyLoad : undefined;
      if (early?.ok) {
        ctx.onEvent?.({ type: "step-start", phase: "images", name: what });
        ctx.onEvent?.({ type: "step-end", phase: "images", name: what, status: "ok", durationMs: early.durationMs, detail: `${loadedDetail(images, early.loaded)} (while the cluster started)` });
      } else {
        if (early && !early.ok) ctx.onEvent?.({ type: "log", phase: "images", line: `loading images during create failed (${early.error}); loading again` });
        await step(ctx.onEvent, "images", what, () => loadLabImages(ctx.provider, ctx.cluster, images, ctx.env, ctx.signal, ctx.imageChoice?.mode), (loaded) => loadedDetail(images, loaded));
      }
    } else if (!ctx.can.loadImages && ctx.loaded.scenario.spec.images?.length) {
      ctx.onEvent?.({ type: "warning", message: `the cluster must be able to pull: ${ctx.loaded.scenario.spec.images.join(", ")}` });
    }
  },
};

/** Starts loading the images while the cluster is created (once, when asked for and there are any). */
export function startEarlyLoad(ctx: StartContext): void {
  if (ctx.earlyLoad || !ctx.images.length || ctx.options.overlapImageLoad === false || !ctx.can.loadImages) return;
  ctx.earlyLoad = timedLoad(ctx);
}

/** `kind load` that never rejects: resolves with its duration or its error. */
async function timedLoad(ctx: StartContext): Promise<LoadOutcome> {
  const t0 = performance.now();
  try {
    const loaded = await loadLabImages(ctx.provider, ctx.cluster, ctx.images, ctx.env, ctx.signal, ctx.imageChoice?.mode);
    return { ok: true, durationMs: Math.round(performance.now() - t0), loaded };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Where each image comes from: the probe from the binary the package ships
 * (when it ships one for this host and the provider loads archives), every
 * other image from the local Docker.
 */
export function imageSources(provider: ClusterProvider, images: readonly string[], env: NodeJS.ProcessEnv): { docker: string[]; probeBinary?: string } {
  const binary = images.includes(PROBE_IMAGE) && provider.loadImageArchive ? probeBinary(env) : undefined;
  return binary ? { docker: images.filter((i) => i !== PROBE_IMAGE), probeBinary: binary } : { docker: [...images] };
}

/**
 * Loads the images into every node of the cluster, each from where it comes
 * from (see imageSources): offline from the local Docker; online the nodes
 * pull them (runner/lab/online-images.ts). The probe comes from the packaged
 * binary either way, when there is one. Resolves with the images loaded or
 * pulled: offline, the provider skips those the node image holds.
 */
export async function loadLabImages(provider: ClusterProvider, cluster: string, images: readonly string[], env: NodeJS.ProcessEnv, signal?: AbortSignal, mode: ImageMode = "offline"): Promise<string[]> {
  const sources = imageSources(provider, images, env);
  const loaded: string[] = [];
  if (sources.docker.length && mode === "online") {
    await pullInNodes(provider, cluster, sources.docker, env, signal);
    loaded.push(...sources.docker);
  } else if (sources.docker.length) {
    loaded.push(...((await provider.loadImages(cluster, sources.docker, signal ? { signal } : {})) ?? sources.docker));
  }
  if (sources.probeBinary) {
    await loadProbeImage(provider, cluster, sources.probeBinary, signal);
    loaded.push(PROBE_IMAGE);
  }
  return loaded;
}

/** `nginx:1.22.1, curl:7.88.1` or, for images the node image held, `nginx:1.22.1 (loaded); curl:7.88.1 in the node image`. */
export function loadedDetail(images: readonly string[], loaded: readonly string[]): string {
  const present = images.filter((i) => !loaded.includes(i));
  if (!present.length) return images.map(shortImage).join(", ");
  const inNode = `${present.map(shortImage).join(", ")} in the node image`;
  return loaded.length ? `${loaded.map(shortImage).join(", ")} loaded; ${inNode}` : inNode;
}

/** Every image the lab needs in its nodes: the scenario's, labrun's probe, and the add-ons any step uses. */
export async function imagesFor(scenario: Scenario): Promise<string[]> {
  const spec = scenario.spec;
  const steps: Step[] = [...(spec.setup ?? []), ...(spec.break ?? []), ...spec.solution.steps, ...(spec.shortcuts ?? []).flatMap((s) => s.steps)];
  const cni = cniOf(spec.cluster);
  const addons = new Set<AddonName>(steps.flatMap((s) => (s.addon && (s.addon.name === "cni" || (ADDONS as readonly string[]).includes(s.addon.name)) ? stepAddons(s.addon, cni) : [])));
  const images = new Set<string>([...(spec.images ?? []), PROBE_IMAGE]);
  for (const addon of addons) for (const image of await addonImages(addon)) images.add(image);
  return [...images];
}

/** `docker.io/library/nginx:1.22.1` → `nginx:1.22.1`, for progress lines. */
function shortImage(image: string): string {
  return image.replace(/^docker\.io\/(library\/)?/, "").replace(/^.*\//, "");
}
