/**
 * `labrun doctor`: the host checks `start` runs (docker, kind, memory,
 * inotify, the images the scenarios need), without creating anything, plus
 * where the probe image comes from and which way `start` will get images
 * (offline when the offline images are present, online when a registry
 * answers). Every failure carries the one command that fixes it (the same
 * hints as start's preflight). Missing offline images are no failure when the
 * online path can get them.
 */
import path from "node:path";
import { PROBE_IMAGE } from "../cluster/images.ts";
import { KindProvider } from "../providers/kind.ts";
import type { LoadedScenario } from "../scenario/load.ts";
import { imageSources, imagesFor } from "./actions/images.ts";
import { hostProbes, preflight, type PreflightProbes, type PreflightResult } from "./preflight.ts";
import { nodeImageFor } from "./render.ts";
import { DEFAULT_REGISTRY, registryMirror, requestedMode, type ImageMode, type ImageModeRequest } from "./image-mode.ts";

export interface DoctorResult {
  checks: PreflightResult[];
  /** Where the probe image comes from: the packaged binary (made on the spot) or the local Docker. */
  probe: { source: "package"; binary: string } | { source: "docker"; image: string };
  /** The images the scenarios need from the local Docker (node images first). */
  images: string[];
  /** The way `start` gets images here, why, and the command that starts a lab that way. */
  mode: { mode: ImageMode | "none"; reason: string; command: string };
}

export async function doctor(options: { scenarios: LoadedScenario[]; env?: NodeJS.ProcessEnv; probes?: PreflightProbes }): Promise<DoctorResult> {
  const env = options.env ?? process.env;
  const kind = new KindProvider({ env });
  const probes = options.probes ?? hostProbes({ env, ...kind.hostTools() });
  const nodeImages = new Set<string>();
  const workload = new Set<string>();
  for (const s of options.scenarios) {
    nodeImages.add(nodeImageFor(s.scenario.spec.cluster, env));
    for (const image of await imagesFor(s.scenario)) workload.add(image);
  }
  const sources = imageSources(kind, [...workload], env);
  const images = [...nodeImages, ...sources.docker];
  const nodes = Math.max(1, ...options.scenarios.map((s) => s.scenario.spec.cluster.nodes.length));
  const request = requestedMode(env);
  const mirror = registryMirror(env);
  const registry = mirror?.url ?? DEFAULT_REGISTRY;
  const checks = await preflight({ nodes, ...(request === "online" ? {} : { images }), ...(request === "offline" ? {} : { registry }) }, probes);
  const probe = sources.probeBinary ? { source: "package" as const, binary: sources.probeBinary } : { source: "docker" as const, image: PROBE_IMAGE };
  return { checks: judge(checks, request), probe, images, mode: modeOf(checks, request, options.scenarios[0]?.name ?? "<scenario>") };
}

/** Which way `start` goes, from the images and registry checks (as chooseImages decides). */
function modeOf(checks: PreflightResult[], request: ImageModeRequest, scenario: string): DoctorResult["mode"] {
  const images = checks.find((c) => c.name === "images");
  const registry = checks.find((c) => c.name === "registry");
  if (request !== "online" && images?.ok) return { mode: "offline", reason: `offline images present (${images.detail})`, command: `labrun start ${scenario}` };
  if (request !== "offline" && registry?.ok) {
    const why = request === "online" ? "asked for ($LABRUN_IMAGES=online)" : `${images?.detail ?? "offline images"} missing; ${registry.detail}`;
    return { mode: "online", reason: why, command: `labrun start ${scenario}${request === "online" ? "" : " (or --online)"}` };
  }
  if (request === "online") return { mode: "none", reason: "online asked for, but no registry answers", command: "npm run images, then labrun start --offline " + scenario };
  return { mode: "none", reason: "offline images missing and no registry answers", command: `npm run images (air-gapped), or reach a registry for \`labrun start --online ${scenario}\`` };
}

/** Missing offline images do not fail the doctor when a registry answers (start goes online), nor does a silent registry when the offline images are present. */
function judge(checks: PreflightResult[], request: ImageModeRequest): PreflightResult[] {
  const images = checks.find((c) => c.name === "images");
  const registry = checks.find((c) => c.name === "registry");
  return checks.map((c) => {
    if (request === "auto" && c === images && !c.ok && registry?.ok) {
      return { name: c.name, ok: true, detail: `${c.detail} offline; start goes online`, warning: `${c.error!.message}; air-gapped, build them with \`npm run images\`` };
    }
    if (request === "auto" && c === registry && !c.ok && images?.ok) return { name: c.name, ok: true, detail: `${c.error!.message.replace(/; the online path needs it$/, "")}; start stays offline` };
    return c;
  });
}

/** `…/dist/probe/linux-amd64/labrun-probe` → `linux-amd64`, for the report line. */
export function probePlatform(binary: string): string {
  return path.basename(path.dirname(binary));
}
