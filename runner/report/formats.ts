/**
 * The report formats and the file extensions that name them, without the
 * renderers (the CLI loads only the renderer it needs: runner/report/lazy.ts).
 */

export const REPORT_FORMATS = ["text", "json", "junit", "markdown", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

/** File extensions and the format each one means. */
export const FORMAT_EXTENSIONS: Readonly<Record<string, ReportFormat>> = {
  ".json": "json",
  ".xml": "junit",
  ".md": "markdown",
  ".markdown": "markdown",
  ".html": "html",
  ".htm": "html",
  ".txt": "text",
};

/** The format a file's extension names (`report.xml` → `junit`), or undefined for an unknown extension. */
export function formatFromFile(path: string): ReportFormat | undefined {
  const name = path.split(/[\\/]/).pop() ?? "";
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return FORMAT_EXTENSIONS[name.slice(dot).toLowerCase()];
}
