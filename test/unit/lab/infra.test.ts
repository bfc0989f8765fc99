/**
 * A kind lab's node containers as labrun's infrastructure (runner/lab/infra.ts)
 * and the docker calls behind it (runner/providers/kind.ts): bounded, and a
 * Docker failure is an InfraError, never a check result.
 */
import { expect } from "chai";
import { InfraError } from "../../../runner/errors.ts";
import { kindNodesCheck } from "../../../runner/lab/infra.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { fakeRunner } from "../providers/fake-runner.ts";

const CLUSTER = "labrun-x";
const signal = new AbortController().signal;

function kindWith(rules: Parameters<typeof fakeRunner>[0]) {
  const fake = fakeRunner(rules);
  return { fake, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", env: {} }) };
}

describe("lab infrastructure: kind node containers", () => {
  it("passes while every node container runs; one docker ps, bounded", async () => {
    const { fake, kind } = kindWith([["docker ps", { stdout: "labrun-x-control-plane\trunning\nlabrun-x-worker\trunning\n" }]]);
    await kindNodesCheck(kind, CLUSTER, { lab: "x" })(signal);
    expect(fake.lines()).to.deep.equal(["docker ps -a --filter label=io.x-k8s.kind.cluster=labrun-x --format {{.Names}}\t{{.State}}"]);
    expect(fake.calls[0]!.options.timeoutMs).to.equal(5_000);
  });

  it("names a node container that exited, was paused or was removed, with the lab's commands", async () => {
    let out = "labrun-x-control-plane\trunning\nlabrun-x-worker\trunning\n";
    const { kind } = kindWith([["docker ps", () => ({ stdout: out })]]);
    const check = kindNodesCheck(kind, CLUSTER, { lab: "x" });
    await check(signal); // learns the nodes
    for (const [now, expected] of [
      ["labrun-x-control-plane\trunning\nlabrun-x-worker\texited\n", /"labrun-x-worker" is not running \(exited\)/],
      ["labrun-x-control-plane\tpaused\nlabrun-x-worker\trunning\n", /"labrun-x-control-plane" is paused/],
      ["labrun-x-control-plane\trunning\n", /"labrun-x-worker" is removed/],
    ] as const) {
      out = now;
      const error = await check(signal).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InfraError);
      expect((error as InfraError).code).to.equal("NODE_CONTAINER_DOWN");
      expect((error as InfraError).message).to.match(expected);
      expect((error as InfraError).hint).to.match(/labrun status x/);
    }
  });

  it("knows the lab's nodes from its record: a node gone before the first call is found", async () => {
    const { kind } = kindWith([["docker ps", { stdout: "labrun-x-control-plane\trunning\n" }]]);
    const error = await kindNodesCheck(kind, CLUSTER, { nodes: ["labrun-x-control-plane", "labrun-x-worker"] })(signal).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/labrun-x-worker/);
  });

  it("a cluster without node containers, a Docker that fails or does not answer: InfraError", async () => {
    for (const [result, expected] of [
      [{ stdout: "" }, /are gone/],
      [{ exitCode: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" }, /Docker is not reachable .*Cannot connect to the Docker daemon/],
      [{ exitCode: 1, stderr: "Error response from daemon: something else" }, /failed to list the lab's node containers/],
      [{ exitCode: null, timedOut: true }, /Docker did not answer within 5s/],
    ] as const) {
      const { kind } = kindWith([["docker ps", result]]);
      const error = await kindNodesCheck(kind, CLUSTER)(signal).catch((e: unknown) => e);
      expect(error, String(expected)).to.be.instanceOf(InfraError);
      expect((error as Error).message).to.match(expected);
    }
  });

  it("docker exec: Docker's own failure is an InfraError; the command's failure is a result", async () => {
    const { kind } = kindWith([
      ["docker exec labrun-x-worker paused", { exitCode: 1, stderr: "Error response from daemon: Container abc is paused, unpause the container before exec\n" }],
      ["docker exec labrun-x-worker daemon", { exitCode: 1, stderr: "Error response from daemon: cannot exec in a stopped state: unknown\n" }],
      ["docker exec labrun-x-worker engine", { exitCode: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n" }],
      ["docker exec labrun-x-worker false", { exitCode: 1, stderr: "boom\n" }],
    ]);
    for (const cmd of ["paused", "daemon", "engine"]) {
      const error = await kind.execOnNode(CLUSTER, "labrun-x-worker", [cmd], { timeoutMs: 1_000 }).catch((e: unknown) => e);
      expect(error, cmd).to.be.instanceOf(InfraError);
    }
    expect(await kind.execOnNode(CLUSTER, "labrun-x-worker", ["false"], { timeoutMs: 1_000 })).to.deep.include({ exitCode: 1, stderr: "boom\n" });
  });

  it("every kind and docker call has a deadline; one that runs out is an InfraError naming the call, and cleanup says how to remove what is left", async () => {
    const { fake, kind } = kindWith([
      ["kind get clusters", { exitCode: null, timedOut: true }],
      ["kind delete", { exitCode: null, timedOut: true }],
    ]);
    const error = await kind.list().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("COMMAND_TIMEOUT");
    expect((error as Error).message).to.equal("`kind get clusters` did not finish within 60s");
    const del = await kind.delete("labrun-x").catch((e: unknown) => e);
    expect((del as InfraError).code).to.equal("CLUSTER_DELETE_FAILED");
    expect((del as InfraError).hint).to.match(/docker rm -f \$\(docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-x\)/);
    await kind.loadImages("labrun-x", ["a:1"]).catch(() => undefined);
    const deadlines = Object.fromEntries(fake.calls.map((c) => [`${c.file} ${c.args.slice(0, 2).join(" ")}`, c.options.timeoutMs]));
    expect(deadlines).to.deep.equal({ "kind get clusters": 60_000, "kind delete cluster": 180_000, "docker image inspect": 60_000, "docker ps -a": 60_000, "kind load docker-image": 600_000 });
  });

  it("--debug (LABRUN_DEBUG=1) shows each call and how it ended, with its duration", async () => {
    const fake = fakeRunner([["docker ps", { stdout: "" }]]);
    const seen: string[] = [];
    const kind = new KindProvider({ run: fake.run, kind: "kind", docker: "docker", env: {}, onCommand: (l) => seen.push(l) });
    await kind.containerIds("labrun-x");
    expect(seen[0]).to.equal("docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-x");
    expect(seen[1]).to.match(/^ {2}↳ exit 0 after \d+ms$/);
  });
});
