/**
 * `renderReport` for the CLI: it loads only the renderer of the format asked
 * for (the HTML and JUnit renderers are large and a grade prints one format).
 * Same output as runner/report/index.ts's `renderReport`.
 */
import type { ReportFormat } from "./formats.ts";
import type { RenderOptions } from "./index.ts";
import type { Report } from "../schema/report.ts";

type Renderer = (report: Report, options: RenderOptions) => string;

const LOADERS: Record<ReportFormat, () => Promise<Renderer>> = {
  text: async () => {
    const { renderTerminal } = await import("./terminal.ts");
    return (r, o) => renderTerminal(r, { ...o, color: o.color ?? false, width: o.width ?? 100 });
  },
  json: async () => (await import("./json.ts")).renderJson,
  junit: async () => {
    const { renderJunit } = await import("./junit.ts");
    return (r) => renderJunit(r);
  },
  markdown: async () => (await import("./markdown.ts")).renderMarkdown,
  html: async () => (await import("./html.ts")).renderHtml,
};

export async function renderReportLazily(report: Report, format: ReportFormat, options: RenderOptions = {}): Promise<string> {
  return (await LOADERS[format]())(report, options);
}
