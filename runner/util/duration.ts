const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a scenario duration such as `500ms`, `30s`, `2m` or `1m30s` into milliseconds. */
export function parseDuration(text: string): number {
  const re = /([0-9]+)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== text.length) throw new Error(`invalid duration "${text}" (use a number and a unit: ms, s, m, h; e.g. 30s, 2m, 1m30s)`);
  return total;
}

/** `65000` → `1m5s`; `1500` → `1.5s`; `250` → `250ms`; `119600` → `2m` (rounded once, so never `1m60s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_500) return `${(ms / 1000).toFixed(ms < 9_950 ? 1 : 0).replace(/\.0$/, "")}s`;
  const seconds = Math.round(ms / 1000);
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s ? `${m}m${s}s` : `${m}m`;
}
