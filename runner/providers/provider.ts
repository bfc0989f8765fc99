/**
 * The cluster provider interface, in the spirit of kind's own
 * pkg/cluster/internal/providers: a small set of verbs that every way of
 * getting a cluster implements. runner/providers/kind.ts is the only code that
 * knows kind's flags; runner/providers/kubeconfig.ts uses a cluster someone
 * else made.
 */
import type { ExecOptions, ExecResult } from "../cluster/client.ts";

export interface ProviderCapabilities {
  /** The provider creates and deletes clusters (kind: yes; an existing cluster: no). */
  createClusters: boolean;
  /** Commands can run on nodes as root (`labrun node`, `run` steps, node checks). */
  nodeShell: boolean;
  /** Images can be side-loaded into nodes without a registry. */
  loadImages: boolean;
}

/** What a provider needs to create a cluster; rendered from the scenario's `cluster` section. */
export interface ClusterCreateRequest {
  /** Cluster name, e.g. `labrun-beebox-cni`. */
  name: string;
  /** Node image, e.g. `kindest/node:v1.34.12`. */
  nodeImage: string;
  /** The provider-specific cluster config (for kind: a `kind.x-k8s.io/v1alpha4` Cluster object). */
  config: Record<string, unknown>;
  /** Where to write the cluster's own kubeconfig (never the learner's ~/.kube/config). */
  kubeconfigPath: string;
  signal?: AbortSignal;
  /** Streamed output lines, for progress and debugging. */
  onOutput?: (line: string) => void;
  /** Keep the nodes when creation fails (for debugging); the caller deletes otherwise. */
  retain?: boolean;
  /** Called once when the node containers run, before the control plane is up (images can load meanwhile). */
  onNodesStarted?: () => void;
  /** Where to keep the cluster's logs (kind: `kind export logs`) when creation fails; the error names it. */
  logsDir?: string;
}

/** A host outside the cluster to start (`spec.outside`): a container on the cluster's network. */
export interface OutsideHostRequest {
  /** The scenario's name for it; also the container's host name. */
  name: string;
  image: string;
  /** The command of the container (the image's entrypoint is kept). */
  command: string[];
  /** A host directory to mount read-only at LABRUN_MARK_PATH (the lab that owns it). */
  markDir?: string;
}

/** A running (or stopped) host outside the cluster. */
export interface OutsideHostInfo {
  name: string;
  container: string;
  /** Its IPv4 address on the cluster's network ("" when it has none). */
  ip: string;
  /** The network's IPv4 CIDR ("" when unknown). */
  network: string;
  state: string;
}

/** A command to spawn with inherited stdio for an interactive shell on a node (`labrun node`). */
export interface InteractiveCommand {
  file: string;
  args: string[];
}

/**
 * What callers may ask of a provider depends on capabilities(), never on its
 * class: `create`, `delete` and `sweep` need createClusters, `loadImages`
 * needs loadImages, `execOnNode` and `interactiveCommand` need nodeShell.
 */
export interface ClusterProvider {
  readonly name: "kind" | "kubeconfig";
  capabilities(): ProviderCapabilities;
  /** The context of `cluster` in the kubeconfig that `create` writes or `kubeconfig` returns. */
  context(cluster: string): Promise<string>;
  /** The host commands the provider runs (for the host checks before a cluster is created). */
  hostTools?(): { kind?: string; docker?: string };
  /** Create a cluster. Resolves when the API answers; readiness is checked by the caller. */
  create(request: ClusterCreateRequest): Promise<void>;
  /**
   * Delete a cluster; deleting a missing cluster is not an error. `kubeconfigPath`
   * is the cluster's own kubeconfig (the provider must not touch any other).
   */
  delete(name: string, options?: { signal?: AbortSignal; kubeconfigPath?: string }): Promise<void>;
  /** After an interrupted create: remove what a killed create may still have been starting (kind: node containers). */
  sweep?(name: string, signal?: AbortSignal): Promise<unknown>;
  /** The cluster's node containers and their state (`running`, `exited`, `paused`, ...) by name, bounded by `timeoutMs` (kind). */
  nodeStates?(name: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Map<string, string>>;
  /** How many of the cluster's node containers run (kind), to tell a dead warm pool cluster before claiming it. */
  runningNodes?(name: string, signal?: AbortSignal): Promise<number>;
  /** Names of the clusters this provider can see. */
  list(options?: { signal?: AbortSignal }): Promise<string[]>;
  /** The kubeconfig (YAML) of a cluster. */
  kubeconfig(name: string, options?: { signal?: AbortSignal }): Promise<string>;
  /** Node names of a cluster. */
  nodes(name: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /** Run a command on a node as root. */
  execOnNode(cluster: string, node: string, command: string[], options: ExecOptions): Promise<ExecResult>;
  /** Load local images (by reference) into every node of a cluster. */
  /** Resolves with the images it loaded, when it knows that some were in the nodes already (labrun's node image holds them). */
  loadImages(cluster: string, images: string[], options?: { signal?: AbortSignal }): Promise<string[] | void>;
  /** Load an image archive (a `docker save`-format tar) into every node, without Docker's image store (providers that load images). */
  loadImageArchive?(cluster: string, archivePath: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Start a host outside the cluster on the cluster's network (kind: a container on the `kind` network). */
  startOutsideHost?(cluster: string, request: OutsideHostRequest, options?: { signal?: AbortSignal }): Promise<OutsideHostInfo>;
  /** The cluster's hosts outside it (none when the provider has no such hosts). */
  outsideHosts?(cluster: string, options?: { signal?: AbortSignal }): Promise<OutsideHostInfo[]>;
  /** Run a command in a host outside the cluster. */
  execOutside?(cluster: string, name: string, command: string[], options: ExecOptions): Promise<ExecResult>;
  /** The command that opens an interactive shell (or runs `command`) on a node, when the provider can. */
  interactiveCommand?(cluster: string, node: string, command: string[], options: { tty: boolean }): InteractiveCommand;
}
