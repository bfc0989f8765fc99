/**
 * The fix is in the manifest: the orders Deployment, and every orders pod that
 * runs, is a spec whose proxy forwards to the API over the pod's loopback.
 *
 * Each container writes its nginx configuration when it starts, from the
 * orders-nginx templates (`proxy-config-kept` keeps them the team's), its
 * command and its environment. So a spec with the team's commands, the
 * API's ORDERS_LISTEN on the loopback and the proxy's ORDERS_BACKEND on the
 * loopback starts a proxy that forwards to 127.0.0.1:8080, and a pod's
 * environment cannot change once it is created. What the http checks see is
 * the running process: a configuration rewritten inside the running container
 * (`kubectl exec ... nginx -s reload`) answers them as well, leaves no trace in
 * the API, and is gone with the next pod. Only the spec proves the task's fix.
 */
import type { ScriptCheckContext, ScriptCheckResult } from "labrun";

const NAMESPACE = "orders";
const DEPLOYMENT = "orders";
const CONFIGMAP = "orders-nginx";
/** The containers' commands as manifests/app.yaml declares them (test/unit/scenario/sidecar-localhost-script.test.ts compares). */
export const TEAM_COMMANDS: Record<string, string[]> = {
  app: ["sh", "-c", "sed \"s|@LISTEN@|$ORDERS_LISTEN|\" /etc/orders/app.conf.in > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"],
  proxy: ["sh", "-c", "sed \"s|@BACKEND@|$ORDERS_BACKEND|\" /etc/orders/proxy.conf.in > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"],
};
const SETTINGS: Record<string, string> = { app: "ORDERS_LISTEN", proxy: "ORDERS_BACKEND" };
/** The pod's loopback, port 8080. */
const LOOPBACK_8080 = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):8080$/;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name?: string; key?: string } } & Record<string, unknown>;
}
interface ContainerLike {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpecLike {
  containers?: ContainerLike[];
  volumes?: { name: string; configMap?: { name?: string } }[];
}
interface Evidence {
  label: string;
  expected: string;
  observed: string;
}

type ConfigMaps = (name: string) => Promise<Record<string, string> | undefined>;

/** Why this pod spec does not start a proxy that forwards over the loopback (empty: it does). */
export async function specProblems(spec: PodSpecLike | undefined, configMaps: ConfigMaps): Promise<{ problems: string[]; settings: string[] }> {
  const problems: string[] = [];
  const settings: string[] = [];
  const volumes = spec?.volumes ?? [];
  for (const [name, command] of Object.entries(TEAM_COMMANDS)) {
    const c = (spec?.containers ?? []).find((x) => x.name === name);
    if (!c) {
      problems.push(`no container ${name}`);
      continue;
    }
    if (JSON.stringify([...(c.command ?? []), ...(c.args ?? [])]) !== JSON.stringify(command)) problems.push(`container ${name}'s command is not the team's (it writes the nginx configuration from the templates)`);
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === "/etc/orders");
    const source = volumes.find((v) => v.name === mount?.name)?.configMap?.name;
    if (source !== CONFIGMAP) problems.push(`container ${name} reads its template from ${source ? `ConfigMap ${source}` : "no ConfigMap"}, not ${CONFIGMAP}`);
    const setting = SETTINGS[name]!;
    const value = await settingValue(c, setting, configMaps);
    settings.push(`${name}: ${setting}=${value ?? "(unset)"}`);
    if (value === undefined || !LOOPBACK_8080.test(value)) {
      problems.push(`container ${name}'s ${setting} is ${value === undefined ? "not set (as a value or a ConfigMap key)" : JSON.stringify(value)}, not the pod's loopback port 8080`);
    }
  }
  return { problems, settings };
}

/** A variable's value as the container starts with it: the last `env` entry wins over `envFrom`. */
async function settingValue(c: ContainerLike, name: string, configMaps: ConfigMaps): Promise<string | undefined> {
  const entry = (c.env ?? []).filter((e) => e.name === name).at(-1);
  if (!entry) return undefined;
  if (entry.value !== undefined) return entry.value;
  const ref = entry.valueFrom?.configMapKeyRef;
  if (ref?.name && ref.key) return (await configMaps(ref.name))?.[ref.key];
  return entry.valueFrom ? undefined : "";
}

interface Obj {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: { template?: { spec?: PodSpecLike } } & PodSpecLike;
  status?: { phase?: string };
  data?: Record<string, string>;
}

export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const opts = { signal: ctx.signal };
  const configMaps: ConfigMaps = async (name) => ((await ctx.client.get({ apiVersion: "v1", kind: "ConfigMap", name, namespace: NAMESPACE }, opts)) as unknown as Obj | undefined)?.data;
  const deployment = (await ctx.client.get({ apiVersion: "apps/v1", kind: "Deployment", name: DEPLOYMENT, namespace: NAMESPACE }, opts)) as unknown as Obj | undefined;
  const label = `Deployment ${NAMESPACE}/${DEPLOYMENT}`;
  const expected = `the team's commands and templates, ORDERS_LISTEN and ORDERS_BACKEND on the pod's loopback port 8080`;
  if (!deployment) return { ok: false, message: `${label} not found`, evidence: [{ label, expected: "exists", observed: "not found" }] };
  const evidence: Evidence[] = [];
  const template = await specProblems(deployment.spec?.template?.spec, configMaps);
  evidence.push({ label: `${label}: pod template`, expected, observed: template.problems.length ? template.problems.join("; ") : template.settings.join(", ") });
  const pods = ((await ctx.client.list("v1", "Pod", { namespace: NAMESPACE, labelSelector: "app=orders", signal: ctx.signal })) as unknown as Obj[]).filter((p) => !p.metadata.deletionTimestamp);
  const stale: string[] = [];
  for (const p of pods) {
    const r = await specProblems(p.spec, configMaps);
    evidence.push({ label: `pod ${NAMESPACE}/${p.metadata.name} (its spec, fixed when it was created)`, expected, observed: r.problems.length ? r.problems.join("; ") : r.settings.join(", ") });
    if (r.problems.length) stale.push(`${p.metadata.name}: ${r.problems[0]!}`);
  }
  if (template.problems.length) {
    return { ok: false, message: `${label} does not start a proxy that forwards over the pod's loopback: ${template.problems[0]!} (a configuration changed inside a running container is not the fix: the next pod starts from the Deployment)`, evidence };
  }
  if (!pods.length) return { ok: false, message: `no orders pod runs from ${label}`, evidence };
  if (stale.length) return { ok: false, message: `orders pod ${stale[0]!}: it was made from an older spec, and what runs in it is not what the Deployment says`, evidence };
  return { ok: true, message: `${label} and its ${pods.length === 1 ? "pod" : `${pods.length} pods`} forward over the pod's loopback (${template.settings.join(", ")})`, evidence };
}
