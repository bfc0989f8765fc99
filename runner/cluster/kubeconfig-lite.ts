/**
 * Reading a kubeconfig for the lean client (runner/cluster/kube-lite.ts): the
 * selected context's server, CA, client certificate, key and token, and why
 * the lean client cannot serve it when the user or cluster needs more.
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { NotFoundError, UsageError } from "../errors.ts";
import { errorMessage } from "../util/text.ts";
/** What the lean client needs from a kubeconfig's context. */
export interface LiteKubeConfig {
  /** The selected context's name and its cluster's name. */
  context: string;
  cluster: string;
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure: boolean;
  /** Why the lean client cannot serve this context (an exec plugin, a proxy, ...): use checks/kube.ts. */
  unsupported?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const named = (list: unknown, name: string): Obj | undefined => (Array.isArray(list) ? list.filter(isObj).find((e) => e.name === name) : undefined);

/** Reads a kubeconfig's context (default: its current context), with checks/kube.ts's usage errors. */
export function readKubeConfig(file: string, context?: string): LiteKubeConfig {
  if (!existsSync(file)) throw new NotFoundError(`kubeconfig not found: ${file}`, { hint: "pass an existing file with `--kubeconfig`" });
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const cfg = isObj(doc) ? doc : {};
  const contextName = context ?? (typeof cfg["current-context"] === "string" ? cfg["current-context"] : "");
  const ctxEntry = named(cfg.contexts, contextName);
  if (context && !ctxEntry) {
    const names = (Array.isArray(cfg.contexts) ? cfg.contexts : []).filter(isObj).map((c) => String(c.name));
    throw new UsageError(`no context "${context}" in ${file}`, { hint: names.length ? `contexts: ${names.join(", ")}` : "the file has no contexts" });
  }
  const ctx = isObj(ctxEntry?.context) ? ctxEntry.context : {};
  const clusterName = typeof ctx.cluster === "string" ? ctx.cluster : "";
  const clusterEntry = named(cfg.clusters, clusterName);
  const cluster = isObj(clusterEntry?.cluster) ? clusterEntry.cluster : undefined;
  if (!cluster || typeof cluster.server !== "string") throw new UsageError(`kubeconfig ${file} has no current cluster`, { hint: "pass `--context`" });
  const userEntry = named(cfg.users, typeof ctx.user === "string" ? ctx.user : "");
  const user = isObj(userEntry?.user) ? userEntry.user : {};
  const base = dirname(file);
  const data = (inline: unknown, path: unknown): Buffer | undefined =>
    typeof inline === "string" && inline ? Buffer.from(inline, "base64") : typeof path === "string" && path ? readFileSync(resolve(base, path)) : undefined;
  const out: LiteKubeConfig = { context: contextName, cluster: clusterName, server: cluster.server.replace(/\/+$/, ""), insecure: cluster["insecure-skip-tls-verify"] === true };
  const unsupported = [
    ...["exec", "auth-provider", "username", "password", "as", "as-groups", "as-user-extra"].filter((k) => user[k] !== undefined),
    ...["proxy-url", "tls-server-name", "disable-compression"].filter((k) => cluster[k] !== undefined),
  ];
  if (unsupported.length) out.unsupported = unsupported.join(", ");
  try {
    const ca = data(cluster["certificate-authority-data"], cluster["certificate-authority"]);
    const cert = data(user["client-certificate-data"], user["client-certificate"]);
    const key = data(user["client-key-data"], user["client-key"]);
    if (ca) out.ca = ca;
    if (cert) out.cert = cert;
    if (key) out.key = key;
  } catch (error) {
    throw new UsageError(`cannot read a file named by kubeconfig ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const token = typeof user.token === "string" && user.token ? user.token : typeof user.tokenFile === "string" ? readTokenFile(resolve(base, user.tokenFile)) : undefined;
  if (token) out.token = token;
  return out;
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
