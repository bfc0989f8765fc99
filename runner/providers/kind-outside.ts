/**
 * Hosts outside a kind cluster (`spec.outside`): containers on kind's Docker
 * network (`kind`, or $KIND_EXPERIMENTAL_DOCKER_NETWORK), labelled with the
 * cluster they belong to so that deleting the cluster (KindProvider.sweep,
 * after `kind delete`) and `labrun gc` remove them. They do not carry kind's
 * own cluster label: kind would count them as nodes (`kind load` into them).
 */
import { InfraError, UsageError } from "../errors.ts";
import type { ExecOptions, ExecResult } from "../cluster/client.ts";
import { outputOf, type RunOptions, type RunResult } from "./exec.ts";
import type { OutsideHostInfo, OutsideHostRequest } from "./provider.ts";

/** The Docker label naming the cluster an outside host belongs to. */
export const OUTSIDE_CLUSTER_LABEL = "dev.labrun.outside-of";
/** The Docker label with the outside host's name (as the scenario declares it). */
export const OUTSIDE_NAME_LABEL = "dev.labrun.outside";
/** Where the lab's marker directory is mounted (as in nodes). */
const MARK_PATH = "/kind/labrun";

type Docker = (args: string[], options?: RunOptions) => Promise<RunResult>;

/** `labrun-foo-outside-partner`. */
export function outsideContainerName(cluster: string, name: string): string {
  return `${cluster}-outside-${name}`;
}

/** The Docker network kind puts its nodes on. */
export function kindNetwork(env: NodeJS.ProcessEnv): string {
  return env.KIND_EXPERIMENTAL_DOCKER_NETWORK || "kind";
}

/** The `docker run` arguments of an outside host. */
export function outsideRunArgs(cluster: string, network: string, request: OutsideHostRequest): string[] {
  return [
    "run",
    "--detach",
    "--name",
    outsideContainerName(cluster, request.name),
    "--hostname",
    request.name,
    "--network",
    network,
    "--restart",
    "no",
    "--label",
    `${OUTSIDE_CLUSTER_LABEL}=${cluster}`,
    "--label",
    `${OUTSIDE_NAME_LABEL}=${request.name}`,
    ...(request.markDir ? ["--volume", `${request.markDir}:${MARK_PATH}:ro`] : []),
    request.image,
    ...request.command,
  ];
}

const INSPECT_FORMAT = `{{.Name}}\t{{index .Config.Labels "${OUTSIDE_NAME_LABEL}"}}\t{{index .Config.Labels "${OUTSIDE_CLUSTER_LABEL}"}}\t{{.State.Status}}\t{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}`;

/** One line of {@link INSPECT_FORMAT}. */
export function parseOutsideInspect(line: string, network: string): (OutsideHostInfo & { cluster: string }) | undefined {
  const [container = "", name = "", cluster = "", state = "", nets = ""] = line.split("\t");
  if (!name || !cluster) return undefined;
  const ip =
    nets
      .split(";")
      .map((n) => n.split("="))
      .find(([k]) => k === network)?.[1] ?? "";
  return { name, cluster, container: container.replace(/^\//, ""), ip, network: "", state };
}

/** The first IPv4 subnet of `docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}'`. */
export function ipv4Subnet(text: string): string {
  return text.split(/\s+/).find((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)) ?? "";
}

export class KindOutsideHosts {
  readonly #docker: Docker;
  readonly #network: string;

  constructor(docker: Docker, env: NodeJS.ProcessEnv) {
    this.#docker = docker;
    this.#network = kindNetwork(env);
  }

  async start(cluster: string, request: OutsideHostRequest, signal?: AbortSignal): Promise<OutsideHostInfo> {
    const run = await this.#docker(outsideRunArgs(cluster, this.#network, request), signal ? { signal } : {});
    if (run.exitCode !== 0) {
      throw new InfraError(`failed to start the outside host "${request.name}" of cluster "${cluster}"`, {
        code: "OUTSIDE_HOST_FAILED",
        output: outputOf(run),
        hint: /Conflict|already in use/i.test(run.stderr) ? `a container of that name is left over: \`docker rm -f ${outsideContainerName(cluster, request.name)}\`` : `is the image ${request.image} built (\`npm run images\`)?`,
      });
    }
    const host = (await this.list(cluster, signal)).find((h) => h.name === request.name);
    if (!host || !host.ip) throw new InfraError(`the outside host "${request.name}" of cluster "${cluster}" has no IPv4 address on network ${this.#network}`, { code: "OUTSIDE_HOST_FAILED" });
    return host;
  }

  /** The outside hosts of `cluster` (every cluster's when undefined), with the network's CIDR. */
  async list(cluster: string | undefined, signal?: AbortSignal): Promise<(OutsideHostInfo & { cluster: string })[]> {
    const ps = await this.#docker(["ps", "-aq", "--filter", `label=${OUTSIDE_CLUSTER_LABEL}${cluster === undefined ? "" : `=${cluster}`}`], signal ? { signal } : {});
    if (ps.exitCode !== 0) throw new InfraError("failed to list containers", { output: outputOf(ps), hint: "check that Docker runs: `docker info`" });
    const ids = lines(ps.stdout);
    if (!ids.length) return [];
    const inspect = await this.#docker(["inspect", "--format", INSPECT_FORMAT, ...ids], signal ? { signal } : {});
    const hosts = lines(inspect.stdout)
      .map((l) => parseOutsideInspect(l, this.#network))
      .filter((h) => h !== undefined);
    const net = await this.#docker(["network", "inspect", this.#network, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"], signal ? { signal } : {});
    const network = net.exitCode === 0 ? ipv4Subnet(net.stdout) : "";
    return hosts.map((h) => ({ ...h, network })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Force-remove every outside host of `cluster`; returns the container IDs. */
  async remove(cluster: string, signal?: AbortSignal): Promise<string[]> {
    const ps = await this.#docker(["ps", "-aq", "--filter", `label=${OUTSIDE_CLUSTER_LABEL}=${cluster}`], signal ? { signal } : {});
    if (ps.exitCode !== 0) throw new InfraError("failed to list containers", { output: outputOf(ps), hint: "check that Docker runs: `docker info`" });
    const ids = lines(ps.stdout);
    if (!ids.length) return [];
    const rm = await this.#docker(["rm", "-f", "-v", ...ids], signal ? { signal } : {});
    if (rm.exitCode !== 0 && !/No such container/i.test(rm.stderr)) throw new InfraError(`failed to remove the hosts outside cluster "${cluster}"`, { output: outputOf(rm) });
    return ids;
  }

  async exec(cluster: string, name: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    if (command.length === 0) throw new UsageError("no command to run in the outside host");
    const container = outsideContainerName(cluster, name);
    const result = await this.#docker(["exec", container, ...command], { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    if (result.exitCode !== 0 && /No such container|is not running/i.test(result.stderr)) {
      throw new InfraError(`the outside host "${name}" (${container}) is not running`, { code: "OUTSIDE_HOST_GONE", output: outputOf(result), hint: "`labrun down` the lab and start it again" });
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut === true };
  }
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
