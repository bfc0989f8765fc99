import { expect } from "chai";
import { InfraError } from "../../../runner/errors.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { ipv4Subnet, outsideRunArgs, parseOutsideInspect } from "../../../runner/providers/kind-outside.ts";
import { fakeRunner } from "./fake-runner.ts";

function provider(rules: Parameters<typeof fakeRunner>[0] = [], env: NodeJS.ProcessEnv = {}) {
  const fake = fakeRunner(rules);
  return { fake, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", env }) };
}

const INSPECT = "/labrun-x-outside-partner\tpartner\tlabrun-x\trunning\tkind=172.18.0.9;";

describe("providers/kind: hosts outside the cluster", () => {
  it("starts a labelled container on kind's network, with the lab's mark, and reads its address back", async () => {
    const { fake, kind } = provider([
      ["docker ps -aq --filter label=dev.labrun.outside-of=labrun-x", { stdout: "c1\n" }],
      ["docker inspect", { stdout: INSPECT + "\n" }],
      ["docker network inspect kind", { stdout: "172.18.0.0/16 fc00:f853:ccd:e793::/64 \n" }],
    ]);
    const host = await kind.startOutsideHost("labrun-x", { name: "partner", image: "ghcr.io/labrun/probe:v0.2.0", command: ["hold", "--max", "0", "--listen", "0.0.0.0:80"], markDir: "/state/labs/x/mark" });
    expect(fake.lines()[0]).to.equal(
      "docker run --detach --name labrun-x-outside-partner --hostname partner --network kind --restart no --label dev.labrun.outside-of=labrun-x --label dev.labrun.outside=partner --volume /state/labs/x/mark:/kind/labrun:ro ghcr.io/labrun/probe:v0.2.0 hold --max 0 --listen 0.0.0.0:80",
    );
    expect(host).to.deep.equal({ name: "partner", cluster: "labrun-x", container: "labrun-x-outside-partner", ip: "172.18.0.9", network: "172.18.0.0/16", state: "running" });
  });

  it("follows KIND_EXPERIMENTAL_DOCKER_NETWORK, as kind does", async () => {
    const { fake, kind } = provider([["docker ps", { stdout: "c1\n" }]], { KIND_EXPERIMENTAL_DOCKER_NETWORK: "labnet" });
    await kind.outsideHosts("labrun-x");
    expect(fake.lines()[2]).to.equal("docker network inspect labnet --format {{range .IPAM.Config}}{{.Subnet}} {{end}}");
    const args = outsideRunArgs("labrun-x", "labnet", { name: "a", image: "i:1", command: [] });
    expect(args[args.indexOf("--network") + 1]).to.equal("labnet");
  });

  it("a name already taken is an InfraError with the command that frees it", async () => {
    const { kind } = provider([["docker run", { exitCode: 125, stderr: 'Conflict. The container name "/labrun-x-outside-a" is already in use' }]]);
    const error = (await kind.startOutsideHost("labrun-x", { name: "a", image: "i:1", command: [] }).catch((e: unknown) => e)) as InfraError;
    expect(error).to.be.instanceOf(InfraError);
    expect(error.code).to.equal("OUTSIDE_HOST_FAILED");
    expect(error.hint).to.equal("a container of that name is left over: `docker rm -f labrun-x-outside-a`");
  });

  it("running a probe in a host that is gone says so", async () => {
    const { kind } = provider([["docker exec", { exitCode: 1, stderr: "Error response from daemon: No such container: labrun-x-outside-a" }]]);
    const error = (await kind.execOutside("labrun-x", "a", ["labrun-probe", "echo"], { timeoutMs: 1000 }).catch((e: unknown) => e)) as InfraError;
    expect(error.code).to.equal("OUTSIDE_HOST_GONE");
    expect(error.message).to.equal('the outside host "a" (labrun-x-outside-a) is not running');
  });

  it("parses docker inspect lines and IPv4 subnets", () => {
    expect(parseOutsideInspect("/c\tpartner\tlabrun-x\texited\tbridge=172.17.0.2;", "kind")).to.include({ ip: "", state: "exited", container: "c" });
    expect(parseOutsideInspect("/c\t\t\trunning\t", "kind")).to.equal(undefined);
    expect(ipv4Subnet("fc00::/64 10.0.0.0/24 ")).to.equal("10.0.0.0/24");
    expect(ipv4Subnet("")).to.equal("");
  });
});
