/**
 * The check kinds: one evaluator per operation of the scenario's Check.
 * The map is exhaustive over CHECK_KINDS (the compiler says so).
 */
import type { Check, CheckKind } from "../../runner/schema/scenario.ts";
import type { CheckContext, Observation } from "../context.ts";
import * as blocked from "./blocked.ts";
import * as cniConfigured from "./cniConfigured.ts";
import * as command from "./command.ts";
import * as dns from "./dns.ts";
import * as http from "./http.ts";
import * as nodesReady from "./nodesReady.ts";
import * as object from "./object.ts";
import * as podNetwork from "./podNetwork.ts";
import * as podsReady from "./podsReady.ts";
import * as reachability from "./reachability.ts";
import * as script from "./script.ts";

type Spec<K extends CheckKind> = NonNullable<Extract<Check, { [P in K]: unknown }>[K]>;

export const EVALUATORS: { [K in CheckKind]: (ctx: CheckContext, spec: Spec<K>) => Promise<Observation> } = {
  nodesReady: nodesReady.evaluate,
  podsReady: podsReady.evaluate,
  cniConfigured: cniConfigured.evaluate,
  http: http.evaluate,
  dns: dns.evaluate,
  blocked: blocked.evaluate,
  reachability: reachability.evaluate,
  podNetwork: podNetwork.evaluate,
  object: object.evaluate,
  command: command.evaluate,
  script: script.evaluate,
};

/** Evaluate one attempt of a check of any kind. */
export function evaluateCheck(kind: CheckKind, ctx: CheckContext): Promise<Observation> {
  const spec = (ctx.check as Record<string, unknown>)[kind];
  return (EVALUATORS[kind] as (ctx: CheckContext, spec: unknown) => Promise<Observation>)(ctx, spec);
}
