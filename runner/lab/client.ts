/**
 * What every lifecycle verb shares: its options, the lab's provider, and the
 * factory that makes a ClusterClient for a lab.
 */
import type { ClusterClient } from "../cluster/client.ts";
import { KindProvider } from "../providers/kind.ts";
import { KubeconfigProvider } from "../providers/kubeconfig.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import type { LabEventListener } from "./events.ts";
import type { LabRecord, LabStore } from "./state.ts";

/** A client the lifecycle can close. */
export type LabClient = ClusterClient & { close?(): Promise<void> };

export type ClientFactory = (options: { kubeconfig: string; context: string; provider: ClusterProvider; cluster: string }) => Promise<LabClient>;

/** What every lifecycle function accepts. */
export interface LifecycleOptions {
  store?: LabStore;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: LabEventListener;
  /** The provider for kind labs (default: a KindProvider). */
  kind?: KindProvider;
  /** Makes a ClusterClient for a lab (default: runner/cluster/kube.ts). */
  clientFactory?: ClientFactory;
}

/** The default ClusterClient: runner/cluster/kube.ts over the lab's kubeconfig; node commands go through the provider. */
export const defaultClientFactory: ClientFactory = async ({ kubeconfig, context, provider, cluster }) => {
  const { createKubeClient } = await import("../cluster/kube.ts");
  return createKubeClient({
    kubeconfig,
    context,
    ...(provider.capabilities().nodeShell ? { nodeRunner: (node, command, opts) => provider.execOnNode(cluster, node, command, opts) } : {}),
  });
};

/** The kind provider of the options, or a new one. */
export function kindOf(options: LifecycleOptions): KindProvider {
  return options.kind ?? new KindProvider({ env: options.env ?? process.env });
}

/** The provider that drives a lab. */
export function providerFor(lab: LabRecord, options: { env?: NodeJS.ProcessEnv; kind?: KindProvider } = {}): ClusterProvider {
  if (lab.provider === "kind") return options.kind ?? new KindProvider({ env: options.env ?? process.env });
  return new KubeconfigProvider({ kubeconfigPath: lab.kubeconfig, context: lab.context });
}

export { resolveLab } from "./state.ts";
