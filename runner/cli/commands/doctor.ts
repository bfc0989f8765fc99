import { ExitCode } from "../../errors.ts";
import { doctor, probePlatform } from "../../lab/doctor.ts";
import { findScenarioFiles, loadScenario, scenarioRoots } from "../../scenario/load.ts";
import { type Command } from "../command.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "json"] as const;

const command: Command = {
  name: "doctor",
  summary: "Check that this machine can run labs, and say how to fix what is missing.",
  usage: "labrun doctor [SCENARIO...] [-o text|json]",
  description:
    "Runs the host checks of `labrun start` without creating anything: Docker, kind, free memory, inotify limits, and the images the scenarios need " +
    "(all scenarios found, or the SCENARIOs named). Each failure comes with the command that fixes it. Exit 0 when the machine is ready, 3 otherwise.",
  options: {
    output: outputOption(FORMATS),
  },
  args: { min: 0, max: Infinity },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "doctor");
    const refs = args.positionals.length ? args.positionals : await findScenarioFiles(scenarioRoots({ cwd: io.cwd, env: io.env }));
    const scenarios = await Promise.all(refs.map((ref) => loadScenario(ref, { cwd: io.cwd })));
    const result = await doctor({ scenarios, env: io.env });
    const ok = result.checks.every((c) => c.ok);
    if (format === "json") {
      const checks = result.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail, ...(c.warning ? { warning: c.warning } : {}), ...(c.error ? { error: c.error.message, fix: c.error.hint } : {}) }));
      io.stdout.write(JSON.stringify({ ok, checks, probe: result.probe, images: result.images, mode: result.mode }, null, 2) + "\n");
      return ok ? ExitCode.ok : ExitCode.infrastructure;
    }
    const lines: string[] = [];
    for (const c of result.checks) {
      lines.push(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(9)}${c.error ? c.error.message : c.detail}`);
      if (c.warning) lines.push(`               warning: ${c.warning}`);
      if (c.error?.hint) lines.push(`               fix: ${c.error.hint}`);
    }
    lines.push(
      result.probe.source === "package"
        ? `ok    probe    made by labrun from its packaged binary (${probePlatform(result.probe.binary)}); no registry needed`
        : `ok    probe    from the local Docker (${result.probe.image}); \`npm run build:probe\` makes labrun build it from a binary instead`,
    );
    lines.push(`${result.mode.mode === "none" ? "FAIL" : "ok  "}  ${"start".padEnd(9)}${result.mode.mode === "none" ? "no way to get images" : `images ${result.mode.mode}`}: ${result.mode.reason}`);
    lines.push(`               ${result.mode.mode === "none" ? "fix" : "run"}: ${result.mode.command}`);
    lines.push(ok ? "ready: `labrun start <scenario>` can run here" : "not ready: fix the FAIL lines above, then run `labrun doctor` again");
    io.stdout.write(lines.join("\n") + "\n");
    return ok ? ExitCode.ok : ExitCode.infrastructure;
  },
};

export default command;
