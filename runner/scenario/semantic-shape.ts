/** The shape helpers the semantic rules (semantic*.ts) share: they never trust the data's shape. */
export type Segment = string | number;
export type Obj = Record<string, unknown>;

/** Reports a problem at a path of the scenario document (at its key with `useKey`). */
export type At = (path: Segment[], message: string, useKey?: boolean) => void;

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
