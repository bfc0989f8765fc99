/**
 * Replaced-workload detection.
 *
 * Network checks probe from and to pods the scenario deploys. A learner can
 * delete such a pod and run something else under the same name: a "testclient"
 * whose `curl` always prints the nginx page, a frontend on the host network, a
 * client with `hostAliases` for the service name or with NET_ADMIN to put the
 * target's address on its loopback. This module says *why* such a pod is not
 * the scenario's: it reads the pods and workloads the scenario's `apply` steps
 * create (setup and break; the reference solution's are accepted too: a pod
 * that matches the solution is fixed, not replaced), finds the one a live pod
 * comes from (by name, or by its owner: ReplicaSet → Deployment, StatefulSet,
 * DaemonSet, Job → CronJob), and compares what matters to a network verdict:
 * containers and images (init containers included), privileges and added
 * capabilities, host networking, host PID, hostAliases, dnsPolicy, dnsConfig
 * and shareProcessNamespace.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Evidence } from "../runner/schema/report.ts";
import type { Step } from "../runner/schema/scenario.ts";
import type { KubeObject } from "../runner/cluster/client.ts";
import type { ScenarioSource } from "./context.ts";
import { podName } from "./pods.ts";

export interface ExpectedContainer {
  name: string;
  image: string;
  /** `securityContext.privileged`. */
  privileged: boolean;
  /** `securityContext.capabilities.add`, upper-case without `CAP_`. */
  capabilities: string[];
}

export interface ExpectedPod {
  /** Where it is declared: `Pod default/testclient` or `Deployment default/web` (`... in the solution` for the solution's). */
  source: string;
  namespace: string;
  /** The pod's (or the template's) labels. */
  labels: Record<string, string>;
  containers: ExpectedContainer[];
  initContainers: ExpectedContainer[];
  hostNetwork: boolean;
  hostPID: boolean;
  shareProcessNamespace: boolean;
  /** `ClusterFirst` when the manifest says nothing (the API's default). */
  dnsPolicy: string;
  /** Canonical JSON of `hostAliases` (`[]` when absent). */
  hostAliases: string;
  /** Canonical JSON of `dnsConfig` (`{}` when absent). */
  dnsConfig: string;
  /** The declared pod spec itself (checks/hostlevel.ts compares what a host-level pod may do with it). */
  spec: Obj;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"]);

/** The fields of a pod spec (a manifest's or a live pod's) that a network verdict depends on. */
export function podShape(spec: unknown, metadata: unknown = {}): Omit<ExpectedPod, "source" | "namespace"> {
  const s = isObj(spec) ? spec : {};
  const m = isObj(metadata) ? metadata : {};
  const labels: Record<string, string> = {};
  if (isObj(m.labels)) for (const [k, v] of Object.entries(m.labels)) labels[k] = String(v);
  const hostAliases = arr(s.hostAliases);
  return {
    labels,
    containers: arr(s.containers).filter(isObj).map(containerShape),
    initContainers: arr(s.initContainers).filter(isObj).map(containerShape),
    hostNetwork: s.hostNetwork === true,
    hostPID: s.hostPID === true,
    shareProcessNamespace: s.shareProcessNamespace === true,
    dnsPolicy: typeof s.dnsPolicy === "string" && s.dnsPolicy ? s.dnsPolicy : "ClusterFirst",
    hostAliases: canonical(hostAliases),
    dnsConfig: canonical(isObj(s.dnsConfig) ? s.dnsConfig : {}),
    spec: s,
  };
}

function containerShape(c: Obj): ExpectedContainer {
  const sc = isObj(c.securityContext) ? c.securityContext : {};
  const caps = isObj(sc.capabilities) ? arr(sc.capabilities.add) : [];
  return {
    name: String(c.name ?? ""),
    image: String(c.image ?? ""),
    privileged: sc.privileged === true,
    capabilities: caps.map((x) => normalizeCapability(String(x))),
  };
}

/** `net_admin`, `CAP_NET_ADMIN` → `NET_ADMIN`. */
export function normalizeCapability(cap: string): string {
  return cap.trim().toUpperCase().replace(/^CAP_/, "");
}

/** JSON with sorted keys (and empty values dropped), so equal declarations compare equal. */
export function canonical(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (isObj(v)) {
      const out: Obj = {};
      for (const k of Object.keys(v).sort()) {
        const x = norm(v[k]);
        if (x === undefined || x === null || (Array.isArray(x) && x.length === 0) || (isObj(x) && Object.keys(x).length === 0)) continue;
        out[k] = x;
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(norm(value) ?? null);
}

export class WorkloadIndex {
  /** `Kind/namespace/name` → the pod templates it may create (the broken world's first, then the solution's). */
  readonly #byKey = new Map<string, ExpectedPod[]>();
  /** `namespace/name` of every Service the scenario's manifests declare. */
  readonly #services = new Set<string>();

  static empty(): WorkloadIndex {
    return new WorkloadIndex();
  }

  /**
   * Index the objects of the scenario's setup and break `apply` steps, then those of
   * its solution (unreadable files are skipped: the loader reports them).
   */
  static async fromScenario(source: ScenarioSource): Promise<WorkloadIndex> {
    const index = new WorkloadIndex();
    const spec = source.scenario.spec;
    const phases: [Step[], string][] = [
      [[...(spec.setup ?? []), ...(spec.break ?? [])], ""],
      [spec.solution?.steps ?? [], " in the solution"],
    ];
    for (const [steps, note] of phases) {
      for (const step of steps) {
        if (!("apply" in step) || !step.apply) continue;
        let text: string;
        try {
          text = await readFile(resolve(source.dir, step.apply.file), "utf8");
        } catch {
          continue;
        }
        index.addManifests(text, step.apply.namespace ?? "default", note);
      }
    }
    return index;
  }

  /** Add the objects of a (multi-document) YAML manifest. */
  addManifests(text: string, defaultNamespace = "default", note = ""): this {
    for (const doc of parseAllDocuments(text)) {
      if ("errors" in doc && doc.errors.length) continue;
      const value: unknown = doc.toJS();
      const objects = isObj(value) && value.kind === "List" && Array.isArray(value.items) ? value.items : [value];
      for (const o of objects) if (isObj(o)) this.add(o, defaultNamespace, note);
    }
    return this;
  }

  add(object: Obj, defaultNamespace = "default", note = ""): void {
    const kind = typeof object.kind === "string" ? object.kind : "";
    const metadata = isObj(object.metadata) ? object.metadata : {};
    const name = typeof metadata.name === "string" ? metadata.name : undefined;
    if (!name) return;
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : defaultNamespace;
    if (kind === "Service") this.#services.add(`${namespace}/${name}`);
    let podSpec: unknown;
    let podMeta: unknown;
    if (kind === "Pod") {
      podSpec = object.spec;
      podMeta = metadata;
    } else if (TEMPLATE_KINDS.has(kind)) {
      [podSpec, podMeta] = template(object.spec);
    } else if (kind === "CronJob") {
      [podSpec, podMeta] = isObj(object.spec) && isObj(object.spec.jobTemplate) ? template(object.spec.jobTemplate.spec) : [undefined, undefined];
    }
    if (!isObj(podSpec)) return;
    const key = `${kind}/${namespace}/${name}`;
    const expected: ExpectedPod = { source: `${kind} ${namespace}/${name}${note}`, namespace, ...podShape(podSpec, podMeta) };
    const variants = this.#byKey.get(key) ?? [];
    if (!variants.some((v) => sameShape(v, expected))) variants.push(expected);
    this.#byKey.set(key, variants);
  }

  /** Whether the scenario's manifests declare the Service `namespace/name`. */
  declaresService(namespace: string, name: string): boolean {
    return this.#services.has(`${namespace}/${name}`);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The scenario's declaration of a live pod (the first variant), by its name or its owner chain; undefined when the scenario does not declare it. */
  expectedFor(pod: KubeObject): ExpectedPod | undefined {
    return this.variantsFor(pod)[0];
  }

  /** Every declaration a live pod may match (the broken world's, the solution's); empty when the scenario does not declare it. */
  variantsFor(pod: KubeObject): ExpectedPod[] {
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
    return [];
  }

  /** Whether the scenario declares a pod in `namespace` whose labels match every label of `selector`. */
  declaresMatching(namespace: string, selector: Record<string, string>): boolean {
    for (const variants of this.#byKey.values()) {
      for (const v of variants) {
        if (v.namespace === namespace && Object.entries(selector).every(([k, val]) => v.labels[k] === val)) return true;
      }
    }
    return false;
  }

  /**
   * Compare a live pod with the scenario's declaration. Returns evidence for
   * every difference from the closest declaration (empty when it matches one,
   * or the scenario does not declare the pod).
   */
  verify(pod: KubeObject, role: "source" | "target"): Evidence[] {
    const variants = this.variantsFor(pod);
    let best: Evidence[] | undefined;
    for (const expected of variants) {
      const problems = differences(pod, expected, role);
      if (problems.length === 0) return [];
      if (!best || problems.length < best.length) best = problems;
    }
    return best ?? [];
  }
}

function sameShape(a: ExpectedPod, b: ExpectedPod): boolean {
  const { source: _a, ...x } = a;
  const { source: _b, ...y } = b;
  return canonical(x) === canonical(y);
}

function differences(pod: KubeObject, expected: ExpectedPod, role: "source" | "target"): Evidence[] {
  const live = podShape(pod.spec, pod.metadata);
  const who = `${role} pod ${podName(pod)}`;
  const as = `(as in ${expected.source})`;
  const problems: Evidence[] = [];
  const containers = (kind: "container" | "init container", want: ExpectedContainer[], got: ExpectedContainer[]) => {
    for (const w of want) {
      const g = got.find((c) => c.name === w.name);
      if (!g) {
        problems.push({ label: `${who}: ${kind} ${w.name}`, expected: `image ${w.image} ${as}`, observed: `no such ${kind}: the pod was replaced` });
        continue;
      }
      if (normalizeImage(g.image) !== normalizeImage(w.image)) {
        problems.push({
          label: `${who}: ${kind} ${w.name} image`,
          expected: `${w.image} ${as}`,
          observed: `${g.image}: the pod was replaced with a different image (uid ${pod.metadata.uid ?? "?"}, created ${pod.metadata.creationTimestamp ?? "?"})`,
        });
      }
      if (g.privileged && !w.privileged) {
        problems.push({ label: `${who}: ${kind} ${w.name} privileged`, expected: `not privileged ${as}`, observed: "privileged: true: the pod was recreated with more privileges than the scenario gives it" });
      }
      const added = g.capabilities.filter((c) => !w.capabilities.includes(c));
      if (added.length) {
        problems.push({
          label: `${who}: ${kind} ${w.name} capabilities`,
          expected: `${w.capabilities.length ? `only ${w.capabilities.join(", ")}` : "no added capabilities"} ${as}`,
          observed: `adds ${added.join(", ")}: the pod was recreated with more privileges than the scenario gives it`,
        });
      }
    }
    for (const g of got) {
      if (!want.some((c) => c.name === g.name)) {
        problems.push({ label: `${who}: ${kind} ${g.name}`, expected: `only the ${kind}s of ${expected.source}`, observed: `extra ${kind} ${g.name} (image ${g.image})` });
      }
    }
  };
  containers("container", expected.containers, live.containers);
  containers("init container", expected.initContainers, live.initContainers);
  // A target the scenario puts on the node's network may move to the pod network: that is a
  // fix (hostnetwork-port's solution is a patch that drops hostNetwork), and the answer still
  // comes from the declared containers. The other way (onto the node's network) is not.
  const leftHostNetwork = role === "target" && expected.hostNetwork && !live.hostNetwork;
  if (live.hostNetwork !== expected.hostNetwork && !leftHostNetwork) {
    problems.push({
      label: `${who}: hostNetwork`,
      expected: `${String(expected.hostNetwork)} ${as}`,
      observed: `${String(live.hostNetwork)}: the pod ${live.hostNetwork ? "uses the node's network, not the pod network" : "no longer uses the host network"}`,
    });
  }
  const flag = (field: "hostPID" | "shareProcessNamespace", why: string) => {
    if (live[field] !== expected[field]) problems.push({ label: `${who}: ${field}`, expected: `${String(expected[field])} ${as}`, observed: `${String(live[field])}: ${why}` });
  };
  flag("hostPID", "the pod was recreated with the node's process namespace");
  flag("shareProcessNamespace", "the pod was recreated with a different process namespace");
  if (live.dnsPolicy !== expected.dnsPolicy) {
    problems.push({ label: `${who}: dnsPolicy`, expected: `${expected.dnsPolicy} ${as}`, observed: `${live.dnsPolicy}: the pod was recreated with a different DNS policy` });
  }
  if (live.dnsConfig !== expected.dnsConfig) {
    problems.push({ label: `${who}: dnsConfig`, expected: `${expected.dnsConfig === "{}" ? "none" : expected.dnsConfig} ${as}`, observed: `${live.dnsConfig === "{}" ? "none" : live.dnsConfig}: the pod was recreated with its own DNS settings` });
  }
  if (live.hostAliases !== expected.hostAliases) {
    problems.push({
      label: `${who}: hostAliases`,
      expected: `${expected.hostAliases === "[]" ? "none" : expected.hostAliases} ${as}`,
      observed: `${live.hostAliases === "[]" ? "none" : live.hostAliases}: the pod was recreated with its own /etc/hosts entries`,
    });
  }
  return problems;
}

function template(spec: unknown): [unknown, unknown] {
  return isObj(spec) && isObj(spec.template) ? [spec.template.spec, spec.template.metadata] : [undefined, undefined];
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
