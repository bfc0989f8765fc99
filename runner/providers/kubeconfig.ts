/**
 * The kubeconfig provider: a cluster someone else made (a course platform's
 * pool, a cloud cluster), reached through a kubeconfig and a context. labrun
 * cannot create, delete or side-load images into it, and it has no root shell
 * on its nodes; capabilities() says so and those calls are clear UsageErrors.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { ClusterClient, ExecOptions, ExecResult } from "../cluster/client.ts";
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

interface Named<T> {
  name: string;
  [key: string]: unknown;
  _?: T;
}
interface KubeconfigFile {
  apiVersion?: string;
  kind?: string;
  clusters?: Named<unknown>[];
  users?: Named<unknown>[];
  contexts?: (Named<unknown> & { context?: { cluster?: string; user?: string; namespace?: string } })[];
  "current-context"?: string;
  [key: string]: unknown;
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
    const file = await this.#read();
    const current = file["current-context"];
    if (!current) throw new UsageError(`${this.kubeconfigPath} has no current-context`, { hint: "pass --context NAME" });
    return current;
  }

  /** The cluster of the context, as the only cluster this provider sees. */
  async list(): Promise<string[]> {
    const { cluster } = await this.#resolve();
    return [cluster];
  }

  /** A kubeconfig holding only this context, its cluster and its user. */
  async kubeconfig(name: string): Promise<string> {
    const file = await this.#read();
    const { context, cluster, user } = await this.#resolve(file);
    if (name !== cluster && name !== context) throw new NotFoundError(`cluster "${name}" is not the cluster of context "${context}"`);
    const minimal: KubeconfigFile = {
      apiVersion: "v1",
      kind: "Config",
      clusters: (file.clusters ?? []).filter((c) => c.name === cluster),
      users: (file.users ?? []).filter((u) => u.name === user),
      contexts: (file.contexts ?? []).filter((c) => c.name === context),
      "current-context": context,
    };
    return toYaml(minimal);
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

  async #read(): Promise<KubeconfigFile> {
    let text: string;
    try {
      text = await readFile(this.kubeconfigPath, "utf8");
    } catch (error) {
      throw new InfraError(`cannot read kubeconfig ${this.kubeconfigPath}`, { cause: error, hint: "pass --kubeconfig FILE or set KUBECONFIG" });
    }
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (error) {
      throw new UsageError(`kubeconfig ${this.kubeconfigPath} is not valid YAML: ${(error as Error).message.split("\n")[0]}`, { hint: "pass a valid file with --kubeconfig" });
    }
    if (!data || typeof data !== "object") throw new UsageError(`${this.kubeconfigPath} is not a kubeconfig`, { hint: "pass a valid file with --kubeconfig" });
    return data as KubeconfigFile;
  }

  async #resolve(file?: KubeconfigFile): Promise<{ context: string; cluster: string; user: string }> {
    const f = file ?? (await this.#read());
    const context = this.#context ?? f["current-context"];
    if (!context) throw new UsageError(`${this.kubeconfigPath} has no current-context`, { hint: "pass --context NAME" });
    const entry = (f.contexts ?? []).find((c) => c.name === context);
    if (!entry?.context?.cluster) {
      const names = (f.contexts ?? []).map((c) => c.name);
      throw new NotFoundError(`no context "${context}" in ${this.kubeconfigPath}`, { hint: names.length ? `contexts: ${names.join(", ")}` : undefined });
    }
    return { context, cluster: entry.context.cluster, user: entry.context.user ?? "" };
  }
}
