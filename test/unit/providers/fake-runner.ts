import type { CommandRunner, RunOptions, RunResult } from "../../../runner/providers/exec.ts";

export interface Call {
  file: string;
  args: string[];
  options: RunOptions;
}

/** A scripted CommandRunner: each rule matches a command line (as one string) and returns a result. */
export function fakeRunner(rules: [RegExp | string, Partial<RunResult> | ((call: Call) => Partial<RunResult> | Promise<Partial<RunResult>>)][] = []) {
  const calls: Call[] = [];
  const run: CommandRunner = async (file, args, options = {}) => {
    const call = { file, args, options };
    calls.push(call);
    const line = [file, ...args].join(" ");
    for (const [match, result] of rules) {
      if (typeof match === "string" ? line.startsWith(match) : match.test(line)) {
        const r = typeof result === "function" ? await result(call) : result;
        return { exitCode: 0, stdout: "", stderr: "", ...r };
      }
    }
    return { exitCode: 0, stdout: "", stderr: "" };
  };
  return { run, calls, lines: () => calls.map((c) => [c.file, ...c.args].join(" ")) };
}
