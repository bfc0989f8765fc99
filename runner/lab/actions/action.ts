/**
 * `start` as a list of actions, the way kind creates a cluster: each action
 * does one thing, in order, and the runner reports it as one status line
 * (step-start / step-end events). Actions that report lines of their own
 * (scenario steps, image loading) or none (bookkeeping) declare no `status`.
 */
import type { LabClient } from "../client.ts";
import type { NodeInfo } from "../../cluster/nodes.ts";
import type { LoadedScenario } from "../../scenario/load.ts";
import type { ClusterProvider, ProviderCapabilities } from "../../providers/provider.ts";
import { abortError } from "../../providers/kind.ts";
import { step, type LabEventListener, type LabPhase } from "../events.ts";
import type { StartOptions } from "../start.ts";
import type { PoolEntry } from "../pool/store.ts";
import type { ImageChoice } from "../image-mode.ts";
import type { LabRecord, LabStore } from "../state.ts";
import type { StartGuard } from "../start-guard.ts";

/** A `kind load` that never rejects: its duration or its error. */
export type LoadOutcome = { ok: true; durationMs: number; loaded: readonly string[] } | { ok: false; error: string };

/** What the actions of one `start` share; they fill in the mutable part as they go. */
export interface StartContext {
  readonly options: StartOptions;
  readonly env: NodeJS.ProcessEnv;
  readonly store: LabStore;
  readonly signal: AbortSignal | undefined;
  readonly onEvent: LabEventListener | undefined;
  readonly loaded: LoadedScenario;
  /** The lab's name. */
  readonly name: string;
  readonly provider: ClusterProvider;
  /** What the provider can do (decides which actions run). */
  readonly can: ProviderCapabilities;
  /** The provider's cluster name (a claim from the warm pool replaces it). */
  cluster: string;
  /** The node image (providers that create clusters). */
  readonly nodeImage: string | undefined;
  /** Images to side-load into the nodes (providers that load images), or to pull in them (online). */
  readonly images: string[];
  /** Online or offline images, and why (providers that create clusters; runner/lab/image-mode.ts). */
  readonly imageChoice: ImageChoice | undefined;
  /** The lab's own kubeconfig file. */
  readonly kubeconfig: string;
  /** The watch on labrun's infrastructure (runner/lab/start-guard.ts); its fault aborts `signal`. */
  readonly guard?: StartGuard;
  /** The kubeconfig to merge the lab's context into, when asked. */
  readonly mergeTarget: string | undefined;

  /** The warm pool cluster this start claimed (actions/pool.ts). */
  claimed?: PoolEntry;
  /** The lab's record: once it is set, a failure cleans up. */
  lab?: LabRecord;
  /** Whether the provider may have made something (a failure deletes it). */
  created: boolean;
  /** An image load started while the cluster was created. */
  earlyLoad?: Promise<LoadOutcome>;
  client?: LabClient;
  nodes: NodeInfo[];
  brokenVerified: boolean;
  merged?: { file: string; context: string };
}

export interface Action {
  /** What the action does (for reading the list; status lines come from `status`). */
  readonly name: string;
  /** Whether the action applies to this start (default: always). */
  when?(ctx: StartContext): boolean;
  /** The status line the runner reports around `execute`. */
  status?(ctx: StartContext): { phase: LabPhase; title: string };
  /** Does the work; a string is the status line's detail. */
  execute(ctx: StartContext): Promise<string | void>;
}

/** Runs the actions in order; the first failure (or an abort between two actions) stops the run. */
export async function runActions(actions: readonly Action[], ctx: StartContext): Promise<void> {
  for (const action of actions) {
    if (action.when && !action.when(ctx)) continue;
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
    const line = action.status?.(ctx);
    if (line) await step(ctx.onEvent, line.phase, line.title, () => action.execute(ctx), (detail) => detail || undefined);
    else await action.execute(ctx);
  }
}
