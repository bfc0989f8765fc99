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
