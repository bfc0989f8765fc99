import type { ClusterClient, ExecResult, KubeObject, ObjectRef } from "../../../runner/cluster/client.ts";
import { GIB } from "../../../runner/lab/preflight.ts";

/** Preflight's host probes on a host that has everything: Docker, kind, memory, inotify, the images. */
export const goodProbes = {
  docker: async () => ({ ok: true as const, serverVersion: "20.10" }),
  kind: async () => ({ ok: true as const, version: "v0.30.0" }),
  memAvailable: async () => 8 * GIB,
  inotify: async () => ({ maxUserInstances: 512, maxUserWatches: 524288 }),
  missingImages: async () => [],
};

/** An in-memory ClusterClient: objects keyed by kind/namespace/name; applies merge shallowly. */
export function fakeClient(initial: KubeObject[] = []) {
  const objects = new Map<string, KubeObject>();
  const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ""}/${name}`;
  for (const o of initial) objects.set(key(o.kind, o.metadata.namespace, o.metadata.name), o);
  const applied: { object: KubeObject; fieldManager: string; force?: boolean }[] = [];
  const deleted: ObjectRef[] = [];
  const nodeRuns: { node: string; command: string[] }[] = [];
  let listHook: ((kind: string) => void) | undefined;
  let getHook: ((ref: ObjectRef) => void) | undefined;
  const client: ClusterClient & { close(): Promise<void>; closed: boolean } = {
    closed: false,
    async close() {
      this.closed = true;
    },
    async ping() {
      return { gitVersion: "v1.34.12" };
    },
    async get(ref) {
      getHook?.(ref);
      return objects.get(key(ref.kind, ref.namespace, ref.name));
    },
    async list(_apiVersion, kind, options = {}) {
      listHook?.(kind);
      const selector = (options.labelSelector ?? "")
        .split(",")
        .filter(Boolean)
        .map((s) => s.split("="));
      return [...objects.values()].filter(
        (o) =>
          o.kind === kind &&
          (options.namespace === undefined || o.metadata.namespace === options.namespace) &&
          selector.every(([k, v]) => o.metadata.labels?.[k!] === v),
      );
    },
    async apply(object, options) {
      applied.push({ object, fieldManager: options.fieldManager, ...(options.force !== undefined ? { force: options.force } : {}) });
      objects.set(key(object.kind, object.metadata.namespace, object.metadata.name), object);
      return object;
    },
    async delete(ref) {
      deleted.push(ref);
      return objects.delete(key(ref.kind, ref.namespace, ref.name));
    },
    async exec(): Promise<ExecResult> {
      throw new Error("not used");
    },
    async addEphemeralContainer() {
      throw new Error("not used");
    },
    async runOnNode(node, command): Promise<ExecResult> {
      nodeRuns.push({ node, command });
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
    },
  };
  return {
    client,
    objects,
    applied,
    deleted,
    set(o: KubeObject) {
      objects.set(key(o.kind, o.metadata.namespace, o.metadata.name), o);
    },
    onList(fn: (kind: string) => void) {
      listHook = fn;
    },
    onGet(fn: (ref: ObjectRef) => void) {
      getHook = fn;
    },
  };
}

export function node(name: string, ready = false, controlPlane = false): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {} },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: "KubeletNotReady", message: "container runtime network not ready: cni config uninitialized" }] },
  };
}

export function pod(name: string, phase: string, labels: Record<string, string> = {}, namespace = "default"): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, status: { phase, conditions: [{ type: "Ready", status: phase === "Running" ? "True" : "False" }] } };
}
