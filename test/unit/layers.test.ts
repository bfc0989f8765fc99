/**
 * The layer rule: every import between areas of runner/ and checks/ runs from
 * a higher layer to a lower one (see CONTRIBUTING.md). Peers in one layer may
 * import each other, except checks/ and runner/providers/, which stay
 * independent of each other.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Highest first. A file belongs to the first area whose prefix it has. */
export const LAYERS: { layer: number; areas: string[] }[] = [
  { layer: 8, areas: ["runner/cli/"] },
  { layer: 7, areas: ["runner/serve/"] },
  { layer: 6, areas: ["runner/lab/", "runner/index.ts"] },
  { layer: 5, areas: ["runner/providers/", "checks/"] },
  { layer: 4, areas: ["runner/cluster/"] },
  { layer: 3, areas: ["runner/report/", "runner/scenario/"] },
  { layer: 2, areas: ["runner/schema/"] },
  { layer: 1, areas: ["runner/util/", "runner/errors.ts", "runner/version.ts"] },
];

/** Peers that must not import each other in either direction. */
export const INDEPENDENT: [string, string][] = [["checks/", "runner/providers/"]];

export function areaOf(file: string): { area: string; layer: number } | undefined {
  for (const { layer, areas } of LAYERS) for (const area of areas) if (file === area || file.startsWith(area)) return { area, layer };
  return undefined;
}

export interface Import {
  from: string;
  to: string;
}

/** The imports that break the rule, each with the reason. */
export function violations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const { from, to } of imports) {
    const a = areaOf(from);
    const b = areaOf(to);
    if (!a || !b || a.area === b.area) continue;
    if (b.layer > a.layer) out.push(`${from} imports ${to}: ${b.area} is above ${a.area}`);
    const pair = INDEPENDENT.find(([x, y]) => (a.area === x && b.area === y) || (a.area === y && b.area === x));
    if (pair) out.push(`${from} imports ${to}: ${pair[0]} and ${pair[1]} stay independent`);
  }
  return out;
}

/** Every relative import (static, `export ... from`, dynamic) of the .ts files under runner/ and checks/. */
export function importsOf(root: string): Import[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (rel.endsWith(".ts")) files.push(rel);
    }
  };
  walk("runner");
  walk("checks");
  const imports: Import[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const file of files) {
    const text = readFileSync(path.join(root, file), "utf8");
    for (const m of text.matchAll(re)) imports.push({ from: file, to: path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)) });
  }
  return imports;
}

describe("layers", () => {
  it("every import in runner/ and checks/ runs downwards", () => {
    const imports = importsOf(ROOT);
    expect(imports.length, "the parser finds the imports").to.be.greaterThan(200);
    expect(violations(imports)).to.deep.equal([]);
  });

  it("every file of runner/ and checks/ belongs to a layer", () => {
    const files = [...new Set(importsOf(ROOT).map((i) => i.from))];
    expect(files.filter((f) => !areaOf(f))).to.deep.equal([]);
  });

  it("the rule catches an upward import, an import between independent peers, and dynamic imports", () => {
    expect(
      violations([
        { from: "runner/cluster/kube.ts", to: "runner/lab/images.ts" },
        { from: "runner/providers/kind.ts", to: "checks/kube.ts" },
        { from: "checks/probe.ts", to: "runner/providers/kind.ts" },
        { from: "runner/schema/published.ts", to: "runner/report/model.ts" },
        { from: "runner/lab/start.ts", to: "runner/cluster/kube.ts" },
        { from: "runner/report/html.ts", to: "runner/scenario/load.ts" },
      ]),
    ).to.deep.equal([
      "runner/cluster/kube.ts imports runner/lab/images.ts: runner/lab/ is above runner/cluster/",
      "runner/providers/kind.ts imports checks/kube.ts: checks/ and runner/providers/ stay independent",
      "checks/probe.ts imports runner/providers/kind.ts: checks/ and runner/providers/ stay independent",
      "runner/schema/published.ts imports runner/report/model.ts: runner/report/ is above runner/schema/",
    ]);
    const parsed = importsOf(ROOT).filter((i) => i.from === "runner/lab/start.ts" || i.from === "runner/cli/commands/addon.ts");
    expect(parsed.length, "imports of two known files are parsed").to.be.greaterThan(3);
  });
});
