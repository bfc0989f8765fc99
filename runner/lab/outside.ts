/**
 * Hosts outside the cluster (`spec.outside`) as the lab sees them: starting
 * them (a `start` action, before the setup steps), the values of the
 * `{{ .Outside.NAME }}` placeholders, and the handle checks use to find and
 * run probes in them. The containers themselves are the provider's business
 * (runner/providers/kind-outside.ts); they go with the cluster.
 */
import path from "node:path";
import type { OutsideHosts } from "../../checks/context.ts";
import { PROBE_IMAGE } from "../cluster/images.ts";
import { UsageError } from "../errors.ts";
import type { ClusterProvider, OutsideHostInfo } from "../providers/provider.ts";
import type { OutsideVars } from "../scenario/placeholders.ts";
import type { Scenario } from "../schema/scenario.ts";
import type { Action } from "./actions/action.ts";

export const DEFAULT_OUTSIDE_PORT = 80;

/** What an outside host runs: labrun's probe holding, with its echo server on the port. */
export function outsideCommand(port: number): string[] {
  return ["hold", "--max", "0", "--listen", `0.0.0.0:${port}`];
}

/** The placeholder values of a running lab, or undefined when the scenario declares no outside host. */
export async function outsideVars(provider: ClusterProvider, cluster: string, scenario: Scenario, signal?: AbortSignal): Promise<OutsideVars | undefined> {
  if (!scenario.spec.outside?.length) return undefined;
  return varsOf(await listOutside(provider, cluster, signal));
}

function varsOf(hosts: OutsideHostInfo[]): OutsideVars {
  return { hosts: Object.fromEntries(hosts.filter((h) => h.ip).map((h) => [h.name, h.ip])), network: hosts.find((h) => h.network)?.network ?? "" };
}

async function listOutside(provider: ClusterProvider, cluster: string, signal?: AbortSignal): Promise<OutsideHostInfo[]> {
  if (!provider.outsideHosts) throw noOutside(provider);
  return provider.outsideHosts(cluster, signal ? { signal } : {});
}

function noOutside(provider: ClusterProvider): UsageError {
  return new UsageError(`this scenario declares hosts outside the cluster (spec.outside), which the ${provider.name} provider cannot start`, {
    hint: "start it as a kind lab (`labrun start SCENARIO`, without --kubeconfig)",
  });
}

/**
 * The checks' handle on a lab's outside hosts: their addresses (read once per
 * grade) and commands run in their containers.
 */
export function outsideHostsOf(provider: ClusterProvider, cluster: string, scenario: Scenario): OutsideHosts | undefined {
  const declared = scenario.spec.outside ?? [];
  if (!declared.length) return undefined;
  let listed: Promise<OutsideHostInfo[]> | undefined;
  return {
    async address(name, signal) {
      const spec = declared.find((h) => h.name === name);
      if (!spec) return undefined;
      listed ??= listOutside(provider, cluster, signal).catch((error: unknown) => {
        listed = undefined;
        throw error;
      });
      const host = (await listed).find((h) => h.name === name);
      if (!host || !host.ip || host.state !== "running") return { ip: "", port: spec.port ?? DEFAULT_OUTSIDE_PORT, hostname: name, problem: host ? `its container ${host.container} is ${host.state}` : "its container is gone" };
      return { ip: host.ip, port: spec.port ?? DEFAULT_OUTSIDE_PORT, hostname: name };
    },
    exec(name, command, options) {
      if (!provider.execOutside) throw noOutside(provider);
      return provider.execOutside(cluster, name, command, options);
    },
  };
}

/** `start`: the scenario's outside hosts, before its setup steps (their addresses fill the manifests). */
export const startOutsideHosts: Action = {
  name: "start the hosts outside the cluster",
  when: (ctx) => (ctx.loaded.scenario.spec.outside?.length ?? 0) > 0,
  status: (ctx) => ({ phase: "setup", title: `start ${ctx.loaded.scenario.spec.outside!.length === 1 ? "the host" : "the hosts"} outside the cluster` }),
  async execute(ctx) {
    const provider = ctx.provider;
    if (!provider.startOutsideHost) throw noOutside(provider);
    const markDir = ctx.can.createClusters ? path.join(ctx.store.labDir(ctx.name), "mark") : undefined;
    const started = await Promise.all(
      ctx.loaded.scenario.spec.outside!.map((h) =>
        provider.startOutsideHost!(ctx.cluster, { name: h.name, image: PROBE_IMAGE, command: outsideCommand(h.port ?? DEFAULT_OUTSIDE_PORT), ...(markDir ? { markDir } : {}) }, ctx.signal ? { signal: ctx.signal } : {}),
      ),
    );
    return started.map((h) => `${h.name} ${h.ip}`).join(", ");
  },
};
