/**
 * labrun's probe containers as objects (see checks/probe.ts): the spec labrun
 * creates, the rule that tells one from a learner's look-alike, the running
 * ones of a pod, and ending them (`labrun down` on a cluster it keeps).
 */
import type { ClusterClient, KubeObject } from "../runner/cluster/client.ts";
import { PROBE_IMAGE } from "../runner/cluster/images.ts";
import { errorMessage } from "../runner/util/text.ts";

export { PROBE_IMAGE };
export const PROBE_BINARY = "labrun-probe";
export const PROBE_CONTAINER_PREFIX = "labrun-probe-";
/** kubectl's annotation naming the container `exec` and `logs` use without `-c`. */
export const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";

/** Runs as an unprivileged user with no capabilities: fits PodSecurity `restricted`, needs nothing more. */
export const PROBE_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** The command of labrun's probe container: hold until stopped (`0`), or for a bounded time. */
export function holdCommand(max: string): string[] {
  return [PROBE_BINARY, "hold", "--max", max];
}

const NAME_PATTERN = /^labrun-probe-[0-9a-f]{6}$/;
const HOLD_MAX_PATTERN = /^(0|[1-9][0-9]*(ms|s|m|h))$/;
/** Fields labrun's container may have (the API server adds defaults such as terminationMessagePath). */
const ALLOWED_FIELDS = new Set(["name", "image", "command", "args", "imagePullPolicy", "stdin", "stdinOnce", "tty", "terminationMessagePolicy", "terminationMessagePath", "securityContext", "resources"]);

/**
 * Whether an ephemeral container is exactly one labrun creates: its name, the
 * probe image, `labrun-probe hold --max D`, the restrictive securityContext and
 * no other settings (no env, mounts, ports, target container, added capabilities).
 * `anyVersion`: any tag of the probe image's repository counts (a lab graded
 * before labrun was upgraded keeps the older probe's entries; they are as
 * harmless as the current one's, but only the current image is reused).
 */
export function isLabrunProbeContainer(container: unknown, image: string, options: { anyVersion?: boolean } = {}): boolean {
  if (!container || typeof container !== "object") return false;
  const c = container as Record<string, unknown>;
  for (const [key, value] of Object.entries(c)) {
    if (ALLOWED_FIELDS.has(key)) continue;
    if (value === undefined || value === null || value === false || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    if (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    return false;
  }
  if (typeof c.name !== "string" || !NAME_PATTERN.test(c.name)) return false;
  if (c.image !== image && !(options.anyVersion && typeof c.image === "string" && sameRepository(c.image, image))) return false;
  const command = c.command;
  if (!Array.isArray(command) || command.length !== 4 || command[0] !== PROBE_BINARY || command[1] !== "hold" || command[2] !== "--max" || !HOLD_MAX_PATTERN.test(String(command[3]))) return false;
  if (Array.isArray(c.args) && c.args.length) return false;
  if (c.stdin === true || c.tty === true || c.stdinOnce === true) return false;
  if (c.resources && typeof c.resources === "object" && Object.keys(c.resources).length) return false;
  return sameJson(c.securityContext, PROBE_SECURITY_CONTEXT);
}

/** `ghcr.io/labrun/probe:v0.1.0` and `ghcr.io/labrun/probe:v0.2.0` (tags only, never digests or other names). */
function sameRepository(a: string, b: string): boolean {
  const repo = (ref: string) => (/^[^@]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(ref) ? ref.slice(0, ref.lastIndexOf(":")) : undefined);
  return repo(a) !== undefined && repo(a) === repo(b);
}

function sameJson(a: unknown, b: unknown): boolean {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(a)) === JSON.stringify(sort(b));
}

export interface ContainerState {
  name: string;
  state?: { running?: unknown; waiting?: unknown; terminated?: unknown };
}

/** The names of labrun's probe containers in `pod` that are running now (sorted). */
export function runningProbeContainers(pod: KubeObject, image: string): string[] {
  const spec = (pod.spec ?? {}) as { ephemeralContainers?: unknown[] };
  const statuses = ((pod.status ?? {}) as { ephemeralContainerStatuses?: ContainerState[] }).ephemeralContainerStatuses ?? [];
  return (spec.ephemeralContainers ?? [])
    .filter((c) => isLabrunProbeContainer(c, image))
    .map((c) => (c as { name: string }).name)
    .filter((name) => statuses.some((s) => s.name === name && s.state?.running))
    .sort();
}

/** A probe container: `namespace/pod/container`. */
export interface Started {
  namespace: string;
  pod: string;
  container: string;
}

export async function stopContainers(client: ClusterClient, containers: readonly Started[], timeoutMs: number, signal?: AbortSignal): Promise<{ container: string; error: string }[]> {
  const failures: { container: string; error: string }[] = [];
  await Promise.all(
    containers.map(async (s) => {
      const label = `${s.namespace}/${s.pod}/${s.container}`;
      try {
        const r = await client.exec({ namespace: s.namespace, pod: s.pod, container: s.container }, [PROBE_BINARY, "stop"], { timeoutMs, ...(signal ? { signal } : {}) });
        if (r.timedOut) failures.push({ container: label, error: "stop timed out" });
      } catch (error) {
        // A container that already ended (pod deleted, hold expired) is what we want anyway.
        if (!/not found|not running|NotFound|container .* is not/i.test(errorMessage(error))) failures.push({ container: label, error: errorMessage(error) });
      }
    }),
  );
  return failures;
}

/**
 * End every running labrun probe container in the cluster (`labrun down` of a lab
 * on a cluster labrun does not delete). Never throws for one container; returns
 * what was stopped and what could not be.
 */
export async function stopLabProbes(
  client: ClusterClient,
  options: { image?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ stopped: string[]; failures: { container: string; error: string }[] }> {
  const image = options.image ?? PROBE_IMAGE;
  const pods = await client.list("v1", "Pod", options.signal ? { signal: options.signal } : {});
  const running: Started[] = [];
  for (const pod of pods) {
    for (const container of runningProbeContainers(pod, image)) running.push({ namespace: pod.metadata.namespace ?? "default", pod: pod.metadata.name, container });
  }
  const failures = await stopContainers(client, running, options.timeoutMs ?? 5_000, options.signal);
  const failed = new Set(failures.map((f) => f.container));
  return { stopped: running.map((s) => `${s.namespace}/${s.pod}/${s.container}`).filter((c) => !failed.has(c)), failures };
}
