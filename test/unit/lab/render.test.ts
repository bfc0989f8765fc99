import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { UsageError } from "../../../runner/errors.ts";
import { NODE_IMAGES, PROBE_IMAGE, DEFAULT_KUBERNETES_VERSION } from "../../../runner/cluster/images.ts";
import { nodeImageFor, podSubnetOf, renderKindConfig } from "../../../runner/lab/render.ts";
import type { ClusterSpec, Scenario } from "../../../runner/schema/scenario.ts";

describe("lab/render", () => {
  it("renders beebox-cni: two nodes, no default CNI, its pod subnet", async () => {
    const scenario = parse(await readFile(new URL("../../../scenarios/beebox-cni/scenario.yaml", import.meta.url), "utf8")) as Scenario;
    expect(renderKindConfig(scenario.spec.cluster)).to.deep.equal({
      kind: "Cluster",
      apiVersion: "kind.x-k8s.io/v1alpha4",
      nodes: [{ role: "control-plane" }, { role: "worker" }],
      networking: { disableDefaultCNI: true, podSubnet: "192.168.0.0/16" },
    });
    expect(podSubnetOf(scenario.spec.cluster)).to.equal("192.168.0.0/16");
  });

  it("renders labels, every networking field, the mark mount and the kind pass-through", () => {
    const cluster: ClusterSpec = {
      nodes: [{ role: "control-plane", labels: { tier: "cp" } }, { role: "worker", labels: { zone: "a" } }, { role: "worker" }],
      networking: { defaultCNI: true, podSubnet: "10.1.0.0/16", serviceSubnet: "10.2.0.0/16", kubeProxyMode: "none" },
      kind: { featureGates: { Foo: true }, kubeadmConfigPatches: ["kind: ClusterConfiguration\n"], containerdConfigPatches: ["x"] },
    };
    expect(renderKindConfig(cluster, { markDir: "/state/labs/x/mark" })).to.deep.equal({
      kind: "Cluster",
      apiVersion: "kind.x-k8s.io/v1alpha4",
      featureGates: { Foo: true },
      kubeadmConfigPatches: ["kind: ClusterConfiguration\n"],
      containerdConfigPatches: ["x"],
      nodes: [
        { role: "control-plane", labels: { tier: "cp" }, extraMounts: [{ hostPath: "/state/labs/x/mark", containerPath: "/kind/labrun", readOnly: true }] },
        { role: "worker", labels: { zone: "a" }, extraMounts: [{ hostPath: "/state/labs/x/mark", containerPath: "/kind/labrun", readOnly: true }] },
        { role: "worker", extraMounts: [{ hostPath: "/state/labs/x/mark", containerPath: "/kind/labrun", readOnly: true }] },
      ],
      networking: { podSubnet: "10.1.0.0/16", serviceSubnet: "10.2.0.0/16", kubeProxyMode: "none" },
    });
  });

  it("labrun's own fields win over the pass-through", () => {
    const cluster = { nodes: [{ role: "control-plane" as const }], kind: { kind: "X", apiVersion: "y", name: "z" } };
    const config = renderKindConfig(cluster);
    expect(config.kind).to.equal("Cluster");
    expect(config.apiVersion).to.equal("kind.x-k8s.io/v1alpha4");
    expect(config).not.to.have.property("name");
  });

  it("does not alias the scenario's objects", () => {
    const cluster: ClusterSpec = { nodes: [{ role: "control-plane", labels: { a: "b" } }], kind: { featureGates: { A: true } } };
    const config = renderKindConfig(cluster) as { featureGates: Record<string, boolean>; nodes: { labels: Record<string, string> }[] };
    config.featureGates.A = false;
    config.nodes[0]!.labels.a = "c";
    expect(cluster.kind).to.deep.equal({ featureGates: { A: true } });
    expect(cluster.nodes[0]!.labels).to.deep.equal({ a: "b" });
  });

  describe("nodeImageFor", () => {
    it("LABRUN_NODE_IMAGE, then nodeImage, then the version map", () => {
      expect(nodeImageFor({ kubernetesVersion: "v1.34.12", nodeImage: "mine:1" }, { LABRUN_NODE_IMAGE: "env:1" })).to.equal("env:1");
      expect(nodeImageFor({ kubernetesVersion: "v1.34.12", nodeImage: "mine:1" }, {})).to.equal("mine:1");
      expect(nodeImageFor({ kubernetesVersion: "v1.34.12" }, {})).to.equal("localhost/labrun/kind-node:r2-v1.34.12");
      expect(nodeImageFor({}, {})).to.equal(NODE_IMAGES[DEFAULT_KUBERNETES_VERSION]);
    });
    it("an unknown version says how to pick an image", () => {
      expect(() => nodeImageFor({ kubernetesVersion: "v1.20.0" }, {}))
        .to.throw(UsageError, "labrun has no node image for Kubernetes v1.20.0")
        .with.property("hint")
        .that.contains("LABRUN_NODE_IMAGE");
    });
  });

  it("the image names match tools/images/versions.sh", async () => {
    const sh = await readFile(new URL("../../../tools/images/versions.sh", import.meta.url), "utf8");
    const vars: Record<string, string> = {};
    for (const m of sh.matchAll(/^([A-Z0-9_]+)=(\S+)/gm)) vars[m[1]!] = m[2]!.replace(/\$\{([A-Z0-9_]+)\}/g, (_, k: string) => vars[k] ?? "");
    expect(NODE_IMAGES[vars.K8S_VERSION!]).to.equal(vars.NODE_IMAGE);
    expect(DEFAULT_KUBERNETES_VERSION).to.equal(vars.K8S_VERSION);
    expect(PROBE_IMAGE).to.equal(vars.PROBE_IMAGE);
  });
});
