import { ExitCode } from "../../errors.ts";
import { loadScenario, readMarkdown, readTask } from "../../scenario/load.ts";
import { bool, type Command } from "../command.ts";
import { useColor } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "markdown", "json"] as const;

const command: Command = {
  name: "show",
  summary: "Show a scenario's task.",
  usage: "labrun show <SCENARIO> [--hints] [--solution] [-o text|json|markdown]",
  description: "Prints the task the learner reads, with the scenario's facts. SCENARIO is a name, a folder or a scenario.yaml.",
  options: {
    hints: { type: "boolean", description: "Also print the general hints." },
    solution: { type: "boolean", description: "Also print the solution's description (for instructors)." },
    output: outputOption(FORMATS),
  },
  args: { min: 1, max: 1 },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "show");
    const loaded = await loadScenario(args.positionals[0]!, { cwd: io.cwd });
    const { metadata, spec } = loaded.scenario;
    const task = await readTask(loaded);
    const solution = bool(args, "solution") && spec.solution.description ? await readMarkdown(loaded, spec.solution.description) : undefined;
    const hints = bool(args, "hints") ? (spec.hints ?? []) : [];
    if (format === "json") {
      io.stdout.write(JSON.stringify({ metadata, task, hints, ...(solution ? { solution } : {}), checks: spec.checks.map((c) => ({ id: c.id, title: c.title, points: c.points ?? 1 })) }, null, 2) + "\n");
      return ExitCode.ok;
    }
    const color = format === "text" && useColor(io.stdout, io.env);
    const bold = (s: string) => (color ? `\u001b[1m${s}\u001b[22m` : s);
    const dim = (s: string) => (color ? `\u001b[2m${s}\u001b[22m` : s);
    const points = spec.checks.reduce((n, c) => n + (c.points ?? 1), 0);
    const facts = [
      metadata.difficulty,
      `about ${metadata.estimatedMinutes} min`,
      `${spec.cluster.nodes.length} node${spec.cluster.nodes.length === 1 ? "" : "s"}`,
      `${spec.checks.length} checks, ${points} points`,
      ...(metadata.tags?.length ? [metadata.tags.join(", ")] : []),
    ].join(" · ");
    const out: string[] = [];
    if (format === "markdown") out.push(task.trimEnd());
    else {
      out.push(bold(`${metadata.name}: ${metadata.title}`), dim(facts), "", task.trimEnd());
      out.push("", dim("The checks:"), ...spec.checks.map((c) => dim(`  - ${c.title} (${c.points ?? 1} pt${(c.points ?? 1) === 1 ? "" : "s"})`)));
    }
    if (hints.length) out.push("", bold("Hints"), ...hints.map((h, i) => `${i + 1}. ${h}`));
    if (solution) out.push("", bold("Solution"), solution.trimEnd());
    io.stdout.write(out.join("\n") + "\n");
    return ExitCode.ok;
  },
};

export default command;
