/** What the `labrun test` e2e suites share. */
import { execFileSync } from "node:child_process";
import { OUTSIDE_CLUSTER_LABEL } from "../../../runner/providers/kind-outside.ts";
import type { ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";

export interface Results {
  passed: boolean;
  results: ScenarioTestResult[];
}

/** Node containers of `labrun test` clusters for these scenarios, and their hosts outside the cluster (other suites may run beside this one). */
export function labrunContainers(scenarios: readonly string[]): string[] {
  const names = (label: string) => execFileSync("docker", ["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"], { encoding: "utf8" }).split("\n");
  return [...names("io.x-k8s.kind.cluster"), ...names(OUTSIDE_CLUSTER_LABEL)].filter((n) => scenarios.some((s) => n.startsWith(`labrun-t-${s}-`)));
}
