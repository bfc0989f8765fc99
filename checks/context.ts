/**
 * What a check kind's evaluator gets and returns.
 *
 * An evaluator makes one attempt: it looks at the cluster and returns an
 * Observation (ok or not, a message, evidence). The engine repeats attempts
 * ("eventually" / "consistently"), keeps the last observation and turns it
 * into a CheckResult. An evaluator throws:
 *   - CheckEvalError when labrun cannot evaluate the check (status `error`;
 *     `final` stops the polling, e.g. no node shell, an invalid regex);
 *   - anything else (API errors) to have the engine check the cluster is
 *     reachable (InfraError aborts the grade) and try again.
 */
import type { Connectivity, Evidence } from "../runner/schema/report.ts";
import type { Check, Scenario } from "../runner/schema/scenario.ts";
import type { ClusterClient, ExecOptions, ExecResult } from "../runner/cluster/client.ts";
import type { OwnedPods } from "./owned.ts";
import type { ProbeManager } from "./probe.ts";
import type { WorkloadIndex } from "./workloads.ts";

/** The lab being graded, as the report names it. */
export interface LabInfo {
  /** The lab's name (`labrun start --name`); for `--kubeconfig` grades, the context. */
  name: string;
  /** The kind cluster's name, or the kubeconfig context's cluster. */
  cluster: string;
  /** `kind` or `kubeconfig`. */
  provider: string;
}

/** The scenario being graded: its parsed document and its folder (LoadedScenario fits). */
export interface ScenarioSource {
  scenario: Scenario;
  /** Absolute path of the scenario folder (manifests and scripts are relative to it). */
  dir: string;
}

/** What one attempt saw. */
export interface Observation {
  ok: boolean;
  /** One line saying what was found. */
  message: string;
  evidence: Evidence[];
  connectivity?: Connectivity[];
}

/** labrun could not evaluate the check (not a verdict on the cluster). */
export class CheckEvalError extends Error {
  /** Stop polling: trying again cannot help. */
  readonly final: boolean;
  readonly evidence: Evidence[];
  readonly connectivity: Connectivity[] | undefined;
  /** labrun's infrastructure failed, not the learner's cluster (e.g. the probe image is missing): the grade ends with exit 3. */
  readonly infrastructure: boolean;
  constructor(message: string, options: { final?: boolean; evidence?: Evidence[]; connectivity?: Connectivity[]; cause?: unknown; infrastructure?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CheckEvalError";
    this.final = options.final ?? false;
    // A wrapper (a kind adding its evidence) keeps its cause's verdict.
    this.infrastructure = options.infrastructure ?? (options.cause instanceof CheckEvalError && options.cause.infrastructure);
    this.evidence = options.evidence ?? [];
    this.connectivity = options.connectivity;
  }
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/** Settings the engine passes to every evaluator (overridable for tests and other clusters). */
export interface CheckSettings {
  /** The cluster's DNS domain (default `cluster.local`). */
  clusterDomain: string;
  /** The probe's own `--timeout` for one HTTP request, DNS lookup or TCP connection (default 3 s). */
  probeTimeoutMs: number;
  /** Deadline for a command check's exec, and for commands on nodes (default 20 s). */
  commandTimeoutMs: number;
  /** The cluster's pod subnet (IPv4 CIDR) for `podNetwork`; default: the scenario's (`podSubnetOf`). */
  podSubnet?: string;
}

export const DEFAULT_SETTINGS: CheckSettings = {
  clusterDomain: "cluster.local",
  probeTimeoutMs: 3_000,
  commandTimeoutMs: 20_000,
};

/** Where a host outside the cluster (`spec.outside`) answers, or why it cannot. */
export interface OutsideAddress {
  /** IPv4 address on the lab's Docker network ("" with `problem`). */
  ip: string;
  /** Its echo server's port. */
  port: number;
  /** The host name its echo answers carry. */
  hostname: string;
  /** Why the host cannot answer (its container stopped or gone). */
  problem?: string;
}

/** A lab's hosts outside the cluster, as checks reach them (runner/lab/outside.ts makes one). */
export interface OutsideHosts {
  /** undefined: the scenario declares no host of that name. */
  address(name: string, signal?: AbortSignal): Promise<OutsideAddress | undefined>;
  /** Run a command (labrun's probe) in the host's container. */
  exec(name: string, command: string[], options: ExecOptions): Promise<ExecResult>;
}

export interface CheckContext {
  client: ClusterClient;
  scenario: ScenarioSource;
  lab: LabInfo;
  check: Check;
  probes: ProbeManager;
  workloads: WorkloadIndex;
  /** Aborts when the grade is interrupted or the attempt's deadline passes. */
  signal: AbortSignal;
  logger: Logger;
  settings: CheckSettings;
  /** 1 for the first attempt of this check. */
  attempt: number;
  /**
   * Pods labrun creates for the grade (strangers, labelled sources), shared by
   * its checks and deleted when it ends. Absent (a caller without an engine):
   * an evaluator makes its own for one attempt.
   */
  owned?: OwnedPods;
  /** The lab's hosts outside the cluster; absent when there are none (or the grade is not of a lab). */
  outside?: OutsideHosts;
}

export type Evaluator = (ctx: CheckContext) => Promise<Observation>;
