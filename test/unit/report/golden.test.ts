/**
 * Golden files: every format rendered from each fixture report must equal
 * the committed file under test/unit/report/golden/. After an intended
 * change, refresh them and review the diff:
 *
 *   UPDATE_GOLDEN=1 npm run test:unit -- --grep golden
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderReport, type ReportFormat, type RenderOptions } from "../../../runner/report/index.ts";
import { FIXTURES } from "./fixtures.ts";

const GOLDEN = fileURLToPath(new URL("./golden/", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const VARIANTS: { suffix: string; format: ReportFormat; options?: RenderOptions }[] = [
  { suffix: "txt", format: "text", options: { color: false, width: 80 } },
  { suffix: "ansi.txt", format: "text", options: { color: true, width: 100 } },
  { suffix: "json", format: "json" },
  { suffix: "xml", format: "junit" },
  { suffix: "md", format: "markdown" },
  { suffix: "html", format: "html" },
];

describe("report golden files", () => {
  if (UPDATE) mkdirSync(GOLDEN, { recursive: true });
  for (const [name, report] of Object.entries(FIXTURES)) {
    for (const { suffix, format, options } of VARIANTS) {
      const file = `${name}.${suffix}`;
      it(`${file}`, () => {
        const actual = renderReport(report, format, options);
        const path = GOLDEN + file;
        if (UPDATE) {
          writeFileSync(path, actual);
          return;
        }
        expect(existsSync(path), `golden file ${path} is missing: run UPDATE_GOLDEN=1 npm run test:unit -- --grep golden`).to.equal(true);
        const expected = readFileSync(path, "utf8");
        // chai's diff of two long strings is hard to read: compare line by line first.
        const a = actual.split("\n");
        const e = expected.split("\n");
        for (let i = 0; i < Math.max(a.length, e.length); i++) {
          expect(a[i], `${file} line ${i + 1} differs (UPDATE_GOLDEN=1 refreshes the golden files after an intended change)`).to.equal(e[i]);
        }
        expect(actual).to.equal(expected);
      });
    }
  }
});
