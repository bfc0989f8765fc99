/**
 * The kubelet look: a node the API calls Ready has a kubelet that runs.
 *
 * A node's Ready condition and its Lease in kube-node-lease are API objects: a
 * cluster-admin writes them as easily as the kubelet does (`kubectl patch node
 * X --subresource=status` with Ready=True, a loop that also renews the Lease),
 * and the node controller believes them. So where a check needs a Ready node,
 * labrun asks the node itself, through its own node shell (one `docker exec`
 * per node on a kind lab, shared by the checks of the same moment):
 *
 *   - the kubelet's health endpoint (`/healthz` on its healthzBindAddress and
 *     healthzPort, 127.0.0.1:10248 by default) must answer `ok`: only a
 *     running kubelet serves it, in the node's own network namespace, where no
 *     pod can be started while that kubelet is down;
 *   - the container runtime must report RuntimeReady and NetworkReady
 *     (`crictl info`): the kubelet's Ready condition is made of them, so a node
 *     without a CNI stays NotReady however its status is patched.
 *
 * Not proven: that the running kubelet reaches the API server (a kubelet cut
 * off from it, plus a learner's patch loop, still looks Ready), or reasons for
 * NotReady beyond the runtime's (PLEG, disk pressure). On clusters without a
 * node shell (a `--kubeconfig` grade) the look is skipped: the API's word is
 * all there is. docs/grading.md says what is and is not defended.
 */
import type { ClusterClient } from "../runner/cluster/client.ts";
import { NodeShellUnavailableError } from "../runner/cluster/errors.ts";
import { InfraError, UsageError } from "../runner/errors.ts";
import { oneLine } from "../runner/util/text.ts";

/** The script run on each node: sections headed `### name`. */
export const KUBELET_SCRIPT = [
  "addr=127.0.0.1; port=10248; cfg=/var/lib/kubelet/config.yaml",
  'if [ -r "$cfg" ]; then',
  "  a=$(sed -n 's/^healthzBindAddress: *//p' \"$cfg\" | tr -d '\"' | head -n1); [ -n \"$a\" ] && addr=$a",
  "  p=$(sed -n 's/^healthzPort: *//p' \"$cfg\" | tr -d '\"' | head -n1); [ -n \"$p\" ] && port=$p",
  "fi",
  'case "$addr" in 0.0.0.0|::|"") addr=127.0.0.1;; esac',
  'echo "### healthz http://$addr:$port/healthz"',
  'if command -v curl >/dev/null 2>&1; then curl -s -m 2 "http://$addr:$port/healthz" || echo "no answer (curl exit $?)"',
  "else echo 'no answer (no curl on the node)'; fi",
  "echo",
  'echo "### runtime"',
  "crictl info 2>&1 || true",
  "true",
].join("\n");

export interface KubeletState {
  /** What the health endpoint answered (`ok` when the kubelet is healthy). */
  healthz: string;
  /** Where it was asked. */
  healthzUrl: string;
  /** The runtime's conditions as `crictl info` reports them; undefined when it could not be read. */
  runtime?: { type: string; ready: boolean; reason?: string; message?: string }[];
  /** Why the runtime's status could not be read. */
  runtimeProblem?: string;
}

/** Parses the script's output. */
export function parseKubeletDump(dump: string): KubeletState {
  const sections = new Map<string, string[]>();
  let current = "";
  let healthzUrl = "";
  for (const line of dump.split("\n")) {
    if (line.startsWith("### ")) {
      const [name, ...rest] = line.slice(4).trim().split(/\s+/);
      current = name ?? "";
      if (current === "healthz") healthzUrl = rest.join(" ");
      sections.set(current, []);
      continue;
    }
    sections.get(current)?.push(line);
  }
  const healthz = (sections.get("healthz") ?? []).join("\n").trim();
  const runtimeText = (sections.get("runtime") ?? []).join("\n").trim();
  const state: KubeletState = { healthz: healthz || "no answer", healthzUrl: healthzUrl || "the kubelet's healthz" };
  try {
    const info = JSON.parse(runtimeText.slice(Math.max(0, runtimeText.indexOf("{")))) as { status?: { conditions?: unknown } };
    const conditions = Array.isArray(info.status?.conditions) ? (info.status.conditions as Record<string, unknown>[]) : undefined;
    if (!conditions) state.runtimeProblem = "crictl info reports no runtime conditions";
    else
      state.runtime = conditions.map((c) => ({
        type: String(c.type),
        ready: c.status === true,
        ...(typeof c.reason === "string" && c.reason ? { reason: c.reason } : {}),
        ...(typeof c.message === "string" && c.message ? { message: c.message } : {}),
      }));
  } catch {
    state.runtimeProblem = `the node's container runtime does not answer (crictl info: ${oneLine(runtimeText || "no output", 160)})`;
  }
  return state;
}

/** Why a node with this state cannot be Ready by its kubelet's own account; undefined when nothing says so. */
export function kubeletProblem(state: KubeletState): string | undefined {
  if (state.healthz !== "ok") return `no kubelet answers on the node (${state.healthzUrl}: ${oneLine(state.healthz, 120)})`;
  if (state.runtimeProblem) return state.runtimeProblem;
  for (const type of ["RuntimeReady", "NetworkReady"]) {
    const c = state.runtime?.find((x) => x.type === type);
    if (!c) return `the node's container runtime reports no ${type} condition`;
    if (!c.ready) return oneLine(`the node's container runtime reports ${type}=false${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}`, 300);
  }
  return undefined;
}

/** What the look found on one node: `problem` undefined when its kubelet runs and its runtime is ready. */
export interface KubeletLook {
  node: string;
  problem?: string;
  /** Evidence line: what the node said. */
  observed: string;
}

interface Cached {
  at: number;
  key: string;
  value: Promise<Map<string, KubeletLook> | undefined>;
}
const cache = new WeakMap<ClusterClient, Cached>();
const CACHE_MS = 1_500;

/**
 * Asks every node in `nodes` (their names) whether its kubelet runs. Undefined
 * when the cluster has no node shell (not a kind lab): the look is skipped.
 * Rejects when a node could not be asked (Docker failed, the exec timed out):
 * labrun could not evaluate, which is not a verdict. Looks at the same nodes
 * within 1.5 s of each other share one set of execs.
 */
export function lookAtKubelets(client: ClusterClient, nodes: string[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<Map<string, KubeletLook> | undefined> {
  const now = performance.now();
  const key = [...nodes].sort().join(",");
  const hit = cache.get(client);
  if (hit && hit.key === key && now - hit.at < CACHE_MS) return hit.value;
  const value = look(client, nodes, options);
  cache.set(client, { at: now, key, value });
  value.catch(() => {
    if (cache.get(client)?.value === value) cache.delete(client);
  });
  return value;
}

class NoShell extends Error {}

async function look(client: ClusterClient, nodes: string[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<Map<string, KubeletLook> | undefined> {
  const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000) - 1);
  try {
    const looks = await Promise.all(
      nodes.map(async (node): Promise<KubeletLook> => {
        let r;
        try {
          r = await client.runOnNode(node, ["timeout", String(seconds), "sh", "-c", KUBELET_SCRIPT], { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
        } catch (error) {
          if (error instanceof NodeShellUnavailableError) throw new NoShell();
          // The Node object names no container of this cluster, or its container does not run: no kubelet runs there.
          if (error instanceof UsageError || (error instanceof InfraError && error.code === "NODE_CONTAINER_DOWN")) {
            const why = error instanceof UsageError ? "no node container of this cluster has that name" : error.message;
            return { node, problem: `no kubelet runs on the node (${why})`, observed: why };
          }
          throw error;
        }
        if (r.timedOut || (r.exitCode !== 0 && !r.stdout.includes("### runtime"))) {
          throw new Error(`asking node ${node} about its kubelet failed (${r.timedOut ? "timed out" : `exit ${String(r.exitCode)}`}): ${oneLine(r.stderr || r.stdout, 160)}`);
        }
        const state = parseKubeletDump(r.stdout);
        const problem = kubeletProblem(state);
        const network = state.runtime?.find((c) => c.type === "NetworkReady");
        const observed = problem ?? `kubelet healthz ok; runtime ready${network ? ", NetworkReady" : ""}`;
        return { node, ...(problem ? { problem } : {}), observed };
      }),
    );
    return new Map(looks.map((l) => [l.node, l]));
  } catch (error) {
    if (error instanceof NoShell) return undefined;
    throw error;
  }
}
