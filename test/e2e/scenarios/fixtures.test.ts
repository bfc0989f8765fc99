/**
 * `labrun test` catches bad scenarios on real kind clusters: a deliberately
 * defective scenario in each of the three ways, a deliberately foolable one
 * with the attack suite. A file of its own so that mocha --parallel runs it
 * beside the shipped scenarios' run (labrun-test.test.ts).
 */
import { expect } from "chai";
import { join } from "node:path";
import { ROOT, runCliProcess } from "../../helpers/cli.ts";
import { labrunContainers, type Results } from "./helpers.ts";

describe("labrun test catches bad scenarios (real kind clusters)", function () {
  this.timeout(40 * 60_000);

  it("catches a defective scenario three ways: a check passing before the fix, a solution that does not fix, a shortcut that passes", async () => {
    const result = await runCliProcess(["test", join(ROOT, "test/e2e/fixtures/scenarios/defective-lab"), "--concurrency", "2", "-o", "json"], { timeoutMs: 15 * 60_000 });
    expect(result.code, result.stderr.slice(-3000)).to.equal(1);
    const [lab] = (JSON.parse(result.stdout) as Results).results;
    const phase = (name: string) => lab!.phases.find((p) => p.name === name)!;
    expect(phase("broken state").status).to.equal("failed");
    expect(phase("broken state").details.join("\n")).to.include("already passing before any fix, though listed in broken.failing: already-fine");
    expect(phase("solution").status).to.equal("failed");
    expect(phase("solution").message).to.include("not passing: never-fixed");
    expect(phase("shortcut the-real-fix").status).to.equal("failed");
    expect(phase("shortcut the-real-fix").message).to.equal("the shortcut passes checks that must fail: web-running");
    expect(labrunContainers(["defective-lab", "foolable-lab"])).to.deep.equal([]);
  });

  it("catches a foolable scenario with its attack suite: a hijacked network namespace, a hosts-file line and hostAliases all make a failing check pass", async () => {
    const result = await runCliProcess(["test", join(ROOT, "test/e2e/fixtures/scenarios/foolable-lab"), "-o", "json"], { timeoutMs: 20 * 60_000 });
    const [lab] = (JSON.parse(result.stdout) as Results).results;
    const summary = lab!.phases.map((p) => `${p.name} ${p.status} (${p.message})`).join("\n");
    expect(result.code, `${summary}\n${result.stderr.slice(-3000)}`).to.equal(1);
    const phase = (name: string) => lab!.phases.find((p) => p.name === name)!;
    expect(phase("broken state").status, summary).to.equal("passed");
    for (const name of ["attack netns-hijack", "attack hosts-file", "attack host-aliases"]) {
      expect(phase(name).status, summary).to.equal("failed");
      // the learner's own curl in the client is fooled whatever labrun's probe does
      expect(phase(name).message, summary).to.match(/^the attack passes checks that must fail: .*client-curls-web/);
    }
    expect(phase("attack host-network").status, summary).to.equal("passed");
    expect(phase("solution").status, summary).to.equal("passed");
    expect(labrunContainers(["defective-lab", "foolable-lab"])).to.deep.equal([]);
  });
});
