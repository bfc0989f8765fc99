/** The scenario's setup and break steps, each with its own status line. */
import type { Step } from "../../schema/scenario.ts";
import type { LabPhase } from "../events.ts";
import { addonVars } from "../addons.ts";
import { runSteps } from "../steps.ts";
import type { Action, StartContext } from "./action.ts";
import { outsideVars } from "../outside.ts";

function scenarioSteps(phase: Extract<LabPhase, "setup" | "break">, pick: (ctx: StartContext) => readonly Step[] | undefined): Action {
  return {
    name: `run the ${phase} steps`,
    async execute(ctx) {
      const cluster = ctx.loaded.scenario.spec.cluster;
      const outside = await outsideVars(ctx.provider, ctx.cluster, ctx.loaded.scenario, ctx.signal);
      // The API and the nodes are watched while the steps run: a `wait` would otherwise poll a dead API until its deadline.
      ctx.guard?.watchNodes();
      ctx.guard?.watchApi(true);
      try {
        await runSteps(pick(ctx) ?? [], {
          client: ctx.client!,
          provider: ctx.provider,
          cluster: ctx.cluster,
          scenarioDir: ctx.loaded.dir,
          vars: addonVars(cluster),
          ...(outside ? { outside } : {}),
          phase,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.onEvent ? { onEvent: ctx.onEvent } : {}),
        });
      } finally {
        ctx.guard?.watchApi(false);
      }
    },
  };
}

export const setupSteps = scenarioSteps("setup", (ctx) => ctx.loaded.scenario.spec.setup);
export const breakSteps = scenarioSteps("break", (ctx) => ctx.loaded.scenario.spec.break);
