import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { imageLock, mergeLocks, pinnedRef, repositoryOf } from "../../../runner/cluster/image-lock.ts";
import { NODE_IMAGES, PROBE_IMAGE } from "../../../runner/cluster/images.ts";
import { ADDONS, addonImages } from "../../../runner/lab/addons.ts";
import { chooseImages, registryAnswers, registryMirror, requestedMode, throughMirror, DEFAULT_REGISTRY } from "../../../runner/lab/image-mode.ts";
import { CONTAINERD_CONFIG_PATCH, hostsToml, pullInNodes, writeMirrorConfig } from "../../../runner/lab/online-images.ts";
import type { ClusterProvider } from "../../../runner/providers/provider.ts";
import { renderKindConfig } from "../../../runner/lab/render.ts";

const CLUSTER = { kubernetesVersion: "v1.34.12" };
const OFFLINE_NODE = "localhost/labrun/kind-node:r2-v1.34.12";
const KIND_NODE = "docker.io/kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a";

describe("lab/image-mode (online and offline images)", () => {
  describe("images.lock.json", () => {
    it("pins kind v0.30.0's own default node image for v1.34.12 online, and the offline build's node image", async () => {
      const lock = imageLock({});
      expect(lock.kind).to.equal("v0.30.0");
      expect(lock.nodes["v1.34.12"]).to.deep.include({ offline: OFFLINE_NODE, online: "docker.io/kindest/node:v1.34.0", onlineKubernetesVersion: "v1.34.0" });
      expect(NODE_IMAGES["v1.34.12"]).to.equal(OFFLINE_NODE);
      const sh = await readFile(new URL("../../../tools/images/versions.sh", import.meta.url), "utf8");
      expect(sh).to.match(/^KIND_VERSION=v0\.30\.0\b/m);
    });

    it("names every image the add-ons, the probe and the scenarios use, each with a source; digests only as sha256", async () => {
      const lock = imageLock({});
      const names = lock.images.map((i) => i.name);
      const wanted = new Set<string>([PROBE_IMAGE, "docker.io/library/nginx:1.22.1", "docker.io/curlimages/curl:7.88.1"]);
      for (const addon of ADDONS) for (const image of await addonImages(addon)) wanted.add(image);
      for (const image of wanted) expect(names, image).to.include(image);
      for (const i of lock.images) {
        expect(i.source, i.name).to.be.a("string").with.length.greaterThan(0);
        if (i.digest !== null) expect(i.digest).to.match(/^sha256:[0-9a-f]{64}$/);
      }
      // the same names as the offline build (tools/images/versions.sh)
      const sh = await readFile(new URL("../../../tools/images/versions.sh", import.meta.url), "utf8");
      const vars: Record<string, string> = {};
      for (const m of sh.matchAll(/^([A-Z0-9_]+)=(\S+)/gm)) vars[m[1]!] = m[2]!.replace(/\$\{([A-Z0-9_]+)\}/g, (_, k: string) => vars[k] ?? "");
      for (const v of ["NGINX_IMAGE", "CURL_IMAGE", "FLANNEL_IMAGE", "FLANNEL_CNI_PLUGIN_IMAGE", "KUBE_ROUTER_IMAGE", "CILIUM_IMAGE", "CILIUM_OPERATOR_IMAGE", "PROBE_IMAGE"]) expect(names, v).to.include(vars[v]);
    });

    it("pins by digest where the lock knows one, by tag otherwise; $LABRUN_IMAGES_LOCK lays a test's own digests over it", async () => {
      const lock = imageLock({});
      expect(pinnedRef("docker.io/curlimages/curl:7.88.1", lock)).to.match(/^docker\.io\/curlimages\/curl@sha256:48318407/);
      expect(pinnedRef("docker.io/library/nginx:1.22.1", lock)).to.equal("docker.io/library/nginx:1.22.1");
      expect(repositoryOf("localhost:5001/a/b:c@sha256:x")).to.equal("localhost:5001/a/b");
      const dir = await mkdtemp(path.join(tmpdir(), "labrun-lock-"));
      try {
        const file = path.join(dir, "lock.json");
        await writeFile(file, JSON.stringify({ images: [{ name: "docker.io/library/nginx:1.22.1", digest: `sha256:${"a".repeat(64)}` }], nodes: { "v1.34.12": { onlineDigest: `sha256:${"b".repeat(64)}` } } }));
        const over = imageLock({ LABRUN_IMAGES_LOCK: file });
        expect(pinnedRef("docker.io/library/nginx:1.22.1", over)).to.equal(`docker.io/library/nginx@sha256:${"a".repeat(64)}`);
        expect(over.nodes["v1.34.12"]!.online).to.equal("docker.io/kindest/node:v1.34.0");
        expect(over.nodes["v1.34.12"]!.onlineDigest).to.equal(`sha256:${"b".repeat(64)}`);
        await writeFile(file, JSON.stringify({ images: [{ name: "x:1", digest: "md5:1" }] }));
        expect(() => imageLock({ LABRUN_IMAGES_LOCK: file })).to.throw(/needs a name and a digest/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect(mergeLocks(lock, {}).images).to.deep.equal(lock.images);
    });

    it("an overlay (the online e2e's registry of its own builds) replaces public digests, never drops one", () => {
      const lock = imageLock({});
      const cni = "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1";
      expect(pinnedRef(cni, lock)).to.equal("ghcr.io/flannel-io/flannel-cni-plugin@sha256:7c3377e977b4b77b8efdad96e207ebee371537d6dcd7b9c40853cf0c0f0aade3");
      const own = `sha256:${"c".repeat(64)}`;
      expect(pinnedRef(cni, mergeLocks(lock, { images: [{ name: cni, digest: own }] }))).to.equal(`ghcr.io/flannel-io/flannel-cni-plugin@${own}`);
      expect(() => mergeLocks(lock, { images: [{ name: cni, digest: null }] }, "$LABRUN_IMAGES_LOCK (x.json)")).to.throw(/\$LABRUN_IMAGES_LOCK \(x\.json\): image ghcr\.io\/flannel-io\/flannel-cni-plugin:v1\.9\.1-flannel1 is pinned by digest/);
      expect(() => mergeLocks(lock, { nodes: { "v1.34.12": { onlineDigest: null } as never } })).to.throw(/node image for v1\.34\.12 is pinned/);
      // an image the packaged lock leaves unpinned may be pinned by the overlay (the e2e pins all it pushed)
      expect(pinnedRef("docker.io/library/nginx:1.22.1", mergeLocks(lock, { images: [{ name: "docker.io/library/nginx:1.22.1", digest: own }] }))).to.equal(`docker.io/library/nginx@${own}`);
    });
  });

  describe("the decision", () => {
    const base = { cluster: CLUSTER, env: {}, dockerImages: ["docker.io/library/nginx:1.22.1"] };
    const answers = (ok: boolean) => async () => (ok ? { ok: true as const, ms: 12 } : { ok: false as const, error: "ENOTFOUND" });

    it("offline when every offline image is present; the registry is not even asked", async () => {
      let asked = false;
      const c = await chooseImages({ ...base, request: "auto", missingImages: async () => [], answers: async () => ((asked = true), { ok: true, ms: 1 }) });
      expect(c).to.deep.include({ mode: "offline", nodeImage: OFFLINE_NODE, reason: "the offline images are present" });
      expect(asked).to.equal(false);
    });

    it("online when offline images are missing and a registry answers: kind's node image by digest", async () => {
      const c = await chooseImages({ ...base, request: "auto", missingImages: async (i) => i.slice(0, 1), answers: answers(true) });
      expect(c.mode).to.equal("online");
      expect(c.nodeImage).to.equal(KIND_NODE);
      expect(c.reason).to.equal(`1 offline image missing; ${DEFAULT_REGISTRY} answered in 12 ms`);
    });

    it("offline (and preflight will say what to do) when images are missing and no registry answers", async () => {
      const c = await chooseImages({ ...base, request: "auto", missingImages: async (i) => i, answers: answers(false) });
      expect(c.mode).to.equal("offline");
      expect(c.reason).to.contain("2 offline images missing and no registry answered").and.contain("ENOTFOUND");
    });

    it("--online / --offline decide without asking; a mirror carries the node image; a scenario's own node image is kept", async () => {
      const never = async () => expect.fail("not asked");
      expect((await chooseImages({ ...base, request: "offline", missingImages: never, answers: never })).nodeImage).to.equal(OFFLINE_NODE);
      const mirror = registryMirror({ LABRUN_REGISTRY_MIRROR: "http://localhost:5001", LABRUN_REGISTRY_MIRROR_NODES: "http://labrun-e2e-registry:5000" })!;
      expect(mirror).to.deep.equal({ url: "http://localhost:5001", nodeUrl: "http://labrun-e2e-registry:5000" });
      const c = await chooseImages({ ...base, request: "online", mirror, missingImages: never, answers: never });
      expect(c).to.deep.include({ mode: "online", nodeImage: "localhost:5001/kindest/node@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a", mirror });
      const own = await chooseImages({ ...base, cluster: { ...CLUSTER, nodeImage: "my/node:1" }, request: "online", missingImages: never, answers: never });
      expect(own.nodeImage).to.equal("my/node:1");
    });

    it("refuses a bad mode or mirror with the setting's name", () => {
      expect(() => requestedMode({ LABRUN_IMAGES: "sometimes" })).to.throw(/LABRUN_IMAGES=sometimes/);
      expect(requestedMode({}, "online")).to.equal("online");
      expect(() => registryMirror({}, "ftp://x")).to.throw(/--registry-mirror: "ftp:\/\/x" must be an http/);
      expect(() => registryMirror({ LABRUN_REGISTRY_MIRROR: "http://m:5000/v2/docker" })).to.throw(/LABRUN_REGISTRY_MIRROR: .* has a path/);
      expect(registryMirror({ LABRUN_REGISTRY_MIRROR: "mirror.example:5000" })).to.deep.equal({ url: "https://mirror.example:5000", nodeUrl: "https://mirror.example:5000" });
    });

    it("a registry that does not answer is given up at the deadline, never waited for", async () => {
      const hanging: typeof fetch = (_url, init) => new Promise((_, reject) => init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason as Error)));
      const r = await registryAnswers("http://x", { timeoutMs: 20, fetch: hanging });
      expect(r).to.deep.equal({ ok: false, error: "no answer within 20 ms" });
      const unauthorized: typeof fetch = async () => new Response("", { status: 401 });
      expect((await registryAnswers("http://x", { fetch: unauthorized })).ok).to.equal(true);
    });
  });

  describe("the mirror in the cluster", () => {
    const mirror = { url: "http://localhost:5001", nodeUrl: "http://labrun-e2e-registry:5000" };

    it("rewrites public names to the mirror's host (Docker Hub's library/ included)", () => {
      expect(throughMirror(mirror, "docker.io/kindest/node:v1.34.0@sha256:ab")).to.equal("localhost:5001/kindest/node@sha256:ab");
      expect(throughMirror(mirror, "nginx:1.22.1")).to.equal("localhost:5001/library/nginx:1.22.1");
      expect(throughMirror(mirror, "registry.k8s.io/pause:3.10")).to.equal("localhost:5001/pause:3.10");
    });

    it("writes a hosts.toml per registry (mirror first, the registry itself after) and mounts them in every node", async () => {
      expect(hostsToml("docker.io", mirror)).to.contain('server = "https://registry-1.docker.io"').and.contain('[host."http://labrun-e2e-registry:5000"]').and.contain('capabilities = ["pull", "resolve"]');
      const dir = await mkdtemp(path.join(tmpdir(), "labrun-certs-"));
      try {
        await writeMirrorConfig(dir, mirror);
        for (const r of ["docker.io", "registry.k8s.io", "ghcr.io", "quay.io"]) expect(await readFile(path.join(dir, r, "hosts.toml"), "utf8")).to.contain(mirror.nodeUrl);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const config = renderKindConfig({ nodes: [{ role: "control-plane" }, { role: "worker" }], kind: { containerdConfigPatches: ["# theirs\n"] } } as never, { markDir: "/m", registryConfigDir: "/r" });
      expect(config.containerdConfigPatches).to.deep.equal(["# theirs\n", CONTAINERD_CONFIG_PATCH]);
      for (const node of config.nodes as { extraMounts: unknown[] }[]) expect(node.extraMounts).to.deep.include({ hostPath: "/r", containerPath: "/etc/containerd/certs.d", readOnly: true });
      expect(renderKindConfig({ nodes: [{ role: "control-plane" }] } as never, {}).containerdConfigPatches).to.equal(undefined);
    });
  });

  describe("pulling in the nodes", () => {
    function fakeProvider(fail?: (argv: string[]) => boolean) {
      const calls: string[] = [];
      const provider = {
        nodes: async () => ["n-control-plane", "n-worker"],
        execOnNode: async (_c: string, node: string, argv: string[]) => {
          calls.push(`${node}: ${argv.join(" ")}`);
          return { exitCode: fail?.(argv) ? 1 : 0, stdout: "", stderr: fail?.(argv) ? "dial tcp: lookup mirror: no such host" : "", timedOut: false };
        },
      } as unknown as ClusterProvider;
      return { provider, calls };
    }

    it("every node pulls through CRI by digest where pinned, then tags the manifests' name; by tag where not", async () => {
      const { provider, calls } = fakeProvider();
      await pullInNodes(provider, "c", ["docker.io/curlimages/curl:7.88.1", "docker.io/library/nginx:1.22.1"], {});
      const curl = "docker.io/curlimages/curl@sha256:48318407b8d98e8c7d5bd4741c88e8e1a5442de660b47f63ba656e5c910bc3da";
      for (const node of ["n-control-plane", "n-worker"]) {
        expect(calls.filter((c) => c.startsWith(node))).to.deep.equal([
          `${node}: crictl pull ${curl}`,
          `${node}: ctr -n k8s.io images tag --force ${curl} docker.io/curlimages/curl:7.88.1`,
          `${node}: crictl pull docker.io/library/nginx:1.22.1`,
        ]);
      }
    });

    it("a failed pull names the node, the image and the way out (the mirror, or the offline images)", async () => {
      const { provider } = fakeProvider((argv) => argv[0] === "crictl");
      const error = (await pullInNodes(provider, "c", ["docker.io/library/nginx:1.22.1"], {}).catch((e: unknown) => e)) as Error & { hint?: string; output?: string };
      expect(error.message).to.match(/^node n-(control-plane|worker) could not pull docker\.io\/library\/nginx:1\.22\.1$/);
      expect(error.output).to.contain("no such host");
      expect(error.hint).to.contain("--registry-mirror").and.contain("npm run images");
    });
  });
});
