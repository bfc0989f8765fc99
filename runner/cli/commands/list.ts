import { dirname } from "node:path";
import { ExitCode } from "../../errors.ts";
import { catalogueRow } from "../../scenario/catalogue.ts";
import { findScenarioFiles, scenarioRoots, validateScenarioFile } from "../../scenario/load.ts";
import { type Command } from "../command.ts";
import { displayPath, table } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "json"] as const;

const command: Command = {
  name: "list",
  summary: "List the scenarios.",
  usage: "labrun list [-o text|json]",
  description: "Lists the scenarios (the README's catalogue table is generated from the same rows) under ./scenarios (or $LABRUN_SCENARIOS, or those shipped with labrun). Invalid scenarios are listed as such.",
  options: {
    output: outputOption(FORMATS),
  },
  args: { min: 0, max: 0 },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "list");
    const files = await findScenarioFiles(scenarioRoots({ cwd: io.cwd }));
    const rows = await Promise.all(
      files.map(async (file) => {
        const { scenario, problems } = await validateScenarioFile(file);
        const m = scenario?.metadata;
        const row = scenario ? catalogueRow(scenario) : undefined;
        return {
          name: m?.name ?? dirname(file).split("/").pop()!,
          title: row?.title ?? "",
          topic: row?.topic ?? "",
          difficulty: row?.difficulty ?? "",
          estimatedMinutes: row?.estimatedMinutes ?? null,
          tags: m?.tags ?? [],
          nodes: scenario?.spec.cluster.nodes.length ?? null,
          checks: scenario?.spec.checks.length ?? null,
          path: displayPath(dirname(file), io),
          valid: problems.length === 0,
          problems: problems.length,
        };
      }),
    );
    if (format === "json") {
      io.stdout.write(JSON.stringify(rows, null, 2) + "\n");
      return ExitCode.ok;
    }
    if (rows.length === 0) {
      io.stderr.write("no scenarios found (looked in ./scenarios; set LABRUN_SCENARIOS to look elsewhere)\n");
      return ExitCode.ok;
    }
    io.stdout.write(
      table(
        ["NAME", "DIFFICULTY", "TIME", "CHECKS", "TITLE", "TOPIC"],
        rows.map((r) => [
          r.name,
          r.valid ? r.difficulty : "INVALID",
          r.estimatedMinutes ? `${r.estimatedMinutes}m` : "-",
          r.checks === null ? "-" : String(r.checks),
          r.valid ? r.title : `${r.problems} problem(s): run \`labrun validate ${r.path}\``,
          r.valid ? r.topic : "",
        ]),
      ),
    );
    return ExitCode.ok;
  },
};

export default command;
