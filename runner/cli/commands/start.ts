import { ExitCode, UsageError } from "../../errors.ts";
import { stateDir } from "../../lab/state.ts";
import { spawnRefill } from "../../lab/pool/refill.ts";
import { start, type StartResult } from "../../lab/start.ts";
import { KindProvider } from "../../providers/kind.ts";
import { formatDuration } from "../../util/duration.ts";
import { bool, str, type Command, type CommandIO } from "../command.ts";
import { progress } from "../lab-progress.ts";
import { useColor } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";
import { IMAGE_OPTIONS, imageEnv } from "../image-options.ts";

const FORMATS = ["text", "json"] as const;

const command: Command = {
  name: "start",
  summary: "Create a lab: a broken cluster and its task.",
  usage: "labrun start <SCENARIO> [--name LAB] [--online|--offline] [--registry-mirror URL] [--retain] [--merge-kubeconfig] [--no-pool] [--no-refill] [-o text|json]",
  description: `
Creates the scenario's kind cluster (named labrun-<LAB>) with its own kubeconfig,
loads its images, runs its setup and break steps, checks that it is broken the
way the scenario says, then prints the task and how to reach the cluster.
Ctrl-C deletes the half-made cluster (unless --retain).

When the warm pool (\`labrun pool\`) holds a ready cluster of the scenario's
shape, start claims it instead of creating one (seconds instead of a minute),
and a background \`labrun pool fill\` replaces it; --no-pool always creates.

Images come one of two ways: offline (built by \`npm run images\`, side-loaded
into the nodes) or online (kind's published node image, the rest pulled by the
nodes, through --registry-mirror when given). start picks offline when the
offline images are present and online when they are not and a registry
answers within a few seconds, and says which it used; --online/--offline decide.

With --kubeconfig/--context, labrun uses that existing cluster instead of
creating one (no node commands, no image loading).`,
  options: {
    name: { type: "string", value: "LAB", description: "The lab's name (default: the scenario's name); its cluster is labrun-LAB." },
    retain: { type: "boolean", description: "Keep the cluster if start fails or is interrupted (for debugging)." },
    "merge-kubeconfig": { type: "boolean", description: "Also add the lab's context (labrun-LAB) to your kubeconfig ($KUBECONFIG or ~/.kube/config)." },
    kubeconfig: { type: "string", value: "FILE", description: "Use the existing cluster of this kubeconfig instead of creating one." },
    context: { type: "string", value: "NAME", description: "The context of --kubeconfig to use (default: its current context)." },
    "no-pool": { type: "boolean", description: "Create a new cluster even when the warm pool has one ready." },
    "no-refill": { type: "boolean", description: "After claiming a warm cluster, do not start a background `labrun pool fill`." },
    ...IMAGE_OPTIONS,
    "skip-preflight": { type: "boolean", description: "Do not check Docker, kind, memory and inotify limits first." },
    output: outputOption(FORMATS),
  },
  args: { min: 1, max: 1 },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "start");
    if (str(args, "context") && !str(args, "kubeconfig")) throw new UsageError("--context needs --kubeconfig");
    const env = imageEnv(args, io.env);
    const debug = bool(args, "debug") || io.env.LABRUN_DEBUG === "1";
    const p = progress(io, { debug });
    const kind = new KindProvider({ env, ...(debug ? { onCommand: (line: string) => p.listener({ type: "log", phase: "cluster", line: line.startsWith("  ↳") ? line : `$ ${line}` }) } : {}) });
    const kubeconfig = str(args, "kubeconfig");
    const context = str(args, "context");
    let result: StartResult;
    try {
      result = await start({
        scenario: args.positionals[0]!,
        ...(str(args, "name") ? { name: str(args, "name")! } : {}),
        retain: bool(args, "retain"),
        mergeKubeconfig: bool(args, "merge-kubeconfig"),
        skipPreflight: bool(args, "skip-preflight"),
        pool: !bool(args, "no-pool") && !kubeconfig,
        ...(kubeconfig ? { existing: { kubeconfig, ...(context ? { context } : {}) } } : {}),
        env,
        cwd: io.cwd,
        signal: io.signal,
        onEvent: p.listener,
        kind,
      });
    } finally {
      p.stop();
    }
    // A claim refills the pool in the background (only from the labrun executable: never spawn a test runner).
    const bin = process.argv[1];
    if (result.lab.pool && !bool(args, "no-refill") && bin && /(^|[\\/])(bin\.[jt]s|labrun)$/.test(bin)) {
      const pid = await spawnRefill({ stateDir: stateDir(io.env), shape: result.lab.pool.shape, bin, env: io.env }).catch(() => undefined);
      if (pid && debug) io.stderr.write(`refilling the warm pool in the background (process ${pid})\n`);
    }
    if (format === "json") {
      io.stdout.write(
        JSON.stringify(
          {
            lab: result.lab,
            nodes: result.nodes.map((n) => n.name),
            kubeconfig: result.lab.kubeconfig,
            context: result.lab.context,
            ...(result.merged ? { merged: result.merged } : {}),
            brokenVerified: result.brokenVerified,
            durationMs: result.durationMs,
            task: result.task,
          },
          null,
          2,
        ) + "\n",
      );
      return ExitCode.ok;
    }
    io.stdout.write(readyText(result, io));
    return ExitCode.ok;
  },
};

export function readyText(result: StartResult, io: Pick<CommandIO, "stdout" | "env">): string {
  const color = useColor(io.stdout, io.env);
  const bold = (s: string) => (color ? `\u001b[1m${s}\u001b[22m` : s);
  const name = result.lab.name;
  const worker = result.nodes.find((n) => n.name.endsWith("-worker"))?.name.slice(result.lab.cluster.length + 1);
  const nodeRef = result.lab.provider === "kind" ? (worker ?? "control-plane") : undefined;
  const rows: [string, string][] = [
    [`export KUBECONFIG=${result.lab.kubeconfig}`, "use the lab's cluster in this shell"],
    ...(result.merged ? ([[`kubectl config use-context ${result.merged.context}`, `or switch to the context merged into ${result.merged.file}`]] as [string, string][]) : []),
    [`labrun shell ${name}`, "a shell with KUBECONFIG set"],
    ...(nodeRef ? ([[`labrun node ${name} ${nodeRef}`, "a root shell on a node"]] as [string, string][]) : []),
    [`labrun grade ${name}`, "grade your fix"],
    [`labrun down ${name}`, "delete the lab"],
  ];
  const width = Math.max(...rows.map(([c]) => c.length)) + 3;
  return [
    "",
    result.task.trimEnd(),
    "",
    bold(`Lab "${name}" is ready (${formatDuration(result.durationMs)}).`),
    `  nodes: ${result.nodes.map((n) => n.name).join(", ")}`,
    ...(result.lab.images ? [`  images: ${result.lab.images.mode} (${result.lab.images.reason}${result.lab.images.mirror ? `; mirror ${result.lab.images.mirror}` : ""})`] : []),
    ...rows.map(([c, d]) => `  ${c.padEnd(width)}${d}`),
    "",
  ].join("\n");
}

export default command;
