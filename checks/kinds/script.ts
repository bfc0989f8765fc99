/**
 * script: an author's check in TypeScript or JavaScript. The module (`.ts`,
 * `.mts` or `.mjs` in the scenario folder) default-exports
 *
 *     export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult>
 *
 * and receives the cluster client, the lab, the check, a logger and an abort
 * signal. It runs in labrun's process (scenarios are trusted code, like a
 * test suite); a thrown error or a malformed result is an `error`, not a pass.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { Shell } from "zx";
import type { Evidence } from "../../runner/schema/report.ts";
import type { Check, ScriptCheck } from "../../runner/schema/scenario.ts";
import type { ClusterClient } from "../../runner/cluster/client.ts";
import { CheckEvalError, type CheckContext, type LabInfo, type Logger, type Observation } from "../context.ts";
import { errorMessage, oneLine } from "../../runner/util/text.ts";
import { importScript } from "../script-import.ts";

/** What a script check's default export receives. */
export interface ScriptCheckContext {
  client: ClusterClient;
  lab: LabInfo;
  check: Check;
  scenario: { name: string; dir: string };
  logger: Logger;
  /** Aborts when the grade is interrupted or the attempt's time is up: pass it on to client calls. */
  signal: AbortSignal;
  /** 1 for the first attempt; the engine polls the script like any check. */
  attempt: number;
  /**
   * zx's \`$\` for shell commands, quiet, in the scenario folder, with KUBECONFIG set to
   * the lab's cluster and killed when the attempt ends:
   *     const pods = await ctx.$\`kubectl get pods -o name\`;
   */
  $: Shell;
}

/** What it returns. */
export interface ScriptCheckResult {
  ok: boolean;
  message: string;
  evidence?: Evidence[];
}

export type ScriptCheckFunction = (ctx: ScriptCheckContext) => ScriptCheckResult | Promise<ScriptCheckResult>;

export async function evaluate(ctx: CheckContext, spec: ScriptCheck): Promise<Observation> {
  const file = resolve(ctx.scenario.dir, spec.file);
  const rel = relative(ctx.scenario.dir, file);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new CheckEvalError(`script ${spec.file} is outside the scenario folder`, { final: true });
  let mod: { default?: unknown };
  try {
    mod = await importScript(file);
  } catch (error) {
    throw new CheckEvalError(`cannot load script ${spec.file}: ${oneLine(errorMessage(error), 300)}`, { final: true, cause: error });
  }
  if (typeof mod.default !== "function") throw new CheckEvalError(`script ${spec.file} has no default export function`, { final: true });
  const fn = mod.default as ScriptCheckFunction;
  let result: unknown;
  try {
    result = await fn({
      client: ctx.client,
      lab: ctx.lab,
      check: ctx.check,
      scenario: { name: ctx.scenario.scenario.metadata.name, dir: ctx.scenario.dir },
      logger: ctx.logger,
      signal: ctx.signal,
      attempt: ctx.attempt,
      $: await shellFor(ctx),
    });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw new CheckEvalError(`script ${spec.file} threw: ${oneLine(errorMessage(error), 300)}`, { cause: error });
  }
  const r = result as Partial<ScriptCheckResult> | null;
  if (!r || typeof r !== "object" || typeof r.ok !== "boolean" || typeof r.message !== "string") {
    throw new CheckEvalError(`script ${spec.file} returned ${oneLine(JSON.stringify(result) ?? String(result), 120)}: expected { ok: boolean, message: string, evidence?: [...] }`, { final: true });
  }
  const evidence: Evidence[] = Array.isArray(r.evidence)
    ? r.evidence
        .filter((e): e is Evidence => !!e && typeof e === "object" && typeof (e as Evidence).label === "string")
        .map((e) => ({ label: e.label, ...(e.expected !== undefined ? { expected: String(e.expected) } : {}), ...(e.observed !== undefined ? { observed: String(e.observed) } : {}) }))
    : [];
  return { ok: r.ok, message: r.message, evidence };
}

/** zx's $, bound to the lab: KUBECONFIG (and LABRUN_CONTEXT when one is chosen), the scenario folder, the attempt's signal. Loaded on first use. */
async function shellFor(ctx: CheckContext): Promise<Shell> {
  const { $: zx } = await import("zx");
  const kubeconfig = ctx.client.kubeconfig;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (kubeconfig) {
    env.KUBECONFIG = kubeconfig.path;
    if (kubeconfig.context) env.LABRUN_CONTEXT = kubeconfig.context;
  }
  return zx({ cwd: ctx.scenario.dir, env, quiet: true, signal: ctx.signal }) as Shell;
}
