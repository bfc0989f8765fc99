/**
 * `labrun doctor`: the host checks `start` runs (docker, kind, memory,
 * inotify, the images the scenarios need), without creating anything, plus
 * where the probe image comes from. Every failure carries the one command that
 * fixes it (the same hints as start's preflight).
 */
import path from "node:path";
import { PROBE_IMAGE } from "../cluster/images.ts";
import { KindProvider } from "../providers/kind.ts";
import type { LoadedScenario } from "../scenario/load.ts";
import { imageSources, imagesFor } from "./actions/images.ts";
import { hostProbes, preflight, type PreflightProbes, type PreflightResult } from "./preflight.ts";
import { nodeImageFor } from "./render.ts";

export interface DoctorResult {
  checks: PreflightResult[];
  /** Where the probe image comes from: the packaged binary (made on the spot) or the local Docker. */
  probe: { source: "package"; binary: string } | { source: "docker"; image: string };
  /** The images the scenarios need from the local Docker (node images first). */
  images: string[];
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
  const checks = await preflight({ nodes, images }, probes);
  const probe = sources.probeBinary ? { source: "package" as const, binary: sources.probeBinary } : { source: "docker" as const, image: PROBE_IMAGE };
  return { checks, probe, images };
}

/** `…/dist/probe/linux-amd64/labrun-probe` → `linux-amd64`, for the report line. */
export function probePlatform(binary: string): string {
  return path.basename(path.dirname(binary));
}
