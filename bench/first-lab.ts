/**
 * Time to the first lab, the two ways (issue 16): online with the images in a
 * registry, against offline from a cold cache (`npm run images` from nothing,
 * then `labrun start --offline`). test/e2e/online prints this side by side
 * after it has measured its online start; run alone, it prints the offline
 * side and takes the other figures as arguments.
 *
 * A cold build is not run for this (16-40 min here, and the shared cache
 * would have to go): its figure is an estimate, the sum over the steps of the
 * last full build of each step's last real (not cached) duration, as
 * tools/images/build.sh records them in $LABRUN_CACHE/logs/timings.tsv, or as
 * a saved build output shows them (`--build-log FILE`: its `[ok] NAME  12s`
 * lines). Steps with no real build on record are named, never guessed.
 *
 *   node bench/first-lab.ts [--build-log FILE] [--online-s N] [--offline-start-s N]
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface StepTime {
  /** The build run (its start time; "" for a saved build output). */
  run: string;
  status: "ok" | "cached";
  seconds: number;
  name: string;
}

export interface BuildEstimate {
  seconds: number;
  /** The steps of the last full build. */
  steps: number;
  /** Steps with no real build on record (not counted in `seconds`). */
  missing: string[];
  source: string;
}

/** The node image's step ends every full build (`build.sh` without --only). */
const FULL_BUILD_STEP = /^image \S*kind-node:/;

/** $LABRUN_CACHE/logs/timings.tsv: RUN, STATUS, SECONDS, NAME per line. */
export function parseTimings(tsv: string): StepTime[] {
  return tsv
    .split("\n")
    .map((line) => line.split("\t"))
    .filter((f) => f.length === 4 && (f[1] === "ok" || f[1] === "cached") && /^\d+$/.test(f[2]!))
    .map(([run, status, seconds, name]) => ({ run: run!, status: status as StepTime["status"], seconds: Number(seconds), name: name! }));
}

/** build.sh's own output: `[ok]      NAME   12s` and `[cached]  NAME    0s` lines. */
export function parseBuildLog(text: string): StepTime[] {
  const out: StepTime[] = [];
  for (const line of text.split("\n")) {
    const m = /^\[(ok|cached)\]\s+(.+?)\s+(\d+)s\s*$/.exec(line);
    if (m) out.push({ run: "", status: m[1] as StepTime["status"], seconds: Number(m[3]), name: m[2]! });
  }
  return out;
}

/** The cold build's estimate: the last full build's steps, each at its last real duration. */
export function coldBuild(times: readonly StepTime[], source: string): BuildEstimate | undefined {
  const lastFull = [...times].reverse().find((t) => FULL_BUILD_STEP.test(t.name))?.run;
  if (lastFull === undefined) return undefined;
  const steps = [...new Set(times.filter((t) => t.run === lastFull).map((t) => t.name))];
  const real = new Map<string, number>();
  for (const t of times) if (t.status === "ok") real.set(t.name, t.seconds);
  const missing = steps.filter((s) => !real.has(s));
  const seconds = steps.reduce((sum, s) => sum + (real.get(s) ?? 0), 0);
  return { seconds, steps: steps.length, missing, source };
}

const s = (n: number) => (n >= 120 ? `${(n / 60).toFixed(1)} min` : `${n.toFixed(1)} s`);

/** The side-by-side table (Markdown). */
export function comparison(r: { onlineStartS?: number | undefined; offlineStartS?: number | undefined; build?: BuildEstimate | undefined }): string {
  const rows = ["| path | time to the first lab | how |", "|---|---|---|"];
  rows.push(`| online, registry warm | ${r.onlineStartS === undefined ? "not measured" : `**${s(r.onlineStartS)}**`} | \`labrun start --online\` through the registry, measured |`);
  const b = r.build;
  const buildText = b
    ? `${s(b.seconds)} build${b.missing.length ? ` (+ ${b.missing.length} of ${b.steps} steps with no build on record: ${b.missing.join(", ")})` : ""}`
    : "no build on record (a build appends its step times to $LABRUN_CACHE/logs/timings.tsv; or give a saved build output: --build-log, LABRUN_E2E_BUILD_LOG)";
  const start = r.offlineStartS === undefined ? "an offline start (not measured here)" : `${s(r.offlineStartS)} offline start (measured)`;
  const total = b && r.offlineStartS !== undefined ? `**${s(b.seconds + r.offlineStartS)}**: ` : "";
  rows.push(`| offline, cache cold | ${total}${buildText} + ${start} | build: estimate, the sum of each step's last real build (${b?.source ?? "-"}) |`);
  if (b && r.onlineStartS && r.offlineStartS !== undefined) rows.push(`| ratio | ${((b.seconds + r.offlineStartS) / r.onlineStartS).toFixed(1)}x sooner online | |`);
  return rows.join("\n");
}

/** The estimate from a saved build output, else from the cache's timings.tsv. */
export async function buildEstimate(buildLog?: string, env: NodeJS.ProcessEnv = process.env): Promise<BuildEstimate | undefined> {
  if (buildLog) return coldBuild(parseBuildLog(await readFile(buildLog, "utf8")), buildLog);
  const file = path.join(env.LABRUN_CACHE ?? path.join(homedir(), ".cache/labrun"), "logs/timings.tsv");
  const text = await readFile(file, "utf8").catch(() => "");
  return coldBuild(parseTimings(text), file);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  console.log(comparison({ onlineStartS: num(opt("--online-s")), offlineStartS: num(opt("--offline-start-s")), build: await buildEstimate(opt("--build-log")) }));
}
