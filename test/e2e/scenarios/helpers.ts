/** What the `labrun test` e2e suites share. */
import { execFileSync } from "node:child_process";
import type { ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";

export interface Results {
  passed: boolean;
  results: ScenarioTestResult[];
}

/** Node containers of `labrun test` clusters for these scenarios (other suites may run beside this one). */
export function labrunContainers(scenarios: readonly string[]): string[] {
  return execFileSync("docker", ["ps", "-a", "--filter", "label=io.x-k8s.kind.cluster", "--format", "{{.Names}}"], { encoding: "utf8" })
    .split("\n")
    .filter((n) => scenarios.some((s) => n.startsWith(`labrun-t-${s}-`)));
}
