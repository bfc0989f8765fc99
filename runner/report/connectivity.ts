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

/** One character per cell, the netpol e2e suite's notation: `.` allowed, `X` blocked, `?` unknown. */
const CELL: Record<Connectivity["observed"], string> = { allowed: ".", blocked: "X", unknown: "?" };

/**
 * A check's connections as three compact matrices side by side, like the
 * Kubernetes netpol e2e suite prints a truth table: expected, observed, and
 * the comparison (`.` as expected, `X` not). Columns are numbered; a legend
 * names them. Plain text without styling; `undefined` for fewer than two
 * connections (a list says more).
 */
export function truthTableText(entries: readonly Connectivity[]): string[] | undefined {
  if (entries.length < 2) return undefined;
  const sources: string[] = [];
  const targets: string[] = [];
  const cells = new Map<string, Connectivity>();
  for (const c of entries) {
    if (!sources.includes(c.from)) sources.push(c.from);
    if (!targets.includes(c.to)) targets.push(c.to);
    cells.set(`${c.from}\u0000${c.to}`, c);
  }
  const numbers = targets.map((_, i) => String(i + 1));
  const cellWidth = Math.max(...numbers.map((n) => n.length));
  const grid = (pick: (c: Connectivity) => string) => (source: string) =>
    targets.map((t) => {
      const c = cells.get(`${source}\u0000${t}`);
      return (c ? pick(c) : " ").padEnd(cellWidth);
    }).join(" ");
  const blocks: { title: string; row: (source: string) => string }[] = [
    { title: "expected", row: grid((c) => CELL[c.expected]) },
    { title: "observed", row: grid((c) => CELL[c.observed]) },
    { title: "comparison", row: grid((c) => (c.observed === c.expected ? "." : "X")) },
  ];
  const header = numbers.map((n) => n.padEnd(cellWidth)).join(" ");
  const blockWidth = Math.max(header.length, ...blocks.map((b) => b.title.length));
  const nameWidth = Math.min(48, Math.max(...sources.map((s) => s.length)));
  const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
  const line = (name: string, parts: string[]) => `${pad(name, nameWidth)}   ${parts.map((p) => p.padEnd(blockWidth)).join("   ")}`.trimEnd();
  const out = [line("", blocks.map((b) => b.title)), line("", blocks.map(() => header))];
  for (const source of sources) out.push(line(source, blocks.map((b) => b.row(source))));
  out.push(`(. allowed, X blocked, ? unknown; comparison: . as expected, X not) ${targets.map((t, i) => `${numbers[i]} = ${t}`).join(", ")}`);
  return out;
}
