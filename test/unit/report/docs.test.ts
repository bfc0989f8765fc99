import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FORMAT_EXTENSIONS, REPORT_FORMATS } from "../../../runner/report/index.ts";
import { Report } from "../../../runner/schema/report.ts";
import { ROOT } from "../../helpers/cli.ts";

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Every property name in the report model, with its dotted path. */
function fields(schema: Schema, path = ""): { name: string; path: string }[] {
  const target = schema.items ?? schema;
  return Object.entries(target.properties ?? {}).flatMap(([name, sub]) => {
    const p = `${path}${path ? "." : ""}${name}${(sub as Schema).items ? "[]" : ""}`;
    return [{ name, path: p }, ...fields(sub as Schema, p)];
  });
}

describe("docs/reports.md", () => {
  const doc = readFileSync(join(ROOT, "docs/reports.md"), "utf8");
  const jsonSection = doc.slice(doc.indexOf("## JSON"), doc.indexOf("## JUnit XML"));

  it("documents every field of the report model (add a row when the model grows)", () => {
    const missing = fields(Report as unknown as Schema).filter(({ name }) => !new RegExp("`[^`\\n]*\\b" + name + "\\b[^`\\n]*`").test(jsonSection));
    expect(missing.map((f) => f.path)).to.deep.equal([]);
  });

  it("documents every format and extension", () => {
    for (const format of REPORT_FORMATS) expect(doc).to.include(`\`${format}\``);
    for (const ext of Object.keys(FORMAT_EXTENSIONS)) expect(doc).to.include(`\`${ext}\``);
  });
});
