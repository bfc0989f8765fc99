/**
 * The catalogue: one row per scenario, from its metadata. `labrun list` shows
 * these rows and the README's catalogue table is generated from them
 * (`npm run schema` writes it between the markers; `--check` fails on drift),
 * so the two never disagree.
 */
import type { Scenario } from "../schema/scenario.ts";

export interface CatalogueRow {
  name: string;
  title: string;
  topic: string;
  difficulty: string;
  estimatedMinutes: number;
  checks: number;
}

export function catalogueRow(scenario: Scenario): CatalogueRow {
  const m = scenario.metadata;
  return { name: m.name, title: m.title, topic: m.topic ?? "", difficulty: m.difficulty, estimatedMinutes: m.estimatedMinutes, checks: scenario.spec.checks.length };
}

const START = "<!-- catalogue:start (generated from scenarios/*/scenario.yaml by `npm run schema`) -->";
const END = "<!-- catalogue:end -->";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

/** The README's catalogue table, rows by name. */
export function renderCatalogue(rows: readonly CatalogueRow[]): string {
  const sorted = [...rows].sort((a, b) => a.name.localeCompare(b.name));
  return [
    "| scenario | title | topic | difficulty | minutes | checks |",
    "|---|---|---|---|---|---|",
    ...sorted.map((r) => `| \`${r.name}\` | ${cell(r.title)} | ${cell(r.topic)} | ${r.difficulty} | ${r.estimatedMinutes} | ${r.checks} |`),
  ].join("\n");
}

/** The document with its catalogue table replaced; throws when the markers are missing. */
export function withCatalogue(document: string, rows: readonly CatalogueRow[]): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`README.md lacks the markers ${START} ... ${END}`);
  return document.slice(0, start + START.length) + "\n\n" + renderCatalogue(rows) + "\n\n" + document.slice(end);
}
