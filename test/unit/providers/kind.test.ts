import { expect } from "chai";
import { parse } from "yaml";
import { InfraError, InterruptedError, UsageError } from "../../../runner/errors.ts";
import { KindProvider, resolveKindBinary } from "../../../runner/providers/kind.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";
import { fakeRunner } from "./fake-runner.ts";

const CONFIG = { kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", nodes: [{ role: "control-plane" }, { role: "worker" }] };

function provider(rules: Parameters<typeof fakeRunner>[0] = []) {
  const fake = fakeRunner(rules);
  // The API wait runs on virtual time: 50 ms is 50 ms however busy the machine is.
  return { fake, kind: new KindProvider({ run: fake.run, kind: "kind", docker: "docker", pollMs: 1, apiTimeoutMs: 50, clock: new FakeClock() }) };
}

describe("providers/kind", () => {
  describe("resolveKindBinary", () => {
    it("prefers LABRUN_KIND, then kind on PATH, then the labrun cache", () => {
      expect(resolveKindBinary({ LABRUN_KIND: "/opt/kind", PATH: "/bin" }, () => true)).to.equal("/opt/kind");
      expect(resolveKindBinary({ PATH: "/usr/bin:/bin" }, (p) => p === "/bin/kind")).to.equal("kind");
      expect(resolveKindBinary({ PATH: "/bin", HOME: "/home/u" }, (p) => p === "/home/u/.cache/labrun/bin/kind")).to.equal("/home/u/.cache/labrun/bin/kind");
      expect(resolveKindBinary({ PATH: "/bin", LABRUN_CACHE: "/c" }, (p) => p === "/c/bin/kind")).to.equal("/c/bin/kind");
      expect(resolveKindBinary({ PATH: "/bin" }, () => false), "falls back to kind (the error names it)").to.equal("kind");
    });
  });

  describe("create", () => {
    it("runs kind with the config on stdin and the lab's own kubeconfig, then polls /readyz in the control plane", async () => {
      let readyz = 0;
      const { fake, kind } = provider([[/kubectl .*readyz/, () => (++readyz < 3 ? { exitCode: 1, stderr: "connection refused" } : { stdout: "ok" })]]);
      const lines: string[] = [];
      await kind.create({ name: "labrun-x", nodeImage: "localhost/labrun/kind-node:v1.34.12", config: CONFIG, kubeconfigPath: "/state/labs/x/kubeconfig", onOutput: (l) => lines.push(l) });
      expect(fake.lines()).to.deep.equal([
        "kind create cluster --name labrun-x --image localhost/labrun/kind-node:v1.34.12 --config - --kubeconfig /state/labs/x/kubeconfig --retain",
        "docker exec labrun-x-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw=/readyz",
        "docker exec labrun-x-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw=/readyz",
        "docker exec labrun-x-control-plane kubectl --kubeconfig=/etc/kubernetes/admin.conf get --raw=/readyz",
      ]);
      expect(parse(fake.calls[0]!.options.input!)).to.deep.equal(CONFIG);
      expect(fake.calls[0]!.options.onLine).to.be.a("function");
    });

    it("always passes --retain (labrun keeps kind's logs of a failure, then deletes the nodes itself), in its own process group", async () => {
      const { fake, kind } = provider([[/readyz/, { stdout: "ok" }]]);
      await kind.create({ name: "labrun-x", nodeImage: "img:1", config: CONFIG, kubeconfigPath: "/k", retain: true });
      expect(fake.lines()[0]).to.equal("kind create cluster --name labrun-x --image img:1 --config - --kubeconfig /k --retain");
      expect(fake.calls[0]!.options.detached).to.equal(true);
    });

    it("wraps a failed create lower-case with kind's output and a hint", async () => {
      const { kind } = provider([["kind create", { exitCode: 1, stderr: 'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "labrun-x"' }]]);
      const error = (await kind.create({ name: "labrun-x", nodeImage: "i:1", config: CONFIG, kubeconfigPath: "/k" }).catch((e: unknown) => e)) as InfraError;
      expect(error).to.be.instanceOf(InfraError);
      expect(error.message).to.equal('failed to create cluster "labrun-x"');
      expect(error.output).to.contain("already exist");
      expect(error.hint).to.contain("labrun down");
    });

    it("does not trust kind: an API that never answers is an InfraError after the bounded wait", async () => {
      const { kind } = provider([[/readyz/, { exitCode: 1, stderr: "The connection to the server was refused" }]]);
      const error = (await kind.create({ name: "labrun-x", nodeImage: "i:1", config: CONFIG, kubeconfigPath: "/k" }).catch((e: unknown) => e)) as InfraError;
      expect(error.code).to.equal("API_NOT_READY");
      expect(error.output).to.contain("refused");
    });

    it("an aborted create is an InterruptedError naming the signal", async () => {
      const controller = new AbortController();
      controller.abort("SIGTERM");
      const { kind } = provider([["kind create", { exitCode: null, aborted: true }]]);
      const error = await kind.create({ name: "labrun-x", nodeImage: "i:1", config: CONFIG, kubeconfigPath: "/k", signal: controller.signal }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InterruptedError);
      expect((error as Error).message).to.equal("interrupted by SIGTERM");
    });

    it("a missing kind binary says how to install it", async () => {
      const kind = new KindProvider({
        kind: "/nope/kind",
        run: async () => {
          throw new InfraError("/nope/kind not found", { code: "COMMAND_NOT_FOUND" });
        },
      });
      const error = (await kind.list().catch((e: unknown) => e)) as InfraError;
      expect(error.message).to.equal("kind not found (looked for `/nope/kind`)");
      expect(error.hint).to.contain("go install sigs.k8s.io/kind@v0.30.0");
    });
  });

  describe("delete", () => {
    it("gives kind the lab's kubeconfig, then sweeps leftover node containers", async () => {
      const { fake, kind } = provider([
        ["docker ps -aq --filter label=io.x-k8s", { stdout: "abc\ndef\n" }],
        ["docker ps -aq --filter label=dev.labrun.outside-of", { stdout: "out1\n" }],
      ]);
      await kind.delete("labrun-x", { kubeconfigPath: "/state/labs/x/kubeconfig" });
      expect(fake.lines()).to.deep.equal([
        "kind delete cluster --name labrun-x --kubeconfig /state/labs/x/kubeconfig",
        "docker ps -aq --filter label=io.x-k8s.kind.cluster=labrun-x",
        // the cluster's hosts outside it (spec.outside) go with it
        "docker ps -aq --filter label=dev.labrun.outside-of=labrun-x",
        "docker rm -f -v out1",
        "docker rm -f -v abc def",
      ]);
    });

    it("never lets kind touch the default kubeconfig", async () => {
      const { fake, kind } = provider();
      await kind.delete("labrun-x");
      expect(fake.calls[0]!.args.slice(0, 5)).to.deep.equal(["delete", "cluster", "--name", "labrun-x", "--kubeconfig"]);
      expect(fake.calls[0]!.args[5]).to.match(/labrun-kind-delete-\d+\.kubeconfig$/);
      expect(fake.lines()).to.have.length(3, "no rm when nothing is left");
    });

    it("deletes again with a throwaway kubeconfig when the lab's is corrupt (the hint of a corrupt kubeconfig is `labrun down`)", async () => {
      const { fake, kind } = provider([
        ["kind delete cluster --name labrun-x --kubeconfig /state/labs/x/kubeconfig", { exitCode: 1, stderr: "ERROR: failed to delete cluster \"labrun-x\": failed to read kubeconfig to remove KIND entry: yaml: line 1" }],
      ]);
      await kind.delete("labrun-x", { kubeconfigPath: "/state/labs/x/kubeconfig" });
      expect(fake.lines()[0]).to.equal("kind delete cluster --name labrun-x --kubeconfig /state/labs/x/kubeconfig");
      expect(fake.lines()[1]).to.match(/^kind delete cluster --name labrun-x --kubeconfig \S*labrun-kind-delete-\d+\.kubeconfig$/);
    });

    it("does not retry a failure that is not about the kubeconfig", async () => {
      const { fake, kind } = provider([["kind delete", { exitCode: 1, stderr: "boom" }]]);
      const error = (await kind.delete("labrun-x", { kubeconfigPath: "/state/labs/x/kubeconfig" }).catch((e: unknown) => e)) as InfraError;
      expect(error.message).to.equal('failed to delete cluster "labrun-x"');
      expect(fake.lines().filter((l) => l.startsWith("kind delete"))).to.have.length(1);
    });

    it("wraps a failure", async () => {
      const { kind } = provider([["kind delete", { exitCode: 1, stderr: "boom" }]]);
      const error = (await kind.delete("labrun-x").catch((e: unknown) => e)) as InfraError;
      expect(error.message).to.equal('failed to delete cluster "labrun-x"');
      expect(error.output).to.equal("boom");
    });
  });

  describe("queries", () => {
    it("list, nodes, kubeconfig and version", async () => {
      const { fake, kind } = provider([
        ["kind get clusters", { stdout: "labrun-b\nlabrun-a\n" }],
        ["kind get nodes", { stdout: "labrun-a-worker\nlabrun-a-control-plane\n" }],
        ["kind get kubeconfig", { stdout: "apiVersion: v1\n" }],
        ["kind version", { stdout: "kind v0.30.0 go1.26.8 linux/amd64\n" }],
      ]);
      expect(await kind.list()).to.deep.equal(["labrun-a", "labrun-b"]);
      expect(await kind.nodes("labrun-a")).to.deep.equal(["labrun-a-control-plane", "labrun-a-worker"]);
      expect(await kind.kubeconfig("labrun-a")).to.equal("apiVersion: v1\n");
      expect(await kind.version()).to.equal("v0.30.0");
      expect(fake.lines()).to.deep.equal(["kind get clusters", "kind get nodes --name labrun-a", "kind get kubeconfig --name labrun-a", "kind version"]);
    });

    it("no clusters: kind prints a notice on stderr only", async () => {
      const { kind } = provider([["kind get clusters", { stderr: "No kind clusters found.\n" }]]);
      expect(await kind.list()).to.deep.equal([]);
    });

    it("finds labrun's mark on node containers", async () => {
      const { fake, kind } = provider([
        ["docker ps", { stdout: "c1\nc2\n" }],
        [
          "docker inspect",
          {
            stdout:
              "c1full\t/labrun-a-control-plane\tlabrun-a\trunning\t/lib/modules|/lib/modules;/state/labs/a/mark|/kind/labrun;\n" +
              "c2full\t/other-control-plane\tother\texited\t/lib/modules|/lib/modules;\n",
          },
        ],
      ]);
      expect(await kind.nodeContainers()).to.deep.equal([
        { id: "c1full", name: "labrun-a-control-plane", cluster: "labrun-a", state: "running", mark: "/state/labs/a/mark" },
        { id: "c2full", name: "other-control-plane", cluster: "other", state: "exited" },
      ]);
      expect(fake.lines()[0]).to.equal("docker ps -aq --filter label=io.x-k8s.kind.cluster");
      expect(fake.calls[1]!.args.slice(0, 2)).to.deep.equal(["inspect", "--format"]);
      expect(fake.calls[1]!.args.slice(3)).to.deep.equal(["c1", "c2"]);
    });
  });

  describe("nodes", () => {
    it("execOnNode is docker exec, bounded, with stdin when given", async () => {
      const { fake, kind } = provider([["docker exec", { stdout: "hi\n", exitCode: 0 }]]);
      const r = await kind.execOnNode("labrun-x", "labrun-x-worker", ["ls", "/etc/cni/net.d"], { timeoutMs: 5000 });
      expect(r).to.deep.equal({ exitCode: 0, stdout: "hi\n", stderr: "", timedOut: false });
      await kind.execOnNode("labrun-x", "labrun-x-worker", ["sh"], { timeoutMs: 5000, stdin: "echo hi" });
      expect(fake.lines()).to.deep.equal(["docker exec labrun-x-worker ls /etc/cni/net.d", "docker exec -i labrun-x-worker sh"]);
      expect(fake.calls[0]!.options.timeoutMs).to.equal(5000);
      expect(fake.calls[1]!.options.input).to.equal("echo hi");
    });

    it("refuses containers that are not nodes of the cluster", async () => {
      const { kind } = provider();
      const error = await kind.execOnNode("labrun-x", "some-db", ["ls"], { timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(UsageError);
    });

    it("interactiveCommand is docker exec -it with a login shell by default", () => {
      const { kind } = provider();
      expect(kind.interactiveCommand("labrun-x", "labrun-x-worker", [], { tty: true })).to.deep.equal({ file: "docker", args: ["exec", "-it", "labrun-x-worker", "bash", "-l"] });
      expect(kind.interactiveCommand("labrun-x", "labrun-x-worker", ["crictl", "ps"], { tty: false })).to.deep.equal({ file: "docker", args: ["exec", "-i", "labrun-x-worker", "crictl", "ps"] });
    });
  });

  describe("loadImages", () => {
    const PS = "docker ps -a --filter label=io.x-k8s.kind.cluster=labrun-x --format {{.Label \"labrun.images\"}}|";
    const IMAGES = ["docker.io/library/nginx:1.22.1", "ghcr.io/labrun/probe:v0.1.0"];

    it("checks the images exist locally, reads the nodes' baked images, then kind load docker-image", async () => {
      const { fake, kind } = provider([["docker image inspect", { stdout: "sha256:n\nsha256:p\n" }], ["docker ps", { stdout: "|\n|\n" }]]);
      await kind.loadImages("labrun-x", IMAGES);
      expect(fake.lines()).to.deep.equal([
        "docker image inspect --format {{.Id}} docker.io/library/nginx:1.22.1 ghcr.io/labrun/probe:v0.1.0",
        PS,
        "kind load docker-image --name labrun-x docker.io/library/nginx:1.22.1 ghcr.io/labrun/probe:v0.1.0",
      ]);
    });

    it("skips an image every node's image holds with the local ID (label labrun.images); loads the rest", async () => {
      const baked = "nginx:1.22.1=sha256:n ghcr.io/labrun/probe:v0.1.0=sha256:OLD";
      const { fake, kind } = provider([["docker image inspect", { stdout: "sha256:n\nsha256:p\n" }], ["docker ps", { stdout: `${baked}|\n${baked}|\n` }]]);
      await kind.loadImages("labrun-x", IMAGES);
      expect(fake.lines().at(-1), "the probe was rebuilt locally: its new ID is loaded").to.equal("kind load docker-image --name labrun-x ghcr.io/labrun/probe:v0.1.0");
    });

    it("every image baked into every node: nothing is loaded; one node without the label: all are", async () => {
      const baked = "docker.io/library/nginx:1.22.1=sha256:n ghcr.io/labrun/probe:v0.1.0=sha256:p";
      const both = provider([["docker image inspect", { stdout: "sha256:n\nsha256:p\n" }], ["docker ps", { stdout: `${baked}|\n${baked}|\n` }]]);
      await both.kind.loadImages("labrun-x", IMAGES);
      expect(both.fake.lines()).to.have.length(2);
      const one = provider([["docker image inspect", { stdout: "sha256:n\nsha256:p\n" }], ["docker ps", { stdout: `${baked}|\n|\n` }]]);
      await one.kind.loadImages("labrun-x", IMAGES);
      expect(one.fake.lines().at(-1)).to.equal(`kind load docker-image --name labrun-x ${IMAGES.join(" ")}`);
      const unknown = provider([["docker image inspect", { stdout: "sha256:n\nsha256:p\n" }], ["docker ps", { exitCode: 1, stderr: "boom" }]]);
      await unknown.kind.loadImages("labrun-x", IMAGES);
      expect(unknown.fake.lines().at(-1), "nodes unknown: kind decides, as before").to.equal(`kind load docker-image --name labrun-x ${IMAGES.join(" ")}`);
    });

    it("names the missing images and how to build them", async () => {
      const { fake, kind } = provider([["docker image inspect", { exitCode: 1, stdout: "sha256:1\n", stderr: "Error: No such image: ghcr.io/labrun/probe:v0.1.0\n" }]]);
      const error = (await kind.loadImages("labrun-x", ["nginx:1", "ghcr.io/labrun/probe:v0.1.0"]).catch((e: unknown) => e)) as InfraError;
      expect(error.message).to.equal("image not available locally: ghcr.io/labrun/probe:v0.1.0");
      expect(error.hint).to.contain("tools/images/build.sh");
      expect(fake.lines()).to.have.length(1);
    });

    it("an image archive: kind load image-archive, and a failure carries kind's output", async () => {
      const { fake, kind } = provider([[/\/bad\.tar/, { exitCode: 1, stderr: "ERROR: failed to load image: unrecognized image format" }]]);
      await kind.loadImageArchive("labrun-x", "/tmp/probe.tar");
      expect(fake.lines()).to.deep.equal(["kind load image-archive --name labrun-x /tmp/probe.tar"]);
      const error = (await kind.loadImageArchive("labrun-x", "/bad.tar").catch((e: unknown) => e)) as InfraError;
      expect(error).to.be.instanceOf(InfraError);
      expect(error.code).to.equal("IMAGE_LOAD_FAILED");
      expect(error.output).to.contain("unrecognized image format");
    });

    it("nothing to load: no command", async () => {
      const { fake, kind } = provider();
      await kind.loadImages("labrun-x", []);
      expect(fake.calls).to.have.length(0);
    });
  });
});
