/**
 * `labrun test`: proof that a scenario is a lab.
 *
 * For each scenario:
 *   1. broken    start it; grade; exactly the checks in `broken.failing` fail
 *                (a scenario whose checks already pass is not a lab);
 *   2. attacks   each built-in attack that applies (runner/lab/attacks/) is
 *                applied to the broken state; grade; no check listed in
 *                `broken.failing` passes;
 *   3. shortcuts each declared shortcut is applied to the broken state;
 *                grade; its `mustFail` checks fail (without `mustFail`: the
 *                grade is not full marks);
 *   4. solution  the reference solution; grade; full marks.
 *
 * "Could not evaluate" is never "fails as required" (checks/verdict.ts): a
 * check that must fail but ended in `error` (or was skipped only because one
 * did) fails its phase with the reason. A phase is `skipped` only when an
 * attack has nothing to act on in this broken state (the source pod does not
 * run), and `error` when its lab could not start or an attack could not be
 * carried out (infrastructure). Every phase runs and is reported even when
 * an earlier one fails, so one run tells the author everything.
 *
 * Sharing clusters. Phases run one after another on the main cluster, each
 * undone before the next (runner/lab/restore.ts): after the broken phase
 * labrun takes a baseline of the cluster's API state; after an attack or a
 * shortcut it deletes what is new, re-creates what changed or went missing
 * (from the scenario's manifests, or the baseline copy), re-creates every pod
 * the phase touched in ways the API does not show, and waits until the
 * state digest equals the baseline again. Sound, because:
 *   - attacks only change pods (re-created) and ephemeral containers (their
 *     pods re-created); shortcuts made of `apply`, `delete`, `wait` and
 *     `kubectl` steps only change API objects, which the digest covers;
 *     `kubectl exec|cp|debug|attach` marks every pod of the scenario touched;
 *   - a shortcut with `run` (commands on nodes) or `addon` steps can change
 *     what the API does not show (files on nodes, interfaces, iptables) and
 *     always gets a fresh cluster of its own;
 *   - when the restore cannot prove the state came back (a node changed, an
 *     object that will not return), the remaining phases move to a fresh
 *     cluster: no phase is judged on anything but the declared broken state;
 *   - the solution runs last, on the restored broken state.
 * Fresh clusters for `run`/`addon` shortcuts run concurrently with the main
 * one when `concurrency` allows. Clusters are deleted at the end unless
 * `keepOnFailure` and a phase on them failed.
 */
import { randomBytes } from "node:crypto";
import type { KubeObject } from "../cluster/client.ts";
import { grade } from "../../checks/grade.ts";
import { needsOf } from "../../checks/verdict.ts";
import { InterruptedError, LabrunError } from "../errors.ts";
import { abortError } from "../providers/kind.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import type { PhaseKind, PhaseResult, PhaseStatus, ScenarioTestResult, ScenarioTimings } from "../report/scenario-test.ts";
import { loadScenario, type LoadedScenario } from "../scenario/load.ts";
import type { Shortcut } from "../schema/scenario.ts";
import { addonVars, parseManifests } from "./addons.ts";
import { outsideHostsOf, outsideVars } from "./outside.ts";
import { fillOutside, type OutsideVars } from "../scenario/placeholders.ts";
import { ATTACKS, type Attack } from "./attacks/index.ts";
import { safeListener, type LabEvent } from "./events.ts";
import type { GradeOptions } from "../../checks/grade.ts";
import { imagesFor, loadLabImages } from "./actions/images.ts";
import { defaultClientFactory, providerFor, type LifecycleOptions } from "./client.ts";
import { down } from "./down.ts";
import { LAB_NAME_MAX } from "./names.ts";
import { limiter, type Limiter } from "../util/limit.ts";
import { start, type StartOptions } from "./start.ts";
import { declaredObjects, restore, snapshot } from "./restore.ts";
import { LabStore, type LabRecord } from "./state.ts";
import { runSteps } from "./steps.ts";
import { attackPhase, canShareCluster, phase, retryUndo, shortcutPhase, solutionPhase, type RunContext } from "./scenario-phases.ts";
import { brokenSettled, judgeBroken, judgeShortcut } from "./scenario-verdicts.ts";
import { convergedNote, untilConverged } from "./broken-state.ts";
import { poolWarming, Warmer, type WarmerOptions } from "./scenario-test-warm.ts";
import { readFile } from "node:fs/promises";
import path from "node:path";

export type { PhaseKind, PhaseStatus, PhaseResult, ScenarioTestResult };
export { canShareCluster, touchesContainers } from "./scenario-phases.ts";
export { judgeAttack, judgeBroken, judgeShortcut, judgeSolution } from "./scenario-verdicts.ts";

export type ScenarioTestEvent =
  | { type: "run-start"; scenario: string; run: string; lab: string }
  | { type: "run-end"; scenario: string; run: string; lab: string; kept: boolean }
  | { type: "phase-start"; scenario: string; name: string; lab: string }
  | { type: "phase-end"; scenario: string; phase: PhaseResult }
  | { type: "lab"; scenario: string; run: string; event: LabEvent };

export interface ScenarioTestOptions extends Omit<LifecycleOptions, "onEvent"> {
  /** Keep the clusters of failed runs (for `labrun shell`); they are named in the result. */
  keepOnFailure?: boolean;
  /** How many clusters may exist at once across runs (default 1). */
  concurrency?: number;
  /** Run the attack suite (default true). */
  attacks?: boolean;
  /** The attacks to run (default: the built-in catalogue). */
  attackCatalogue?: readonly Attack[];
  /** Passed to each `start` (tests: fake preflight probes). */
  startOptions?: Pick<StartOptions, "probes" | "skipPreflight" | "overlapImageLoad" | "settleMs">;
  /**
   * Warm this many clusters ahead for runs waiting for a place (default 0):
   * while the first runs judge their phases, the next queued run's cluster is
   * created (images loaded) and that run claims it (runner/lab/scenario-test-warm.ts).
   * At most `concurrency` + `warmAhead` clusters exist at once.
   */
  warmAhead?: number;
  /** How clusters are warmed ahead (tests); default: the warm pool's fill. */
  warming?: Pick<WarmerOptions, "warmOne" | "discard">;
  /** Passed to each grade (tests: shorter timeouts, no settle window). */
  gradeOptions?: Pick<GradeOptions, "settle" | "defaultTimeoutMs" | "defaultIntervalMs" | "probeSettings">;
  onEvent?: (event: ScenarioTestEvent) => void;
}

/** Tests scenarios; runs (a scenario's main run and each fresh-cluster shortcut) share a bounded pool of clusters. */
export async function testScenarios(refs: (string | LoadedScenario)[], options: ScenarioTestOptions = {}): Promise<ScenarioTestResult[]> {
  const loaded: LoadedScenario[] = [];
  for (const ref of refs) loaded.push(typeof ref === "string" ? await loadScenario(ref, { cwd: options.cwd ?? process.cwd() }) : ref);
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const pool = limiter(concurrency);
  const ahead = options.warmAhead ?? 0;
  const warmer =
    ahead > 0
      ? new Warmer({
          ahead,
          immediate: concurrency,
          ...(options.warming ?? poolWarming({ ...options, store, onEvent: (event) => options.onEvent?.({ type: "lab", scenario: "", run: "warm", event }) })),
          onWarning: (message) => options.onEvent?.({ type: "lab", scenario: "", run: "warm", event: { type: "warning", message } }),
        })
      : undefined;
  const teardowns: Promise<void>[] = [];
  try {
    const runs = loaded.map((l) => testOne(l, { ...options, store, teardowns, ...(warmer ? { warmer } : {}) }, pool));
    warmer?.begin();
    return await Promise.all(runs);
  } finally {
    await Promise.all([warmer?.finish(), ...teardowns]);
  }
}

/** Where one scenario's time went; the runs of a scenario may overlap, so the parts can add up to more than its duration. */
interface Tally {
  kept: string[];
  timings: ScenarioTimings;
  /** When the scenario's first run got its place (performance.now()). */
  began?: number;
}

type Options = ScenarioTestOptions & { store: LabStore; warmer?: Warmer; teardowns?: Promise<void>[] };

/** A phase that runs on the main cluster after the broken phase. */
type SharedItem = { type: "attack"; attack: Attack } | { type: "shortcut"; shortcut: Shortcut } | { type: "solution" };

const itemName = (item: SharedItem) => (item.type === "attack" ? `attack ${item.attack.name}` : item.type === "shortcut" ? `shortcut ${item.shortcut.name}` : "solution");

async function testOne(loaded: LoadedScenario, options: Options, pool: Limiter): Promise<ScenarioTestResult> {
  const started = performance.now();
  const { scenario } = loaded;
  const tally: Tally = { kept: [], timings: { queuedMs: 0, startMs: 0, undoMs: 0, downMs: 0, clusters: 0, warmed: 0 } };
  const kept = tally.kept;
  const mainTicket = options.warmer?.plan(loaded);
  const shortcuts = scenario.spec.shortcuts ?? [];
  const attacks = options.attacks === false ? [] : (options.attackCatalogue ?? ATTACKS).filter((a) => a.appliesTo(scenario));
  const items: SharedItem[] = [
    ...attacks.map((attack): SharedItem => ({ type: "attack", attack })),
    ...shortcuts.filter(canShareCluster).map((shortcut): SharedItem => ({ type: "shortcut", shortcut })),
    { type: "solution" },
  ];
  const runs: Promise<PhaseResult[]>[] = [
    pool(() => mainRun(loaded, options, tally, items, mainTicket)),
    ...shortcuts
      .filter((s) => !canShareCluster(s))
      .map((shortcut) => ({ shortcut, ticket: options.warmer?.plan(loaded) }))
      .map(({ shortcut, ticket }) =>
        pool(() =>
          inLab(loaded, shortcut.name, options, tally, ticket, [`shortcut ${shortcut.name}`], async (ctx) => {
            ctx.record(
              await ctx.phase("shortcut", `shortcut ${shortcut.name}`, async () => {
                await ctx.run(shortcut.steps, "solution");
                return judgeShortcut(await ctx.grade(), shortcut, ctx.needs);
              }),
            );
          }),
        ),
      ),
  ];
  const order: PhaseKind[] = ["broken", "attack", "shortcut", "solution"];
  const declared = new Map<string, number>(shortcuts.map((s, i) => [`shortcut ${s.name}`, i]));
  const phases = (await Promise.all(runs))
    .flat()
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.kind === "shortcut" ? (declared.get(a.name) ?? 0) - (declared.get(b.name) ?? 0) : 0));
  const status: PhaseStatus = phases.some((p) => p.status === "error") ? "error" : phases.every((p) => p.status === "passed" || p.status === "skipped") ? "passed" : "failed";
  const began = tally.began ?? started;
  tally.timings.queuedMs = Math.round(began - started);
  // timings: the same object, so that a teardown still running adds its time before testScenarios returns
  return { scenario: loaded.name, title: scenario.metadata.title, status, phases, kept, durationMs: Math.round(performance.now() - began), timings: tally.timings };
}

/**
 * The main cluster: the broken phase (first time only), then each shared
 * phase followed by its undo. A failed undo hands the remaining phases to a
 * fresh cluster.
 */
async function mainRun(loaded: LoadedScenario, options: Options, tally: Tally, items: SharedItem[], ticket: number | undefined, first = true): Promise<PhaseResult[]> {
  const { scenario } = loaded;
  const names = [...(first ? ["broken state"] : []), ...items.map(itemName)];
  let remaining: SharedItem[] = [];
  const phases = await inLab(loaded, first ? "main" : `main-${randomBytes(1).toString("hex")}`, options, tally, first ? ticket : undefined, names, async (ctx) => {
    if (first) {
      ctx.record(
        await ctx.phase("broken", "broken state", async () => {
          const converged = await untilConverged(async () => judgeBroken(await ctx.grade(), scenario.spec.broken.failing, ctx.needs), brokenSettled, options.signal ? { signal: options.signal } : {});
          const note = convergedNote(converged);
          return note ? { ...converged.outcome, notes: [...(converged.outcome.notes ?? []), note] } : converged.outcome;
        }),
      );
    }
    if (items.length === 1) {
      ctx.record(await solutionPhase(ctx));
      return;
    }
    // The broken state's objects; after each restore, the restored (equivalent) objects with their new uids.
    let baseline = await snapshot(ctx.client, options.signal);
    const declared = declaredObjects(ctx.manifests);
    for (const [i, item] of items.entries()) {
      if (item.type === "solution") {
        ctx.record(await solutionPhase(ctx));
        return;
      }
      const touched = new Set<string>();
      const result = item.type === "attack" ? await attackPhase(ctx, item.attack, touched) : await shortcutPhase(ctx, item.shortcut, baseline, touched);
      if (result.status !== "skipped" || touched.size) {
        const undoStarted = performance.now();
        const undone = await retryUndo(() => restore({ client: ctx.client, baseline, declared, touched, ...(options.signal ? { signal: options.signal } : {}), log: (line) => ctx.log("restore", line) }), {
          ...(options.signal ? { signal: options.signal } : {}),
          log: (line) => ctx.log("restore", line),
        });
        result.undoMs = Math.round(performance.now() - undoStarted);
        tally.timings.undoMs += result.undoMs;
        if (!undone.ok) {
          result.notes = [...(result.notes ?? []), `undo failed (${undone.reason}): the next phases run on a fresh cluster`];
          ctx.record(result);
          remaining = items.slice(i + 1);
          return;
        }
        result.notes = [...(result.notes ?? []), `undo: ${undone.detail}`];
        baseline = undone.snapshot;
      }
      ctx.record(result);
    }
  });
  if (remaining.length) phases.push(...(await mainRun(loaded, options, tally, remaining, undefined, false)));
  return phases;
}

/**
 * Starts a lab for one run, hands it to `body`, and tears it down (unless
 * kept). A start that fails turns into an error phase for every phase the run
 * was to judge (`names`).
 */
async function inLab(
  loaded: LoadedScenario,
  run: string,
  options: Options,
  tally: Tally,
  ticket: number | undefined,
  names: string[],
  body: (ctx: RunContext) => Promise<void>,
): Promise<PhaseResult[]> {
  const name = labName(loaded.name, run);
  const emit = safeListener(options.onEvent);
  const onEvent = (event: LabEvent) => emit?.({ type: "lab", scenario: loaded.name, run, event });
  emit?.({ type: "run-start", scenario: loaded.name, run, lab: name });
  const started = performance.now();
  tally.began ??= started;
  tally.timings.clusters++;
  const lifecycle = { ...options, onEvent };
  const phases: PhaseResult[] = [];
  const record = (p: PhaseResult) => {
    phases.push(p);
    emit?.({ type: "phase-end", scenario: loaded.name, phase: p });
  };
  let lab: LabRecord | undefined;
  try {
    const warmed = ticket === undefined ? undefined : await options.warmer?.take(ticket);
    if (warmed) tally.timings.warmed++;
    const result = await start({ ...lifecycle, ...options.startOptions, scenario: loaded, name, verifyBroken: false, ...(warmed ? { pool: true, poolIds: [warmed] } : {}) }).finally(() => {
      if (ticket !== undefined) options.warmer?.started(ticket);
    });
    tally.timings.startMs += Math.round(performance.now() - started);
    lab = result.lab;
    const provider = providerFor(lab, { env: options.env ?? process.env, ...(options.kind ? { kind: options.kind } : {}) });
    const client = await (options.clientFactory ?? defaultClientFactory)({ kubeconfig: lab.kubeconfig, context: lab.context, provider, cluster: lab.cluster });
    try {
      const current = lab;
      const vars = addonVars(loaded.scenario.spec.cluster);
      const loadedImages = new Set(await imagesFor(loaded.scenario));
      const outside = await outsideVars(provider, current.cluster, loaded.scenario, options.signal);
      const outsideHosts = outsideHostsOf(provider, current.cluster, loaded.scenario);
      const manifests = await scenarioManifests(loaded, outside);
      await body({
        lab: current,
        loaded,
        client,
        signal: options.signal,
        needs: needsOf(loaded.scenario.spec.checks),
        declaredNamespaces: new Set(manifests.flatMap((m) => m.objects.map((o) => o.metadata?.namespace ?? m.namespace))),
        manifests,
        grade: () =>
          grade({ ...options.gradeOptions, scenario: loaded, client, lab: { name: current.name, cluster: current.cluster, provider: current.provider }, ...(outsideHosts ? { outside: outsideHosts } : {}), ...(options.signal ? { signal: options.signal } : {}) }),
        run: (steps, phase) => runSteps(steps, { client, provider, cluster: current.cluster, scenarioDir: loaded.dir, vars, ...(outside ? { outside } : {}), phase, onEvent, ...(options.signal ? { signal: options.signal } : {}) }),
        ensureImages: async (images) => {
          const missing = images.filter((i) => !loadedImages.has(i));
          if (!missing.length) return;
          await loadInto(provider, current.cluster, missing, options.env ?? process.env, options.signal, current.images?.mode);
          for (const i of missing) loadedImages.add(i);
        },
        log: (phase, line) => onEvent({ type: "log", phase, line }),
        phase: async (kind, phaseName, fn) => {
          emit?.({ type: "phase-start", scenario: loaded.name, name: phaseName, lab: name });
          return { ...(await phase(kind, phaseName, options.signal, fn)), lab: name };
        },
        record,
      });
    } finally {
      await (client as { close?: () => Promise<void> }).close?.().catch(() => undefined);
    }
  } catch (error) {
    if (options.signal?.aborted) throw error instanceof InterruptedError ? error : abortError(options.signal);
    if (error instanceof InterruptedError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const kindOf = (n: string): PhaseKind => (n === "broken state" ? "broken" : n === "solution" ? "solution" : n.startsWith("attack ") ? "attack" : "shortcut");
    const done = new Set(phases.map((p) => p.name));
    const why = lab ? `could not go on with lab ${name}: ${reason}` : `the lab did not start: ${reason}`;
    names
      .filter((n) => !done.has(n))
      .forEach((n, i) =>
        record({
          kind: kindOf(n),
          name: n,
          status: "error",
          message: i === 0 ? why : `not run: ${lab ? "an earlier step on its lab failed" : "the lab did not start"}`,
          details: i === 0 && error instanceof LabrunError && error.hint ? [`hint: ${error.hint}`] : [],
          ...(lab ? { lab: name } : {}),
          durationMs: i === 0 ? Math.round(performance.now() - started) : 0,
        }),
      );
  } finally {
    const failed = phases.some((p) => p.status === "failed" || p.status === "error");
    const keep = failed && options.keepOnFailure === true && lab !== undefined;
    const downStarted = performance.now();
    if (keep) tally.kept.push(name);
    // The teardown runs in the background (testScenarios waits for it): the next queued run need not wait for a `kind delete`.
    const teardown = (async () => {
      if (!keep) await down({ ...lifecycle, name }).catch((e: unknown) => onEvent({ type: "warning", message: `could not delete lab ${name}: ${e instanceof Error ? e.message : String(e)}; run \`labrun gc\`` }));
      tally.timings.downMs += Math.round(performance.now() - downStarted);
      emit?.({ type: "run-end", scenario: loaded.name, run, lab: name, kept: keep });
    })();
    if (options.teardowns && !options.signal?.aborted) options.teardowns.push(teardown);
    else await teardown;
  }
  return phases;
}

async function loadInto(provider: ClusterProvider, cluster: string, images: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal, mode?: "online" | "offline"): Promise<void> {
  if (!provider.capabilities().loadImages) return; // someone else's cluster pulls its images
  await loadLabImages(provider, cluster, images, env, signal, mode); // an online lab's nodes pull them
}

/** The objects of the scenario's setup and break `apply` steps, with the namespace each step defaults to (outside hosts' placeholders filled). */
export async function scenarioManifests(loaded: LoadedScenario, outside?: OutsideVars): Promise<{ objects: KubeObject[]; namespace: string }[]> {
  const out: { objects: KubeObject[]; namespace: string }[] = [];
  for (const s of [...(loaded.scenario.spec.setup ?? []), ...(loaded.scenario.spec.break ?? [])]) {
    if (!s.apply) continue;
    const file = path.resolve(loaded.dir, s.apply.file);
    out.push({ objects: parseManifests(fillOutside(await readFile(file, "utf8"), s.apply.file, outside), s.apply.file), namespace: s.apply.namespace ?? "default" });
  }
  return out;
}

// ---------------------------------------------------------------- helpers

/** `t-<scenario>-<run>-<4 hex>`, within the 40 characters a lab name may have. */
function labName(scenario: string, run: string): string {
  const suffix = randomBytes(2).toString("hex");
  const base = `t-${scenario}${run === "main" ? "" : `-${run}`}`.slice(0, LAB_NAME_MAX - suffix.length - 1).replace(/-+$/, "");
  return `${base}-${suffix}`;
}
