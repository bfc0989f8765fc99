/**
 * The constants and small functions of the scenario and report formats that
 * code needs at run time, without TypeBox: importing them does not build the
 * schemas (a grade's start-up loads no TypeBox; runner/schema/scenario.ts,
 * checks.ts and report.ts re-export them and build the schemas from them).
 */
import type { Check, ClusterSpec, Step } from "./scenario.ts";

export const API_VERSION = "labrun.dev/v1alpha1";
export const SCHEMA_ID = "https://labrun.dev/schemas/scenario.schema.json";

/** The add-ons that ship with labrun (runner/addons/<name>.yaml). */
export const ADDON_NAMES = ["flannel", "kube-router", "kube-router-netpol", "cilium"] as const;
/** The CNIs a lab can be set up with (`spec.cluster.networking.cni`, `spec.solution.cnis`). */
export const CNI_NAMES = ["flannel", "kube-router", "cilium"] as const;
export type CniName = (typeof CNI_NAMES)[number];

export const STEP_KINDS = ["apply", "addon", "delete", "run", "kubectl", "wait"] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** The operation key of a step (`apply`, `wait`, ...). */
export function stepKind(step: Step): StepKind {
  for (const kind of STEP_KINDS) if (kind in step) return kind;
  throw new Error("step has no operation");
}

/** kind's pod subnet, which a cluster gets when the scenario sets none. */
export const DEFAULT_POD_SUBNET = "10.244.0.0/16";
/** kind's service subnet, which a cluster gets when the scenario sets none. */
export const DEFAULT_SERVICE_SUBNET = "10.96.0.0/16";

/** The pod subnet the cluster will have (kind's default when the scenario sets none). */
export function podSubnetOf(cluster: Pick<ClusterSpec, "networking">): string {
  return cluster.networking?.podSubnet ?? DEFAULT_POD_SUBNET;
}

/** The lab's CNI: what `addon: { name: cni }` steps install. */
export function cniOf(cluster: Pick<ClusterSpec, "networking">): CniName {
  return cluster.networking?.cni ?? "flannel";
}

/** The service subnet the cluster will have (kind's default when the scenario sets none). */
export function serviceSubnetOf(cluster: Pick<ClusterSpec, "networking">): string {
  return cluster.networking?.serviceSubnet ?? DEFAULT_SERVICE_SUBNET;
}

export const CHECK_KINDS = ["nodesReady", "podsReady", "cniConfigured", "http", "dns", "blocked", "reachability", "podNetwork", "object", "command", "script"] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** The operation key of a check (`http`, `dns`, ...). */
export function checkKind(check: Check): CheckKind {
  for (const kind of CHECK_KINDS) if (kind in check) return kind;
  throw new Error(`check ${check.id} has no operation`);
}

export const REPORT_API_VERSION = "labrun.dev/v1alpha1";
export const REPORT_SCHEMA_ID = "https://labrun.dev/schemas/report.schema.json";

export const CHECK_STATUSES = ["passed", "failed", "skipped", "error"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
