import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ExitCode, formatProblem, UsageError, type Problem } from "../../errors.ts";
import { findScenarioFiles, SCENARIO_FILE, scenarioRoots, validateScenarioFile } from "../../scenario/load.ts";
import { type Command } from "../command.ts";
import { displayPath } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "json"] as const;

const command: Command = {
  name: "validate",
  summary: "Check scenario files without running anything.",
  usage: "labrun validate [PATH...] [-o text|json]",
  description: `Checks each scenario: YAML syntax, the schema (unknown fields are errors, with a suggestion),
references between checks, the pods, services and namespaces checks name (declared by a setup
or break manifest, or in spec.learnerCreates), files that must exist inside the scenario folder, manifests
and their image tags. Every problem is reported as FILE:LINE:COL  FIELD  MESSAGE.
PATH is a scenario.yaml, a scenario folder, or a folder of scenario folders; by default,
every scenario under ./scenarios (or the scenarios shipped with labrun).
Nothing from the scenario is executed. Exit code 0 when all are valid, 2 otherwise.`,
  options: {
    output: outputOption(FORMATS),
  },
  args: { min: 0, max: Infinity },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "validate");
    const files = await collect(args.positionals, io.cwd);
    const results: { file: string; valid: boolean; problems: Problem[] }[] = [];
    for (const file of files) {
      const shown = displayPath(file, io);
      const result = await validateScenarioFile(file);
      const problems = result.problems.map((p) => ({ ...p, file: p.file === file || resolve(io.cwd, p.file) === file ? shown : displayPath(resolve(io.cwd, p.file), io) }));
      results.push({ file: shown, valid: problems.length === 0, problems });
    }
    if (format === "json") {
      io.stdout.write(JSON.stringify({ valid: results.every((r) => r.valid), scenarios: results }, null, 2) + "\n");
    } else {
      for (const r of results) {
        if (r.valid) io.stdout.write(`ok    ${r.file}\n`);
        else for (const p of r.problems) io.stdout.write(`${formatProblem(p)}\n`);
      }
      const bad = results.filter((r) => !r.valid);
      const count = bad.reduce((n, r) => n + r.problems.length, 0);
      io.stderr.write(
        bad.length
          ? `${count} problem${count === 1 ? "" : "s"} in ${bad.length} of ${results.length} scenario${results.length === 1 ? "" : "s"}\n`
          : `${results.length} scenario${results.length === 1 ? "" : "s"} valid\n`,
      );
    }
    return results.every((r) => r.valid) ? ExitCode.ok : ExitCode.usage;
  },
};

async function collect(paths: string[], cwd: string): Promise<string[]> {
  if (paths.length === 0) {
    const files = await findScenarioFiles(scenarioRoots({ cwd }));
    if (files.length === 0) throw new UsageError("no scenarios found", { hint: "pass a path (`labrun validate path/to/scenario.yaml`) or set LABRUN_SCENARIOS" });
    return files;
  }
  const files: string[] = [];
  for (const path of paths) {
    const abs = resolve(cwd, path);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      files.push(abs); // reported as "file not found" with its name
      continue;
    }
    if (!isDir) files.push(abs);
    else if (existsSync(join(abs, SCENARIO_FILE))) files.push(join(abs, SCENARIO_FILE));
    else {
      const found = await findScenarioFiles([abs]);
      if (found.length === 0) throw new UsageError(`no scenarios in ${path}`, { hint: `a scenario folder holds a ${SCENARIO_FILE}` });
      files.push(...found);
    }
  }
  return files;
}

export default command;
