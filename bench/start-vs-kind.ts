/**
 * Wall time of `labrun start <scenario>` against a bare `kind create cluster`
 * with the same kind config and node image, measured in the same run.
 *
 *   node bench/start-vs-kind.ts [SCENARIO] [--rounds N]
 *
 * Prints each measurement and the ratio labrun/kind. Clusters are named
 * labrun-e2e-bench-* and always deleted. Not a test: a number to watch.
 */
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { nodeImageFor, renderKindConfig } from "../runner/lab/render.ts";
import { resolveKindBinary } from "../runner/providers/kind.ts";
import { loadScenario } from "../runner/scenario/load.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const scenarioRef = args.find((a) => !a.startsWith("--")) ?? "beebox-cni";
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 1) || 1;
const kind = resolveKindBinary();
const loaded = await loadScenario(scenarioRef, { cwd: ROOT });
const image = nodeImageFor(loaded.scenario.spec.cluster);
const state = await mkdtemp(path.join(tmpdir(), "labrun-bench-"));
const BARE = "labrun-e2e-bench-bare";
const LAB = "e2e-bench";

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(34)} ${secs(ms)}`);
  return ms;
}

async function cleanup() {
  await execa(kind, ["delete", "cluster", "--name", BARE, "--kubeconfig", path.join(state, "bare.kubeconfig")], { reject: false });
  await execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "down", LAB], { env: { ...process.env, LABRUN_STATE_DIR: state }, reject: false });
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
      const r = await execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "start", loaded.name, "--name", LAB], {
        cwd: ROOT,
        env: { ...process.env, LABRUN_STATE_DIR: state, NO_COLOR: "1" },
        reject: false,
      });
      if (r.exitCode !== 0) throw new Error(`labrun start failed (${r.exitCode}):\n${r.stderr}`);
      for (const line of r.stderr.split("\n").filter((l) => /^[✓✗-] /.test(l))) console.log(`    ${line}`);
    });
    await execa(process.execPath, [path.join(ROOT, "runner/cli/bin.ts"), "down", LAB], { env: { ...process.env, LABRUN_STATE_DIR: state } });
    results.push({ bare, labrun });
  }
  const sum = (k: "bare" | "labrun") => results.reduce((n, r) => n + r[k], 0) / results.length;
  console.log(`\nmean: kind ${secs(sum("bare"))}, labrun start ${secs(sum("labrun"))}, ratio labrun/kind = ${(sum("labrun") / sum("bare")).toFixed(2)}`);
} finally {
  await cleanup();
  await rm(state, { recursive: true, force: true });
}
