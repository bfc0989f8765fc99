/**
 * `labrun grade` against a bash verify script (kubectl get/exec and curl, the
 * way Killercoda and Instruqt labs are graded today) on a solved beebox-cni,
 * measured side by side in one run.
 *
 *   node bench/grade-vs-script.ts [--rounds N] [--baseline DIR]
 *
 * --rounds: how many alternating rounds (default 10). --baseline: another
 * labrun checkout (for example `git archive <commit>` of an older version,
 * with this checkout's node_modules linked in) whose `grade` is timed in the
 * same rounds, against the same lab: before and after, side by side.
 *
 * Starts beebox-cni (lab e2e-bench-grade, its own state dir), applies the
 * reference solution, checks that both graders give seven passes, then runs
 * the script and `labrun grade` alternately N times and prints each
 * measurement, the medians and the ratio grade/script. Also: the first grade
 * (which starts the probe container), CLI start-up, and how many probe
 * containers the source pod has after all the grades; before the solution,
 * the grade of the untouched (broken) lab, which must give its failing
 * verdicts without waiting out the checks' timeouts. The lab is always
 * deleted. The last line, `BENCH-RESULT {json}`, is for bench/all.ts. Not a test: numbers to watch (and quote in the README).
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createKubeClient } from "../runner/cluster/kube.ts";
import { PROBE_IMAGE } from "../runner/cluster/images.ts";
import { addonVars } from "../runner/lab/addons.ts";
import { runSteps } from "../runner/lab/steps.ts";
import { KindProvider } from "../runner/providers/kind.ts";
import type { Report } from "../runner/schema/report.ts";
import { loadScenario } from "../runner/scenario/load.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = path.join(ROOT, "runner/cli/bin.ts");
const SCRIPT = path.join(ROOT, "bench/verify-beebox.sh");
const args = process.argv.slice(2);
const rounds = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) || 10 : 10;
const baseline = args.includes("--baseline") ? path.resolve(args[args.indexOf("--baseline") + 1] ?? "") : undefined;
const LAB = `e2e-bench-grade-${process.pid}`; // distinct per run: other jobs may run this bench at the same time
const CLUSTER = `labrun-${LAB}`;
const state = await mkdtemp(path.join(tmpdir(), "labrun-bench-grade-"));
const env = { ...process.env, LABRUN_STATE_DIR: state, NO_COLOR: "1" };
const kubeconfig = path.join(state, "labs", LAB, "kubeconfig");

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
/** The 1-minute load average (the machine is shared: every figure is quoted with it). */
const load1 = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const labrun = (argv: string[], bin = BIN) => execa(process.execPath, [bin, ...argv], { cwd: ROOT, env, reject: false, stdin: "ignore" });
const script = () => execa(SCRIPT, [CLUSTER], { env: { ...env, KUBECONFIG: kubeconfig }, reject: false, stdin: "ignore" });

function gradeVerdicts(stdout: string): string {
  const report = JSON.parse(stdout) as Report;
  return report.checks.map((c) => `${c.status === "passed" ? "PASS" : "FAIL"} ${c.id}`).join("\n");
}

async function cleanup() {
  await execa(process.execPath, [BIN, "down", LAB], { env, reject: false });
}

process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));
try {
  const version = await timed(() => labrun(["--version"]));
  const started = await timed(() => labrun(["start", "beebox-cni", "--name", LAB]));
  if (started.value.exitCode !== 0) throw new Error(`labrun start failed (${started.value.exitCode}):\n${started.value.stderr}`);
  console.log(`labrun start beebox-cni                 ${secs(started.ms)}`);

  // An untouched lab: the checks fail, and the grade says so once the cluster has settled.
  const untouched = await timed(() => labrun(["grade", LAB, "-o", "json"]));
  if (untouched.value.exitCode !== 1) throw new Error(`labrun grade of the untouched lab should fail its checks (exit 1), got ${untouched.value.exitCode}:\n${untouched.value.stderr}`);
  console.log(`labrun grade, untouched (broken) lab    ${secs(untouched.ms)} (${(JSON.parse(untouched.value.stdout) as Report).checks.filter((c) => c.status !== "passed").length} checks not passing)`);

  // The learner's fix: the reference solution (Flannel, nodes and pods Ready).
  const loaded = await loadScenario("beebox-cni", { cwd: ROOT });
  const kind = new KindProvider();
  const client = createKubeClient({ kubeconfig, nodeRunner: (node, argv, opts) => kind.execOnNode(CLUSTER, node, argv, opts) });
  const solved = await timed(() =>
    runSteps(loaded.scenario.spec.solution.steps, {
      client,
      provider: kind,
      cluster: CLUSTER,
      scenarioDir: loaded.dir,
      vars: addonVars(loaded.scenario.spec.cluster),
      phase: "solution",
    }),
  );
  console.log(`reference solution applied              ${secs(solved.ms)}`);

  // Both graders must agree before their times mean anything.
  const first = await timed(() => labrun(["grade", LAB, "-o", "json"]));
  if (first.value.exitCode !== 0) throw new Error(`labrun grade did not pass the solved lab (${first.value.exitCode}):\n${first.value.stdout}\n${first.value.stderr}`);
  const bash = await script();
  if (bash.exitCode !== 0) throw new Error(`the verify script did not pass the solved lab:\n${bash.stdout}\n${bash.stderr}`);
  console.log(`labrun grade, first (starts the probe)  ${secs(first.ms)}`);
  console.log(`verdicts (script | labrun):\n${bash.stdout.split("\n").map((l, i) => `  ${l.padEnd(26)} ${gradeVerdicts(first.value.stdout).split("\n")[i] ?? ""}`).join("\n")}`);

  // The baseline's probe image must be in the nodes too.
  const baseBin = baseline ? path.join(baseline, "runner/cli/bin.ts") : undefined;
  if (baseline) {
    const sources = await Promise.all(["runner/cluster/images.ts", "runner/lab/images.ts"].map((f) => readFile(path.join(baseline, f), "utf8").catch(() => "")));
    const probe = /PROBE_IMAGE = "([^"]+)"/.exec(sources.join("\n"))?.[1];
    if (probe) await kind.loadImages(CLUSTER, [probe]);
    const b = await labrun(["grade", LAB, "-o", "json"], baseBin);
    if (b.exitCode !== 0) throw new Error(`the baseline's grade did not pass the solved lab (${b.exitCode}):\n${b.stderr}`);
  }

  const times = { script: [] as number[], grade: [] as number[], baseline: [] as number[] };
  const loads: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const s = await timed(script);
    const g = await timed(() => labrun(["grade", LAB, "-o", "json"]));
    if (s.value.exitCode !== 0 || g.value.exitCode !== 0) throw new Error(`round ${i + 1}: script exit ${s.value.exitCode}, grade exit ${g.value.exitCode}\n${g.value.stderr}`);
    times.script.push(s.ms);
    times.grade.push(g.ms);
    loads.push(loadavg()[0]!);
    let line = `round ${String(i + 1).padStart(2)} (load ${load1()}): script ${secs(s.ms)}  labrun grade ${secs(g.ms)} (${(JSON.parse(g.value.stdout) as Report).durationMs} ms in checks)`;
    if (baseBin) {
      const b = await timed(() => labrun(["grade", LAB, "-o", "json"], baseBin));
      if (b.value.exitCode !== 0) throw new Error(`round ${i + 1}: baseline grade exit ${b.value.exitCode}\n${b.value.stderr}`);
      times.baseline.push(b.ms);
      line += `  baseline grade ${secs(b.ms)} (${(JSON.parse(b.value.stdout) as Report).durationMs} ms in checks)`;
    }
    console.log(line);
  }

  const pod = await client.get({ apiVersion: "v1", kind: "Pod", name: "testclient", namespace: "default" });
  const probes = ((pod?.spec as { ephemeralContainers?: { name: string; image: string }[] } | undefined)?.ephemeralContainers ?? []).filter((c) => c.name.startsWith("labrun-probe-"));
  await client.close();

  const ms = median(times.script);
  const mg = median(times.grade);
  console.log(`\nlabrun --version (CLI start-up)          ${secs(version.ms)}`);
  console.log(`load average (1 min) during the rounds: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
  console.log(`median of ${rounds}: verify script ${secs(ms)}, labrun grade ${secs(mg)}; ratio grade/script = ${(mg / ms).toFixed(2)} (goal 0.50)`);
  if (times.baseline.length) {
    const mb = median(times.baseline);
    console.log(`baseline (${baseline}): grade ${secs(mb)}; ratio baseline/script = ${(mb / ms).toFixed(2)}; this grade is ${(mb / mg).toFixed(1)}x faster`);
  }
  const mine = probes.filter((c) => c.image === PROBE_IMAGE).length;
  console.log(`probe containers in testclient after ${rounds + 1} grades: ${mine}${probes.length > mine ? ` (plus ${probes.length - mine} from the baseline's grades)` : ""}`);
  console.log(`BENCH-RESULT ${JSON.stringify({ bench: "grade", rounds, scriptMs: ms, gradeMs: mg, untouchedMs: untouched.ms, startMs: started.ms, firstGradeMs: first.ms, probeContainers: mine, loadMin: Math.min(...loads), loadMax: Math.max(...loads), ...(times.baseline.length ? { baselineMs: median(times.baseline) } : {}) })}`);
} finally {
  await cleanup();
  await rm(state, { recursive: true, force: true });
}
