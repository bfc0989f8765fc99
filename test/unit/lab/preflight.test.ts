import { expect } from "chai";
import { ExitCode, InfraError } from "../../../runner/errors.ts";
import { assertPreflight, compareVersions, GIB, hostProbes, preflight, type PreflightProbes } from "../../../runner/lab/preflight.ts";
import { fakeRunner } from "../providers/fake-runner.ts";

function probes(over: Partial<PreflightProbes> = {}): PreflightProbes {
  return {
    docker: async () => ({ ok: true, serverVersion: "20.10.24" }),
    kind: async () => ({ ok: true, version: "v0.30.0" }),
    memAvailable: async () => 8 * GIB,
    inotify: async () => ({ maxUserInstances: 512, maxUserWatches: 524288 }),
    missingImages: async () => [],
    ...over,
  };
}

async function failure(over: Partial<PreflightProbes>, request = { nodes: 2, images: ["node:1"] }): Promise<InfraError> {
  const results = await preflight(request, probes(over));
  try {
    assertPreflight(results);
  } catch (error) {
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).exitCode).to.equal(ExitCode.infrastructure);
    return error as InfraError;
  }
  throw new Error("preflight passed");
}

describe("lab/preflight", () => {
  it("passes on a good host and says what it found", async () => {
    const results = await preflight({ nodes: 2, images: ["node:1"] }, probes());
    expect(results.map((r) => [r.name, r.ok, r.detail])).to.deep.equal([
      ["docker", true, "docker 20.10.24"],
      ["kind", true, "kind v0.30.0"],
      ["memory", true, "8.0 GiB free"],
      ["inotify", true, "max_user_instances=512 max_user_watches=524288"],
      ["images", true, "1 present"],
    ]);
    assertPreflight(results);
  });

  it("docker unreachable: start the daemon", async () => {
    const e = await failure({ docker: async () => ({ ok: false, output: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" }) });
    expect(e.message).to.equal("docker is not reachable");
    expect(e.code).to.equal("PREFLIGHT_DOCKER");
    expect(e.hint).to.contain("sudo systemctl start docker");
    expect(e.output).to.contain("Cannot connect");
  });

  it("docker missing: install it", async () => {
    const e = await failure({ docker: async () => ({ ok: false, output: "", notFound: true }) });
    expect(e.message).to.equal("docker is not installed");
  });

  it("kind missing: install command and LABRUN_KIND", async () => {
    const e = await failure({ kind: async () => ({ ok: false, output: "", notFound: true }) });
    expect(e.message).to.equal("kind is not installed");
    expect(e.hint).to.contain("go install sigs.k8s.io/kind@v0.30.0").and.contain("LABRUN_KIND");
  });

  it("kind too old: refuse; another minor: warn", async () => {
    const e = await failure({ kind: async () => ({ ok: true, version: "v0.17.0" }) });
    expect(e.message).to.equal("kind v0.17.0 is too old (labrun needs v0.24.0 or later)");
    const results = await preflight({ nodes: 1 }, probes({ kind: async () => ({ ok: true, version: "v0.29.0" }) }));
    expect(results.find((r) => r.name === "kind")).to.include({ ok: true, warning: "kind v0.29.0 is untested; labrun is tested with v0.30.0" });
  });

  it("not enough memory for the lab's nodes", async () => {
    const e = await failure({ memAvailable: async () => 1.5 * GIB });
    expect(e.message).to.equal("not enough free memory: 1.5 GiB available, the lab needs about 2.0 GiB (2 nodes)");
    expect(e.hint).to.contain("labrun down").and.contain("labrun gc");
    await preflight({ nodes: 1 }, probes({ memAvailable: async () => 1.5 * GIB })).then(assertPreflight);
  });

  it("memory unknown on the host: falls back to docker's MemTotal", async () => {
    const e = await failure({ memAvailable: async () => undefined, docker: async () => ({ ok: true, serverVersion: "27", memTotal: GIB }) });
    expect(e.code).to.equal("PREFLIGHT_MEMORY");
  });

  it("inotify limits too low: the exact sysctl to run", async () => {
    const e = await failure({ inotify: async () => ({ maxUserInstances: 128, maxUserWatches: 8192 }) });
    expect(e.message).to.equal("inotify limits are too low for kind (max_user_instances=128 max_user_watches=8192)");
    expect(e.hint).to.contain("sudo sysctl -w fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288");
    expect(e.hint).to.contain("/etc/sysctl.d/99-labrun.conf");
    const one = await failure({ inotify: async () => ({ maxUserInstances: 128, maxUserWatches: 600000 }) });
    expect(one.hint).to.contain("sudo sysctl -w fs.inotify.max_user_instances=512`");
  });

  it("missing images: how to build them", async () => {
    const e = await failure({ missingImages: async (images) => images });
    expect(e.message).to.equal("image not available locally: node:1");
    expect(e.hint).to.contain("npm run images");
  });

  it("several failures: the first is the error, the others are listed with their fixes", async () => {
    const e = await failure({ kind: async () => ({ ok: false, output: "", notFound: true }), memAvailable: async () => 0 });
    expect(e.message).to.equal("kind is not installed");
    expect(e.output).to.contain("also: not enough free memory").and.contain("fix: free memory");
  });

  describe("hostProbes", () => {
    it("reads docker info and kind version through the runner", async () => {
      const fake = fakeRunner([
        ["docker info", { stdout: "20.10.24\t25000000000\n" }],
        ["kind version", { stdout: "kind v0.30.0 go1.26.8 linux/amd64\n" }],
        ["docker image inspect --format {{.Id}} a:1 b:1", { exitCode: 1, stderr: "Error: No such image: b:1" }],
      ]);
      const p = hostProbes({ run: fake.run, kind: "kind", docker: "docker" });
      expect(await p.docker()).to.deep.equal({ ok: true, serverVersion: "20.10.24", memTotal: 25000000000 });
      expect(await p.kind()).to.deep.equal({ ok: true, version: "v0.30.0" });
      expect(await p.missingImages(["a:1", "b:1"])).to.deep.equal(["b:1"]);
      expect(fake.lines()).to.deep.equal([
        "docker info --format {{.ServerVersion}}\t{{.MemTotal}}",
        "kind version",
        "docker image inspect --format {{.Id}} a:1 b:1",
      ]);
    });

    it("missingImages asks Docker once for every image, and a Docker that does not answer is no missing image", async () => {
      const wedged = fakeRunner([["docker image inspect", { exitCode: undefined, timedOut: true }]]);
      expect(await hostProbes({ run: wedged.run, kind: "kind", docker: "docker" }).missingImages(["a:1", "b:1", "c:1"])).to.deep.equal([]);
      expect(wedged.lines()).to.deep.equal(["docker image inspect --format {{.Id}} a:1 b:1 c:1"]);
    });

    it("docker info failing (daemon down) is not ok, with its output", async () => {
      const fake = fakeRunner([["docker info", { exitCode: 1, stdout: "\t\n", stderr: "Cannot connect to the Docker daemon" }]]);
      expect(await hostProbes({ run: fake.run, kind: "kind" }).docker()).to.deep.equal({ ok: false, output: "Cannot connect to the Docker daemon" });
    });

    it("a missing binary is notFound", async () => {
      const run = async () => {
        throw new InfraError("x not found", { code: "COMMAND_NOT_FOUND" });
      };
      expect(await hostProbes({ run, kind: "kind" }).kind()).to.deep.equal({ ok: false, output: "", notFound: true });
      expect(await hostProbes({ run, kind: "kind" }).docker()).to.deep.equal({ ok: false, output: "", notFound: true });
    });
  });

  it("compareVersions", () => {
    expect(compareVersions("v0.30.0", "v0.24.0")).to.be.greaterThan(0);
    expect(compareVersions("v0.9.0", "v0.24.0")).to.be.lessThan(0);
    expect(compareVersions("v0.24.0-alpha", "v0.24.0")).to.equal(0);
  });
});
