/**
 * kind on the host, beyond its command lines: the `kind create` processes
 * running (found by their command line, see KindProvider.creators) and the
 * bounds of the logs kept from a failed create; the deadlines of its calls
 * and what its (and docker's) failures mean.
 */
import path from "node:path";
import type { ProcessInfo } from "../util/processes.ts";

/** How many directories of kept kind logs stay in a logs folder, and how much of each file. */
export const LOG_DIRS_KEPT = 5;
export const LOG_FILE_MAX_BYTES = 256 * 1024;

/** A `kind create cluster` process on this host (see {@link KindProvider.creators}). */
export interface KindCreator {
  pid: number;
  pgid: number;
  cluster: string;
  /** Its `--kubeconfig` (labrun's lab directory tells which lab it creates). */
  kubeconfig?: string;
}

/** Every `kind create cluster` among these processes (labrun's or not), with its cluster and `--kubeconfig`. */
export function creatorsIn(processes: ProcessInfo[], kindBin: string): KindCreator[] {
  const found: KindCreator[] = [];
  for (const p of processes) {
    const [bin = "", verb, noun, ...rest] = p.args;
    if (path.basename(bin) !== "kind" && bin !== kindBin) continue;
    if (verb !== "create" || noun !== "cluster") continue;
    const flag = (name: string) => {
      const i = rest.indexOf(name);
      return i >= 0 ? rest[i + 1] : rest.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
    };
    const cluster = flag("--name") ?? "kind";
    const kubeconfig = flag("--kubeconfig");
    found.push({ pid: p.pid, pgid: p.pgid, cluster, ...(kubeconfig ? { kubeconfig } : {}) });
  }
  return found;
}

/**
 * Deadlines (ms) of kind and docker calls that give none: creating a cluster
 * or loading images may take minutes on a slow machine; listing, inspecting
 * and removing containers should take seconds.
 */
export const COMMAND_DEADLINES = { create: 10 * 60_000, load: 10 * 60_000, delete: 3 * 60_000, logs: 3 * 60_000, quick: 60_000 } as const;

export function commandDeadline(what: string, args: string[]): number {
  if (what === "kind" && args[0] === "create") return COMMAND_DEADLINES.create;
  if (what === "kind" && args[0] === "load") return COMMAND_DEADLINES.load;
  if (what === "kind" && args[0] === "delete") return COMMAND_DEADLINES.delete;
  if (what === "kind" && args[0] === "export") return COMMAND_DEADLINES.logs;
  return COMMAND_DEADLINES.quick;
}

export function clip(line: string, max = 120): string {
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** What docker (or kind, through it) prints when there is no engine to talk to. */
export const DOCKER_UNREACHABLE = /Cannot connect to the Docker daemon|error during connect|dial unix [^:]*: connect:|Is the docker daemon running/i;
export const DOCKER_DOWN_HINT = "start Docker (or fix DOCKER_HOST) and check that `docker info` answers; then `labrun gc` removes what a stopped command left";

/** What the docker client prints when it, not the command it runs, failed. */
export const DOCKER_CLIENT_ERROR = /^(Error response from daemon:|Cannot connect to the Docker daemon|error during connect:|OCI runtime exec failed:)/m;

/** Hints for failures we know. */
export function hintFor(output: string): string | undefined {
  if (/too many open files|inotify/i.test(output)) return "raise the inotify limits: `sudo sysctl -w fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288`";
  if (/already exist for a cluster with the name/i.test(output)) return "a cluster with this name exists: `labrun down <lab>` or `labrun gc`";
  if (/Cannot connect to the Docker daemon|docker daemon/i.test(output)) return "start Docker and check `docker info`";
  if (/pull access denied|failed to pull image|manifest unknown/i.test(output)) return "the node image is not available locally: build it with `tools/images/build.sh --only node`";
  return undefined;
}
