/**
 * The scenario validator's compiled code is cached between runs (start-up of
 * `labrun grade`), and the cached validator judges exactly like a fresh one.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
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

/** scenarioValidator(dir) in a new process (V8 keeps what it compiled for the life of a process). */
function inChild(dir: string): unknown {
  const script = `
    const { scenarioValidator } = await import(${JSON.stringify(new URL("../../../runner/scenario/schema-errors.ts", import.meta.url).href)});
    const v = scenarioValidator(${JSON.stringify(dir)});
    const valid = v.validate(${JSON.stringify(valid)});
    const invalid = v.validate(${JSON.stringify(invalid)});
    console.log(JSON.stringify({ cached: v.cached, stores: typeof v.used === "function", valid, invalid }));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as unknown;
}

describe("scenario validator cache", function () {
  this.timeout(30_000);

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
    // V8's code for the cached validator: stored once a validation ran; the next process uses it (nothing to store) and judges the same.
    expect(second.used).to.be.a("function");
    second.used!();
    expect(readdirSync(join(dir, "validators")).filter((f) => f.endsWith(".v8"))).to.have.length(1);
    expect(inChild(dir)).to.deep.equal({ cached: true, stores: false, valid: true, invalid: false });
    // A code cache V8 rejects (another V8, a damaged file) is stored again after the next validation.
    writeFileSync(join(dir, "validators", readdirSync(join(dir, "validators")).find((f) => f.endsWith(".v8"))!), "garbage");
    expect(inChild(dir)).to.deep.equal({ cached: true, stores: true, valid: true, invalid: false });
    writeFileSync(first.file, "this is not a validator");
    const third = scenarioValidator(dir);
    expect(third.cached).to.equal(false);
    expect(third.validate(valid)).to.equal(true);
    expect(scenarioValidator(dir).cached).to.equal(true);
  });
});
