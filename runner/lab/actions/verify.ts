/** Grade the fresh lab once: exactly the checks of `broken.failing` must fail before the learner gets it. */
import { failingChecks } from "../../../checks/grade.ts";
import { InfraError } from "../../errors.ts";
import { abortError } from "../../providers/kind.ts";
import type { Action } from "./action.ts";
import { outsideHostsOf } from "../outside.ts";

export const verifyBroken: Action = {
  name: "verify the broken state",
  when: (ctx) => ctx.options.verifyBroken !== false,
  status: () => ({ phase: "verify", title: "verify the broken state" }),
  async execute(ctx) {
    const gradeFailing = ctx.options.gradeFailing ?? failingChecks;
    const outside = outsideHostsOf(ctx.provider, ctx.cluster, ctx.loaded.scenario);
    const expected = [...ctx.loaded.scenario.spec.broken.failing].sort();
    const failing = [...(await gradeFailing({ loaded: ctx.loaded, lab: ctx.lab!, client: ctx.client!, provider: ctx.provider, ...(outside ? { outside } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) }))].sort();
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
    const unexpectedFail = failing.filter((id) => !expected.includes(id));
    const unexpectedPass = expected.filter((id) => !failing.includes(id));
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
    return `${expected.length} check${expected.length === 1 ? "" : "s"} fail as expected`;
  },
};
