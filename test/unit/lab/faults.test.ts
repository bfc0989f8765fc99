/**
 * Issue 14's fault handling with fakes: orphaned `kind create`s stopped by gc,
 * process groups, kind's logs kept (bounded) on a failed create, a stopped or
 * wedged Docker named at once, a read-only or full state directory.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InfraError } from "../../../runner/errors.ts";
import { down } from "../../../runner/lab/down.ts";
import { gc } from "../../../runner/lab/gc.ts";
import { LabStore, stateDirError } from "../../../runner/lab/state.ts";
import { execaRunner } from "../../../runner/providers/exec.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { boundLogs } from "../../../runner/util/log-dirs.ts";
import { hostProcesses, killTrackedGroupsSync, procState, stopProcess, type ProcessInfo, type ProcessTable } from "../../../runner/util/processes.ts";
import { fakeRunner } from "../providers/fake-runner.ts";

/** A process table: processes die on the signals they do not ignore. */
function fakeTable(processes: ProcessInfo[], ignores: NodeJS.Signals[] = []) {
  const alive = new Set(processes.map((p) => p.pid));
  const kills: string[] = [];
  const table: ProcessTable = {
    list: async () => processes.filter((p) => alive.has(p.pid)),
    alive: (pid) => alive.has(pid),
    kill: (pid, signal) => {
      kills.push(`${signal} ${pid}`);
      if (ignores.includes(signal)) return;
      const group = pid < 0 ? processes.filter((p) => p.pgid === -pid) : processes.filter((p) => p.pid === pid);
      for (const p of group) alive.delete(p.pid);
    },
  };
  return { table, kills, alive };
}

describe("faults: orphaned kind creators, kept logs, Docker and the state directory", () => {
  let dir: string;
  let store: LabStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-faults-"));
    store = new LabStore({ dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("orphaned `kind create`s", () => {
    const creator = (pid: number, cluster: string, kubeconfig: string, bin = "/usr/local/bin/kind"): ProcessInfo => ({ pid, pgid: pid, args: [bin, "create", "cluster", "--name", cluster, "--image", "i", "--config", "-", "--kubeconfig", kubeconfig, "--retain"] });

    it("creators: every `kind create cluster` with its cluster and kubeconfig; nothing else", async () => {
      const { table } = fakeTable([
        creator(10, "labrun-a", "/s/labs/a/kubeconfig"),
        { pid: 11, pgid: 10, args: ["docker", "run", "--name", "labrun-a-control-plane"] },
        { pid: 12, pgid: 12, args: ["kind", "delete", "cluster", "--name", "labrun-b"] },
        { pid: 13, pgid: 13, args: ["kind", "create", "cluster", "--name=labrun-c"] },
        { pid: 14, pgid: 14, args: ["/bin/notkind", "create", "cluster"] },
      ]);
      const kind = new KindProvider({ run: fakeRunner().run, kind: "kind", processes: table });
      expect(await kind.creators()).to.deep.equal([
        { pid: 10, pgid: 10, cluster: "labrun-a", kubeconfig: "/s/labs/a/kubeconfig" },
        { pid: 13, pgid: 13, cluster: "labrun-c" },
      ]);
    });

    it("gc stops the creators of this state directory whose labrun is gone (the whole group), before it lists and deletes; a live start's and other directories' are left", async () => {
      await store.create({ name: "died", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-died", context: "kind-labrun-died", pid: 999_999_999 });
      await store.create({ name: "busy", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-busy", context: "kind-labrun-busy", pid: process.pid });
      const { table, kills, alive } = fakeTable([
        creator(20, "labrun-died", path.join(dir, "labs", "died", "kubeconfig")),
        { pid: 21, pgid: 20, args: ["docker", "run", "--name", "labrun-died-control-plane"] },
        creator(22, "labrun-busy", path.join(dir, "labs", "busy", "kubeconfig")),
        creator(23, "labrun-gone", path.join(dir, "labs", "gone", "kubeconfig")), // its record was removed already
        creator(24, "labrun-x", "/elsewhere/labs/x/kubeconfig"),
        creator(25, "kind", "/root/.kube/config"),
      ]);
      const fake = fakeRunner();
      const order: string[] = [];
      const kind = new KindProvider({ run: async (f, a, o) => (order.push(`${f} ${a[0]}`), fake.run(f, a, o)), kind: "kind", docker: "docker", processes: table });
      const dry = await gc({ store, kind, dryRun: true });
      expect(dry.creators).to.deep.equal(["labrun-died", "labrun-gone"]);
      expect(kills).to.deep.equal([]);
      const result = await gc({ store, kind, settleMs: 0 });
      expect(result.creators).to.deep.equal(["labrun-died", "labrun-gone"]);
      expect(kills).to.deep.equal(["SIGTERM -20", "SIGTERM -23"]);
      expect([...alive].sort()).to.deep.equal([22, 24, 25]);
      expect(order.slice(0, 2)).to.deep.equal(["docker version", "docker ps"]); // Docker asked first, then the containers listed after the stop
      expect((await store.list()).map((l) => l.name)).to.deep.equal(["busy"]);
    });

    it("gc keeps sweeping a stopped creator's cluster until no late `docker run` lands (three quiet looks)", async () => {
      await store.create({ name: "died", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-died", context: "kind-labrun-died", pid: 999_999_999 });
      const { table } = fakeTable([creator(40, "labrun-died", path.join(dir, "labs", "died", "kubeconfig"))]);
      let looks = 0;
      const fake = fakeRunner([["docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-died", () => (++looks === 2 ? { stdout: "late\n" } : { stdout: "" })]]);
      const result = await gc({ store, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", processes: table }), settleMs: 10_000 });
      expect(result.creators).to.deep.equal(["labrun-died"]);
      expect(fake.lines().filter((l) => l.startsWith("docker rm"))).to.deep.equal(["docker rm -f -v late"]);
      expect(looks, "one look that found it, then three quiet ones").to.equal(5);
    });

    it("stopProcess: SIGTERM to the group, SIGKILL when it does not go, false when even that fails", async () => {
      const stubborn = fakeTable([{ pid: 30, pgid: 30, args: ["kind"] }], ["SIGTERM"]);
      expect(await stopProcess({ pid: 30, pgid: 30 }, { table: stubborn.table, graceMs: 5, pollMs: 1 })).to.equal(true);
      expect(stubborn.kills).to.deep.equal(["SIGTERM -30", "SIGKILL -30"]);
      const member = fakeTable([{ pid: 31, pgid: 7, args: ["kind"] }]);
      expect(await stopProcess({ pid: 31, pgid: 7 }, { table: member.table, graceMs: 5, pollMs: 1 })).to.equal(true);
      expect(member.kills, "not a group leader: only the process").to.deep.equal(["SIGTERM 31"]);
      const immortal = fakeTable([{ pid: 32, pgid: 32, args: ["kind"] }], ["SIGTERM", "SIGKILL"]);
      expect(await stopProcess({ pid: 32, pgid: 32 }, { table: immortal.table, graceMs: 3, pollMs: 1 })).to.equal(false);
    });

    it("procState reads the state and group of /proc/<pid>/stat, whatever the command's name", () => {
      expect(procState("42 (kind) S 1 42 42 0 -1")).to.deep.equal({ state: "S", pgid: 42 });
      expect(procState("43 (a (weird) name) Z 1 7 7 0")).to.deep.equal({ state: "Z", pgid: 7 });
    });

    it("a detached command runs in its own process group; an abort ends the whole group, and a second Ctrl-C's sync kill reaches tracked groups", async function () {
      if (process.platform !== "linux") this.skip();
      const controller = new AbortController();
      let grandchild = 0;
      const run = execaRunner("sh", ["-c", "sleep 30 & echo $!; wait"], {
        detached: true,
        signal: controller.signal,
        onLine: (line) => {
          grandchild = Number(line);
          controller.abort("SIGINT");
        },
      });
      const result = await run;
      expect(result.aborted).to.equal(true);
      for (let i = 0; i < 50 && hostProcesses.alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
      expect(hostProcesses.alive(grandchild), "the group's other member ended too").to.equal(false);
      const kills: string[] = [];
      expect(killTrackedGroupsSync({ kill: (pid, signal) => kills.push(`${signal} ${pid}`) })).to.deep.equal([]); // the finished command untracked itself
    });
  });

  describe("a failed create keeps kind's logs", () => {
    it("kind export logs into the request's logsDir before the error, which names it", async () => {
      const logsDir = path.join(dir, "logs", "lab");
      const fake = fakeRunner([
        ["kind create", { exitCode: 1, stderr: "ERROR: failed to create cluster: failed to init node with kubeadm" }],
        [
          "kind export logs",
          async (call) => {
            await mkdir(path.join(call.args[2]!, "labrun-x-control-plane"), { recursive: true });
            await writeFile(path.join(call.args[2]!, "labrun-x-control-plane", "kubelet.log"), "x".repeat(300 * 1024) + "the end\n");
            return {};
          },
        ],
      ]);
      const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker" });
      const error = (await kind.create({ name: "labrun-x", nodeImage: "i", config: {}, kubeconfigPath: "/k", logsDir }).catch((e: unknown) => e)) as InfraError;
      expect(error.code).to.equal("CLUSTER_CREATE_FAILED");
      expect(error.message).to.equal(`failed to create cluster "labrun-x"; kind's logs are in ${logsDir}`);
      expect(error.hint).to.contain(path.join(logsDir, "labrun-x-control-plane", "kubelet.log"));
      expect(fake.lines()[1]).to.equal(`kind export logs ${logsDir} --name labrun-x`);
      const log = await readFile(path.join(logsDir, "labrun-x-control-plane", "kubelet.log"), "utf8");
      expect(log).to.match(/^\[labrun: cut to the last 262144 of \d+ bytes\]\n/).and.match(/the end\n$/);
      expect(log.length).to.be.lessThan(256 * 1024 + 100);
    });

    it("a failed export is said, and the create's error stays the error", async () => {
      const fake = fakeRunner([
        ["kind create", { exitCode: 1, stderr: "ERROR: boom" }],
        ["kind export logs", { exitCode: 1, stderr: "ERROR: unknown cluster" }],
      ]);
      const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker" });
      const error = (await kind.create({ name: "labrun-x", nodeImage: "i", config: {}, kubeconfigPath: "/k", logsDir: path.join(dir, "logs", "lab") }).catch((e: unknown) => e)) as InfraError;
      expect(error.message).to.match(/^failed to create cluster "labrun-x"; its logs could not be kept \(`kind export logs` failed\)$/);
      expect(await readdir(path.join(dir, "logs"))).to.deep.equal([]);
    });

    it("keeps the newest few log directories", async () => {
      const logs = path.join(dir, "logs");
      for (let i = 0; i < 7; i++) {
        await mkdir(path.join(logs, `lab${i}`), { recursive: true });
        await utimes(path.join(logs, `lab${i}`), 1000 + i, 1000 + i);
      }
      await boundLogs.prepare(path.join(logs, "new"), 5);
      expect((await readdir(logs)).sort()).to.deep.equal(["lab3", "lab4", "lab5", "lab6"]);
    });
  });

  describe("Docker stopped or wedged", () => {
    it("ping: no engine is DOCKER_UNAVAILABLE, an engine that does not answer DOCKER_UNRESPONSIVE; both name Docker and what to do", async () => {
      for (const [result, code, message] of [
        [{ exitCode: 1, stderr: "Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?" }, "DOCKER_UNAVAILABLE", /Docker is not reachable/],
        [{ exitCode: null, timedOut: true }, "DOCKER_UNRESPONSIVE", /Docker did not answer within 15s/],
      ] as const) {
        const fake = fakeRunner([["docker version", result]]);
        const error = (await new KindProvider({ run: fake.run, kind: "kind", docker: "docker" }).ping().catch((e: unknown) => e)) as InfraError;
        expect(error).to.be.instanceOf(InfraError);
        expect(error.code).to.equal(code);
        expect(error.message).to.match(message);
        expect(error.hint).to.match(/docker info/).and.match(/labrun gc/);
        expect(fake.calls[0]!.options.timeoutMs).to.equal(15_000);
      }
    });

    it("down with Docker wedged: exit-3 error before anything changes; the lab stays as it was", async () => {
      await store.create({ name: "lab", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-lab", context: "kind-labrun-lab", status: "ready" });
      const fake = fakeRunner([["docker version", { exitCode: null, timedOut: true }]]);
      const error = (await down({ store, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker" }), name: "lab" }).catch((e: unknown) => e)) as InfraError;
      expect(error.code).to.equal("DOCKER_UNRESPONSIVE");
      expect(error.exitCode).to.equal(3);
      expect((await store.require("lab")).status).to.equal("ready");
      expect(fake.lines()).to.deep.equal(["docker version --format {{.Server.Version}}"]);
    });

    it("gc removes a lab whose `down` could not finish (status deleting), cluster and all", async () => {
      await store.create({ name: "half", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-half", context: "kind-labrun-half", status: "deleting" });
      const mark = path.join(dir, "labs", "half", "mark");
      const fake = fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n" }],
        ["docker inspect", { stdout: `1\t/labrun-half-control-plane\tlabrun-half\trunning\t${mark}|/kind/labrun;\n` }],
      ]);
      const result = await gc({ store, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", processes: fakeTable([]).table }) });
      expect(result.clusters).to.deep.equal(["labrun-half"]);
      expect(result.labs).to.deep.equal(["half"]);
      expect(await store.list()).to.deep.equal([]);
    });
    it("gc leaves alone a lab whose `down` is still running (status deleting, its pid alive), also for a gc of another state directory; a dead one is garbage", async () => {
      const { pidAlive } = await import("../../../runner/util/files.ts");
      let dead = 999_999;
      while (pidAlive(dead)) dead++;
      await store.create({ name: "going", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-going", context: "kind-labrun-going", status: "deleting", pid: process.pid });
      await store.create({ name: "gone", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-gone", context: "kind-labrun-gone", status: "deleting", pid: dead });
      const mark = (lab: string) => path.join(dir, "labs", lab, "mark");
      const fake = fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n2\n" }],
        ["docker inspect", { stdout: `1\t/labrun-going-control-plane\tlabrun-going\trunning\t${mark("going")}|/kind/labrun;\n2\t/labrun-gone-control-plane\tlabrun-gone\trunning\t${mark("gone")}|/kind/labrun;\n` }],
      ]);
      const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker", processes: fakeTable([]).table });
      const result = await gc({ store, kind });
      expect(result.clusters).to.deep.equal(["labrun-gone"]);
      expect(result.labs).to.deep.equal(["gone"]);
      expect((await store.list()).map((l) => l.name)).to.deep.equal(["going"]);
      // a gc of another state directory finds the cluster by its mark (here) and leaves it too
      const other = new LabStore({ env: { LABRUN_STATE_DIR: await mkdtemp(path.join(tmpdir(), "labrun-gc-other-")) } });
      const again = await gc({ store: other, kind: new KindProvider({ run: fakeRunner([
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster=", { stdout: "" }],
        ["docker ps -aq --filter label=io.x-k8s.kind.cluster", { stdout: "1\n" }],
        ["docker inspect", { stdout: `1\t/labrun-going-control-plane\tlabrun-going\trunning\t${mark("going")}|/kind/labrun;\n` }],
      ]).run, kind: "kind", docker: "docker", processes: fakeTable([]).table }) });
      expect(again.clusters).to.deep.equal([]);
    });

    it("down records its pid with status deleting", async () => {
      await store.create({ name: "d", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-d", context: "kind-labrun-d", status: "ready" });
      const seen: (number | undefined)[] = [];
      const fake = fakeRunner([
        ["docker version", { stdout: "20.10.24" }],
        ["docker ps", { stdout: "" }],
        ["kind get clusters", { stdout: "" }],
      ]);
      const run: typeof fake.run = async (...args) => {
        seen.push((await store.get("d").catch(() => undefined))?.pid);
        return fake.run(...args);
      };
      await down({ store, kind: new KindProvider({ run, kind: "kind", docker: "docker" }), name: "d" });
      expect(seen).to.include(process.pid);
    });
  });

  describe("the state directory read-only or full", () => {
    it("stateDirError: EROFS/EACCES are STATE_DIR_READ_ONLY, ENOSPC/EDQUOT STATE_DIR_FULL, naming the directory; other errors are not", () => {
      const sys = (code: string) => Object.assign(new Error(`${code}: nope`), { code });
      expect(stateDirError("/s", sys("EROFS"))).to.include({ code: "STATE_DIR_READ_ONLY", exitCode: 3 });
      expect(stateDirError("/s", sys("EACCES"))?.message).to.equal("the state directory /s is not writable (EACCES): labrun cannot record labs there");
      expect(stateDirError("/s", sys("ENOSPC"))).to.include({ code: "STATE_DIR_FULL", message: "the state directory /s is full (ENOSPC): labrun cannot record labs there" });
      expect(stateDirError("/s", sys("EDQUOT"))?.hint).to.contain("LABRUN_STATE_DIR");
      expect(stateDirError("/s", sys("ENOENT"))).to.equal(undefined);
      expect(stateDirError("/s", new InfraError("x"))).to.equal(undefined);
    });

    it("a store whose directory cannot be written: create fails with the state directory's error and leaves no lab directory, lock or temp file", async function () {
      if (process.getuid?.() === 0) this.skip(); // root writes through chmod; the e2e suite uses a read-only mount
      await mkdir(path.join(dir, "labs"), { recursive: true });
      await mkdir(path.join(dir, "locks"), { recursive: true });
      const { chmod } = await import("node:fs/promises");
      await chmod(path.join(dir, "labs"), 0o555);
      try {
        const error = (await store.create({ name: "lab", scenario: "s", scenarioDir: "/s", provider: "kind", cluster: "labrun-lab", context: "kind-labrun-lab" }).catch((e: unknown) => e)) as InfraError;
        expect(error.code).to.equal("STATE_DIR_READ_ONLY");
        expect(error.message).to.contain(dir);
        expect(await readdir(path.join(dir, "labs"))).to.deep.equal([]);
        expect(await readdir(path.join(dir, "locks"))).to.deep.equal([]);
      } finally {
        await chmod(path.join(dir, "labs"), 0o755);
      }
      expect((await stat(dir)).isDirectory()).to.equal(true);
    });
  });
});
