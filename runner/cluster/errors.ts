/** Errors of the cluster client that callers tell apart (checks map them to evidence). */

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
