/**
 * What `labrun serve` needs from the lab layer, as one small interface: the
 * HTTP layer (server.ts, labs.ts) is tested against a fake, and
 * `libraryBackend` wires it to the same library functions the CLI uses.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { down } from "../lab/down.ts";
import type { LabEventListener } from "../lab/events.ts";
import { gradeLab } from "../lab/grade.ts";
import { start } from "../lab/start.ts";
import { LabStore, type LabAttempt } from "../lab/state.ts";
import { parseReport } from "../report/validate.ts";
import { findScenarioFiles, scenarioRoots, validateScenarioFile } from "../scenario/load.ts";
import type { ScenarioSummary } from "../schema/api.ts";
import type { Report } from "../schema/report.ts";

export interface ServedScenario {
  summary: ScenarioSummary;
  /** Absolute path of its scenario.yaml. */
  file: string;
}

export interface LabBackend {
  /** The valid scenarios (invalid ones are left out). */
  scenarios(): Promise<ServedScenario[]>;
  /** Starts a lab named `name`; resolves with its task (Markdown) once it is ready. Cleans up after itself when it fails or `signal` aborts. */
  start(options: { file: string; name: string; signal: AbortSignal; onEvent: LabEventListener }): Promise<{ task: string }>;
  /** Grades the lab and records the attempt; a failed grade is a report, a fault throws. */
  grade(options: { name: string; signal?: AbortSignal }): Promise<Report>;
  attempts(name: string): Promise<LabAttempt[]>;
  /** The report of one attempt, or undefined when there is none. */
  report(name: string, attempt: number): Promise<Report | undefined>;
  /** Deletes the lab and its cluster; a lab that is not there is not an error. */
  down(name: string): Promise<void>;
}

export interface LibraryBackendOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Scenario folders to serve (default: as `labrun list`). */
  roots?: string[];
}

export function libraryBackend(options: LibraryBackendOptions = {}): LabBackend {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const store = new LabStore({ env });
  const roots = options.roots ?? scenarioRoots({ cwd, env });
  return {
    async scenarios() {
      const out: ServedScenario[] = [];
      for (const file of await findScenarioFiles(roots)) {
        const { scenario } = await validateScenarioFile(file);
        if (!scenario || scenario.metadata.name !== dirname(file).split("/").pop()) continue;
        const m = scenario.metadata;
        out.push({
          file,
          summary: { name: m.name, title: m.title, summary: m.summary, difficulty: m.difficulty, estimatedMinutes: m.estimatedMinutes, nodes: scenario.spec.cluster.nodes.length, checks: scenario.spec.checks.length },
        });
      }
      return out;
    },
    async start({ file, name, signal, onEvent }) {
      const result = await start({ scenario: file, name, signal, onEvent, env, cwd, store });
      return { task: result.task };
    },
    async grade({ name, signal }) {
      const { report } = await gradeLab({ lab: name, env, cwd, store, ...(signal ? { signal } : {}) });
      return report;
    },
    async attempts(name) {
      return (await store.get(name))?.attempts ?? [];
    },
    async report(name, attempt) {
      const found = (await store.get(name))?.attempts.find((a) => a.attempt === attempt);
      return found ? parseReport(await readFile(found.reportFile, "utf8"), found.reportFile) : undefined;
    },
    async down(name) {
      await down({ name, env, cwd, store });
    },
  };
}
