import { ExitCode } from "../../errors.ts";
import { gc } from "../../lab/gc.ts";
import { bool, type Command } from "../command.ts";
import { progress } from "../lab-progress.ts";

const command: Command = {
  name: "gc",
  summary: "Remove leftover clusters and stale labs.",
  usage: "labrun gc [--dry-run]",
  description:
    "Deletes kind clusters labrun created whose lab is gone (an interrupted start, a lost state directory), forgets labs whose cluster is gone, and removes hosts outside the cluster (spec.outside) whose cluster is gone. Clusters labrun did not create are never touched.",
  options: {
    "dry-run": { type: "boolean", description: "Only say what would be removed." },
  },
  args: { min: 0, max: 0 },
  async run(args, io) {
    const dryRun = bool(args, "dry-run");
    const p = progress(io, { debug: bool(args, "debug") });
    let result;
    try {
      result = await gc({ env: io.env, signal: io.signal, onEvent: p.listener, dryRun });
    } finally {
      p.stop();
    }
    const verb = dryRun ? "would remove" : "removed";
    if (result.creators.length) io.stdout.write(`${dryRun ? "would stop" : "stopped"} orphaned \`kind create\` of: ${result.creators.join(", ")}\n`);
    if (result.clusters.length) io.stdout.write(`${verb} cluster${result.clusters.length > 1 ? "s" : ""}: ${result.clusters.join(", ")}\n`);
    if (result.labs.length) io.stdout.write(`${verb} lab${result.labs.length > 1 ? "s" : ""} without a cluster: ${result.labs.join(", ")}\n`);
    if (result.outside.length) io.stdout.write(`${verb} host${result.outside.length > 1 ? "s" : ""} outside a deleted cluster: ${result.outside.join(", ")}\n`);
    for (const k of result.kept) io.stderr.write(`kept ${k.cluster}: ${k.reason}\n`);
    if (!result.clusters.length && !result.labs.length && !result.outside.length && !result.creators.length) io.stdout.write("nothing to clean up\n");
    return ExitCode.ok;
  },
};

export default command;
