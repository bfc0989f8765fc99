import { ExitCode } from "../../errors.ts";
import path from "node:path";
import { poolStatus } from "../../lab/pool/manage.ts";
import { status, type LabStatusInfo } from "../../lab/status.ts";
import { startDied, type LabRecord } from "../../lab/state.ts";
import { type Command } from "../command.ts";
import { table } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "json"] as const;

const command: Command = {
  name: "status",
  summary: "Show labs and their clusters.",
  usage: "labrun status [LAB] [-o text|json]",
  description: "Without LAB, lists every lab. With LAB, also shows its nodes and whether they are Ready.",
  options: {
    output: outputOption(FORMATS),
  },
  args: { min: 0, max: 1 },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "status");
    const name = args.positionals[0];
    const infos = await status({ env: io.env, signal: io.signal, nodes: name !== undefined, ...(name ? { name } : {}) });
    if (format === "json") {
      io.stdout.write(JSON.stringify(name ? infos[0] : infos, null, 2) + "\n");
      return ExitCode.ok;
    }
    if (!name) {
      if (infos.length === 0) io.stderr.write("no labs; start one with `labrun start <scenario>`\n");
      else io.stdout.write(table(["LAB", "SCENARIO", "STATUS", "CLUSTER", "ATTEMPTS", "BEST", "AGE"], infos.map(row)));
      for (const s of await poolStatus({ env: io.env })) {
        if (!s.target && !s.ready && !s.warming) continue;
        io.stdout.write(`warm pool ${s.shape}${s.scenarioDir ? ` (${path.basename(s.scenarioDir)})` : ""}: ${s.ready} ready, ${s.warming} warming, size ${s.target}\n`);
      }
      return ExitCode.ok;
    }
    const info = infos[0]!;
    const lab = info.lab;
    const best = lab.attempts.reduce((m, a) => Math.max(m, a.percent), -1);
    const lines = [
      `lab:        ${lab.name}`,
      `scenario:   ${lab.scenario} (${lab.scenarioDir})`,
      `status:     ${statusOf(lab)}${lab.error ? ` (${lab.error})` : ""}`,
      `cluster:    ${lab.cluster} [${lab.provider}, ${info.cluster}]`,
      `kubeconfig: ${lab.kubeconfig} (context ${lab.context})`,
      `created:    ${lab.createdAt} (${age(lab.createdAt)} ago)`,
      `attempts:   ${lab.attempts.length}${best >= 0 ? `, best ${best}%` : ""}`,
    ];
    if (info.nodes) {
      lines.push("nodes:");
      for (const n of info.nodes) lines.push(`  ${n.name.padEnd(40)} ${n.role.padEnd(14)} ${n.ready ? "Ready" : "NotReady"}${n.reason ? `  ${n.reason}` : ""}`);
    } else if (info.nodesError) lines.push(`nodes:      unknown (${info.nodesError})`);
    io.stdout.write(lines.join("\n") + "\n");
    return ExitCode.ok;
  },
};

function row(info: LabStatusInfo): string[] {
  const lab = info.lab;
  const best = lab.attempts.reduce((m, a) => Math.max(m, a.percent), -1);
  return [lab.name, lab.scenario, statusOf(lab), `${lab.cluster} (${info.cluster})`, String(lab.attempts.length), best >= 0 ? `${best}%` : "-", age(lab.createdAt)];
}

/** `creating (died)` for a start whose process is gone: `labrun gc` or `labrun down` removes it. */
function statusOf(lab: LabRecord): string {
  return startDied(lab) ? "creating (died)" : lab.status;
}

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export default command;
