import { resolveLab } from "../../lab/lifecycle.ts";
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
    const [first, ...rest] = args.positionals;
    // `labrun shell LAB -- cmd`, or `labrun shell -- cmd` when there is one lab.
    const named = first !== undefined && (await store.get(first).catch(() => undefined)) !== undefined;
    const lab = named ? await store.require(first!) : first !== undefined && !(await soleLab(store)) ? await store.require(first) : await resolveLab(store, undefined);
    const command = named ? rest : args.positionals;
    const env = { ...io.env, KUBECONFIG: lab.kubeconfig, LABRUN_LAB: lab.name };
    if (command.length === 0) {
      io.stderr.write(`lab ${lab.name}: KUBECONFIG=${lab.kubeconfig} (exit the shell to leave)\n`);
      return runInteractive(io.env.SHELL || "/bin/sh", [], env);
    }
    return runInteractive(command[0]!, command.slice(1), env);
  },
};

async function soleLab(store: LabStore): Promise<boolean> {
  return (await store.list()).length === 1;
}

export default command;
