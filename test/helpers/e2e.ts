/**
 * What the e2e suites share: labrun run as a child process the way a user
 * runs it, how a failed run is shown in an assertion, and kubectl run as the
 * learner runs it (on a lab's control-plane node, with its admin kubeconfig).
 */
import { execa } from "execa";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = fileURLToPath(new URL("../../runner/cli/bin.ts", import.meta.url));

/** labrun as a child process: no colour, stdin closed, never rejecting (the test asserts the exit code). */
export function labrunProcess(args: string[], env: Record<string, string>, options: { reject?: boolean } = {}) {
  return execa(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, reject: options.reject ?? false, stdin: "ignore" });
}

/** A run's command, exit code and output, for an assertion's message. */
export function show(r: { command: string; exitCode?: number; signal?: string; stdout: unknown; stderr: unknown }): string {
  return `${r.command} → ${r.exitCode ?? r.signal}\n--- stdout\n${String(r.stdout)}\n--- stderr\n${String(r.stderr)}`;
}

/** kubectl as the learner runs it: on the control-plane node, with the admin kubeconfig. */
export function nodeKubectl(controlPlane: string, args: string[], input?: string) {
  return execa("docker", ["exec", "-i", controlPlane, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", ...args], {
    reject: false,
    ...(input !== undefined ? { input } : { stdin: "ignore" as const }),
  });
}
