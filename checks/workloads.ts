/**
 * Replaced-workload detection.
 *
 * Network checks probe from and to pods the scenario deploys. A learner can
 * delete such a pod and run something else under the same name: a "testclient"
 * whose `curl` always prints the nginx page, a frontend on the host network.
 * labrun's probe does not use the learner's binaries, so the first trick cannot
 * fool a network check by itself; this module says *why* such a pod is not the
 * scenario's: it reads the pods and workloads the scenario's `apply` steps
 * create (setup and break), finds the one a live pod comes from (by name, or by
 * its owner: ReplicaSet → Deployment, StatefulSet, DaemonSet, Job → CronJob),
 * and compares container images and host networking.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Evidence } from "../runner/schema/report.ts";
import type { Step } from "../runner/schema/scenario.ts";
import type { KubeObject } from "../runner/cluster/client.ts";
import type { ScenarioSource } from "./context.ts";
import { podName, podView } from "./pods.ts";

export interface ExpectedPod {
  /** Where it is declared: `Pod default/testclient` or `Deployment default/web`. */
  source: string;
  containers: { name: string; image: string }[];
  hostNetwork: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"]);

export class WorkloadIndex {
  /** `Kind/namespace/name` → the pod template it creates. */
  readonly #byKey = new Map<string, ExpectedPod>();

  static empty(): WorkloadIndex {
    return new WorkloadIndex();
  }

  /** Index the objects of the scenario's setup and break `apply` steps (unreadable files are skipped: the loader reports them). */
  static async fromScenario(source: ScenarioSource): Promise<WorkloadIndex> {
    const index = new WorkloadIndex();
    const steps: Step[] = [...(source.scenario.spec.setup ?? []), ...(source.scenario.spec.break ?? [])];
    for (const step of steps) {
      if (!("apply" in step) || !step.apply) continue;
      let text: string;
      try {
        text = await readFile(resolve(source.dir, step.apply.file), "utf8");
      } catch {
        continue;
      }
      index.addManifests(text, step.apply.namespace ?? "default");
    }
    return index;
  }

  /** Add the objects of a (multi-document) YAML manifest. */
  addManifests(text: string, defaultNamespace = "default"): this {
    for (const doc of parseAllDocuments(text)) {
      if ("errors" in doc && doc.errors.length) continue;
      const value: unknown = doc.toJS();
      const objects = isObj(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
      for (const o of objects) if (isObj(o)) this.add(o, defaultNamespace);
    }
    return this;
  }

  add(object: Obj, defaultNamespace = "default"): void {
    const kind = typeof object.kind === "string" ? object.kind : "";
    const metadata = isObj(object.metadata) ? object.metadata : {};
    const name = typeof metadata.name === "string" ? metadata.name : undefined;
    if (!name) return;
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : defaultNamespace;
    let podSpec: unknown;
    if (kind === "Pod") podSpec = object.spec;
    else if (TEMPLATE_KINDS.has(kind)) podSpec = template(object.spec);
    else if (kind === "CronJob") podSpec = isObj(object.spec) && isObj(object.spec.jobTemplate) ? template(object.spec.jobTemplate.spec) : undefined;
    if (!isObj(podSpec)) return;
    const containers = (Array.isArray(podSpec.containers) ? podSpec.containers : [])
      .filter(isObj)
      .map((c) => ({ name: String(c.name ?? ""), image: String(c.image ?? "") }));
    this.#byKey.set(`${kind}/${namespace}/${name}`, { source: `${kind} ${namespace}/${name}`, containers, hostNetwork: podSpec.hostNetwork === true });
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The scenario's declaration of a live pod, by its name or its owner chain; undefined when the scenario does not declare it. */
  expectedFor(pod: KubeObject): ExpectedPod | undefined {
    const namespace = pod.metadata.namespace ?? "default";
    const direct = this.#byKey.get(`Pod/${namespace}/${pod.metadata.name}`);
    if (direct) return direct;
    for (const owner of pod.metadata.ownerReferences ?? []) {
      const own = this.#byKey.get(`${owner.kind}/${namespace}/${owner.name}`);
      if (own) return own;
      // ReplicaSet <deployment>-<hash> → Deployment; Job <cronjob>-<n> → CronJob
      const parent = owner.name.replace(/-[a-z0-9]+$/, "");
      if (owner.kind === "ReplicaSet") {
        const d = this.#byKey.get(`Deployment/${namespace}/${parent}`);
        if (d) return d;
      }
      if (owner.kind === "Job") {
        const c = this.#byKey.get(`CronJob/${namespace}/${parent}`);
        if (c) return c;
      }
    }
    return undefined;
  }

  /**
   * Compare a live pod with the scenario's declaration. Returns evidence for
   * every difference (empty when it matches or the scenario does not declare
   * the pod).
   */
  verify(pod: KubeObject, role: "source" | "target"): Evidence[] {
    const expected = this.expectedFor(pod);
    if (!expected) return [];
    const live = podView(pod);
    const who = `${role} pod ${podName(pod)}`;
    const problems: Evidence[] = [];
    for (const want of expected.containers) {
      const got = live.containers.find((c) => c.name === want.name);
      if (!got) {
        problems.push({ label: `${who}: container ${want.name}`, expected: `image ${want.image} (as in ${expected.source})`, observed: "no such container: the pod was replaced" });
      } else if (normalizeImage(got.image) !== normalizeImage(want.image)) {
        problems.push({
          label: `${who}: container ${want.name} image`,
          expected: `${want.image} (as in ${expected.source})`,
          observed: `${got.image}: the pod was replaced with a different image (uid ${pod.metadata.uid ?? "?"}, created ${pod.metadata.creationTimestamp ?? "?"})`,
        });
      }
    }
    for (const got of live.containers) {
      if (!expected.containers.some((c) => c.name === got.name)) {
        problems.push({ label: `${who}: container ${got.name}`, expected: `only the containers of ${expected.source}`, observed: `extra container ${got.name} (image ${got.image})` });
      }
    }
    if (live.hostNetwork !== expected.hostNetwork) {
      problems.push({
        label: `${who}: hostNetwork`,
        expected: `${String(expected.hostNetwork)} (as in ${expected.source})`,
        observed: `${String(live.hostNetwork)}: the pod ${live.hostNetwork ? "uses the node's network, not the pod network" : "no longer uses the host network"}`,
      });
    }
    return problems;
  }
}

function template(spec: unknown): unknown {
  return isObj(spec) && isObj(spec.template) ? spec.template.spec : undefined;
}

/** `nginx:1.22.1` and `docker.io/library/nginx:1.22.1` name the same image. */
export function normalizeImage(image: string): string {
  let ref = image.trim();
  const firstSlash = ref.indexOf("/");
  const first = firstSlash === -1 ? "" : ref.slice(0, firstSlash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  if (!hasRegistry) ref = `docker.io/${firstSlash === -1 ? "library/" : ""}${ref}`;
  else if (first === "index.docker.io") ref = `docker.io/${ref.slice(firstSlash + 1)}`;
  const lastSlash = ref.lastIndexOf("/");
  if (!ref.slice(lastSlash + 1).includes(":") && !ref.includes("@")) ref += ":latest";
  return ref;
}
