import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogueRow, renderCatalogue, withCatalogue } from "../../../runner/scenario/catalogue.ts";
import { findScenarioFiles, loadScenario } from "../../../runner/scenario/load.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("the catalogue", () => {
  it("every shipped scenario has a topic, and the README's table is generated from the scenarios", async () => {
    const loaded = await Promise.all((await findScenarioFiles([join(ROOT, "scenarios")])).map((f) => loadScenario(f)));
    const rows = loaded.map((l) => catalogueRow(l.scenario));
    for (const r of rows) expect(r.topic, `${r.name}: metadata.topic`).to.have.length.greaterThan(2);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(withCatalogue(readme, rows), "README.md's catalogue is out of date: run `npm run schema`").to.equal(readme);
    for (const r of rows) expect(readme).to.include(`| \`${r.name}\` | ${r.title.replace(/\|/g, "\\|")} |`);
  });

  it("renders rows by name and escapes table syntax; refuses a document without the markers", () => {
    const table = renderCatalogue([
      { name: "zeta", title: "Z | pipe", topic: "two\nlines", difficulty: "advanced", estimatedMinutes: 30, checks: 2 },
      { name: "alpha", title: "A", topic: "t", difficulty: "beginner", estimatedMinutes: 5, checks: 1 },
    ]);
    const lines = table.split("\n");
    expect(lines[2]).to.equal("| `alpha` | A | t | beginner | 5 | 1 |");
    expect(lines[3]).to.equal("| `zeta` | Z \\| pipe | two lines | advanced | 30 | 2 |");
    expect(() => withCatalogue("# no markers", [])).to.throw(/lacks the markers/);
  });
});
