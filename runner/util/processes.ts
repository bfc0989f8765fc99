/**
 * Host processes, for the few places labrun must find or stop a process it
 * started but lost (a `kind create` whose labrun was killed): the process
 * table, process groups and a bounded stop.
 *
 * Child commands that may outlive labrun (kind create) run in their own
 * process group ({@link trackGroup}); a second Ctrl-C, which exits without
 * the normal cleanup, still ends them ({@link killTrackedGroupsSync}).
 */
import { readFileSync } from "node:fs";
import { promises as fs } from "node:fs";
import { execa } from "execa";
import { sleep } from "./sleep.ts";

export interface ProcessInfo {
  pid: number;
  /** Its process group (equal to pid for a group leader). */
  pgid: number;
  /** Its argv. */
  args: string[];
}

/** The process table, as an injectable seam (tests pass a fake one). */
export interface ProcessTable {
  list(): Promise<ProcessInfo[]>;
  /** Whether the process exists and is not a zombie. */
  alive(pid: number): boolean;
  /** Signal a process (`pid`) or a group (`-pgid`); a vanished one is not an error. */
  kill(pid: number, signal: NodeJS.Signals): void;
}

/** The host's processes: /proc on Linux, `ps` elsewhere. */
export const hostProcesses: ProcessTable = {
  async list() {
    if (process.platform === "linux") return listProc();
    const { stdout } = await execa("ps", ["-Ao", "pid=,pgid=,args="], { reject: false, timeout: 10_000 });
    return stdout
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[3]!.split(/\s+/) }));
  },
  alive(pid) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      return (error as { code?: string }).code === "EPERM";
    }
    if (process.platform !== "linux") return true;
    try {
      return procState(readFileSync(`/proc/${pid}/stat`, "utf8")).state !== "Z"; // a zombie is dead, only not reaped
    } catch {
      return false;
    }
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  },
};

async function listProc(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [cmdline, stat] = await Promise.all([fs.readFile(`/proc/${entry}/cmdline`, "utf8"), fs.readFile(`/proc/${entry}/stat`, "utf8")]);
      const { state, pgid } = procState(stat);
      if (state === "Z" || !cmdline) continue;
      out.push({ pid: Number(entry), pgid, args: cmdline.replace(/\0$/, "").split("\0") });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** `/proc/<pid>/stat`: `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses. */
export function procState(stat: string): { state: string; pgid: number } {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", pgid: Number(rest[2]) };
}

/**
 * Stops a process and its group (when it leads one): SIGTERM, then SIGKILL
 * after `graceMs`; resolves true once it is gone, false when it outlived
 * `graceMs` after the SIGKILL too.
 */
export async function stopProcess(target: Pick<ProcessInfo, "pid" | "pgid">, options: { table?: ProcessTable; graceMs?: number; pollMs?: number } = {}): Promise<boolean> {
  const table = options.table ?? hostProcesses;
  const graceMs = options.graceMs ?? 5_000;
  const pollMs = options.pollMs ?? 100;
  const id = target.pgid === target.pid ? -target.pid : target.pid;
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    table.kill(id, signal);
    for (let waited = 0; waited < graceMs; waited += pollMs) {
      if (!table.alive(target.pid)) return true;
      await sleep(pollMs);
    }
  }
  return !table.alive(target.pid);
}

/** Process groups this process started and has not seen end. */
const groups = new Set<number>();

export function trackGroup(pid: number): void {
  groups.add(pid);
}

export function untrackGroup(pid: number): void {
  groups.delete(pid);
}

/** SIGTERMs every tracked process group, synchronously (a second Ctrl-C); returns their pids. */
export function killTrackedGroupsSync(table: Pick<ProcessTable, "kill"> = hostProcesses): number[] {
  const killed = [...groups];
  for (const pid of killed) table.kill(-pid, "SIGTERM");
  groups.clear();
  return killed;
}
