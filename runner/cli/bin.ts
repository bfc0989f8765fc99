#!/usr/bin/env node
/**
 * The `labrun` executable. SIGINT/SIGTERM abort the running command through
 * its AbortSignal (so `start` can delete a half-made cluster); a second signal
 * exits at once with 130.
 */
import { enableCompileCache } from "node:module";

// Keep compiled code (and Node's TypeScript stripping) between runs: start-up is a good part of a
// short command such as `labrun grade`. Best effort; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
try {
  enableCompileCache();
} catch {
  // an unwritable cache directory only costs time
}
const { ExitCode } = await import("../errors.ts");
const { main } = await import("./main.ts");
const { releaseHeldLocksSync } = await import("../util/file-lock.ts");
const { killTrackedGroupsSync } = await import("../util/processes.ts");

// --debug reaches every layer (the API client prints its calls when LABRUN_DEBUG is set).
if (process.argv.includes("--debug")) process.env.LABRUN_DEBUG = "1";

const controller = new AbortController();
let signals = 0;
let finished = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals++;
    // The command is done and Node is winding down: leave with its exit code now (see below).
    if (finished) process.exit();
    if (signals > 1) {
      // No cleanup, but never a held lock (kubectl would refuse a kubeconfig with a `.lock` left beside it)
      // and never a `kind create` left running in its own process group, racing `labrun gc`.
      killTrackedGroupsSync();
      const released = releaseHeldLocksSync();
      process.stderr.write(`\n${signal} again: exiting without cleanup${released.length ? ` (released ${released.join(", ")})` : ""}; \`labrun gc\` removes what a stopped command left\n`);
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write(`\n${signal}: stopping (press Ctrl-C again to exit at once)\n`);
    controller.abort(signal);
  });
}

const code = await main(process.argv.slice(2), { signal: controller.signal });
process.exitCode = controller.signal.aborted && code !== ExitCode.ok ? ExitCode.interrupted : code;
finished = true;
if (signals > 0) {
  // Interrupted: exit now rather than let Node wind down. While it winds down it closes its signal
  // handlers, and a second Ctrl-C landing then would kill the process by SIGINT instead of exit 130.
  // (Output is already written: stdout and stderr are synchronous on Linux for files, pipes and TTYs.)
  process.exit();
}
