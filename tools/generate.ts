/**
 * Writes every generated file from its single source: the published JSON
 * Schemas and the field reference in docs/authoring.md (from the TypeBox
 * schemas in runner/schema), and the README's catalogue table (from
 * each scenario.yaml under scenarios/):
 *   node tools/generate.ts          write them
 *   node tools/generate.ts --check  exit 1 when a committed file differs
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "../runner/schema/published.ts";
import { catalogueRow, withCatalogue } from "../runner/scenario/catalogue.ts";
import { findScenarioFiles, loadScenario } from "../runner/scenario/load.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const check = process.argv.includes("--check");

const scenarios = await Promise.all((await findScenarioFiles([join(root, "scenarios")])).map((file) => loadScenario(file)));
const readme = "README.md";
const files = [...generatedFiles(root), { file: readme, text: withCatalogue(readFileSync(root + readme, "utf8"), scenarios.map((s) => catalogueRow(s.scenario))) }];

let drift = 0;
for (const { file, text } of files) {
  const path = root + file;
  if (check) {
    let current = "";
    try {
      current = readFileSync(path, "utf8");
    } catch {
      /* missing counts as drift */
    }
    if (current !== text) {
      console.error(`${file} is out of date: run \`npm run schema\``);
      drift++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${file}`);
  }
}
process.exit(drift ? 1 : 0);
