/**
 * Writes the published JSON Schemas (and the field reference in docs/authoring.md) from their TypeBox sources:
 *   node runner/schema/generate.ts          write schemas/*.schema.json
 *   node runner/schema/generate.ts --check  exit 1 when a committed file differs
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "./published.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const check = process.argv.includes("--check");
let drift = 0;
for (const { file, text } of generatedFiles(root)) {
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
