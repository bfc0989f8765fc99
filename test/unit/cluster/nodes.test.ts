import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { isControlPlaneNode, nodeInfo, resolveNode, selectNodes, type NodeInfo } from "../../../runner/cluster/nodes.ts";

const NODES: NodeInfo[] = [
  { name: "labrun-x-control-plane", labels: { "node-role.kubernetes.io/control-plane": "" } },
  { name: "labrun-x-worker", labels: {} },
  { name: "labrun-x-worker2", labels: {} },
];

describe("cluster/nodes: one rule for node references (steps, checks, labrun node)", () => {
  it("selectNodes: all, roles, names, kind short names", () => {
    const names = (ref?: string) => selectNodes(NODES, ref).map((n) => n.name);
    expect(names("all")).to.have.length(3);
    expect(names()).to.have.length(3);
    expect(names("control-plane")).to.deep.equal(["labrun-x-control-plane"]);
    expect(names("worker")).to.deep.equal(["labrun-x-worker", "labrun-x-worker2"]);
    expect(names("worker2")).to.deep.equal(["labrun-x-worker2"]);
    expect(names("labrun-x-worker")).to.deep.equal(["labrun-x-worker"]);
    expect(names("nope")).to.deep.equal([]);
  });

  it("checks accept the same node references on API objects, sorted by name", () => {
    const n = (name: string, cp = false): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels: cp ? { "node-role.kubernetes.io/control-plane": "" } : {} } });
    const nodes = [n("lab-worker2"), n("lab-control-plane", true), n("lab-worker")];
    const names = (which?: string) => selectNodes(nodes, which, nodeInfo).map((x) => x.metadata.name);
    expect(names()).to.deep.equal(["lab-control-plane", "lab-worker", "lab-worker2"]);
    expect(names("control-plane")).to.deep.equal(["lab-control-plane"]);
    expect(names("worker")).to.deep.equal(["lab-worker", "lab-worker2"]);
    expect(names("worker2")).to.deep.equal(["lab-worker2"]);
    expect(names("lab-worker")).to.deep.equal(["lab-worker"]);
    expect(names("nope")).to.deep.equal([]);
  });

  it("resolveNode: one node for `labrun node`", () => {
    expect(resolveNode("worker", NODES)?.name).to.equal("labrun-x-worker");
    expect(resolveNode("control-plane", NODES)?.name).to.equal("labrun-x-control-plane");
    expect(resolveNode("labrun-x-worker2", NODES)?.name).to.equal("labrun-x-worker2");
    expect(resolveNode("worker3", NODES)).to.equal(undefined);
    // a role only one node has, when no node is named after it
    expect(resolveNode("control-plane", [{ name: "cp-1", labels: { "node-role.kubernetes.io/control-plane": "" } }, { name: "w-1", labels: {} }])?.name).to.equal("cp-1");
  });

  it("a control-plane node: by its role label or kind's name", () => {
    expect(isControlPlaneNode("x", { "node-role.kubernetes.io/control-plane": "" })).to.equal(true);
    expect(isControlPlaneNode("labrun-x-control-plane2")).to.equal(true);
    expect(isControlPlaneNode("labrun-x-worker")).to.equal(false);
  });
});
