/**
 * Progress lines for lifecycle events on stderr: a spinner with the running
 * step on a TTY, one plain line per finished step otherwise. Each line ends
 * with the step's duration.
 */
import type { LabEvent, LabEventListener } from "../lab/events.ts";
import { formatDuration } from "../util/duration.ts";
import type { CommandIO } from "./command.ts";
import { useColor } from "./output.ts";
import { spinner } from "./spinner.ts";

export interface Progress {
  listener: LabEventListener;
  /** Stop the spinner (call before printing anything else). */
  stop(): void;
}

export function progress(io: Pick<CommandIO, "stderr" | "env">, options: { debug?: boolean; tty?: boolean } = {}): Progress {
  const out = io.stderr;
  const tty = options.tty ?? (out.isTTY === true && io.env.TERM !== "dumb" && !io.env.CI);
  const color = useColor(out, io.env);
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const ok = paint("32", "✓");
  const failed = paint("31", "✗");
  const skipped = paint("33", "-");
  let current: { name: string; since: number } | undefined;
  const spin = spinner(out, tty, (frame) => {
    if (!current) return undefined;
    const secs = Math.floor((performance.now() - current.since) / 1000);
    return `${paint("36", frame)} ${current.name}${secs ? paint("2", ` ${secs}s`) : ""}`;
  });
  const clear = () => {
    if (current) spin.clear();
  };
  const draw = spin.draw;
  const stop = () => {
    spin.stop();
    clear();
    current = undefined;
  };

  const listener = (event: LabEvent) => {
    switch (event.type) {
      case "step-start":
        clear();
        current = { name: event.name, since: performance.now() };
        draw();
        spin.start();
        break;
      case "step-end": {
        stop();
        const mark = event.status === "ok" ? ok : event.status === "failed" ? failed : skipped;
        const detail = event.detail ? paint("2", `  ${event.detail}`) : event.status === "skipped" ? "  (skipped)" : "";
        out.write(`${mark} ${event.name} ${paint("2", `(${formatDuration(event.durationMs)})`)}${detail}\n`);
        break;
      }
      case "warning":
        clear();
        out.write(`${paint("33", "warning:")} ${event.message}\n`);
        draw();
        break;
      case "log":
        if (options.debug) {
          clear();
          out.write(paint("2", `  ${event.line}`) + "\n");
          draw();
        }
        break;
    }
  };
  return { listener, stop };
}
