/**
 * The lab lifecycle on real kind clusters (named labrun-e2e-*, always removed).
 *
 * Frugal with clusters (each costs 1-2 minutes on 2 cores): two labs are
 * started side by side and serve every check of a running lab (broken state,
 * shell, node, status, down, gc); one more start is interrupted mid-create.
 *
 * Needs Docker, kind (LABRUN_KIND, PATH or ~/.cache/labrun/bin/kind) and the
 * offline node image (tools/images/build.sh); skipped otherwise.
 *
 *   npx mocha --timeout 0 'test/e2e/lifecycle/*.test.ts'
 */
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";
import { labrunProcess, ROOT, show } from "../../helpers/e2e.ts";
import { resolveKindBinary } from "../../../runner/providers/kind.ts";

const BIN = path.join(ROOT, "runner/cli/bin.ts");
const KIND = resolveKindBinary();
const LABS = ["e2e-life-a", "e2e-life-b", "e2e-life-int"];

let stateDir: string;

function labrun(args: string[], options: { reject?: boolean } = {}) {
  return labrunProcess(args, { LABRUN_STATE_DIR: stateDir }, options);
}

async function containers(cluster: string): Promise<string[]> {
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${cluster}`]);
  return stdout.split("\n").filter(Boolean);
}

async function forceCleanup(): Promise<void> {
  for (const lab of LABS) {
    const cluster = `labrun-${lab}`;
    await execa(KIND, ["delete", "cluster", "--name", cluster, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
    const ids = await containers(cluster);
    if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
  }
}

describe("e2e: lab lifecycle on kind", function () {
  this.timeout(15 * 60_000);

  before(async function () {
    await skipWithoutNodeImage(this);
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-state-"));
  });

  after(async () => {
    if (!stateDir) return;
    await forceCleanup();
    await rm(stateDir, { recursive: true, force: true });
  });

  describe("two labs side by side", () => {
    before(async function () {
      this.timeout(12 * 60_000);
      const [a, b] = await Promise.all([labrun(["start", "beebox-cni", "--name", LABS[0]!]), labrun(["start", "beebox-cni", "--name", LABS[1]!, "-o", "json"])]);
      expect(a.exitCode, show(a)).to.equal(0);
      expect(b.exitCode, show(b)).to.equal(0);
      expect(a.stdout).to.contain("BeeBox").and.contain(`export KUBECONFIG=${path.join(stateDir, "labs", LABS[0]!, "kubeconfig")}`);
      expect(a.stdout).to.contain(`labrun node ${LABS[0]} worker`);
      expect(a.stderr).to.match(/create cluster labrun-e2e-life-a \(\d/);
      const json = JSON.parse(b.stdout) as { nodes: string[]; lab: { status: string }; brokenVerified: boolean };
      expect(json.lab.status).to.equal("ready");
      expect(json.brokenVerified, "the checks in broken.failing were graded and fail").to.equal(true);
      expect(a.stderr).to.contain("verify the broken state").and.contain("8 checks fail as expected");
      expect(json.nodes).to.deep.equal([`labrun-${LABS[1]}-control-plane`, `labrun-${LABS[1]}-worker`]);
    });

    it("leaves two NotReady nodes (no CNI) and Pending pods, as the lab describes", async () => {
      const nodes = await labrun(["shell", LABS[0]!, "--", "kubectl", "get", "nodes", "-o", "json"]);
      expect(nodes.exitCode, show(nodes)).to.equal(0);
      const list = JSON.parse(nodes.stdout) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string; message: string }[] } }[] };
      expect(list.items.map((n) => n.metadata.name)).to.deep.equal([`labrun-${LABS[0]}-control-plane`, `labrun-${LABS[0]}-worker`]);
      for (const n of list.items) {
        const ready = n.status.conditions.find((c) => c.type === "Ready")!;
        expect(ready.status).to.equal("False");
        expect(ready.message).to.match(/cni|network plugin/i);
      }
      const pods = await labrun(["shell", LABS[0]!, "--", "kubectl", "get", "pods", "-n", "default", "-o", "json"]);
      const podList = JSON.parse(pods.stdout) as { items: { metadata: { name: string }; status: { phase: string } }[] };
      expect(podList.items.map((p) => [p.metadata.name, p.status.phase]).sort()).to.deep.equal([
        ["cyberdyne-frontend", "Pending"],
        ["testclient", "Pending"],
      ]);
    });

    it("labrun node runs commands on a node by its short name; the CNI directory is empty", async () => {
      const r = await labrun(["node", LABS[0]!, "worker", "--", "sh", "-c", "hostname; ls -A /etc/cni/net.d | wc -l"]);
      expect(r.exitCode, show(r)).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.deep.equal([`labrun-${LABS[0]}-worker`, "0"]);
      const missing = await labrun(["node", LABS[0]!, "worker7", "--", "true"]);
      expect(missing.exitCode).to.equal(2);
      expect(missing.stderr).to.contain('has no node "worker7"');
    });

    it("labrun status shows both labs, and a lab's nodes with the kubelet's reason", async () => {
      const all = await labrun(["status"]);
      expect(all.exitCode, show(all)).to.equal(0);
      expect(all.stdout).to.contain(LABS[0]).and.contain(LABS[1]).and.contain("(running)");
      const one = await labrun(["status", LABS[1]!]);
      expect(one.exitCode, show(one)).to.equal(0);
      expect(one.stdout).to.match(/NotReady/).and.contain(`labrun-${LABS[1]}-worker`);
    });

    it("the second lab works on its own cluster", async () => {
      const r = await labrun(["shell", LABS[1]!, "--", "kubectl", "get", "pods", "-A", "--no-headers"]);
      expect(r.exitCode, show(r)).to.equal(0);
      expect(r.stdout).to.contain("testclient");
    });

    it("labrun down removes every container; a second down is fine", async () => {
      const r = await labrun(["down", LABS[0]!]);
      expect(r.exitCode, show(r)).to.equal(0);
      expect(await containers(`labrun-${LABS[0]}`)).to.deep.equal([]);
      const again = await labrun(["down", LABS[0]!]);
      expect(again.exitCode, show(again)).to.equal(0);
      expect(again.stderr).to.contain("nothing to do");
      expect(await containers(`labrun-${LABS[1]}`), "the other lab is untouched").to.have.length(2);
    });

    it("labrun gc removes a cluster whose lab record is gone", async () => {
      await rm(path.join(stateDir, "labs", LABS[1]!), { recursive: true, force: true });
      const r = await labrun(["gc"]);
      expect(r.exitCode, show(r)).to.equal(0);
      expect(r.stdout).to.contain(`removed cluster: labrun-${LABS[1]}`);
      expect(await containers(`labrun-${LABS[1]}`)).to.deep.equal([]);
    });
  });

  it("an interrupted start (SIGINT mid-create) leaves no containers and no lab", async () => {
    const cluster = `labrun-${LABS[2]}`;
    const child: ResultPromise = execa(process.execPath, [BIN, "start", "beebox-cni", "--name", LABS[2]!], {
      cwd: ROOT,
      env: { ...process.env, LABRUN_STATE_DIR: stateDir, NO_COLOR: "1" },
      reject: false,
      stdin: "ignore",
    });
    // Wait until kind has started creating node containers, then interrupt.
    const deadline = Date.now() + 120_000;
    while ((await containers(cluster)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await containers(cluster), "kind never started the nodes").not.to.deep.equal([]);
    await new Promise((r) => setTimeout(r, 2000));
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode, show(result)).to.equal(130);
    expect(String(result.stderr)).to.contain("delete cluster labrun-e2e-life-int");
    expect(await containers(cluster)).to.deep.equal([]);
    const labs = await readdir(path.join(stateDir, "labs")).catch(() => []);
    expect(labs.filter((l) => !l.startsWith("."))).to.not.include(LABS[2]);
  });
});
