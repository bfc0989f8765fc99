/**
 * The kubeconfig provider: a cluster someone else made (a course platform's
 * pool, a cloud cluster), reached through a kubeconfig and a context. labrun
 * cannot create, delete or side-load images into it, and it has no root shell
 * on its nodes; capabilities() says so and those calls are clear UsageErrors.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { stringify as toYaml } from "yaml";
import type { ClusterClient, ExecOptions, ExecResult } from "../cluster/client.ts";
import { contextEntries, minimalKubeconfig, parseKubeConfig } from "../cluster/kubeconfig.ts";
import { InfraError, NotFoundError, UsageError } from "../errors.ts";
import type { ClusterCreateRequest, ClusterProvider, ProviderCapabilities } from "./provider.ts";

export interface KubeconfigProviderOptions {
  /** The kubeconfig file (default: the first file of $KUBECONFIG, else ~/.kube/config). */
  kubeconfigPath?: string;
  /** The context (default: the file's current-context). */
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** Makes a client for the context (for `nodes`); see runner/cluster/kube.ts. */
  clientFactory?: (kubeconfigPath: string, context: string) => Promise<ClusterClient>;
}

export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? "").split(path.delimiter).find(Boolean);
  return first ?? path.join(env.HOME || homedir(), ".kube", "config");
}

export class KubeconfigProvider implements ClusterProvider {
  readonly name = "kubeconfig" as const;
  readonly kubeconfigPath: string;
  readonly #context: string | undefined;
  readonly #clientFactory: KubeconfigProviderOptions["clientFactory"];

  constructor(options: KubeconfigProviderOptions = {}) {
    this.kubeconfigPath = path.resolve(options.kubeconfigPath ?? defaultKubeconfigPath(options.env));
    this.#context = options.context;
    this.#clientFactory = options.clientFactory;
  }

  capabilities(): ProviderCapabilities {
    return { createClusters: false, nodeShell: false, loadImages: false };
  }

  async create(_request: ClusterCreateRequest): Promise<void> {
    throw new UsageError("the kubeconfig provider uses an existing cluster and cannot create one", {
      hint: "create the cluster yourself, or use the kind provider (the default)",
    });
  }

  async delete(_name: string): Promise<void> {
    throw new UsageError("the kubeconfig provider uses an existing cluster and cannot delete it", {
      hint: "`labrun down` forgets a kubeconfig lab without touching its cluster",
    });
  }

  /** The context labrun uses (the one given, else the file's current-context). */
  async context(_cluster?: string): Promise<string> {
    if (this.#context) return this.#context;
    const current = (await this.#read()).getCurrentContext();
    if (!current) throw new UsageError(`${this.kubeconfigPath} has no current-context`, { hint: "pass --context NAME" });
    return current;
  }

  /** The cluster of the context, as the only cluster this provider sees. */
  async list(): Promise<string[]> {
    const { cluster } = this.#resolve(await this.#read());
    return [cluster];
  }

  /** A kubeconfig holding only this context, its cluster and its user. */
  async kubeconfig(name: string): Promise<string> {
    const kc = await this.#read();
    const { context, cluster } = this.#resolve(kc);
    if (name !== cluster && name !== context) throw new NotFoundError(`cluster "${name}" is not the cluster of context "${context}"`);
    const entries = contextEntries(kc, context);
    if (!entries) throw new UsageError(`context "${context}" in ${this.kubeconfigPath} names a cluster or user the file does not have`, { hint: "pass a complete kubeconfig with --kubeconfig" });
    return toYaml(minimalKubeconfig(entries));
  }

  async nodes(_name: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    if (!this.#clientFactory) throw new UsageError("the kubeconfig provider needs a cluster client to list nodes");
    const client = await this.#clientFactory(this.kubeconfigPath, await this.context());
    const nodes = await client.list("v1", "Node", options.signal ? { signal: options.signal } : {});
    return nodes.map((n) => n.metadata.name).sort();
  }

  async execOnNode(_cluster: string, _node: string, _command: string[], _options: ExecOptions): Promise<ExecResult> {
    throw new UsageError("the kubeconfig provider cannot run commands on nodes", {
      hint: "scenarios with `run` steps or node checks need the kind provider",
    });
  }

  async loadImages(_cluster: string, images: string[]): Promise<void> {
    if (images.length === 0) return;
    throw new UsageError("the kubeconfig provider cannot load images into the cluster", {
      hint: `make these images pullable by the cluster's nodes: ${images.join(", ")}`,
    });
  }

  /** The file, read through client-node's KubeConfig. */
  async #read(): Promise<KubeConfig> {
    let text: string;
    try {
      text = await readFile(this.kubeconfigPath, "utf8");
    } catch (error) {
      throw new InfraError(`cannot read kubeconfig ${this.kubeconfigPath}`, { cause: error, hint: "pass --kubeconfig FILE or set KUBECONFIG" });
    }
    return parseKubeConfig(text, this.kubeconfigPath);
  }

  #resolve(kc: KubeConfig): { context: string; cluster: string } {
    const context = this.#context ?? kc.getCurrentContext();
    if (!context) throw new UsageError(`${this.kubeconfigPath} has no current-context`, { hint: "pass --context NAME" });
    const entry = kc.getContextObject(context);
    if (!entry?.cluster) {
      const names = kc.getContexts().map((c) => c.name);
      throw new NotFoundError(`no context "${context}" in ${this.kubeconfigPath}`, { hint: names.length ? `contexts: ${names.join(", ")}` : undefined });
    }
    return { context, cluster: entry.cluster };
  }
}
