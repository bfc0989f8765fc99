/**
 * `npm run bench`: every speed figure of issue 12, measured side by side in
 * one run on this machine, then one table of ratios against their goals.
 *
 *   node bench/all.ts [--rounds N] [--all-scenarios] [--skip grade,start,test]
 *
 * Runs, one after another (each prints its own lines as it goes):
 *   bench/grade-vs-script.ts   bash verify script vs `labrun grade` (solved
 *                              beebox-cni), and the grade of an untouched one
 *   bench/start-vs-kind.ts     bare `kind create cluster` vs `labrun start`
 *                              cold, a warm pool claim, memory per lab and how
 *                              many labs fit before preflight refuses one
 *   bench/test-per-scenario.ts `labrun test` per scenario (two by default;
 *                              --all-scenarios: the whole catalogue)
 * Creates kind clusters: on a shared machine run it through the cluster slot
 * (`/work/logs/slot npm run bench` here). Not a test: numbers to watch; the
 * README's performance section quotes them.
 */
import { execa } from "execa";
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const rounds = args.includes("--rounds") ? (args[args.indexOf("--rounds") + 1] ?? "10") : "10";
const skip = new Set(args.includes("--skip") ? (args[args.indexOf("--skip") + 1] ?? "").split(",") : []);
const GIB = 1024 ** 3;
type Result = Record<string, unknown>;

const loadavg = async () => (await readFile("/proc/loadavg", "utf8").catch(() => "")).split(" ").slice(0, 3).join(" ");

/** Runs one bench, its output shown as it comes; its BENCH-RESULT line. */
async function bench(file: string, argv: string[]): Promise<Result | undefined> {
  console.log(`\n=== node bench/${file} ${argv.join(" ")}   (load average ${await loadavg()})`);
  const child = execa(process.execPath, [path.join(ROOT, "bench", file), ...argv], { cwd: ROOT, reject: false, stdin: "ignore", all: true });
  let result: Result | undefined;
  let partial = "";
  const take = (line: string) => {
    if (line.startsWith("BENCH-RESULT ")) result = JSON.parse(line.slice("BENCH-RESULT ".length)) as Result;
    else if (line) console.log(`  ${line}`);
  };
  child.all?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    lines.forEach(take);
  });
  const done = await child;
  take(partial);
  if (done.exitCode !== 0) console.log(`  (bench/${file} exited ${done.exitCode})`);
  return result;
}

const s = (ms: unknown) => (typeof ms === "number" ? `${(ms / 1000).toFixed(1)} s` : "-");
const x = (a: unknown, b: unknown) => (typeof a === "number" && typeof b === "number" && b > 0 ? `${(a / b).toFixed(2)}x` : "-");
const met = (ok: boolean | undefined) => (ok === undefined ? "-" : ok ? "met" : "NOT met");

const before = await loadavg();
const started = new Date().toISOString();
const grade = skip.has("grade") ? undefined : await bench("grade-vs-script.ts", ["--rounds", rounds]);
const start = skip.has("start") ? undefined : await bench("start-vs-kind.ts", ["beebox-cni"]);
const test = skip.has("test") ? undefined : await bench("test-per-scenario.ts", args.includes("--all-scenarios") ? ["--all"] : []);

const rows: [string, string, string, string][] = [];
const num = (r: Result | undefined, k: string) => (typeof r?.[k] === "number" ? (r[k] as number) : undefined);
if (grade) {
  const ratio = num(grade, "gradeMs")! / num(grade, "scriptMs")!;
  rows.push([`labrun grade / bash verify script (solved beebox-cni, median of ${String(grade.rounds)})`, `${x(grade.gradeMs, grade.scriptMs)} (${s(grade.gradeMs)} vs ${s(grade.scriptMs)})`, "0.50x", met(ratio <= 0.5)]);
  rows.push(["labrun grade of an untouched beebox-cni", s(grade.untouchedMs), "10 s", met(num(grade, "untouchedMs")! <= 10_000)]);
}
if (start) {
  rows.push(["labrun start --no-pool / bare kind create (beebox-cni)", `${x(start.startMs, start.bareMs)} (${s(start.startMs)} vs ${s(start.bareMs)})`, "1.15x", met(num(start, "startMs")! / num(start, "bareMs")! <= 1.15)]);
  if (start.claimWallMs !== undefined) {
    rows.push(["labrun start claiming a warm pool cluster / bare kind", `${x(start.claimWallMs, start.bareMs)} (${s(start.claimWallMs)} wall)`, "1.15x", met(num(start, "claimWallMs")! / num(start, "bareMs")! <= 1.15)]);
    rows.push(["pool claim: time to lab (wall, CLI start-up included; inside start)", `${s(start.claimWallMs)} (${s(start.claimMs)})`, "5 s", met(num(start, "claimWallMs")! <= 5_000)]);
  }
  if (start.labMemory !== undefined) rows.push(["memory of a running beebox-cni lab (docker stats, 2 nodes)", `${(num(start, "labMemory")! / GIB).toFixed(2)} GiB`, "-", "-"]);
  if (start.labsFit !== undefined) rows.push([`labs that fit before preflight refuses one (${(num(start, "memAvailable")! / GIB).toFixed(1)} GiB free)`, String(start.labsFit), "-", "-"]);
}
if (test) {
  for (const r of (test.scenarios as { scenario: string; status: string; durationMs: number }[]) ?? []) rows.push([`labrun test ${r.scenario} (all phases, ${r.status})`, s(r.durationMs), "2 min", met(r.durationMs <= 120_000)]);
  rows.push([`labrun test, median per scenario (--concurrency ${String(test.concurrency)} --warm-ahead ${String(test.warmAhead)})`, s(test.medianMs), "2 min", met(num(test, "medianMs")! <= 120_000)]);
}
console.log(`\n=== npm run bench: ${started}, ${cpus().length} cores, load average ${before} at the start, ${await loadavg()} at the end\n`);
console.log("| measure | value | goal | |\n|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
