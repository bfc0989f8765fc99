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
  { name: "history", summary: "List a lab's graded attempts and their scores.", load: () => import("./commands/history.ts") },
];
