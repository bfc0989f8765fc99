/**
 * Kubeconfig files, read through client-node's KubeConfig (never parsed by
 * hand): loading with a context, and the minimal kubeconfig of one context.
 */
import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { NotFoundError, UsageError } from "../errors.ts";
import { errorMessage } from "../util/text.ts";

/** Loads a kubeconfig file and selects a context; usage errors for a missing file or context. */
export function loadKubeConfig(file: string, context?: string): KubeConfig {
  if (!existsSync(file)) throw new NotFoundError(`kubeconfig not found: ${file}`, { hint: "pass an existing file with `--kubeconfig`" });
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${errorMessage(error)}`, { cause: error });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new UsageError(`no context "${context}" in ${file}`, { hint: names.length ? `contexts: ${names.join(", ")}` : "the file has no contexts" });
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError(`kubeconfig ${file} has no current cluster`, { hint: "pass `--context`" });
  return kc;
}

/** A kubeconfig file's entry (`clusters[]`, `users[]`, `contexts[]`) as the file spells it. */
export interface KubeconfigEntry {
  name: string;
  [key: string]: unknown;
}

/** The entries of one context: the context, its cluster and its user, as a kubeconfig file spells them. */
export interface ContextEntries {
  context: KubeconfigEntry & { context: { cluster: string; user: string; namespace?: string } };
  cluster: KubeconfigEntry;
  user: KubeconfigEntry;
}

/**
 * The entries of context `name` (default: the current one) read through
 * KubeConfig and written back in the file's spelling (client-node's own
 * export, without the fields it leaves empty).
 */
export function contextEntries(kc: KubeConfig, name = kc.getCurrentContext()): ContextEntries | undefined {
  const context = kc.getContextObject(name);
  const cluster = context ? kc.getCluster(context.cluster) : null;
  const user = context ? kc.getUser(context.user) : null;
  if (!context || !cluster || !user) return undefined;
  const only = new KubeConfig();
  only.loadFromOptions({ clusters: [cluster], users: [user], contexts: [context], currentContext: context.name });
  const exported = JSON.parse(only.exportConfig()) as { clusters: KubeconfigEntry[]; users: KubeconfigEntry[]; contexts: ContextEntries["context"][] };
  const clusterEntry = withoutEmpty(exported.clusters[0]!);
  const body = clusterEntry.cluster as Record<string, unknown> | undefined;
  if (body && body["insecure-skip-tls-verify"] === false) delete body["insecure-skip-tls-verify"];
  const contextEntry = withoutEmpty(exported.contexts[0]!);
  delete (contextEntry.context as { name?: string }).name; // client-node's export repeats the name inside
  return { context: contextEntry, cluster: clusterEntry, user: withoutEmpty(exported.users[0]!) };
}

/** A kubeconfig (YAML) holding only context `name`, its cluster and its user. */
export function minimalKubeconfig(entries: ContextEntries): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Config", clusters: [entries.cluster], users: [entries.user], contexts: [entries.context], "current-context": entries.context.name };
}

/** Parses kubeconfig text with client-node; UsageError (naming `file`) when it is not a kubeconfig. */
export function parseKubeConfig(text: string, file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    // Entries client-node cannot read are skipped, not fatal: only the context labrun uses must be complete.
    kc.loadFromString(text, { onInvalidEntry: "filter" });
  } catch (error) {
    throw new UsageError(`${file} is not a valid kubeconfig: ${errorMessage(error).split("\n")[0]}`, { hint: "pass a valid file with --kubeconfig", cause: error });
  }
  return kc;
}

function withoutEmpty<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutEmpty) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, withoutEmpty(v)])) as T;
  }
  return value;
}
