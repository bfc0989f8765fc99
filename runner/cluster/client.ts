/**
 * The one small interface through which checks and lab steps talk to a
 * cluster. runner/cluster/kube.ts implements it with @kubernetes/client-node; unit
 * tests implement it with scripted fakes.
 *
 * Every method is bounded: it settles within its deadline (or the signal) and
 * turns an unreachable API into an InfraError, never a hang.
 */

export interface KubeMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  resourceVersion?: string;
  ownerReferences?: { kind: string; name: string; uid: string }[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** `{a: "b", c: "d"}` → `a=b,c=d` */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export interface ExecOptions {
  /** Hard deadline for the whole call; the wrapper settles by then. */
  timeoutMs: number;
  signal?: AbortSignal;
  stdin?: string;
}

export interface ExecResult {
  /** The remote exit code, or null when it was not delivered (timeout, closed socket). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when the deadline, not the command, ended the call. */
  timedOut: boolean;
}

export interface PodContainer {
  namespace: string;
  pod: string;
  /** Default: the pod's first container. */
  container?: string;
}

export interface EphemeralContainerSpec {
  name: string;
  image: string;
  command: string[];
  /** Share the process namespace of this container (optional). */
  targetContainerName?: string;
  /** The container's securityContext (optional; labrun's probe runs as a non-root user with no capabilities). */
  securityContext?: Record<string, unknown>;
}

export interface ClusterClient {
  /** Where this client's cluster is, for tools such as kubectl (absent for clients not made from a file). */
  readonly kubeconfig?: { path: string; context?: string };
  /** GET /version within a short deadline; throws InfraError when the API is unreachable. */
  ping(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ gitVersion: string }>;
  get(ref: ObjectRef, options?: { signal?: AbortSignal }): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, options?: ListOptions & { signal?: AbortSignal }): Promise<KubeObject[]>;
  /** Server-side apply. */
  apply(object: KubeObject, options: { fieldManager: string; force?: boolean; signal?: AbortSignal }): Promise<KubeObject>;
  /** Returns false when the object did not exist. `gracePeriodSeconds: 0` deletes a pod at once (`kubectl delete --grace-period=0 --force`). */
  delete(ref: ObjectRef, options?: { signal?: AbortSignal; gracePeriodSeconds?: number }): Promise<boolean>;
  /** Run a command in a pod's container (kubectl exec). Never hangs: see runner/cluster/exec.ts. */
  exec(target: PodContainer, command: string[], options: ExecOptions): Promise<ExecResult>;
  /** Add an ephemeral container to a running pod and resolve once it is running. */
  addEphemeralContainer(pod: { namespace: string; pod: string }, spec: EphemeralContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  /** Run a command on a node as root (the provider decides how: `docker exec` for kind). */
  runOnNode(node: string, command: string[], options: ExecOptions): Promise<ExecResult>;
}
