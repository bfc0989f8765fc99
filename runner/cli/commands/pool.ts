import { ExitCode, UsageError } from "../../errors.ts";
import { fill, MAX_POOL_SIZE } from "../../lab/pool/fill.ts";
import { drain, poolStatus } from "../../lab/pool/manage.ts";
import { KindProvider } from "../../providers/kind.ts";
import { bool, str, type Command } from "../command.ts";
import { progress } from "../lab-progress.ts";
import { table } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";
import { IMAGE_OPTIONS, imageEnv } from "../image-options.ts";

const FORMATS = ["text", "json"] as const;
const ACTIONS = ["fill", "drain", "status"] as const;

const command: Command = {
  name: "pool",
  summary: "Keep warm clusters ready, so `labrun start` takes seconds.",
  usage: "labrun pool fill --scenario SCENARIO --size N | labrun pool drain [--shape KEY] | labrun pool status [-o text|json]",
  description: `
A warm pool holds kind clusters created ahead of time for a scenario's cluster
shape (nodes and roles, CNI on or off, subnets, Kubernetes version, kind
settings), with the scenario's images already loaded. \`labrun start\` claims a
ready cluster of its scenario's shape when there is one (then runs only the
setup and break steps and verifies the broken state), and starts a background
\`labrun pool fill\` to replace it.

  fill    create clusters until SIZE of the shape are ready or warming; stops
          early when the host would not have memory left for one more lab
  drain   delete the ready pool clusters and forget the sizes (no more refills)
  status  the pool by shape: size, ready, warming, claimed

\`labrun status\` shows the pool too; \`labrun gc\` removes pool clusters whose
fill died.`,
  options: {
    scenario: { type: "string", value: "SCENARIO", description: "fill: the scenario whose cluster shape (and images) to keep warm." },
    size: { type: "string", value: "N", description: `fill: how many clusters of that shape to keep ready (0-${MAX_POOL_SIZE}).` },
    shape: { type: "string", value: "KEY", description: "drain: only this shape (see `labrun pool status`)." },
    ...IMAGE_OPTIONS,
    output: outputOption(FORMATS),
  },
  args: { min: 1, max: 1 },
  async run(args, io) {
    const action = args.positionals[0] as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) throw new UsageError(`unknown pool action "${args.positionals[0]}"`, { hint: `use one of: ${ACTIONS.join(", ")}` });
    const format = outputFormat(args, FORMATS, "pool");
    const debug = bool(args, "debug") || io.env.LABRUN_DEBUG === "1";
    if (action === "status") {
      const shapes = await poolStatus({ env: io.env });
      if (format === "json") io.stdout.write(JSON.stringify(shapes, null, 2) + "\n");
      else if (!shapes.length) io.stderr.write("the pool is empty; fill it with `labrun pool fill --scenario <scenario> --size N`\n");
      else io.stdout.write(table(["SHAPE", "SIZE", "READY", "WARMING", "CLAIMED", "SCENARIO"], shapes.map((s) => [s.shape, String(s.target), String(s.ready), String(s.warming), String(s.claimed), s.scenarioDir ?? "-"])));
      return ExitCode.ok;
    }
    const p = progress(io, { debug });
    const kind = new KindProvider({ env: io.env });
    try {
      if (action === "drain") {
        const deleted = await drain({ env: io.env, signal: io.signal, onEvent: p.listener, kind, ...(str(args, "shape") ? { shape: str(args, "shape")! } : {}) });
        p.stop();
        io.stdout.write(deleted.length ? `deleted ${deleted.length} pool cluster${deleted.length > 1 ? "s" : ""}: ${deleted.join(", ")}\n` : "no ready pool clusters\n");
        return ExitCode.ok;
      }
      const scenario = str(args, "scenario");
      const size = str(args, "size");
      if (!scenario || size === undefined) throw new UsageError("pool fill needs --scenario and --size", { hint: "e.g. `labrun pool fill --scenario beebox-cni --size 2`" });
      if (!/^\d+$/.test(size)) throw new UsageError(`--size must be a whole number (got "${size}")`);
      const result = await fill({ scenario, size: Number(size), env: imageEnv(args, io.env), cwd: io.cwd, signal: io.signal, onEvent: p.listener, kind });
      p.stop();
      if (format === "json") io.stdout.write(JSON.stringify(result, null, 2) + "\n");
      else io.stdout.write(`shape ${result.shape}: ${result.live} of ${size} ready or warming${result.created.length ? ` (created ${result.created.join(", ")})` : ""}${result.stopped ? `; stopped: ${result.stopped}` : ""}\n`);
      return ExitCode.ok;
    } finally {
      p.stop();
    }
  },
};

export default command;
