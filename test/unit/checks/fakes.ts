/**
 * A scripted ClusterClient for the checks' unit tests: objects in memory,
 * a probe that answers from a table, hooks to change the world between
 * attempts, and scripted failures.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ClusterClient, EphemeralContainerSpec, ExecOptions, ExecResult, KubeObject, ListOptions, ObjectRef, PodContainer } from "../../../runner/cluster/client.ts";
import { DEFAULT_SETTINGS, type CheckContext, type LabInfo, type Observation, type ScenarioSource } from "../../../checks/context.ts";
import { evaluateCheck } from "../../../checks/kinds/index.ts";
import { ProbeManager } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { InfraError } from "../../../runner/errors.ts";
import type { Clock } from "../../../runner/util/clock.ts";
import { checkKind, type Check, type Scenario } from "../../../runner/schema/scenario.ts";

export type ProbeReply = Record<string, unknown> | ExecResult | Error;

/** Answers `labrun-probe <verb> ...` by source pod and arguments. */
export type ProbeHandler = (call: { pod: string; namespace: string; container: string; verb: string; args: Record<string, string> }) => ProbeReply | Promise<ProbeReply>;

export class FakeCluster implements ClusterClient {
  readonly objects = new Map<string, KubeObject>();
  /** Every probe exec's verb (`http`, `dns`, `tcp`, `batch`, `stop`): how many round trips a grade took. */
  readonly probeExecs: string[] = [];
  readonly calls: string[] = [];
  readonly ephemeral: { namespace: string; pod: string; spec: EphemeralContainerSpec }[] = [];
  readonly execs: { target: PodContainer; command: string[] }[] = [];
  readonly nodeRuns: { node: string; command: string[] }[] = [];
  probe: ProbeHandler = () => ({ ok: false, error: "no probe handler" });
  execHandler: (target: PodContainer, command: string[]) => ExecResult | Promise<ExecResult> = () => ({ exitCode: 0, stdout: "", stderr: "", timedOut: false });
  nodeRunner: ((node: string, command: string[], options: ExecOptions) => ExecResult | Promise<ExecResult>) | undefined;
  /** Called before every read: change the world here (flapping, eventual success). */
  beforeRead: ((call: number) => void) | undefined;
  /** Errors thrown by the next reads (one per read). */
  readErrors: Error[] = [];
  /** Error thrown by ping (an unreachable cluster). */
  pingError: Error | undefined;
  /** Delay (ms) of every read (on `clock` when there is one). */
  readDelayMs = 0;
  /** The time the delays pass on (a FakeClock in tests about time). */
  clock: Clock | undefined;
  addEphemeralError: Error | undefined;
  addEphemeralDelayMs = 0;
  /**
   * Cluster DNS answers for every Service, as CoreDNS's kubernetes plugin does: a dns probe
   * for a Service labrun made for the grade (the dns check's canary) gets its cluster IP
   * without asking `probe`. False: a CoreDNS that answers only what `probe` says (hosts entries).
   */
  clusterDnsKnowsServices = true;
  #reads = 0;
  #nextClusterIP = 1;

  /** `withClusterDns: false` leaves out the kube-system/kube-dns Service (10.96.0.10) every cluster has. */
  constructor(options: { withClusterDns?: boolean } = {}) {
    if (options.withClusterDns !== false) this.put(service("kube-dns", "10.96.0.10", "kube-system"));
  }

  static key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
    return `${apiVersion}/${kind}/${namespace ?? ""}/${name}`;
  }

  put(...objects: KubeObject[]): this {
    for (const o of objects) this.objects.set(FakeCluster.key(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name), o);
    return this;
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void {
    this.objects.delete(FakeCluster.key(apiVersion, kind, namespace, name));
  }

  async #read(what: string): Promise<void> {
    this.calls.push(what);
    this.beforeRead?.(++this.#reads);
    if (this.readDelayMs) await (this.clock ? this.clock.sleep(this.readDelayMs) : new Promise((r) => setTimeout(r, this.readDelayMs)));
    const error = this.readErrors.shift();
    if (error) throw error;
  }

  async ping(): Promise<{ gitVersion: string }> {
    this.calls.push("ping");
    if (this.pingError) throw this.pingError;
    return { gitVersion: "v1.34.12" };
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    await this.#read(`get ${ref.kind} ${ref.namespace ?? ""}/${ref.name}`);
    const o = this.objects.get(FakeCluster.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    return o ? structuredClone(o) : undefined;
  }

  async list(apiVersion: string, kind: string, options: ListOptions = {}): Promise<KubeObject[]> {
    await this.#read(`list ${kind} ${options.namespace ?? ""} ${options.labelSelector ?? ""}`);
    const wanted = (options.labelSelector ?? "")
      .split(",")
      .filter(Boolean)
      .map((kv) => kv.split("=") as [string, string]);
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind)
      .filter((o) => options.namespace === undefined || o.metadata.namespace === options.namespace)
      .filter((o) => wanted.every(([k, v]) => o.metadata.labels?.[k] === v))
      .map((o) => structuredClone(o));
  }

  /** Server-side apply, simplified: the applied fields are merged into the live object. */
  async apply(object: KubeObject): Promise<KubeObject> {
    const live = this.objects.get(FakeCluster.key(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name));
    const merged = live ? (deepMerge(structuredClone(live), object) as KubeObject) : object;
    // Like the API server: a new Service of type ClusterIP gets an address.
    if (!live && merged.kind === "Service" && (merged.spec as { clusterIP?: string } | undefined)?.clusterIP === undefined) {
      const ip = `10.96.200.${this.#nextClusterIP++}`;
      merged.spec = { ...(merged.spec as object), clusterIP: ip, clusterIPs: [ip] };
    }
    this.put(merged);
    return merged;
  }

  /** The answer of cluster DNS for a Service labrun made (`clusterDnsKnowsServices`), or undefined. */
  #canaryAnswer(verb: string | undefined, args: Record<string, string>): ProbeReply | undefined {
    if (!this.clusterDnsKnowsServices || verb !== "dns") return undefined;
    const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local\.?$/.exec(args.name ?? "");
    const svc = m ? this.objects.get(FakeCluster.key("v1", "Service", m[2], m[1]!)) : undefined;
    if (!svc?.metadata.annotations?.["labrun.dev/owned-by"]) return undefined;
    return { ok: true, addresses: [(svc.spec as { clusterIP: string }).clusterIP], server: args.server ?? "10.96.0.10:53", rcode: "NOERROR" };
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    const key = FakeCluster.key(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    return this.objects.delete(key);
  }

  async exec(target: PodContainer, command: string[], _options: ExecOptions): Promise<ExecResult> {
    this.execs.push({ target, command });
    if (command[0] === "labrun-probe") {
      const [, verb, ...rest] = command;
      this.probeExecs.push(verb!);
      const args = flagArgs(rest);
      if (verb === "stop") {
        this.#setEphemeralState(target, { terminated: { reason: "Completed", exitCode: 0 } });
        return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
      }
      if (verb === "batch") {
        const items = JSON.parse(args.spec!) as ({ id: string; kind: string } & Record<string, unknown>)[];
        const lines: string[] = [];
        for (const item of items) {
          const { id, kind, ...fields } = item;
          const reply = this.#canaryAnswer(kind, fieldArgs(fields)) ?? await this.probe({ pod: target.pod, namespace: target.namespace, container: target.container ?? "", verb: kind, args: fieldArgs(fields) });
          if (reply instanceof Error) throw reply;
          if ("timedOut" in reply && "exitCode" in reply) return reply as ExecResult;
          lines.push(JSON.stringify({ id, kind, ...reply }));
        }
        return { exitCode: 0, stdout: lines.join("\n") + "\n", stderr: "", timedOut: false };
      }
      const reply = this.#canaryAnswer(verb, args) ?? (await this.probe({ pod: target.pod, namespace: target.namespace, container: target.container ?? "", verb: verb!, args }));
      if (reply instanceof Error) throw reply;
      if ("timedOut" in reply && "exitCode" in reply) return reply as ExecResult;
      return { exitCode: reply.ok === true ? 0 : 1, stdout: JSON.stringify(reply) + "\n", stderr: "", timedOut: false };
    }
    return this.execHandler(target, command);
  }

  /**
   * Like the API server: the container joins the pod's spec.ephemeralContainers
   * (with the fields checks/kube.ts sends and the server's defaults) and runs.
   */
  async addEphemeralContainer(pod: { namespace: string; pod: string }, spec: EphemeralContainerSpec): Promise<void> {
    this.calls.push(`addEphemeral ${pod.namespace}/${pod.pod}`);
    if (this.addEphemeralDelayMs) await new Promise((r) => setTimeout(r, this.addEphemeralDelayMs));
    if (this.addEphemeralError) throw this.addEphemeralError;
    this.ephemeral.push({ ...pod, spec });
    const live = this.objects.get(FakeCluster.key("v1", "Pod", pod.namespace, pod.pod));
    if (live) {
      const container = {
        name: spec.name,
        image: spec.image,
        command: spec.command,
        imagePullPolicy: "IfNotPresent",
        stdin: false,
        tty: false,
        terminationMessagePolicy: "FallbackToLogsOnError",
        terminationMessagePath: "/dev/termination-log",
        resources: {},
        ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
      };
      addEphemeral(live, container, { running: { startedAt: "2026-01-01T00:00:01Z" } });
    }
  }

  #setEphemeralState(target: PodContainer, state: Record<string, unknown>): void {
    const live = this.objects.get(FakeCluster.key("v1", "Pod", target.namespace, target.pod));
    const status = (live?.status ?? {}) as { ephemeralContainerStatuses?: { name: string; state: unknown }[] };
    const s = status.ephemeralContainerStatuses?.find((x) => x.name === target.container);
    if (s) s.state = state;
  }

  async runOnNode(node: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    this.nodeRuns.push({ node, command });
    if (!this.nodeRunner) {
      const { NodeShellUnavailableError } = await import("../../../runner/cluster/errors.ts");
      throw new NodeShellUnavailableError();
    }
    return this.nodeRunner(node, command, options);
  }
}

/** `--url U --max-body 1` → `{url: "U", "max-body": "1"}`. */
function flagArgs(rest: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) args[rest[i]!.replace(/^--/, "")] = rest[i + 1] ?? "";
  return args;
}

/** A batch item's fields in the shape flagArgs gives: kebab-case names, lists comma-joined, `timeoutMs` as `timeout`. */
function fieldArgs(fields: Record<string, unknown>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === "timeoutMs") args.timeout = Number(v) % 1000 === 0 ? `${Number(v) / 1000}s` : `${String(v)}ms`;
    else args[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = Array.isArray(v) ? v.join(",") : String(v);
  }
  return args;
}

/** Add an ephemeral container (any spec: a learner's `kubectl debug` too) and its state to a pod object. */
export function addEphemeral(pod: KubeObject, container: Record<string, unknown>, state: Record<string, unknown> = { running: {} }): KubeObject {
  const spec = (pod.spec ??= {}) as { ephemeralContainers?: unknown[] };
  (spec.ephemeralContainers ??= []).push(container);
  const status = (pod.status ??= {}) as { ephemeralContainerStatuses?: unknown[] };
  (status.ephemeralContainerStatuses ??= []).push({ name: container.name, state, ready: false, restartCount: 0, image: container.image });
  return pod;
}

export const unreachable = () => new InfraError("cannot reach the Kubernetes API at https://127.0.0.1:1: connect ECONNREFUSED", { code: "CLUSTER_UNREACHABLE" });

// ---------------------------------------------------------------- object builders

export function node(name: string, options: { ready?: boolean | "Unknown"; reason?: string; message?: string; controlPlane?: boolean } = {}): KubeObject {
  const ready = options.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: options.controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {} },
    status: {
      conditions: [
        {
          type: "Ready",
          status: ready === "Unknown" ? "Unknown" : ready ? "True" : "False",
          reason: options.reason ?? (ready === true ? "KubeletReady" : "KubeletNotReady"),
          message:
            options.message ??
            (ready === true
              ? "kubelet is posting ready status"
              : "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"),
        },
      ],
    },
  };
}

export interface PodOptions {
  namespace?: string;
  phase?: string;
  ready?: boolean;
  ip?: string;
  image?: string;
  container?: string;
  containers?: { name: string; image: string }[];
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  uid?: string;
  unschedulable?: string;
  waiting?: string;
  ownerReferences?: { kind: string; name: string; uid: string }[];
}

export function pod(name: string, o: PodOptions = {}): KubeObject {
  const phase = o.phase ?? "Running";
  const ready = o.ready ?? phase === "Running";
  const containers = o.containers ?? [{ name: o.container ?? "main", image: o.image ?? "docker.io/library/nginx:1.22.1" }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: o.uid ?? `uid-${name}`,
      labels: o.labels ?? {},
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}),
    },
    spec: { containers, ...(o.hostNetwork ? { hostNetwork: true } : {}), ...(phase !== "Pending" || !o.unschedulable ? { nodeName: "n1" } : {}) },
    status: {
      phase,
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      conditions: [
        ...(o.unschedulable ? [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: o.unschedulable }] : [{ type: "PodScheduled", status: "True" }]),
        { type: "Ready", status: ready ? "True" : "False" },
      ],
      containerStatuses: o.waiting ? containers.map((c) => ({ name: c.name, ready: false, state: { waiting: { reason: o.waiting } } })) : [],
    },
  };
}

export function service(name: string, clusterIP: string, namespace = "default"): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { clusterIP, ports: [{ port: 80 }] } };
}

export function endpointSlice(service: string, ready: boolean[], namespace = "default"): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${service}-abc`, namespace, labels: { "kubernetes.io/service-name": service } },
    endpoints: ready.map((r, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: r } })),
  };
}

// ---------------------------------------------------------------- scenarios

export const LAB: LabInfo = { name: "test-lab", cluster: "labrun-test-lab", provider: "kind" };

/** A scenario with these checks; `files` are written to a temporary scenario folder. */
export function scenarioWith(checks: Check[], options: { files?: Record<string, string>; applies?: string[]; passPercent?: number } = {}): ScenarioSource {
  const dir = mkdtempSync(join(tmpdir(), "labrun-checks-"));
  for (const [rel, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  const scenario = {
    apiVersion: "labrun.dev/v1alpha1",
    kind: "Scenario",
    metadata: { name: "test", title: "A test scenario", summary: "for tests", difficulty: "beginner", estimatedMinutes: 5 },
    spec: {
      cluster: { nodes: [{ role: "control-plane" }] },
      setup: (options.applies ?? []).map((file) => ({ apply: { file } })),
      task: { text: "do it" },
      checks,
      ...(options.passPercent ? { grading: { passPercent: options.passPercent } } : {}),
      broken: { failing: [checks[0]!.id] },
      solution: { steps: [{ run: { node: "all", command: ["true"] } }] },
    },
  } as unknown as Scenario;
  return { scenario, dir };
}

export const BEEBOX_MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: cyberdyne-frontend
  namespace: default
spec:
  containers:
    - name: nginx
      image: docker.io/library/nginx:1.22.1
---
apiVersion: v1
kind: Pod
metadata:
  name: testclient
  namespace: default
spec:
  containers:
    - name: curl
      image: docker.io/curlimages/curl:7.88.1
      command: ["sleep", "infinity"]
`;

/** The BeeBox pods, running and healthy. */
export function beeboxPods(): KubeObject[] {
  return [
    pod("cyberdyne-frontend", { ip: "192.168.1.4", container: "nginx", image: "docker.io/library/nginx:1.22.1" }),
    pod("testclient", { ip: "192.168.1.5", container: "curl", image: "docker.io/curlimages/curl:7.88.1" }),
  ];
}

export const NGINX_PAGE = "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>";

function deepMerge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value && typeof value === "object" && !Array.isArray(value) && current && typeof current === "object" && !Array.isArray(current)) {
      target[key] = deepMerge(current as Record<string, unknown>, value as Record<string, unknown>);
    } else target[key] = value;
  }
  return target;
}

/**
 * Evaluates one check against a fake cluster, the way the engine does: the
 * scenario holds only this check, BEEBOX_MANIFEST declares the workloads
 * (unless `extra.workloads` says otherwise).
 */
export function observeCheck(cluster: FakeCluster, check: Check, extra: Partial<CheckContext> = {}): Promise<Observation> {
  const ctx: CheckContext = {
    client: cluster,
    scenario: scenarioWith([check]),
    lab: LAB,
    check,
    probes: new ProbeManager(cluster),
    workloads: new WorkloadIndex().addManifests(BEEBOX_MANIFEST),
    signal: new AbortController().signal,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    settings: DEFAULT_SETTINGS,
    attempt: 1,
    ...extra,
  };
  return evaluateCheck(checkKind(check), ctx);
}
