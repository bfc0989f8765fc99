/**
 * The one rule for lab names, and the kind cluster a lab gets. A lab name is a
 * DNS label of at most 40 characters: it ends up in kind's cluster name
 * (`labrun-<lab>`), in container names and in host names.
 */
import { UsageError } from "../errors.ts";

export const LAB_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const LAB_NAME_MAX = 40;

/** kind cluster names of labs: `labrun-<lab>`. */
export const CLUSTER_PREFIX = "labrun-";

export function isLabName(name: string): boolean {
  return LAB_NAME_PATTERN.test(name) && name.length <= LAB_NAME_MAX;
}

export function validateLabName(name: string): void {
  if (!isLabName(name)) {
    throw new UsageError(`invalid lab name "${name}": use lower-case letters, digits and '-', at most ${LAB_NAME_MAX} characters`, {
      hint: "pass a valid name with `--name`, for example `--name beebox-2`",
    });
  }
}

export function clusterNameFor(lab: string): string {
  return `${CLUSTER_PREFIX}${lab}`;
}
