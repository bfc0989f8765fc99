import { spawn } from "node:child_process";
import { ExitCode, InfraError, NotFoundError, UsageError } from "../../errors.ts";
import { providerFor, resolveLab } from "../../lab/client.ts";
import { LabStore } from "../../lab/state.ts";
import { resolveNode, type NodeInfo } from "../../cluster/nodes.ts";
import type { Command } from "../command.ts";

const command: Command = {
  name: "node",
  summary: "Open a root shell (or run a command) on a lab's node.",
  usage: "labrun node <LAB> <NODE> [-- COMMAND [ARG...]]",
  description:
    "NODE is a node name or a short name: `control-plane`, `worker`, `worker2`, ... (kind nodes are containers: this is `docker exec -it <node> bash`). With a command after `--`, runs it instead, e.g. `labrun node beebox-cni worker -- ls /etc/cni/net.d`.",
  options: {},
  args: { min: 2, max: Infinity },
  async run(args, io) {
    const [labName, nodeRef, ...cmd] = args.positionals as [string, string, ...string[]];
    const store = new LabStore({ env: io.env });
    const lab = await resolveLab(store, labName);
    const provider = providerFor(lab, { env: io.env });
    if (!provider.capabilities().nodeShell || !provider.interactiveCommand) {
      throw new UsageError(`lab "${lab.name}" runs on a cluster labrun did not create: it has no shell on nodes`);
    }
    // Providers with node shells name their nodes themselves (kind: `kind get nodes`), without the API.
    const nodes: NodeInfo[] = (await provider.nodes(lab.cluster)).map((name) => ({ name, labels: {} }));
    if (nodes.length === 0) throw new InfraError(`lab "${lab.name}" has no running nodes`, { hint: `see \`labrun status ${lab.name}\`` });
    const node = resolveNode(nodeRef, nodes);
    if (!node) {
      const short = nodes.map((n) => (n.name.startsWith(`${lab.cluster}-`) ? n.name.slice(lab.cluster.length + 1) : n.name));
      throw new NotFoundError(`lab "${lab.name}" has no node "${nodeRef}"`, { hint: `nodes: ${short.join(", ")}` });
    }
    const tty = process.stdin.isTTY === true && cmd.length === 0;
    const { file, args: argv } = provider.interactiveCommand(lab.cluster, node.name, cmd, { tty });
    return runInteractive(file, argv, io.env);
  },
};

/**
 * Runs a command with inherited stdio and resolves to its exit code. While it
 * runs, Ctrl-C belongs to it (the terminal sends SIGINT to both processes):
 * labrun's own SIGINT handling is set aside so two Ctrl-Cs in the shell do not
 * end labrun; SIGTERM is passed on to the child.
 */
export function runInteractive(file: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const saved = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  return new Promise<number>((resolve, reject) => {
    const child = spawn(file, argv, { stdio: "inherit", env });
    process.on("SIGINT", () => undefined);
    process.on("SIGTERM", () => child.kill("SIGTERM"));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") reject(new InfraError(`${file} not found`, { hint: `install ${file} or put it on PATH` }));
      else reject(error);
    });
    child.on("close", (code, sig) => resolve(code ?? (sig ? 128 + (SIGNALS[sig] ?? 1) : ExitCode.ok)));
  }).finally(() => {
    process.removeAllListeners("SIGINT");
    process.removeAllListeners("SIGTERM");
    for (const l of saved.SIGINT) process.on("SIGINT", l as () => void);
    for (const l of saved.SIGTERM) process.on("SIGTERM", l as () => void);
  });
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export default command;
