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

/**
 * The one duration format, for progress lines, messages and reports. Time is
 * cut, never rounded up (a stopwatch shows no time that has not passed, and
 * no boundary reads `1m60s`): `250` → `250ms`; `1560` → `1.5s`; `9960` →
 * `9.9s`; `12000` → `12s`; `65000` → `1m5s`; `60000` → `1m`; `3720000` →
 * `1h2m`. `pad` keeps two digits after the first unit for report columns:
 * `1m05s`, `1m00s`, `1h02m`. Not a duration (negative, NaN): empty.
 */
export function formatDuration(ms: number, options: { pad?: boolean } = {}): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.floor(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1).replace(/\.0$/, "")}s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => (options.pad ? String(n).padStart(2, "0") : String(n));
  if (h) return options.pad || m ? `${h}h${two(m)}m` : `${h}h`;
  return options.pad || s ? `${m}m${two(s)}s` : `${m}m`;
}
