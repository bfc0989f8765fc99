/**
 * The warm pool on real kind: fill a pool of one for beebox-cni, claim it with
 * `labrun start` (no cluster is created: the lab's cluster is the pool's),
 * check the broken state by grading, then `down` and `gc` leave nothing.
 * One kind cluster in all (about 2 minutes on 2 cores).
 *
 *   /work/logs/slot npx mocha --timeout 0 test/e2e/lifecycle/pool.test.ts
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";
import { labrunProcess, show } from "../../helpers/e2e.ts";
import { resolveKindBinary } from "../../../runner/providers/kind.ts";

const KIND = resolveKindBinary();
const LAB = "e2e-pool";
const BROKEN = ["cni-configured", "coredns-running", "http-by-dns", "http-by-ip", "nodes-ready", "pod-dns", "pod-network", "workloads-running"];

let stateDir: string;
const made: string[] = [];

function labrun(args: string[]) {
  return labrunProcess(args, { LABRUN_STATE_DIR: stateDir });
}

/** Runs labrun, logging how long it took (and when its stdout first appeared: a process may linger after its answer). */
async function timed(what: string, args: string[]) {
  const t0 = performance.now();
  let firstOut: number | undefined;
  const run = labrun(args);
  run.stdout?.once("data", () => (firstOut = performance.now() - t0));
  const r = await run;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`      ${what}: ${s(performance.now() - t0)}${firstOut !== undefined ? ` (output after ${s(firstOut)})` : ""}`);
  return r;
}

async function containers(cluster: string): Promise<string[]> {
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${cluster}`]);
  return stdout.split("\n").filter(Boolean);
}

describe("e2e: warm pool on kind", function () {
  this.timeout(10 * 60_000);

  before(async function () {
    await skipWithoutNodeImage(this);
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-pool-"));
  });

  after(async () => {
    if (!stateDir) return;
    for (const cluster of made) {
      await execa(KIND, ["delete", "cluster", "--name", cluster, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
      const ids = await containers(cluster);
      if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  it("fills a pool of one, claims it in seconds with the broken state verified, grades, and leaves nothing behind", async () => {
    const filled = await timed("pool fill", ["pool", "fill", "--scenario", "beebox-cni", "--size", "1", "-o", "json"]);
    const fillResult = JSON.parse(filled.stdout || "{}") as { shape: string; created: string[]; live: number };
    made.push(...(fillResult.created ?? []));
    expect(filled.exitCode, show(filled)).to.equal(0);
    expect(fillResult.created).to.have.length(1);
    const poolCluster = fillResult.created[0]!;
    expect(poolCluster).to.match(/^labrun-pool-[0-9a-f]{8}-[0-9a-f]{6}$/);
    const listed = await labrun(["pool", "status", "-o", "json"]);
    const shapes = JSON.parse(listed.stdout) as { shape: string; target: number; ready: number; warming: number; claimed: number }[];
    expect(shapes.map(({ shape, target, ready, warming, claimed }) => ({ shape, target, ready, warming, claimed }))).to.deep.equal([{ shape: fillResult.shape, target: 1, ready: 1, warming: 0, claimed: 0 }]);

    const started = await timed("claim", ["start", "beebox-cni", "--name", LAB, "--no-refill", "-o", "json"]);
    expect(started.exitCode, show(started)).to.equal(0);
    const result = JSON.parse(started.stdout) as { lab: { cluster: string; pool?: { shape: string } }; brokenVerified: boolean; durationMs: number };
    console.log(`      claim: ${(result.durationMs / 1000).toFixed(1)} s in labrun start\n${String(started.stderr).replace(/^/gm, "        ")}`);
    expect(result.lab.cluster, "the lab runs on the pool's cluster: none was created").to.equal(poolCluster);
    expect(result.lab.pool?.shape).to.equal(fillResult.shape);
    expect(result.brokenVerified).to.equal(true);
    // Generous on purpose (a shared 2-core machine): a cold start creates a cluster and takes 30 s or more.
    expect(result.durationMs, "a claim does not create a cluster").to.be.below(25_000);
    expect((await labrun(["pool", "status", "-o", "json"])).stdout).to.contain('"claimed": 1');

    const graded = await timed("grade", ["grade", LAB, "-o", "json"]);
    const report = JSON.parse(graded.stdout || "{}") as { checks?: { id: string; status: string }[] };
    expect(report.checks, show(graded)).to.be.an("array");
    expect(report.checks!.filter((c) => c.status !== "passed").map((c) => c.id).sort()).to.deep.equal(BROKEN);

    const gone = await timed("down", ["down", LAB]);
    expect(gone.exitCode, show(gone)).to.equal(0);
    expect(await containers(poolCluster)).to.deep.equal([]);
    const gc = await labrun(["gc"]);
    expect(gc.stdout, show(gc)).to.contain("nothing to clean up");
    expect(await readdir(path.join(stateDir, "pool")).then((n) => n.filter((f) => f !== "targets.json" && f !== "fill.log"))).to.deep.equal([]);
    const drained = await labrun(["pool", "drain"]);
    expect(drained.stdout, show(drained)).to.contain("no ready pool clusters");
  });
});
