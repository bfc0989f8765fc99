/**
 * The verb list. Modules load lazily so `labrun --version` and `labrun validate`
 * never load the Kubernetes client.
 */
import type { Command } from "./command.ts";

export interface Verb {
  name: string;
  summary: string;
  load(): Promise<{ default: Command }>;
}

export const VERBS: Verb[] = [
  { name: "list", summary: "List the scenarios.", load: () => import("./commands/list.ts") },
  { name: "show", summary: "Show a scenario's task.", load: () => import("./commands/show.ts") },
  { name: "validate", summary: "Check scenario files without running anything.", load: () => import("./commands/validate.ts") },
  { name: "new", summary: "Create a scenario folder to start from.", load: () => import("./commands/new.ts") },
  { name: "start", summary: "Create a lab: a broken cluster and its task.", load: () => import("./commands/start.ts") },
  { name: "doctor", summary: "Check that this machine can run labs, and say how to fix what is missing.", load: () => import("./commands/doctor.ts") },
  { name: "status", summary: "Show labs and their clusters.", load: () => import("./commands/status.ts") },
  { name: "shell", summary: "Open a shell (or run a command) with a lab's KUBECONFIG.", load: () => import("./commands/shell.ts") },
  { name: "node", summary: "Open a root shell (or run a command) on a lab's node.", load: () => import("./commands/node.ts") },
  { name: "down", summary: "Delete a lab and its cluster.", load: () => import("./commands/down.ts") },
  { name: "pool", summary: "Keep warm clusters ready, so `labrun start` takes seconds.", load: () => import("./commands/pool.ts") },
  { name: "gc", summary: "Remove leftover clusters and stale labs.", load: () => import("./commands/gc.ts") },
  { name: "addon", summary: "Print a network add-on's manifest (its images work offline).", load: () => import("./commands/addon.ts") },
  { name: "grade", summary: "Grade a lab: run the scenario's checks and print the report.", load: () => import("./commands/grade.ts") },
  { name: "history", summary: "List a lab's graded attempts and their scores.", load: () => import("./commands/history.ts") },
  { name: "serve", summary: "Serve the HTTP API for course platforms (start, grade, delete labs).", load: () => import("./commands/serve.ts") },
  { name: "test", summary: "Prove scenarios on real clusters: broken at start, fixed by the solution, shortcuts fail.", load: () => import("./commands/test.ts") },
];
