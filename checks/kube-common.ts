/**
 * What every ClusterClient implementation over a kubeconfig shares, without
 * loading @kubernetes/client-node: the options, the error classes the checks
 * recognise, and the container waiting reasons that will not fix themselves.
 */
import type { ExecOptions, ExecResult } from "./client.ts";

/** Runs a command on a node as root; the provider supplies it (kind: `docker exec`). */
export type NodeRunner = (node: string, command: string[], options: ExecOptions) => Promise<ExecResult>;

export interface KubeClientOptions {
  /** Path of the kubeconfig file. */
  kubeconfig: string;
  /** A context in it (default: its current context). */
  context?: string;
  /** How commands run on nodes; without it, runOnNode throws NodeShellUnavailableError. */
  nodeRunner?: NodeRunner;
  /** Deadline for one API request (default 15 s). */
  requestTimeoutMs?: number;
  /** Deadline for ping (default 5 s). */
  pingTimeoutMs?: number;
  /** Cap for exec output per stream (default 1 MiB). */
  maxExecOutputBytes?: number;
  /** How often addEphemeralContainer polls the pod (default 250 ms). */
  pollIntervalMs?: number;
}

/** An API request answered with an error status (other than a 404 on a read). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(message: string, status: number, reason?: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

/** The API server does not serve this apiVersion/kind (a CRD not installed, a typo). */
export class UnknownKindError extends Error {
  readonly apiVersion: string;
  readonly kind: string;
  constructor(apiVersion: string, kind: string, options: { cause?: unknown } = {}) {
    super(`the API server does not serve kind ${kind} in ${apiVersion}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UnknownKindError";
    this.apiVersion = apiVersion;
    this.kind = kind;
  }
}

/** runOnNode without a node runner (a cluster labrun did not create). */
export class NodeShellUnavailableError extends Error {
  constructor() {
    super("this cluster's provider cannot run commands on nodes (only labs created by `labrun start` with kind can)");
    this.name = "NodeShellUnavailableError";
  }
}

/** The ephemeral container did not start (image missing, creation refused, ...). */
export class EphemeralContainerError extends Error {
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.name = "EphemeralContainerError";
    this.reason = reason;
  }
}

/** Waiting reasons that will not fix themselves while a grade runs. */
export const FATAL_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerError",
  "CreateContainerConfigError",
  "RunContainerError",
  "PreCreateHookError",
  "PreStartHookError",
]);
