/**
 * Truth tables for NetworkPolicy checks, in the manner of the Kubernetes
 * netpol e2e suite (test/e2e/network/netpol: truthtable.go, reachability.go,
 * probe.go) and cyclonus:
 *
 *   - the expected matrix is a default plus exceptions applied in order (a
 *     later exception overrides an earlier one, like successive `Set` calls on
 *     a TruthTable; an exception without `from`, `to` or `port` covers every
 *     source, target or port, like SetAllFrom / SetAllTo);
 *   - every cell is probed concurrently; a cell observed differently from its
 *     expectation is probed once more, and the second observation counts;
 *   - a "blocked" observation needs a positive control: some source reached the
 *     same target and port in the same run. Otherwise nothing proves the target
 *     was listening, and the cell is `unknown`, which never equals an
 *     expectation.
 *
 * Pure: the probing itself is a function passed in.
 */
import type { Connectivity } from "../runner/schema/report.ts";
import { limiter } from "../runner/util/limit.ts";

export type Reach = "allowed" | "blocked";
export type Observed = Reach | "unknown";

export interface ExpectRule {
  from?: string;
  to?: string;
  port?: number;
  is: Reach;
}

export interface TableTarget {
  name: string;
  ports: number[];
}

/** One cell: a source name, a target name and a port. */
export interface CellKey {
  from: string;
  to: string;
  port: number;
}

export function cellId(c: CellKey): string {
  return `${c.from}\u0000${c.to}\u0000${c.port}`;
}

/** The expected matrix, every (source, target, port) cell, in row-major order. */
export function expectedCells(sources: string[], targets: TableTarget[], expect: { default: Reach; cells?: ExpectRule[] }): (CellKey & { expected: Reach })[] {
  const out: (CellKey & { expected: Reach })[] = [];
  for (const from of sources) {
    for (const t of targets) {
      for (const port of t.ports) {
        let expected = expect.default;
        for (const rule of expect.cells ?? []) {
          if ((rule.from === undefined || rule.from === from) && (rule.to === undefined || rule.to === t.name) && (rule.port === undefined || rule.port === port)) expected = rule.is;
        }
        out.push({ from, to: t.name, port, expected });
      }
    }
  }
  return out;
}

/** What one probe of one cell saw. */
export interface ProbeOutcome {
  observed: Observed;
  /** `connected in 3ms`, `failed: i/o timeout`, `probe could not run: ...` */
  detail: string;
  /** The probe could not run (labrun could not evaluate this cell). */
  error?: Error;
}

export interface CellResult extends CellKey {
  expected: Reach;
  /** The observation that counts (the retry's, when the first was wrong), after the positive-control rule. */
  observed: Observed;
  /** Every probe of this cell, in order (one, or two when the first was wrong). */
  probes: ProbeOutcome[];
  /** Why the cell is `unknown`: the probe failed to run, or no positive control. */
  unknownReason?: "probe-error" | "no-positive-control";
}

/**
 * Probes every cell at once (at most `concurrency` at a time), then probes the
 * cells that came out wrong once more, then applies the positive-control rule.
 */
export async function probeTable(
  cells: (CellKey & { expected: Reach })[],
  probe: (cell: CellKey) => Promise<ProbeOutcome>,
  options: { concurrency?: number } = {},
): Promise<CellResult[]> {
  const limit = limiter(options.concurrency ?? 12);
  const safe = (c: CellKey) =>
    limit(() =>
      probe(c).catch((error: unknown): ProbeOutcome => {
        const e = error instanceof Error ? error : new Error(String(error));
        return { observed: "unknown", detail: `the probe could not run: ${e.message}`, error: e };
      }),
    );
  const first = await Promise.all(cells.map(safe));
  const results: CellResult[] = cells.map((c, i) => ({ ...c, observed: first[i]!.observed, probes: [first[i]!] }));
  const wrong = results.filter((r) => r.observed !== r.expected);
  const second = await Promise.all(wrong.map(safe));
  wrong.forEach((r, i) => {
    r.probes.push(second[i]!);
    r.observed = second[i]!.observed;
  });
  return applyPositiveControl(results);
}

/**
 * A `blocked` observation passes an expected-blocked cell only in a column
 * (target:port) that some source reached in the same run. (An expected-allowed
 * cell observed blocked fails either way and keeps what was seen.)
 */
export function applyPositiveControl(results: CellResult[]): CellResult[] {
  const reached = new Set(results.filter((r) => r.observed === "allowed").map((r) => columnId(r)));
  return results.map((r) => {
    if (r.observed === "unknown") return { ...r, unknownReason: r.unknownReason ?? "probe-error" };
    if (r.observed === "blocked" && r.expected === "blocked" && !reached.has(columnId(r))) return { ...r, observed: "unknown", unknownReason: "no-positive-control" };
    return r;
  });
}

function columnId(c: { to: string; port: number }): string {
  return `${c.to}\u0000${c.port}`;
}

export interface TableVerdict {
  ok: boolean;
  /** The probes could not run for cells the verdict depends on: labrun could not evaluate. */
  couldNotEvaluate: boolean;
  message: string;
}

/**
 * The check's verdict: ok when every cell is as expected. Any cell observed
 * `allowed` or `blocked` against its expectation is a failure (a verdict on the
 * cluster); without such a cell, cells whose probes could not run make the
 * check unevaluable; cells without a positive control always fail (nothing in
 * the run proves that those targets were listening).
 */
export function tableVerdict(results: CellResult[], label: (c: CellKey) => { from: string; to: string }): TableVerdict {
  const wrong = results.filter((r) => r.observed !== "unknown" && r.observed !== r.expected);
  const unknownErr = results.filter((r) => r.observed === "unknown" && r.unknownReason === "probe-error");
  const unknownCtl = results.filter((r) => r.observed === "unknown" && r.unknownReason === "no-positive-control");
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (!wrong.length && !unknownErr.length && !unknownCtl.length) {
    const allowed = results.filter((r) => r.observed === "allowed").length;
    return { ok: true, couldNotEvaluate: false, message: `${count(results.length, "connection")} as expected (${allowed} allowed, ${results.length - allowed} blocked)` };
  }
  const parts: string[] = [];
  const show = (r: CellResult) => {
    const l = label(r);
    return `${l.from} → ${l.to}`;
  };
  const list = (cells: CellResult[], text: (r: CellResult) => string) => cells.slice(0, 3).map(text).join("; ") + (cells.length > 3 ? `; and ${cells.length - 3} more` : "");
  if (wrong.length) parts.push(`${count(wrong.length, "connection")} not as expected: ${list(wrong, (r) => `${show(r)} ${r.observed} (expected ${r.expected})`)}`);
  if (unknownCtl.length) {
    const columns = [...new Set(unknownCtl.map((r) => label(r).to))];
    parts.push(`no source reached ${columns.slice(0, 3).join(", ")}${columns.length > 3 ? ` and ${columns.length - 3} more` : ""} in this run, so "blocked" there proves nothing (is the target listening?)`);
  }
  if (unknownErr.length) parts.push(`${count(unknownErr.length, "probe")} could not run: ${list(unknownErr, (r) => show(r))}`);
  return { ok: false, couldNotEvaluate: !wrong.length && !unknownCtl.length, message: parts.join("; ") };
}

export function toConnectivity(results: CellResult[], label: (c: CellKey) => { from: string; to: string }): Connectivity[] {
  return results.map((r) => ({ ...label(r), expected: r.expected, observed: r.observed }));
}
