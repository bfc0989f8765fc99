import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { ExitCode, UsageError } from "../../errors.ts";
import { cniRuns, testCniRuns } from "../../lab/cni-runs.ts";
import { testScenarios, type ScenarioTestEvent, type ScenarioTestOptions, type ScenarioTestResult } from "../../lab/scenario-test.ts";
import { allPassed, renderTestResults, TEST_FORMATS, type TestFormat } from "../../report/scenario-test.ts";
import { findScenarioFiles, loadScenario, scenarioRoots } from "../../scenario/load.ts";
import { bool, list, str, type Command } from "../command.ts";
import { progress } from "../lab-progress.ts";
import { displayPath, useColor } from "../output.ts";
import { outputFormat } from "../report-output.ts";
import { IMAGE_OPTIONS, imageEnv } from "../image-options.ts";

const EXTENSIONS: Record<string, TestFormat> = { ".json": "json", ".xml": "junit", ".md": "markdown", ".markdown": "markdown", ".txt": "text" };

const command: Command = {
  name: "test",
  summary: "Prove scenarios on real clusters: broken at start, unfooled by attacks and shortcuts, fixed by the solution.",
  usage: "labrun test [SCENARIO...] [--keep-on-failure] [--concurrency N] [--warm-ahead N] [--no-attacks] [--no-cni-runs] [--online|--offline] [-o FORMAT] [--report FILE]",
  description: `For each scenario (default: all), on kind clusters:
  broken state  start it and grade: exactly the checks in broken.failing fail;
  attacks       built-in attacks on the broken state (a hijacked network
                namespace, /etc/hosts and hostAliases entries, host networking,
                swapped images): no check in broken.failing passes;
  shortcuts     each declared shortcut: it does not pass;
  solution      apply the reference solution and grade: full marks;
  CNIs          for each other CNI in solution.cnis, on a fresh cluster with
                that CNI: broken state and solution again.
Attacks and shortcuts share the main cluster, each undone before the next
(shortcuts with run or addon steps get a fresh cluster). A check that could not
be evaluated never counts as failing: the phase fails with its reason.
Every phase runs and is reported even when an earlier one fails. Clusters are
deleted afterwards (--keep-on-failure keeps those of failed runs).
While the first runs judge their phases, the next queued run's cluster is
created ahead (--warm-ahead, default 1; at most concurrency + warm-ahead
clusters at once); each scenario's line ends with where its time went.
Exit code 0 when every scenario passes, 1 when one fails, 3 when a lab could not start.
With $GITHUB_STEP_SUMMARY set, the Markdown summary is appended to it.`,
  options: {
    "keep-on-failure": { type: "boolean", description: "Keep the clusters of failed runs for debugging." },
    concurrency: { type: "string", value: "N", description: "Runs (clusters in use) at once.", default: "1" },
    "warm-ahead": { type: "string", value: "N", description: "Clusters created ahead for queued runs (0: none).", default: "1" },
    "no-attacks": { type: "boolean", description: "Skip the attack suite (faster, proves less)." },
    "no-cni-runs": { type: "boolean", description: "Skip the runs on the other CNIs of solution.cnis." },
    ...IMAGE_OPTIONS,
    output: { type: "string", short: "o", value: "FORMAT", description: `Results on stdout: ${TEST_FORMATS.join(", ")}.`, default: "text" },
    report: { type: "string", multiple: true, value: "FILE", description: "Also write the results to FILE (.xml JUnit, .md, .json, .txt)." },
  },
  args: { min: 0, max: Infinity },
  async run(args, io) {
    const format = outputFormat(args, TEST_FORMATS, "test");
    const concurrency = Number(str(args, "concurrency"));
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) throw new UsageError(`--concurrency must be a whole number from 1 to 8 (found "${str(args, "concurrency")}")`);
    const warmAhead = Number(str(args, "warm-ahead"));
    if (!Number.isInteger(warmAhead) || warmAhead < 0 || warmAhead > 4) throw new UsageError(`--warm-ahead must be a whole number from 0 to 4 (found "${str(args, "warm-ahead")}")`);
    const files = list(args, "report").map((file) => {
      const fmt = EXTENSIONS[path.extname(file).toLowerCase()];
      if (!fmt) throw new UsageError(`cannot tell the format of "${file}" from its extension`, { hint: "use .xml (JUnit), .md, .json or .txt" });
      return { path: path.resolve(io.cwd, file), format: fmt };
    });
    const refs = args.positionals.length ? args.positionals : await findScenarioFiles(scenarioRoots({ cwd: io.cwd }));
    if (refs.length === 0) throw new UsageError("no scenarios to test", { hint: "pass scenario names or folders" });

    const shown = progress(io, { debug: bool(args, "debug") });
    let results: ScenarioTestResult[];
    const loaded = [];
    for (const ref of refs) loaded.push(await loadScenario(ref, { cwd: io.cwd }));
    const options: ScenarioTestOptions = {
      cwd: io.cwd,
      env: imageEnv(args, io.env),
      signal: io.signal,
      concurrency,
      warmAhead,
      keepOnFailure: bool(args, "keep-on-failure"),
      attacks: !bool(args, "no-attacks"),
      onEvent: (event: ScenarioTestEvent) => {
        if (event.type === "run-start") io.stderr.write(`── ${event.scenario}: ${/\(CNI /.test(event.scenario) ? "broken state and solution" : /^main(-[0-9a-f]{2})?$/.test(event.run) ? "broken state, attacks, shortcuts and solution" : `shortcut ${event.run}`} (lab ${event.lab})\n`);
        else if (event.type === "phase-start") {
          shown.stop();
          io.stderr.write(`· ${event.scenario}: ${event.name}\n`);
        }
        else if (event.type === "lab") {
          if (event.event.type !== "log" || bool(args, "debug")) shown.listener(event.event);
        } else if (event.type === "phase-end") {
          shown.stop();
          const mark = { passed: "✓", failed: "✗", error: "!", skipped: "–" }[event.phase.status];
          io.stderr.write(`${mark} ${event.scenario}: ${event.phase.name}: ${event.phase.message}\n`);
        }
      },
    };
    try {
      results = await testScenarios(loaded, options);
      if (!bool(args, "no-cni-runs")) await testCniRuns(loaded.flatMap(cniRuns), results, options);
    } finally {
      shown.stop();
    }

    io.stdout.write(renderTestResults(results, format, { color: format === "text" && useColor(io.stdout, io.env) }));
    const unwritten: string[] = [];
    for (const file of files) {
      try {
        await mkdir(path.dirname(file.path), { recursive: true });
        await writeFile(file.path, renderTestResults(results, file.format));
        io.stderr.write(`wrote ${file.format} results to ${displayPath(file.path, io)}\n`);
      } catch (error) {
        unwritten.push(`${displayPath(file.path, io)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const summary = io.env.GITHUB_STEP_SUMMARY;
    if (summary && io.env.LABRUN_STEP_SUMMARY !== "0") {
      await appendFile(summary, renderTestResults(results, "markdown") + "\n").catch((e: unknown) => io.stderr.write(`warning: could not append to GITHUB_STEP_SUMMARY: ${String(e)}\n`));
    }
    if (unwritten.length) throw new UsageError(`could not write the results to ${unwritten.join("; ")}`, { hint: "check that the directory is writable, or pick another path with --report" });
    if (allPassed(results)) return ExitCode.ok;
    return results.some((r) => r.phases.some((p) => p.status === "error")) ? ExitCode.infrastructure : ExitCode.checksFailed;
  },
};

export default command;
