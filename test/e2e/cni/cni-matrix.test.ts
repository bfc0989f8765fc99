/**
 * The CNI matrix on real kind clusters: one cluster per CNI that labrun offers
 * offline (Flannel, kube-router as the CNI, Cilium), used for two labs in turn.
 *
 *   1. beebox-cni (no CNI): `labrun start` finds it broken as declared; the
 *      learner's fix `labrun addon <cni> --lab L | kubectl apply -f -`; the
 *      CNI's pods Running on both nodes; `labrun grade` gives full marks.
 *   2. frontend-policy on the same cluster (`labrun start --kubeconfig`, the
 *      scenario's copy set to this cluster's pod subnet and CNI, so that its
 *      `addon: { name: cni, networkPolicy: true }` step re-applies the CNI
 *      unchanged and adds kube-router's firewall to Flannel): broken as
 *      declared, the reference policy applied with kubectl, full marks.
 *
 * Prints a Markdown table of the outcomes (the README's CNI matrix):
 *
 *   npx mocha --timeout 0 test/e2e/cni/cni-matrix.test.ts
 *
 * Needs Docker, kind and the offline images (`npm run images`); skipped
 * otherwise. Cilium's images are not in the node image (`tools/images/build.sh
 * --with cilium` builds them, `npm run images` does): `labrun addon cilium
 * --lab L` loads them. Calico and Canal are not in the matrix: see docs/cni.md.
 *
 *   LABRUN_CNI_MATRIX_CNIS=cilium    only these rows (comma-separated). CI (`npm run
 *                                    test:e2e`) runs kube-router and cilium: Flannel is
 *                                    beebox-cni's reference solution and frontend-policy's
 *                                    CNI, proven by `labrun test` (both labs), grade/beebox
 *                                    and the online e2e in the same run.
 *   LABRUN_CNI_MATRIX_PREFIX=me-     lab names (default `cni-`: labs cni-flannel, cni-fp-flannel, ...)
 */
import { expect } from "chai";
import { execa } from "execa";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_KUBERNETES_VERSION } from "../../../runner/cluster/images.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import type { Report } from "../../../runner/schema/report.ts";
import type { CniName } from "../../../runner/schema/scenario.ts";
import { BIN, ROOT } from "../../helpers/cli.ts";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";

const CNIS: { cni: CniName; namespace: string; daemonSet: string; podLabel: string; enforcesPolicy: boolean }[] = [
  { cni: "flannel", namespace: "kube-flannel", daemonSet: "kube-flannel-ds", podLabel: "app=flannel", enforcesPolicy: false },
  { cni: "kube-router", namespace: "kube-system", daemonSet: "kube-router", podLabel: "k8s-app=kube-router", enforcesPolicy: true },
  { cni: "cilium", namespace: "kube-system", daemonSet: "cilium", podLabel: "k8s-app=cilium", enforcesPolicy: true },
];
const ONLY = process.env.LABRUN_CNI_MATRIX_CNIS?.split(",").map((c) => c.trim()).filter(Boolean);
const ROWS = ONLY ? CNIS.filter((r) => ONLY.includes(r.cni)) : CNIS;
if (ONLY?.some((c) => !CNIS.some((r) => r.cni === c))) throw new Error(`LABRUN_CNI_MATRIX_CNIS: unknown CNI in "${ONLY.join(",")}" (known: ${CNIS.map((r) => r.cni).join(", ")})`);
const PREFIX = process.env.LABRUN_CNI_MATRIX_PREFIX ?? "cni-";
const CACHE = process.env.LABRUN_CACHE ?? path.join(homedir(), ".cache/labrun");
const PATH = `${path.join(CACHE, "k8s", DEFAULT_KUBERNETES_VERSION)}:${process.env.PATH ?? ""}`;

interface Row {
  cni: string;
  beeboxBroken: string;
  beeboxSolved: string;
  cniPods: string;
  policyBroken: string;
  policySolved: string;
  seconds: number;
  /** Seconds of each phase, printed beside the table (the row's cost in CI). */
  phases: Record<string, number>;
}

async function labrun(args: string[], options: { input?: string; reject?: boolean; timeoutMs?: number } = {}) {
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", PATH },
    reject: false,
    timeout: options.timeoutMs ?? 10 * 60_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (options.reject !== false && r.exitCode !== 0) throw new Error(`labrun ${args.join(" ")}: exit ${r.exitCode}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  return r;
}

async function gradeOf(lab: string): Promise<Report> {
  const r = await labrun(["grade", lab, "-o", "json"], { reject: false });
  expect([0, 1], `labrun grade ${lab}: ${r.stderr.slice(-2000)}`).to.include(r.exitCode);
  return JSON.parse(r.stdout) as Report;
}

const notPassed = (report: Report) => report.checks.filter((c) => c.status !== "passed").map((c) => c.id).sort();
const score = (report: Report) => `${report.score.points}/${report.score.maxPoints}`;

describe("CNI matrix (real kind clusters): beebox-cni solved with each CNI, frontend-policy graded the same on each", function () {
  this.timeout(40 * 60_000);
  const rows: Row[] = [];
  let tmp: string;

  before(async function () {
    await skipWithoutNodeImage(this);
    tmp = await mkdtemp(path.join(tmpdir(), "labrun-cni-matrix-"));
  });

  after(async () => {
    for (const { cni } of ROWS) {
      await labrun(["down", `${PREFIX}fp-${cni}`], { reject: false });
      await labrun(["down", `${PREFIX}${cni}`], { reject: false });
    }
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (rows.length) {
      const table = [
        "| CNI | beebox-cni broken | beebox-cni solved (`labrun addon CNI \\| kubectl apply -f -`) | CNI pods Running | frontend-policy broken | frontend-policy solved | seconds |",
        "|---|---|---|---|---|---|---:|",
        ...rows.map((r) => `| ${r.cni} | ${r.beeboxBroken} | ${r.beeboxSolved} | ${r.cniPods} | ${r.policyBroken} | ${r.policySolved} | ${r.seconds} |`),
      ].join("\n");
      console.log(`\nCNI matrix:\n\n${table}\n`);
      for (const r of rows) console.log(`${r.cni}: ${Object.entries(r.phases).map(([k, v]) => `${k} ${v} s`).join(", ")}`);
      if (process.env.LABRUN_CNI_MATRIX_FILE) await writeFile(process.env.LABRUN_CNI_MATRIX_FILE, `${table}\n`);
    }
  });

  for (const { cni, namespace, daemonSet, podLabel, enforcesPolicy } of ROWS) {
    it(`${cni}: beebox-cni scores full marks the learner's way, and frontend-policy is graded the same on its cluster`, async () => {
      const started = Date.now();
      const lab = `${PREFIX}${cni}`;
      const row: Row = { cni, beeboxBroken: "not run", beeboxSolved: "not run", cniPods: "not run", policyBroken: "not run", policySolved: "not run", seconds: 0, phases: {} };
      rows.push(row);
      let mark = Date.now();
      const phase = (name: string) => {
        row.phases[name] = Math.round((Date.now() - mark) / 1000);
        mark = Date.now();
      };
      try {
        // 1. beebox-cni: broken as declared (start verifies it; the grade shows it)
        await labrun(["start", "beebox-cni", "--name", lab, "--no-pool"]);
        const broken = await gradeOf(lab);
        const beebox = await readFile(path.join(ROOT, "scenarios/beebox-cni/scenario.yaml"), "utf8");
        const failing = /failing: \[([^\]]+)\]/.exec(beebox)![1]!.split(",").map((s) => s.trim()).sort();
        expect(notPassed(broken)).to.deep.equal(failing);
        expect(broken.score.passed).to.equal(false);
        row.beeboxBroken = `${score(broken)}, fails as declared`;
        phase("beebox-cni start + grade");

        // the learner's fix
        const manifest = await labrun(["addon", cni, "--lab", lab]);
        phase("labrun addon (image load)");
        await labrun(["shell", lab, "--", "kubectl", "apply", "-f", "-"], { input: manifest.stdout });
        await labrun(["shell", lab, "--", "kubectl", "-n", namespace, "rollout", "status", `ds/${daemonSet}`, "--timeout=420s"], { timeoutMs: 8 * 60_000 });
        phase("CNI rollout");
        await labrun(["shell", lab, "--", "kubectl", "wait", "--for=condition=Ready", "pod", "-l", "app.kubernetes.io/part-of=beebox", "--timeout=240s"], { timeoutMs: 5 * 60_000 });
        const pods = JSON.parse((await labrun(["shell", lab, "--", "kubectl", "-n", namespace, "get", "pods", "-l", podLabel, "-o", "json"])).stdout) as {
          items: { spec: { nodeName: string }; status: { phase: string } }[];
        };
        const running = pods.items.filter((p) => p.status.phase === "Running").map((p) => p.spec.nodeName).sort();
        expect(running).to.deep.equal([`labrun-${lab}-control-plane`, `labrun-${lab}-worker`]);
        row.cniPods = `${daemonSet} Running on both nodes`;
        const solved = await gradeOf(lab);
        expect(notPassed(solved), JSON.stringify(solved.checks.filter((c) => c.status !== "passed"))).to.deep.equal([]);
        expect(solved.score.points).to.equal(solved.score.maxPoints);
        row.beeboxSolved = `${score(solved)}`;
        phase("workloads Ready + grade");

        // 2. frontend-policy on the same cluster: its copy takes this cluster's pod subnet and CNI
        const dir = path.join(tmp, cni, "frontend-policy");
        await cp(path.join(ROOT, "scenarios/frontend-policy"), dir, { recursive: true });
        const file = path.join(dir, "scenario.yaml");
        const text = await readFile(file, "utf8");
        expect(text).to.contain("podSubnet: 10.244.0.0/16");
        await writeFile(file, text.replace("podSubnet: 10.244.0.0/16", `podSubnet: 192.168.0.0/16\n      cni: ${cni}`));
        const record = await new LabStore({ env: process.env }).require(lab);
        const fp = `${PREFIX}fp-${cni}`;
        await labrun(["start", dir, "--name", fp, "--kubeconfig", record.kubeconfig, "--context", record.context]);
        const policyBroken = await gradeOf(fp);
        const failingFp = /failing: \[([^\]]+)\]/.exec(text)![1]!.split(",").map((s) => s.trim()).sort();
        expect(notPassed(policyBroken)).to.deep.equal(failingFp);
        row.policyBroken = `${score(policyBroken)}, fails as declared`;
        await labrun(["shell", fp, "--", "kubectl", "apply", "-f", path.join(dir, "solution/allow-client.yaml")]);
        const policySolved = await gradeOf(fp);
        expect(notPassed(policySolved), JSON.stringify(policySolved.checks.filter((c) => c.status !== "passed"))).to.deep.equal([]);
        row.policySolved = `${score(policySolved)} (enforced by ${enforcesPolicy ? cni : "kube-router-netpol beside flannel"})`;
        phase("frontend-policy start + grades");
      } finally {
        row.seconds = Math.round((Date.now() - started) / 1000);
        await labrun(["down", `${PREFIX}fp-${cni}`], { reject: false });
        await labrun(["down", lab], { reject: false });
        phase("down");
      }
    });
  }
});
