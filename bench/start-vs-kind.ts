/**
 * Wall time of `labrun start <scenario>` against a bare `kind create cluster`
 * with the same kind config and node image, and of a start that claims a warm
 * pool cluster (`labrun pool fill --size 1`, then `labrun start`), measured in
 * the same run; then the memory a running lab takes (its node containers,
 * `docker stats`) and how many such labs this machine fits before preflight
 * refuses one (free memory below 1 GiB per node).
 *
 *   node bench/start-vs-kind.ts [SCENARIO] [--rounds N] [--no-pool]
 *
 * Prints each measurement and the ratios, and last `BENCH-RESULT {json}` for
 * bench/all.ts. With LABRUN_NODE_IMAGE set, both use that node image (e.g. the
 * previous one, to compare). Clusters are named labrun-e2e-bench-*
 * or labrun-pool-* (in a temporary state directory) and always deleted. Not a
 * test: a number to watch.
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { GIB } from "../runner/lab/preflight.ts";
import { nodeImageFor, renderKindConfig } from "../runner/lab/render.ts";
import { resolveKindBinary } from "../runner/providers/kind.ts";
import { loadScenario } from "../runner/scenario/load.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const scenarioRef = args.find((a) => !a.startsWith("--")) ?? "beebox-cni";
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 1) || 1;
const withPool = !args.includes("--no-pool");
const kind = resolveKindBinary();
const loaded = await loadScenario(scenarioRef, { cwd: ROOT });
const image = nodeImageFor(loaded.scenario.spec.cluster);
const state = await mkdtemp(path.join(tmpdir(), "labrun-bench-"));
// Distinct per run: other jobs on a shared machine may run this bench at the same time.
const BARE = `labrun-e2e-bench-bare-${process.pid}`;
const LAB = `e2e-bench-${process.pid}`;

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(34)} ${secs(ms)}`);
  return ms;
}

const labrunCli = (argv: string[]) => execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), ...argv], { cwd: ROOT, env: { ...process.env, LABRUN_STATE_DIR: state, NO_COLOR: "1" }, reject: false });

async function cleanup() {
  await execa(kind, ["delete", "cluster", "--name", BARE, "--kubeconfig", path.join(state, "bare.kubeconfig")], { reject: false });
  await labrunCli(["down", LAB]);
  await labrunCli(["pool", "drain"]);
  await labrunCli(["gc"]);
}

/** Fill a pool of one, claim it, measure the claim and the lab's memory; the lab is deleted after. */
const result: Record<string, unknown> = { bench: "start", scenario: scenarioRef };

async function poolBench(bare: number, cold: number): Promise<void> {
  console.log("");
  result.fillMs = await timed(`labrun pool fill --size 1`, async () => {
    const r = await labrunCli(["pool", "fill", "--scenario", loaded.name, "--size", "1"]);
    if (r.exitCode !== 0) throw new Error(`labrun pool fill failed (${r.exitCode}):\n${r.stderr}`);
  });
  let claimMs = 0;
  const wall = await timed(`labrun start ${loaded.name} (claim)`, async () => {
    const r = await labrunCli(["start", loaded.name, "--name", LAB, "--no-refill", "-o", "json"]);
    if (r.exitCode !== 0) throw new Error(`labrun start (claim) failed (${r.exitCode}):\n${r.stderr}`);
    claimMs = (JSON.parse(r.stdout) as { durationMs: number }).durationMs;
    for (const line of r.stderr.split("\n").filter((l) => /^[✓✗-] /.test(l))) console.log(`    ${line}`);
  });
  const lab = JSON.parse((await labrunCli(["status", LAB, "-o", "json"])).stdout) as { lab: { cluster: string } };
  const mem = await labMemory(lab.lab.cluster);
  const free = await memAvailable();
  await labrunCli(["down", LAB]);
  Object.assign(result, { claimWallMs: wall, claimMs });
  console.log(`\nclaim: ${secs(wall)} wall (${secs(claimMs)} in labrun start, process start excluded); ratio claim/kind = ${(wall / bare).toFixed(2)}, claim/cold start = ${(wall / cold).toFixed(2)}`);
  const nodes = loaded.scenario.spec.cluster.nodes.length;
  if (mem && free !== undefined) {
    const need = nodes * GIB; // preflight: 1 GiB free per node of the next lab
    const fit = free < need ? 0 : Math.floor((free - need) / mem) + 1;
    Object.assign(result, { labMemory: mem, memAvailable: free, labsFit: fit });
    console.log(`memory: a running ${loaded.name} lab takes ${(mem / GIB).toFixed(2)} GiB (${nodes} node containers); ${(free / GIB).toFixed(1)} GiB free now, so about ${fit} more lab(s) fit before preflight refuses one`);
  }
}

/** The memory the cluster's node containers use now (`docker stats`), in bytes. */
async function labMemory(cluster: string): Promise<number | undefined> {
  const r = await execa("docker", ["stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"], { reject: false });
  const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: GIB, kB: 1e3, MB: 1e6, GB: 1e9 };
  let total = 0;
  for (const line of r.stdout.split("\n")) {
    const [name = "", usage = ""] = line.split("\t");
    const m = /^([\d.]+)\s*([A-Za-z]+)/.exec(usage);
    if (name.startsWith(`${cluster}-`) && m) total += Number(m[1]) * (units[m[2]!] ?? 1);
  }
  return total || undefined;
}

async function memAvailable(): Promise<number | undefined> {
  const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(await readFile("/proc/meminfo", "utf8").catch(() => ""));
  return m ? Number(m[1]) * 1024 : undefined;
}

process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));
const results: { bare: number; labrun: number }[] = [];
try {
  console.log(`scenario ${loaded.name}, node image ${image}, kind ${(await execa(kind, ["version"])).stdout.split(" ")[1]}, ${rounds} round(s)`);
  for (let i = 0; i < rounds; i++) {
    // Same config as labrun renders (labrun adds only its read-only mark mount).
    const config = stringify(renderKindConfig(loaded.scenario.spec.cluster));
    const bare = await timed("kind create cluster (bare)", async () => {
      await execa(kind, ["create", "cluster", "--name", BARE, "--image", image, "--config", "-", "--kubeconfig", path.join(state, "bare.kubeconfig")], { input: config });
    });
    await execa(kind, ["delete", "cluster", "--name", BARE, "--kubeconfig", path.join(state, "bare.kubeconfig")]);
    const labrun = await timed(`labrun start ${loaded.name}`, async () => {
      const r = await labrunCli(["start", loaded.name, "--name", LAB, "--no-pool"]);
      if (r.exitCode !== 0) throw new Error(`labrun start failed (${r.exitCode}):\n${r.stderr}`);
      for (const line of r.stderr.split("\n").filter((l) => /^[✓✗-] /.test(l))) console.log(`    ${line}`);
    });
    await execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "down", LAB], { env: { ...process.env, LABRUN_STATE_DIR: state } });
    results.push({ bare, labrun });
  }
  const sum = (k: "bare" | "labrun") => results.reduce((n, r) => n + r[k], 0) / results.length;
  console.log(`\nmean: kind ${secs(sum("bare"))}, labrun start ${secs(sum("labrun"))}, ratio labrun/kind = ${(sum("labrun") / sum("bare")).toFixed(2)}`);
  Object.assign(result, { rounds, bareMs: sum("bare"), startMs: sum("labrun") });
  if (withPool) await poolBench(sum("bare"), sum("labrun"));
  console.log(`BENCH-RESULT ${JSON.stringify(result)}`);
} finally {
  await cleanup();
  await rm(state, { recursive: true, force: true });
}
