/**
 * The scenario validator's compiled code is cached between runs (start-up of
 * `labrun grade`), and the cached validator judges exactly like a fresh one.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scenarioValidator } from "../../../runner/scenario/schema-errors.ts";

const valid = {
  apiVersion: "labrun.dev/v1alpha1",
  kind: "Scenario",
  metadata: { name: "xyz", title: "A lab", summary: "A lab for tests", difficulty: "beginner", estimatedMinutes: 5 },
  spec: {
    cluster: { nodes: [{ role: "control-plane" }] },
    task: { text: "do it" },
    checks: [{ id: "abc", title: "Nodes are ready", nodesReady: {} }],
    broken: { failing: ["abc"] },
    solution: { steps: [{ run: { node: "all", command: ["true"] } }] },
  },
};
const invalid = { ...valid, spec: { ...valid.spec, checks: [{ id: "abc", tittle: "Nodes are ready", nodesReady: {} }] } };

describe("scenario validator cache", () => {
  it("compiles once, then loads the cached code, which judges the same; a broken cache compiles again", () => {
    const dir = mkdtempSync(join(tmpdir(), "labrun-validator-"));
    const first = scenarioValidator(dir);
    expect(first.cached).to.equal(false);
    const second = scenarioValidator(dir);
    expect(second.cached).to.equal(true);
    expect(second.file).to.equal(first.file);
    for (const v of [first.validate, second.validate]) {
      expect(v(valid), JSON.stringify(v.errors)).to.equal(true);
      expect(v(invalid)).to.equal(false);
    }
    expect(second.validate.errors!.map((e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`)).to.deep.equal(
      (first.validate(invalid), first.validate.errors!.map((e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`)),
    );
    writeFileSync(first.file, "this is not a validator");
    const third = scenarioValidator(dir);
    expect(third.cached).to.equal(false);
    expect(third.validate(valid)).to.equal(true);
    expect(scenarioValidator(dir).cached).to.equal(true);
  });
});
