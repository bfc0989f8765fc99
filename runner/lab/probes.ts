/**
 * `labrun down` of a lab on a cluster labrun does not delete (`labrun start
 * --kubeconfig`): end the probe containers its grades left holding in the
 * learner's pods (checks/probe.ts keeps one per source pod for the lab's
 * life). A kind lab's cluster is deleted with them, so it needs nothing.
 * Best effort: a cluster that cannot be reached is reported, not fatal.
 */
import type { ClusterProvider } from "../providers/provider.ts";
import { step, type LabEventListener } from "./events.ts";
import type { ClientFactory, LabClient } from "./client.ts";
import type { LabRecord } from "./state.ts";

export async function stopProbesOfLab(
  lab: LabRecord,
  provider: ClusterProvider,
  options: { clientFactory: ClientFactory; onEvent?: LabEventListener; signal?: AbortSignal },
): Promise<{ stopped: number; error?: string }> {
  let client: LabClient | undefined;
  try {
    return await step(
      options.onEvent,
      "down",
      "stop labrun's probes",
      async () => {
        const { stopLabProbes } = await import("../../checks/probe.ts");
        client = await options.clientFactory({ kubeconfig: lab.kubeconfig, context: lab.context, provider, cluster: lab.cluster });
        await client.ping({ timeoutMs: 5_000, ...(options.signal ? { signal: options.signal } : {}) });
        const r = await stopLabProbes(client, options.signal ? { signal: options.signal } : {});
        if (r.failures.length) throw new Error(`could not stop ${r.failures.map((f) => `${f.container} (${f.error})`).join(", ")}`);
        return { stopped: r.stopped.length };
      },
      (r) => `${r.stopped} probe container${r.stopped === 1 ? "" : "s"}`,
    );
  } catch (error) {
    return { stopped: 0, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await client?.close?.().catch(() => undefined);
  }
}
