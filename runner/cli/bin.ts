#!/usr/bin/env node
/**
 * The `labrun` executable. SIGINT/SIGTERM abort the running command through
 * its AbortSignal (so `start` can delete a half-made cluster); a second signal
 * exits at once with 130.
 */
import { ExitCode } from "../errors.ts";
import { main } from "./main.ts";

const controller = new AbortController();
let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${signal} again: exiting without cleanup\n`);
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`\n${signal}: stopping (press Ctrl-C again to exit at once)\n`);
    controller.abort(signal);
  });
}

const code = await main(process.argv.slice(2), { signal: controller.signal });
process.exitCode = controller.signal.aborted && code !== ExitCode.ok ? ExitCode.interrupted : code;
