/**
 * The attack suite of `labrun test`: built-in ways a learner could try to
 * have a network or DNS check pass without fixing the cluster. Each attack is
 * a small module `{ name, description, appliesTo, apply }`; `labrun test`
 * applies each one that applies to the broken state of the scenario, grades,
 * requires that no check listed in `broken.failing` passes, and undoes it
 * (runner/lab/restore.ts) before the next phase.
 */
import type { ClusterClient, KubeObject } from "../../cluster/client.ts";
import type { LoadedScenario } from "../../scenario/load.ts";
import type { Scenario } from "../../schema/scenario.ts";

export interface AttackContext {
  client: ClusterClient;
  scenario: LoadedScenario;
  /** Makes sure the cluster's nodes have these images (kind load); resolves when they do. */
  ensureImages(images: readonly string[]): Promise<void>;
  /** Records a pod the attack changed in ways the API may not show (its /etc/hosts, its ephemeral containers): the undo re-creates it. */
  touch(pod: KubeObject): void;
  log(line: string): void;
  signal?: AbortSignal;
  /** The cluster's DNS domain (default cluster.local). */
  clusterDomain: string;
  /** How long recreated pods may take to run (default 60 s). */
  podTimeoutMs?: number;
}

/** What applying an attack did: applied (with a one-line description), or skipped at run time (with the reason). */
export type AttackOutcome = { applied: string } | { skipped: string };

export interface Attack {
  /** `netns-hijack`: the phase is reported as `attack netns-hijack`. */
  name: string;
  /** What the attack does and which learner move it stands for. */
  description: string;
  /** Whether the scenario has checks the attack targets (static). */
  appliesTo(scenario: Scenario): boolean;
  apply(ctx: AttackContext): Promise<AttackOutcome>;
}

/** An attack that cannot be carried out (an image missing, a container that will not start): an infrastructure problem, not a verdict. */
export class AttackError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AttackError";
  }
}
