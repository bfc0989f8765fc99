/**
 * `labrun test` wall time per scenario, all phases included (broken state,
 * attacks, shortcuts, solution), and where it went (start, phases, undo,
 * teardown; runner/report/scenario-test.ts `timings`).
 *
 *   node bench/test-per-scenario.ts [SCENARIO...] [--all] [--concurrency N] [--warm-ahead N] [--no-cni-runs]
 *
 * Default: beebox-cni and service-selector, one at a time (--concurrency 1)
 * with one cluster warmed ahead, so the second scenario claims a cluster
 * created while the first ran: the way a catalogue run spends its time.
 * --all: every shipped scenario. Runs in its own state directory; every
 * cluster is deleted by `labrun test` itself. Prints a line per scenario and
 * last `BENCH-RESULT {json}` for bench/all.ts. Not a test: numbers to watch.
 */
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ScenarioTestResult } from "../runner/report/scenario-test.ts";
import { timingLine } from "../runner/report/scenario-test.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const value = (flag: string, fallback: string) => (args.includes(flag) ? (args[args.indexOf(flag) + 1] ?? fallback) : fallback);
const flagValues = new Set(["--concurrency", "--warm-ahead"].flatMap((f) => (args.includes(f) ? [args.indexOf(f) + 1] : [])));
const named = args.filter((a, i) => !a.startsWith("--") && !flagValues.has(i));
const scenarios = args.includes("--all") ? [] : named.length ? named : ["beebox-cni", "service-selector"];
const concurrency = value("--concurrency", "1");
const warmAhead = value("--warm-ahead", "1");
const state = await mkdtemp(path.join(tmpdir(), "labrun-bench-test-"));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

try {
  const t0 = performance.now();
  const loads: number[] = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);
  const r = await execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "test", ...scenarios, "--concurrency", concurrency, "--warm-ahead", warmAhead, ...(args.includes("--no-cni-runs") ? ["--no-cni-runs"] : []), "-o", "json"], {
    cwd: ROOT,
    env: { ...process.env, LABRUN_STATE_DIR: state, NO_COLOR: "1" },
    reject: false,
    stdin: "ignore",
  });
  const wall = performance.now() - t0;
  clearInterval(sampler);
  loads.push(loadavg()[0]!);
  let results: ScenarioTestResult[];
  try {
    results = (JSON.parse(r.stdout) as { results: ScenarioTestResult[] }).results;
  } catch {
    throw new Error(`labrun test gave no results (exit ${r.exitCode}):\n${r.stderr.slice(-3000)}`);
  }
  console.log(`labrun test ${scenarios.join(" ") || "(all)"} --concurrency ${concurrency} --warm-ahead ${warmAhead}: ${secs(wall)} wall, exit ${r.exitCode}`);
  for (const x of results) console.log(`  ${x.status === "passed" ? "✓" : "✗"} ${x.scenario.padEnd(24)} ${secs(x.durationMs).padStart(7)}  ${x.phases.length} phases; ${timingLine(x)}`);
  const sorted = results.map((x) => x.durationMs).sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  console.log(`median per scenario: ${secs(median)} (goal 2 min or less); load average (1 min) ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
  console.log(
    `BENCH-RESULT ${JSON.stringify({ bench: "test", wallMs: wall, exitCode: r.exitCode, medianMs: median, concurrency: Number(concurrency), warmAhead: Number(warmAhead), loadMin: Math.min(...loads), loadMax: Math.max(...loads), scenarios: results.map((x) => ({ scenario: x.scenario, status: x.status, durationMs: x.durationMs, phases: x.phases.length, timings: x.timings })) })}`,
  );
  if (r.exitCode !== 0) process.exitCode = 1;
} finally {
  await rm(state, { recursive: true, force: true });
}
