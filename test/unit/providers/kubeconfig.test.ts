import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { NotFoundError, UsageError } from "../../../runner/errors.ts";
import { KubeconfigProvider, defaultKubeconfigPath } from "../../../runner/providers/kubeconfig.ts";
import { fakeClient, node } from "../lab/fakes.ts";

const KUBECONFIG = `
apiVersion: v1
kind: Config
clusters:
- name: pool-1
  cluster: { server: "https://10.0.0.1:6443" }
- name: other
  cluster: { server: "https://10.0.0.2:6443" }
users:
- name: learner
  user: { token: abc }
- name: admin
  user: { token: root }
contexts:
- name: lab
  context: { cluster: pool-1, user: learner, namespace: default }
- name: admin
  context: { cluster: other, user: admin }
current-context: admin
`;

describe("providers/kubeconfig", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-kc-"));
    file = path.join(dir, "config");
    await writeFile(file, KUBECONFIG);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("says what it cannot do, and refuses it with UsageErrors", async () => {
    const p = new KubeconfigProvider({ kubeconfigPath: file, context: "lab" });
    expect(p.capabilities()).to.deep.equal({ createClusters: false, nodeShell: false, loadImages: false });
    for (const call of [
      () => p.create({ name: "x", nodeImage: "i", config: {}, kubeconfigPath: "/k" }),
      () => p.delete("x"),
      () => p.execOnNode("pool-1", "n", ["ls"], { timeoutMs: 1000 }),
      () => p.loadImages("pool-1", ["nginx:1"]),
    ]) {
      expect(await call().catch((e: unknown) => e)).to.be.instanceOf(UsageError);
    }
    await p.loadImages("pool-1", []); // nothing to load is fine
  });

  it("sees only the context's cluster and hands out a kubeconfig with just that context", async () => {
    const p = new KubeconfigProvider({ kubeconfigPath: file, context: "lab" });
    expect(await p.list()).to.deep.equal(["pool-1"]);
    const minimal = parse(await p.kubeconfig("pool-1")) as Record<string, unknown>;
    expect(minimal).to.deep.equal({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "pool-1", cluster: { server: "https://10.0.0.1:6443" } }],
      users: [{ name: "learner", user: { token: "abc" } }],
      contexts: [{ name: "lab", context: { cluster: "pool-1", user: "learner", namespace: "default" } }],
      "current-context": "lab",
    });
    expect(await p.kubeconfig("other").catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
  });

  it("defaults to the current context; an unknown context lists the known ones", async () => {
    expect(await new KubeconfigProvider({ kubeconfigPath: file }).list()).to.deep.equal(["other"]);
    const error = (await new KubeconfigProvider({ kubeconfigPath: file, context: "nope" }).list().catch((e: unknown) => e)) as NotFoundError;
    expect(error).to.be.instanceOf(NotFoundError);
    expect(error.hint).to.equal("contexts: lab, admin");
  });

  it("lists nodes through the cluster client", async () => {
    const fake = fakeClient([node("b"), node("a", true, true)]);
    const p = new KubeconfigProvider({ kubeconfigPath: file, context: "lab", clientFactory: async () => fake.client });
    expect(await p.nodes("pool-1")).to.deep.equal(["a", "b"]);
  });

  it("defaultKubeconfigPath: the first file of KUBECONFIG, else ~/.kube/config", () => {
    expect(defaultKubeconfigPath({ KUBECONFIG: `/a${path.delimiter}/b`, HOME: "/h" })).to.equal("/a");
    expect(defaultKubeconfigPath({ HOME: "/h" })).to.equal("/h/.kube/config");
  });
});
