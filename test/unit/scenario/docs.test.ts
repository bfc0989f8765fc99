import { expect } from "chai";
import { Ajv } from "ajv";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { Check } from "../../../runner/schema/scenario.ts";
import { validateScenarioFile } from "../../../runner/scenario/load.ts";
import { ROOT } from "../../helpers/cli.ts";

const doc = readFileSync(join(ROOT, "docs/authoring.md"), "utf8");
const yamlBlocks = (text: string) => [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("docs/authoring.md", () => {
  it("shows an example of every check operation, each valid", () => {
    const section = doc.slice(doc.indexOf("<!-- examples:checks:start -->"), doc.indexOf("<!-- examples:checks:end -->"));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(Check);
    const seen = new Set<string>();
    for (const block of yamlBlocks(section)) {
      for (const check of parse(block) as Record<string, unknown>[]) {
        expect(validate(check), `${JSON.stringify(check)}: ${JSON.stringify(validate.errors)}`).to.equal(true);
        for (const op of (Check as unknown as { "x-labrun-operations": string[] })["x-labrun-operations"]) if (op in check) seen.add(op);
      }
    }
    expect([...seen].sort()).to.deep.equal([...(Check as unknown as { "x-labrun-operations": string[] })["x-labrun-operations"]].sort());
  });

  it("its complete scenario validates (with the files it names)", async () => {
    const complete = yamlBlocks(doc).find((b) => b.includes("kind: Scenario"))!;
    const dir = join(mkdtempSync(join(tmpdir(), "labrun-doc-")), "frontend-policy");
    mkdirSync(join(dir, "manifests"), { recursive: true });
    mkdirSync(join(dir, "solution"), { recursive: true });
    writeFileSync(join(dir, "scenario.yaml"), complete);
    writeFileSync(join(dir, "task.md"), "# Task\n");
    const pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: shop }\nspec: { containers: [{ name: c, image: docker.io/library/nginx:1.22.1 }] }\n";
    for (const f of ["manifests/deny-all.yaml", "solution/allow-client.yaml"]) writeFileSync(join(dir, f), pod);
    // What the checks name must be declared (labrun validate's cross references).
    const shop = ["apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n", ...["frontend", "client", "intruder"].map((name) => pod.replace("name: p,", `name: ${name},`))];
    writeFileSync(join(dir, "manifests/app.yaml"), shop.join("---\n"));
    const result = await validateScenarioFile(join(dir, "scenario.yaml"));
    expect(result.problems).to.deep.equal([]);
  });
});
