import { readFileSync } from "node:fs";

/** labrun's version, from its package.json (found relative to this file in source and in dist/). */
export const VERSION: string = readVersion();

function readVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "labrun" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "0.0.0-unknown";
}
