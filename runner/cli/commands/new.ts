import { resolve } from "node:path";
import { ExitCode } from "../../errors.ts";
import { scaffoldScenario } from "../../scenario/scaffold.ts";
import { str, type Command } from "../command.ts";
import { displayPath } from "../output.ts";

const command: Command = {
  name: "new",
  summary: "Create a scenario folder to start from.",
  usage: "labrun new <NAME> [--dir DIR]",
  description: `Creates DIR/NAME (DIR defaults to ./scenarios) with a scenario.yaml (with the schema line
editors use), a task, a manifest, a check and a solution: a small working lab that
\`labrun validate\` accepts and \`labrun test\` passes as it is. Then make it yours;
docs/authoring.md describes every field and check.`,
  options: {
    dir: { type: "string", value: "DIR", description: "Where to create the scenario folder.", default: "scenarios" },
  },
  args: { min: 1, max: 1 },
  async run(args, io) {
    const name = args.positionals[0]!;
    const { dir, files } = await scaffoldScenario(name, resolve(io.cwd, str(args, "dir")!));
    const shown = displayPath(dir, io);
    io.stderr.write(`created ${shown}/\n${files.map((f) => `  ${f}\n`).join("")}`);
    io.stderr.write(`next: edit ${shown}/scenario.yaml, then run \`labrun validate ${shown}\` and \`labrun test ${shown}\`\n`);
    return ExitCode.ok;
  },
};

export default command;
