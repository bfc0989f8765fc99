import { UsageError } from "../../errors.ts";
import { resolveLab } from "../../lab/client.ts";
import { LabStore } from "../../lab/state.ts";
import type { Command } from "../command.ts";
import { runInteractive } from "./node.ts";

const command: Command = {
  name: "shell",
  summary: "Open a shell (or run a command) with the lab's KUBECONFIG.",
  usage: "labrun shell [LAB] [-- COMMAND [ARG...]]",
  description:
    "Starts $SHELL with KUBECONFIG pointing at the lab's own kubeconfig. With a command after `--`, runs it instead and exits with its code, e.g. `labrun shell beebox-cni -- kubectl get nodes`. LAB may be left out when there is only one lab.",
  options: {},
  args: { min: 0, max: Infinity },
  async run(args, io) {
    const store = new LabStore({ env: io.env });
    // `labrun shell [LAB] [-- COMMAND...]`: what comes before `--` names the lab, what follows is the command.
    const split = args.beforeDashDash ?? args.positionals.length;
    if (split > 1) throw new UsageError(`unexpected argument "${args.positionals[1]}": usage: labrun shell [LAB] [-- COMMAND [ARG...]]`, { hint: "put the command after `--`" });
    const lab = await resolveLab(store, args.positionals[0] !== undefined && split === 1 ? args.positionals[0] : undefined);
    const command = args.positionals.slice(split);
    const env = { ...io.env, KUBECONFIG: lab.kubeconfig, LABRUN_LAB: lab.name };
    if (command.length === 0) {
      io.stderr.write(`lab ${lab.name}: KUBECONFIG=${lab.kubeconfig} (exit the shell to leave)\n`);
      return runInteractive(io.env.SHELL || "/bin/sh", [], env);
    }
    return runInteractive(command[0]!, command.slice(1), env);
  },
};

export default command;
