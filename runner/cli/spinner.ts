/**
 * The one spinner: a transient status line on a TTY, redrawn every 100 ms,
 * that other output clears first. Off a TTY every call does nothing.
 */
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface Spinner {
  /** Redraw every 100 ms from now on (once started, further calls do nothing). */
  start(): void;
  /** Draw the line now; `line` may return undefined for nothing to show. */
  draw(): void;
  /** Clear the line (before printing anything else). */
  clear(): void;
  /** Stop redrawing (the line stays until cleared). */
  stop(): void;
}

export function spinner(out: NodeJS.WritableStream, tty: boolean, line: (frame: string) => string | undefined): Spinner {
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!tty) return;
    const text = line(FRAMES[frame % FRAMES.length]!);
    if (text === undefined) return;
    frame++;
    out.write(`\r\u001b[2K${text}`);
  };
  return {
    start() {
      if (!tty || timer) return;
      timer = setInterval(draw, 100);
      timer.unref?.();
    },
    draw,
    clear() {
      if (tty) out.write("\r\u001b[2K");
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
