/**
 * Partial matching of Kubernetes objects, in the spirit of kuttl and chainsaw
 * asserts: every field of the expected (partial) object must be present in
 * the actual one with the same value; maps match recursively, lists element by
 * element (same length). Every difference is reported, with its path.
 *
 * Two kinds of map match exactly, because a key more changes their meaning:
 * an empty map (`podSelector: {}` selects every pod; `{ matchLabels: { x: y } }`
 * selects fewer) and a `matchLabels` map (a label more selects fewer pods: a
 * learner could keep a policy's name and selector while it selects nothing).
 */

export interface Mismatch {
  /** Dotted path: `spec.template.spec.containers[0].image`. */
  path: string;
  expected: string;
  observed: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function partialMatch(expected: unknown, actual: unknown, path = ""): Mismatch[] {
  if (isObj(expected)) {
    if (!isObj(actual)) return [{ path: path || "(object)", expected: "an object", observed: show(actual) }];
    const out: Mismatch[] = [];
    if ((path && Object.keys(expected).length === 0) || path === "matchLabels" || path.endsWith(".matchLabels")) {
      const extra = Object.keys(actual).filter((k) => !(k in expected) && actual[k] !== undefined && actual[k] !== null && !isEmpty(actual[k]));
      if (extra.length) out.push({ path: path || "(object)", expected: `exactly ${show(expected)}`, observed: `${show(actual)} (also ${extra.join(", ")})` });
    }
    for (const [key, value] of Object.entries(expected)) {
      const sub = path ? `${path}.${key}` : key;
      if (!(key in actual) || actual[key] === undefined) {
        if (value === null) continue; // `key: null` asserts absence
        out.push({ path: sub, expected: show(value), observed: "missing" });
      } else if (value === null) {
        out.push({ path: sub, expected: "absent (null)", observed: show(actual[key]) });
      } else out.push(...partialMatch(value, actual[key], sub));
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [{ path, expected: `a list of ${expected.length}`, observed: show(actual) }];
    if (actual.length !== expected.length) return [{ path, expected: `${expected.length} element${expected.length === 1 ? "" : "s"}: ${show(expected)}`, observed: `${actual.length}: ${show(actual)}` }];
    return expected.flatMap((e, i) => partialMatch(e, actual[i], `${path}[${i}]`));
  }
  if (scalarEqual(expected, actual)) return [];
  return [{ path, expected: show(expected), observed: show(actual) }];
}

function isEmpty(v: unknown): boolean {
  return (isObj(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
}

/** Equal scalars; numbers written as strings in YAML compare with numbers (`"3"` = 3). */
function scalarEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number")) return String(a) === String(b);
  return false;
}

export function show(value: unknown, max = 160): string {
  if (value === undefined) return "missing";
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
