/**
 * The reporters: pure functions from a `Report` (runner/schema/report.ts) to
 * text in one format. `renderReport` picks one by name; `formatFromFile`
 * picks one by a file's extension. Writing to stdout and files is the CLI's
 * job (runner/cli/report-output.ts).
 */
import type { Report } from "../schema/report.ts";
import { renderHtml, type HtmlOptions } from "./html.ts";
import { renderJson, type JsonOptions } from "./json.ts";
import { renderJunit } from "./junit.ts";
import { renderMarkdown, type MarkdownOptions } from "./markdown.ts";
import { renderTerminal, type TerminalOptions } from "./terminal.ts";

import { type ReportFormat } from "./formats.ts";

export { FORMAT_EXTENSIONS, formatFromFile, isReportFormat, REPORT_FORMATS, type ReportFormat } from "./formats.ts";

/** Options for every format; each renderer reads its own. */
export interface RenderOptions extends Partial<TerminalOptions>, JsonOptions, MarkdownOptions {
  /** Evidence characters to keep per value (text 4000, Markdown 3000, HTML 20000 by default). */
  maxEvidenceChars?: number;
}

type Renderer = (report: Report, options: RenderOptions) => string;

/** One renderer per format; the `Record` type makes the map exhaustive. */
const RENDERERS: Record<ReportFormat, Renderer> = {
  text: (r, o) => renderTerminal(r, { ...o, color: o.color ?? false, width: o.width ?? 100 }),
  json: (r, o) => renderJson(r, o),
  junit: (r) => renderJunit(r),
  markdown: (r, o) => renderMarkdown(r, o),
  html: (r, o) => renderHtml(r, o satisfies HtmlOptions),
};

/** Renders a report in one format. Text is uncoloured unless `color: true`. */
export function renderReport(report: Report, format: ReportFormat, options: RenderOptions = {}): string {
  return RENDERERS[format](report, options);
}

export { renderHtml, renderJson, renderJunit, renderMarkdown, renderTerminal };
export type { HtmlOptions, JsonOptions, MarkdownOptions, TerminalOptions };
export { summaryLine } from "./format.ts";
export { connectivityMatrix, type ConnectivityMatrix, type MatrixEntry } from "./connectivity.ts";
export { isReport, parseReport, reportProblems } from "./validate.ts";
