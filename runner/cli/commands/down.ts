import { ExitCode, UsageError } from "../../errors.ts";
import { down } from "../../lab/down.ts";
import { LabStore } from "../../lab/state.ts";
import { bool, type Command } from "../command.ts";
import { progress } from "../lab-progress.ts";

const command: Command = {
  name: "down",
  summary: "Delete a lab and its cluster.",
  usage: "labrun down [LAB...] [--all]",
  description: "Deletes the lab's kind cluster and forgets the lab (its kubeconfig and saved reports). A lab on an existing cluster (--kubeconfig) is forgotten; its cluster is left as it is. Running it again is fine.",
  options: {
    all: { type: "boolean", description: "Delete every lab." },
  },
  args: { min: 0, max: Infinity },
  async run(args, io) {
    const store = new LabStore({ env: io.env });
    let names = args.positionals;
    if (bool(args, "all")) names = (await store.list()).map((l) => l.name);
    else if (names.length === 0) {
      const labs = await store.list();
      if (labs.length === 1) names = [labs[0]!.name];
      else if (labs.length === 0) {
        io.stderr.write("no labs to delete\n");
        return ExitCode.ok;
      } else throw new UsageError(`there are ${labs.length} labs: name the one to delete (${labs.map((l) => l.name).join(", ")}) or use --all`);
    }
    const p = progress(io, { debug: bool(args, "debug") });
    try {
      for (const name of names) {
        const result = await down({ name, store, env: io.env, signal: io.signal, onEvent: p.listener });
        if (!result.found && !result.clusterDeleted) io.stderr.write(`lab "${name}" does not exist (nothing to do)\n`);
        if (result.unmerged) io.stderr.write(`removed context labrun-${name} from ${result.unmerged}\n`);
      }
    } finally {
      p.stop();
    }
    return ExitCode.ok;
  },
};

export default command;
