import { expect } from "chai";
import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { generatedFiles, renderSchema } from "../../../runner/schema/published.ts";
import { Scenario, type Check, type Scenario as ScenarioType } from "../../../runner/schema/scenario.ts";
import { findScenarioFiles } from "../../../runner/scenario/load.ts";
import { ROOT, runCli } from "../../helpers/cli.ts";

/** The drift check the test and `npm run schema -- --check` share: which committed files differ from the code. */
function drifted(schemas: { file: string; text: string }[]): string[] {
  return schemas.filter(({ file, text }) => readFileSync(join(ROOT, file), "utf8") !== text).map((s) => s.file);
}

describe("published JSON Schemas", () => {
  it("the committed schemas/*.schema.json and docs/authoring.md's reference match the TypeBox sources (run `npm run schema` after changing them)", () => {
    expect(drifted(generatedFiles(ROOT))).to.deep.equal([]);
  });

  it("the drift check fails when the code changes and the committed file does not", () => {
    const changed = structuredClone(Scenario) as unknown as { properties: { metadata: { properties: Record<string, unknown> } } };
    changed.properties.metadata.properties.newField = { type: "string" };
    expect(drifted([{ file: "schemas/scenario.schema.json", text: renderSchema(changed) }])).to.deep.equal(["schemas/scenario.schema.json"]);
  });

  it("the published scenario schema, read by a standalone JSON Schema 2020-12 validator (as an editor would), accepts every shipped scenario", async () => {
    const schema = JSON.parse(readFileSync(join(ROOT, "schemas/scenario.schema.json"), "utf8")) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    const files = await findScenarioFiles([join(ROOT, "scenarios")]);
    expect(files.length).to.be.at.least(1);
    for (const file of files) {
      const ok = validate(parse(readFileSync(file, "utf8")));
      expect(ok, `${file}: ${JSON.stringify(validate.errors, null, 1)}`).to.equal(true);
    }
  });

  it("the published scenario schema rejects a typo, as editors will show it", () => {
    const schema = JSON.parse(readFileSync(join(ROOT, "schemas/scenario.schema.json"), "utf8")) as object;
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const scenario = parse(readFileSync(join(ROOT, "scenarios/beebox-cni/scenario.yaml"), "utf8")) as { spec: { checks: Record<string, unknown>[] } };
    scenario.spec.checks[0]!.tittle = "x";
    expect(validate(scenario)).to.equal(false);
  });

  it("every shipped scenario starts with the yaml-language-server schema line", async () => {
    for (const file of await findScenarioFiles([join(ROOT, "scenarios")])) {
      expect(readFileSync(file, "utf8").split("\n")[0]).to.match(/^# yaml-language-server: \$schema=\S+scenario\.schema\.json$/);
    }
  });

  it("the TypeScript types come from the same schema (a typed literal compiles and validates)", async () => {
    const check: Check = { id: "nodes", title: "Nodes are Ready", nodesReady: {} };
    // @ts-expect-error two operations are not a Check
    const bad: Check = { id: "x", title: "two ops", nodesReady: {}, podsReady: {} };
    void bad;
    const scenario: ScenarioType = {
      apiVersion: "labrun.dev/v1alpha1",
      kind: "Scenario",
      metadata: { name: "typed", title: "Typed", summary: "A typed scenario.", difficulty: "beginner", estimatedMinutes: 1 },
      spec: {
        cluster: { nodes: [{ role: "control-plane" }] },
        task: { text: "Do it." },
        checks: [check],
        broken: { failing: ["nodes"] },
        solution: { steps: [{ wait: { kind: "Node", condition: { type: "Ready" } } }] },
      },
    };
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(join(ROOT, "schemas/scenario.schema.json"), "utf8")) as object);
    expect(validate(scenario), JSON.stringify(validate.errors)).to.equal(true);
  });

  it("labrun validate accepts every shipped scenario", async () => {
    const result = await runCli(["validate"]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.include("ok    scenarios/beebox-cni/scenario.yaml");
  });
});
