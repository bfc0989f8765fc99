/**
 * Runs scenario steps (`apply`, `addon`, `delete`, `run`, `kubectl`, `wait`) against a
 * cluster through the ClusterClient and the provider. Each step reports one
 * line with its duration (a step-start / step-end event pair); a step that
 * fails says what it last saw.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.ts";
import { InfraError, LabrunError, ScenarioError } from "../errors.ts";
import { abortError } from "../providers/kind.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import type { Step } from "../schema/scenario.ts";
import { stepKind } from "../schema/values.ts";
import { formatDuration, parseDuration } from "../util/duration.ts";
import { addonObjects, parseManifests, stepAddons, type AddonVars } from "./addons.ts";
import { step as reportStep, type LabEventListener, type LabPhase } from "./events.ts";
import { poll } from "../util/poll.ts";
import { fillOutside, PlaceholderError, type OutsideVars } from "../scenario/placeholders.ts";
import { labelSelector } from "../cluster/client.ts";
import { isControlPlane, listNodes, selectNodes } from "../cluster/nodes.ts";

export const FIELD_MANAGER = "labrun";
export const DEFAULT_STEP_TIMEOUT_MS = 120_000;

export interface StepContext {
  client: ClusterClient;
  provider: ClusterProvider;
  /** The provider's cluster name (for node commands). */
  cluster: string;
  /** The scenario folder: `apply` files are relative to it. */
  scenarioDir: string;
  /** Values for add-on placeholders. */
  vars: AddonVars;
  /** Values for the `{{ .Outside.NAME }}` placeholders of `apply` manifests (scenarios with spec.outside). */
  outside?: OutsideVars;
  phase: LabPhase;
  signal?: AbortSignal;
  onEvent?: LabEventListener;
  /** Poll interval of `wait` (default 1 s). */
  pollMs?: number;
}

/** Runs steps in order; the first failure stops the run. */
export async function runSteps(steps: readonly Step[], ctx: StepContext): Promise<void> {
  for (const s of steps) {
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
    await reportStep(ctx.onEvent, ctx.phase, stepName(s), () => runStep(s, ctx), (detail) => detail);
  }
}

/** Runs one step; resolves to a short detail for the progress line. */
export async function runStep(s: Step, ctx: StepContext): Promise<string | undefined> {
  const timeoutMs = s.timeout ? parseDuration(s.timeout) : DEFAULT_STEP_TIMEOUT_MS;
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const name = stepName(s);
  try {
    switch (stepKind(s)) {
      case "apply":
        return await applyStep(s.apply!, ctx, signal);
      case "addon":
        return await addonStep(s.addon!, ctx, signal);
      case "delete":
        return await deleteStep(s.delete!, ctx, signal);
      case "run":
        return await runOnNodesStep(s.run!, ctx, timeoutMs, signal);
      case "kubectl":
        return await kubectlStep(s.kubectl!, ctx, timeoutMs, signal);
      case "wait":
        return await waitStep(s.wait!, ctx, timeoutMs, signal);
    }
  } catch (error) {
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
    if (error instanceof StepFailure) throw stepError(ctx.phase, name, error.message, error.output);
    if (signal.aborted) throw stepError(ctx.phase, name, `timed out after ${formatDuration(timeoutMs)}`);
    if (error instanceof ScenarioError) throw error;
    if (error instanceof LabrunError) {
      throw new InfraError(`${ctx.phase} step "${name}" failed: ${error.message}`, {
        code: "STEP_FAILED",
        cause: error,
        ...(error.hint ? { hint: error.hint } : {}),
        ...(error instanceof InfraError && error.output ? { output: error.output } : {}),
      });
    }
    throw stepError(ctx.phase, name, error instanceof Error ? error.message : String(error));
  }
}

/** What a step does, for progress lines: its `name`, else a description. */
export function stepName(s: Step): string {
  if (s.name) return s.name;
  switch (stepKind(s)) {
    case "apply":
      return `apply ${s.apply!.file}`;
    case "addon":
      return s.addon!.name === "cni" ? `the lab's CNI${s.addon!.networkPolicy ? " (with NetworkPolicy)" : ""}` : `add-on ${s.addon!.name}`;
    case "delete":
      return `delete ${s.delete!.kind}/${s.delete!.name}`;
    case "run":
      return `run \`${s.run!.command.join(" ")}\` on ${s.run!.node}`;
    case "kubectl":
      return `kubectl ${s.kubectl!.join(" ")}`;
    case "wait": {
      const w = s.wait!;
      const what = w.name ? `${w.kind}/${w.name}` : `${w.kind}${w.selector ? ` ${labelSelector(w.selector)}` : "s"}`;
      const until = w.exists === false ? "gone" : w.condition ? `${w.condition.type}=${w.condition.status ?? "True"}` : w.phase ? `phase ${w.phase}` : "present";
      return `wait for ${what} ${until}`;
    }
  }
}

// ---------------------------------------------------------------- apply / addon / delete

/** Kinds without a namespace (the common ones; anything else gets the default namespace). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "StorageClass",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "APIService",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "GatewayClass",
  "ClusterIssuer",
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** Kinds other objects depend on: applied first, in this order. */
const APPLY_FIRST = ["Namespace", "CustomResourceDefinition"];

/**
 * Apply objects (server-side apply, field manager `labrun`), defaulting the
 * namespace. Namespaces and CRDs go first; before namespaced objects land in a
 * namespace this step created, its `default` ServiceAccount must exist (the
 * API refuses pods until the controller has made it: a race `kubectl apply`
 * has too).
 */
export async function applyObjects(objects: KubeObject[], client: ClusterClient, namespace: string, signal: AbortSignal): Promise<number> {
  const rank = (o: KubeObject) => {
    const i = APPLY_FIRST.indexOf(o.kind);
    return i === -1 ? APPLY_FIRST.length : i;
  };
  const ordered = objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i);
  const created = new Set<string>();
  const ready = new Set<string>();
  for (const { o: object } of ordered) {
    const obj = structuredClone(object);
    obj.metadata = { ...(obj.metadata ?? {}) } as KubeObject["metadata"];
    if (!isClusterScoped(obj.kind) && !obj.metadata.namespace) obj.metadata.namespace = namespace;
    const ns = obj.metadata.namespace;
    if (ns && created.has(ns) && !ready.has(ns)) {
      await waitForDefaultServiceAccount(client, ns, signal);
      ready.add(ns);
    }
    await client.apply(obj, { fieldManager: FIELD_MANAGER, force: true, signal });
    if (obj.kind === "Namespace" && obj.apiVersion === "v1") created.add(obj.metadata.name);
  }
  return objects.length;
}

async function waitForDefaultServiceAccount(client: ClusterClient, namespace: string, signal: AbortSignal): Promise<void> {
  const state = await waitFor({ kind: "ServiceAccount", name: "default", namespace, exists: true }, client, { timeoutMs: 30_000, pollMs: 250, signal });
  if (!state.ok && !signal.aborted) throw new StepFailure(`namespace ${namespace} got no default ServiceAccount within 30s (is kube-controller-manager running?)`);
}

async function applyStep(a: NonNullable<Step["apply"]>, ctx: StepContext, signal: AbortSignal): Promise<string> {
  const file = path.resolve(ctx.scenarioDir, a.file);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new StepFailure(`cannot read ${a.file}: ${(error as Error).message}`);
  }
  try {
    text = fillOutside(text, a.file, ctx.outside);
  } catch (error) {
    if (error instanceof PlaceholderError) throw new StepFailure(error.message);
    throw error;
  }
  const n = await applyObjects(parseManifests(text, a.file), ctx.client, a.namespace ?? "default", signal);
  return `${n} object${n === 1 ? "" : "s"}`;
}

async function addonStep(addon: NonNullable<Step["addon"]>, ctx: StepContext, signal: AbortSignal): Promise<string> {
  const names = stepAddons(addon, ctx.vars.Cni);
  let n = 0;
  for (const name of names) n += await applyObjects(await addonObjects(name, ctx.vars), ctx.client, "kube-system", signal);
  return `${n} objects${addon.name === "cni" ? ` (${names.join(" + ")})` : ""}`;
}

async function deleteStep(d: NonNullable<Step["delete"]>, ctx: StepContext, signal: AbortSignal): Promise<string> {
  const ref: ObjectRef = { apiVersion: d.apiVersion ?? "v1", kind: d.kind, name: d.name };
  if (!isClusterScoped(d.kind)) ref.namespace = d.namespace ?? "default";
  const existed = await ctx.client.delete(ref, { signal });
  return existed ? "deleted" : "already gone";
}

// ---------------------------------------------------------------- run

async function runOnNodesStep(r: NonNullable<Step["run"]>, ctx: StepContext, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const nodes = selectNodes(await listNodes(ctx.client, signal), r.node);
  if (nodes.length === 0) throw new StepFailure(`no node matches "${r.node}"`);
  for (const node of nodes) {
    const result = await ctx.provider.execOnNode(ctx.cluster, node.name, r.command, { timeoutMs, signal });
    if (result.timedOut) throw new StepFailure(`\`${r.command.join(" ")}\` on ${node.name} timed out after ${formatDuration(timeoutMs)}`);
    if (result.exitCode !== 0) {
      throw new StepFailure(`\`${r.command.join(" ")}\` on ${node.name} exited with ${result.exitCode ?? "no status"}`, [result.stderr, result.stdout].map((s) => s.trimEnd()).filter(Boolean).join("\n"));
    }
  }
  return nodes.map((n) => n.name).join(", ");
}

/** The admin kubeconfig kubeadm writes on control-plane nodes (kind's too). */
export const NODE_ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf";

/**
 * kubectl with the scenario's arguments: on the first control-plane node when the
 * provider has node shells (kind: nothing needed on the host), else the host's
 * kubectl with the lab's kubeconfig.
 */
async function kubectlStep(args: string[], ctx: StepContext, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const shown = `kubectl ${args.join(" ")}`;
  let result: { exitCode: number | null; stdout: string; stderr: string; timedOut: boolean };
  if (ctx.provider.capabilities().nodeShell) {
    const controlPlane = (await listNodes(ctx.client, signal)).find(isControlPlane);
    if (!controlPlane) throw new StepFailure("no control-plane node to run kubectl on");
    result = await ctx.provider.execOnNode(ctx.cluster, controlPlane.name, ["kubectl", `--kubeconfig=${NODE_ADMIN_KUBECONFIG}`, ...args], { timeoutMs, signal });
  } else {
    const kubeconfig = ctx.client.kubeconfig;
    if (!kubeconfig) throw new StepFailure("this cluster has no node shell and no kubeconfig file for the host's kubectl");
    const { execaRunner } = await import("../providers/exec.ts");
    const context = kubeconfig.context ? [`--context=${kubeconfig.context}`] : [];
    const run = await execaRunner("kubectl", [`--kubeconfig=${kubeconfig.path}`, ...context, ...args], { timeoutMs, signal });
    result = { exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr, timedOut: run.timedOut === true };
  }
  if (result.timedOut) throw new StepFailure(`\`${shown}\` timed out after ${formatDuration(timeoutMs)}`);
  if (result.exitCode !== 0) throw new StepFailure(`\`${shown}\` exited with ${result.exitCode ?? "no status"}`, [result.stderr, result.stdout].map((x) => x.trimEnd()).filter(Boolean).join("\n"));
  return result.stdout.trim().split("\n").slice(0, 3).join("; ");
}

// ---------------------------------------------------------------- wait

export type WaitSpec = NonNullable<Step["wait"]>;

export interface WaitState {
  ok: boolean;
  /** What was seen, for progress and for the timeout error. */
  seen: string;
}

/** Whether the objects satisfy a wait step, and a description of what they look like. */
export function evaluateWait(w: WaitSpec, objects: KubeObject[]): WaitState {
  const kind = w.kind;
  if (w.exists === false) {
    return { ok: objects.length === 0, seen: objects.length ? `${objects.length} ${kind} still present: ${names(objects)}` : `no ${kind}` };
  }
  if (objects.length === 0) return { ok: false, seen: `no ${kind} found` };
  const descriptions: string[] = [];
  let ok = true;
  for (const object of objects) {
    const status = (object.status ?? {}) as { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
    const parts: string[] = [];
    if (w.phase !== undefined) {
      parts.push(`phase ${status.phase ?? "(none)"}`);
      if (status.phase !== w.phase) ok = false;
    }
    if (w.condition) {
      const c = status.conditions?.find((x) => x.type === w.condition!.type);
      parts.push(`${w.condition.type}=${c?.status ?? "(none)"}${c?.reason ? ` (${c.reason})` : ""}`);
      if (c?.status !== (w.condition.status ?? "True")) ok = false;
    }
    descriptions.push(`${object.metadata.name}${parts.length ? `: ${parts.join(", ")}` : ""}`);
  }
  const shown = descriptions.slice(0, 6).join("; ") + (descriptions.length > 6 ? `; and ${descriptions.length - 6} more` : "");
  return { ok, seen: shown };
}

/** Polls until the wait step holds; on timeout (or abort) resolves with what it saw last. */
export async function waitFor(w: WaitSpec, client: ClusterClient, options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<WaitState> {
  const apiVersion = w.apiVersion ?? "v1";
  const namespace = isClusterScoped(w.kind) ? undefined : (w.namespace ?? "default");
  const signal = options.signal;
  let last: WaitState = { ok: false, seen: "nothing yet" };
  const look = async (): Promise<WaitState | undefined> => {
    try {
      let objects: KubeObject[];
      if (w.name) {
        const ref: ObjectRef = { apiVersion, kind: w.kind, name: w.name, ...(namespace ? { namespace } : {}) };
        const object = await client.get(ref, signal ? { signal } : {});
        objects = object ? [object] : [];
      } else {
        objects = await client.list(apiVersion, w.kind, {
          ...(namespace ? { namespace } : {}),
          ...(w.selector ? { labelSelector: labelSelector(w.selector) } : {}),
          ...(signal ? { signal } : {}),
        });
      }
      last = evaluateWait(w, objects);
      return last.ok ? last : undefined;
    } catch (error) {
      if (signal?.aborted) throw error;
      last = { ok: false, seen: `error: ${error instanceof Error ? error.message : String(error)}` };
      return undefined;
    }
  };
  try {
    return (await poll(look, { timeoutMs: options.timeoutMs, intervalMs: options.pollMs ?? 1000, ...(signal ? { signal } : {}) })) ?? last;
  } catch (error) {
    if (signal?.aborted) return last;
    throw error;
  }
}

async function waitStep(w: WaitSpec, ctx: StepContext, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const state = await waitFor(w, ctx.client, { timeoutMs, pollMs: ctx.pollMs ?? 1000, signal });
  if (ctx.signal?.aborted) throw abortError(ctx.signal);
  if (!state.ok) throw new StepFailure(`timed out after ${formatDuration(timeoutMs)}; last seen: ${state.seen}`);
  return state.seen;
}

// ---------------------------------------------------------------- helpers

class StepFailure extends Error {
  readonly output: string | undefined;
  constructor(message: string, output?: string) {
    super(message);
    this.output = output;
  }
}

function stepError(phase: LabPhase, name: string, reason: string, output?: string): InfraError {
  return new InfraError(`${phase} step "${name}" failed: ${reason}`, {
    code: "STEP_FAILED",
    ...(output ? { output } : {}),
    hint: phase === "setup" || phase === "break" ? "if the scenario is yours, check the step; otherwise retry with --retain and look at the cluster" : undefined,
  });
}


function names(objects: KubeObject[]): string {
  return objects
    .slice(0, 6)
    .map((o) => o.metadata.name)
    .join(", ");
}

