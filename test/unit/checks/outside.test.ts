/**
 * Checks that involve hosts outside the cluster (`spec.outside`): an answer
 * counts only when it carries labrun's nonce back from the right host name.
 */
import { expect } from "chai";
import type { ExecOptions, ExecResult } from "../../../runner/cluster/client.ts";
import { CheckEvalError, type Observation, type OutsideAddress, type OutsideHosts } from "../../../checks/context.ts";
import { echoProblem } from "../../../checks/kinds/http-echo.ts";
import { type Check } from "../../../runner/schema/scenario.ts";
import { beeboxPods, FakeCluster, node, scenarioWith, observeCheck } from "./fakes.ts";

class FakeOutside implements OutsideHosts {
  readonly hosts: Record<string, OutsideAddress> = { partner: { ip: "172.18.0.9", port: 80, hostname: "partner" }, tracker: { ip: "172.18.0.10", port: 80, hostname: "tracker" } };
  readonly execs: { name: string; command: string[] }[] = [];
  reply: (name: string, command: string[]) => ExecResult = () => ({ exitCode: 1, stdout: "", stderr: "", timedOut: false });
  async address(name: string): Promise<OutsideAddress | undefined> {
    return this.hosts[name];
  }
  async exec(name: string, command: string[], _options: ExecOptions): Promise<ExecResult> {
    this.execs.push({ name, command });
    return this.reply(name, command);
  }
}

function observe(cluster: FakeCluster, check: Check, outside: OutsideHosts | undefined): Promise<Observation> {
  return observeCheck(cluster, check, outside ? { outside } : {});
}

/** labrun's echo answering: the nonce back, from `hostname`. */
function echoAnswer(args: Record<string, string>, hostname: string): Record<string, unknown> {
  const nonceMatch = true;
  const expected = args["expect-hostname"];
  const ok = expected === undefined || expected === hostname;
  return { ok, status: 200, nonceMatch, hostname, peer: "172.18.0.2:40000", ...(ok ? {} : { error: `the echo came from "${hostname}", not "${expected}"` }) };
}

const toPartner = { id: "partner", title: "reaches the partner", http: { from: { pod: "testclient" }, to: { outside: "partner" } } } as Check;

describe("checks with hosts outside the cluster", () => {
  it("http to an outside host passes only with the nonce back from that host, by its address and port", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const seen: Record<string, string>[] = [];
    c.probe = ({ verb, args }) => {
      seen.push({ verb, ...args });
      return echoAnswer(args, "partner");
    };
    const o = await observe(c, toPartner, new FakeOutside());
    expect(o.ok, o.message).to.equal(true);
    expect(o.message).to.equal("default/testclient reached outside host partner at 172.18.0.9:80");
    expect(seen[0]).to.include({ verb: "echo", url: "http://172.18.0.9:80", "expect-hostname": "partner" });
    expect(seen[0]!.nonce).to.match(/^[0-9a-f]{24}$/);
  });

  it("http to an outside host fails when something else answers on its address (no nonce), as the sandbox's catch-all would", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: false, status: 404, nonceMatch: false, error: "the answer is not an echo reply: " });
    const o = await observe(c, toPartner, new FakeOutside());
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/something answered \(HTTP 404\) but not labrun's echo with the nonce/);
    expect(o.connectivity![0]!.observed).to.equal("unknown");
  });

  it("cannot be evaluated without the lab's outside hosts, or for a name the scenario does not declare", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const none = await observe(c, toPartner, undefined).catch((e: unknown) => e);
    expect(none).to.be.instanceOf(CheckEvalError);
    expect((none as CheckEvalError).final).to.equal(true);
    expect((none as Error).message).to.match(/needs the host outside the cluster "partner"/);
    const unknown = await observe(c, { ...toPartner, http: { from: { pod: "testclient" }, to: { outside: "nope" } } } as Check, new FakeOutside()).catch((e: unknown) => e);
    expect((unknown as Error).message).to.equal('no host outside the cluster is named "nope" (spec.outside)');
  });

  it("an outside host whose container stopped fails with the reason, without probing", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    const outside = new FakeOutside();
    outside.hosts.partner = { ip: "", port: 80, hostname: "partner", problem: "its container labrun-x-outside-partner is exited" };
    c.probe = () => {
      throw new Error("must not probe");
    };
    const o = await observe(c, toPartner, outside);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal("target outside host partner cannot answer: its container labrun-x-outside-partner is exited");
  });

  describe("from an outside host to a node and a hostPort", () => {
    const check = {
      id: "hostport",
      title: "the hostPort answers",
      http: { from: { outside: "partner" }, to: { node: "worker", port: 8080 }, expect: { echoFrom: { pod: "cyberdyne-frontend" } } },
    } as Check;
    const world = () => new FakeCluster().put(...beeboxPods(), node("cp", { controlPlane: true }), withIP(node("w1"), "172.18.0.3"));

    it("runs the probe in the outside host's container against the node's InternalIP, and requires the pod's name", async () => {
      const outside = new FakeOutside();
      outside.reply = (_name, command) => ({ exitCode: 0, stdout: JSON.stringify(echoAnswer(flags(command), "cyberdyne-frontend")) + "\n", stderr: "", timedOut: false });
      const o = await observe(world(), check, outside);
      expect(o.ok, o.message).to.equal(true);
      expect(outside.execs[0]!.name).to.equal("partner");
      expect(outside.execs[0]!.command.slice(0, 4)).to.deep.equal(["labrun-probe", "echo", "--url", "http://172.18.0.3:8080"]);
      expect(flags(outside.execs[0]!.command)).to.include({ "expect-hostname": "cyberdyne-frontend", timeout: "3s" });
      expect(o.connectivity![0]).to.include({ from: "outside/partner", to: "node/w1:8080", observed: "allowed" });
    });

    it("a pod on the host network answers with the node's name: not the pod", async () => {
      const outside = new FakeOutside();
      outside.reply = (_name, command) => ({ exitCode: 1, stdout: JSON.stringify(echoAnswer(flags(command), "w1")) + "\n", stderr: "", timedOut: false });
      const o = await observe(world(), check, outside);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/the echo came from host name "w1", not "cyberdyne-frontend" \(a pod on the host network answers with its node's name\)/);
    });

    it("nothing listening on the hostPort: no answer", async () => {
      const outside = new FakeOutside();
      outside.reply = () => ({ exitCode: 1, stdout: JSON.stringify({ ok: false, error: "dial tcp 172.18.0.3:8080: connect: connection refused", durationMs: 1 }) + "\n", stderr: "", timedOut: false });
      const o = await observe(world(), check, outside);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/did not reach pod default\/cyberdyne-frontend at 172.18.0.3:8080: no answer: dial tcp .*connection refused/);
      expect(o.connectivity![0]!.observed).to.equal("blocked");
    });

    it("a probe that prints nothing cannot be evaluated", async () => {
      const outside = new FakeOutside();
      outside.reply = () => ({ exitCode: 126, stdout: "", stderr: "OCI runtime exec failed", timedOut: false });
      const e = await observe(world(), check, outside).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(CheckEvalError);
      expect((e as Error).message).to.match(/printed no result \(exit 126\): OCI runtime exec failed/);
    });
  });

  describe("blocked towards an outside host", () => {
    const check = {
      id: "tracker",
      title: "the tracker is blocked",
      blocked: { from: { pod: "testclient" }, to: { outside: "tracker" }, control: { pod: "cyberdyne-frontend", port: 80 }, allowedFrom: { pod: "cyberdyne-frontend" } },
    } as Check;

    it("passes when the source gets no answer while the allowed source gets the tracker's echo", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.probe = ({ pod: from, verb, args }) => {
        if (verb === "tcp") return { ok: true };
        return from === "cyberdyne-frontend" ? echoAnswer(args, "tracker") : { ok: false, error: "dial tcp 172.18.0.10:80: i/o timeout" };
      };
      const o = await observe(c, check, new FakeOutside());
      expect(o.ok, o.message).to.equal(true);
    });

    it("never passes when something other than the tracker answers the source (it was not blocked)", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.probe = ({ pod: from, verb, args }) => {
        if (verb === "tcp") return { ok: true };
        return from === "cyberdyne-frontend" ? echoAnswer(args, "tracker") : { ok: false, status: 404, nonceMatch: false, error: "not an echo" };
      };
      const o = await observe(c, check, new FakeOutside());
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^something answered default\/testclient at 172.18.0.10:80 that is not outside\/tracker:80/);
    });

    it("never passes when the allowed source only gets an answer without the nonce (the positive control must be the tracker itself)", async () => {
      const c = new FakeCluster().put(...beeboxPods());
      c.probe = ({ pod: from, verb }) => {
        if (verb === "tcp") return { ok: true };
        return from === "cyberdyne-frontend" ? { ok: false, status: 200, nonceMatch: false, error: "nonce mismatch" } : { ok: false, error: "i/o timeout" };
      };
      const o = await observe(c, check, new FakeOutside());
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/the allowed source default\/cyberdyne-frontend cannot reach outside\/tracker:80 either/);
    });
  });

  it("echoProblem says what was wrong", () => {
    expect(echoProblem({ ok: false, nonceMatch: false, error: "i/o timeout", durationMs: 3000 }, "partner")).to.equal("no answer: i/o timeout (after 3000ms)");
    expect(echoProblem({ ok: false, status: 200, nonceMatch: true, hostname: "x" }, "partner")).to.equal('the echo came from host name "x", not "partner" (a pod on the host network answers with its node\'s name)');
  });
});

function flags(command: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 2; i < command.length; i += 2) out[command[i]!.replace(/^--/, "")] = command[i + 1] ?? "";
  return out;
}

function withIP(n: ReturnType<typeof node>, ip: string): ReturnType<typeof node> {
  return { ...n, status: { ...(n.status as object), addresses: [{ type: "InternalIP", address: ip }] } };
}

describe("attacks and hosts outside the cluster", () => {
  it("a check whose probe starts in an outside host has no learner pod to attack: netChecks leaves it out", async () => {
    const { netChecks } = await import("../../../runner/lab/attacks/network.ts");
    const scenario = scenarioWith([
      { id: "a", title: "from outside", http: { from: { outside: "monitor" }, to: { node: "worker", port: 8080 }, expect: { echoFrom: { pod: "agent" } } } } as Check,
      { id: "b", title: "to outside", http: { from: { pod: "testclient" }, to: { outside: "partner" } } } as Check,
    ]).scenario;
    expect(netChecks(scenario).map((c) => c.id)).to.deep.equal(["b"]);
  });
});
