/** Small text helpers: error messages, and text shortened for evidence and progress lines. */

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One line, at most `max` characters (for evidence). */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text kept to `max` characters, with a note when cut. */
export function clip(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
