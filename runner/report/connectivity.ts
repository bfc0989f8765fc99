/**
 * The connectivity matrix of a network scenario: sources × targets, built from
 * the `connectivity` entries of every check. Pure; the HTML and Markdown
 * reporters draw it.
 */
import type { Connectivity, Report } from "../schema/report.ts";

export interface MatrixEntry extends Connectivity {
  /** The check that probed this connection. */
  check: string;
  /** `observed` differs from `expected` (an `unknown` observation is a mismatch: nothing proved it). */
  mismatch: boolean;
}

export interface ConnectivityMatrix {
  /** Sources, in the order they first appear. */
  sources: string[];
  /** Targets, in the order they first appear. */
  targets: string[];
  /** `cells.get(source)?.get(target)`: the probes of that pair (usually one). */
  cells: Map<string, Map<string, MatrixEntry[]>>;
  total: number;
  mismatches: number;
}

export function connectivityMatrix(report: Report): ConnectivityMatrix {
  const sources: string[] = [];
  const targets: string[] = [];
  const cells = new Map<string, Map<string, MatrixEntry[]>>();
  let total = 0;
  let mismatches = 0;
  for (const check of report.checks) {
    for (const c of check.connectivity ?? []) {
      if (!sources.includes(c.from)) sources.push(c.from);
      if (!targets.includes(c.to)) targets.push(c.to);
      let row = cells.get(c.from);
      if (!row) cells.set(c.from, (row = new Map()));
      let cell = row.get(c.to);
      if (!cell) row.set(c.to, (cell = []));
      const mismatch = c.observed !== c.expected;
      cell.push({ ...c, check: check.id, mismatch });
      total++;
      if (mismatch) mismatches++;
    }
  }
  return { sources, targets, cells, total, mismatches };
}

export function cellOf(matrix: ConnectivityMatrix, source: string, target: string): MatrixEntry[] {
  return matrix.cells.get(source)?.get(target) ?? [];
}
