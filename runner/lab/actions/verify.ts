/** Grade the fresh lab once: exactly the checks of `broken.failing` must fail before the learner gets it. */
import { failingChecks } from "../../../checks/grade.ts";
import { InfraError } from "../../errors.ts";
import { abortError } from "../../providers/kind.ts";
import type { Action } from "./action.ts";
import { untilConverged } from "../broken-state.ts";
import { outsideHostsOf } from "../outside.ts";

export const verifyBroken: Action = {
  name: "verify the broken state",
  when: (ctx) => ctx.options.verifyBroken !== false,
  status: () => ({ phase: "verify", title: "verify the broken state" }),
  async execute(ctx) {
    const gradeFailing = ctx.options.gradeFailing ?? failingChecks;
    const outside = outsideHostsOf(ctx.provider, ctx.cluster, ctx.loaded.scenario);
    const expected = [...ctx.loaded.scenario.spec.broken.failing].sort();
    const mismatch = (failing: string[]) => ({ unexpectedFail: failing.filter((id) => !expected.includes(id)), unexpectedPass: expected.filter((id) => !failing.includes(id)) });
    // The break may take a few seconds to take effect (broken-state.ts): grade until it has.
    const converged = await untilConverged(
      async () => mismatch([...(await gradeFailing({ loaded: ctx.loaded, lab: ctx.lab!, client: ctx.client!, provider: ctx.provider, ...(outside ? { outside } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) }))]),
      (m) => !m.unexpectedFail.length && !m.unexpectedPass.length,
      { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.options.clock ? { clock: ctx.options.clock } : {}) },
    );
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
    const { unexpectedFail, unexpectedPass } = converged.outcome;
    if (unexpectedFail.length || unexpectedPass.length) {
      throw new InfraError("the lab is not broken the way the scenario says", {
        code: "BROKEN_STATE_MISMATCH",
        output: [
          unexpectedPass.length ? `passing but listed in broken.failing: ${unexpectedPass.join(", ")}` : "",
          unexpectedFail.length ? `failing but not listed in broken.failing: ${unexpectedFail.join(", ")}` : "",
        ]
          .filter(Boolean)
          .join("\n"),
        hint: "if the scenario is yours, fix its setup/break steps or broken.failing (`labrun test` shows the grade); otherwise retry `labrun start`",
      });
    }
    ctx.brokenVerified = true;
    const after = converged.attempts > 1 ? ` (after ${converged.attempts} grades)` : "";
    return `${expected.length} check${expected.length === 1 ? "" : "s"} fail as expected${after}`;
  },
};
