/** The graph of `needs` between checks, checked before a grade: the loader rejects bad graphs, and the engine must not hang on one either. */
import { ScenarioError } from "../runner/errors.ts";
import type { Check } from "../runner/schema/scenario.ts";

/** The checks by id; a ScenarioError for a duplicate id, a need of an unknown check, or a cycle. */
export function checkGraph(checks: readonly Check[]): Map<string, Check> {
  const problem = (message: string) => new ScenarioError([{ file: "scenario.yaml", line: 1, col: 1, path: "spec.checks", message }]);
  const byId = new Map<string, Check>();
  for (const c of checks) {
    if (byId.has(c.id)) throw problem(`duplicate check id "${c.id}"`);
    byId.set(c.id, c);
  }
  for (const c of checks) {
    for (const n of c.needs ?? []) if (!byId.has(n)) throw problem(`check "${c.id}" needs unknown check "${n}"`);
  }
  const state = new Map<string, 1 | 2>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 2) return;
    if (state.get(id) === 1) throw problem(`checks need each other in a cycle: ${[...path.slice(path.indexOf(id)), id].join(" → ")}`);
    state.set(id, 1);
    for (const n of byId.get(id)!.needs ?? []) visit(n, [...path, id]);
    state.set(id, 2);
  };
  for (const c of checks) visit(c.id, []);
  return byId;
}
