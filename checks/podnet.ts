/**
 * The pod network, across nodes, as labrun sees it: an echo server pod of its
 * own on every node (a DaemonSet in `labrun-system`, `labrun-probe hold --max
 * 0 --listen :PORT`), each asked by every other at its pod IP with a fresh
 * nonce. An answer counts when it carries the nonce, comes from the target pod
 * (its hostname is the pod's name) and saw the source pod's own IP as its peer
 * (no NAT between pods). Every pod IP must be unique and inside the cluster's
 * pod subnet.
 *
 * The DaemonSet is created on first use and kept for the lab's life (the
 * cluster goes with `labrun down`). It is verified on every attempt: a
 * DaemonSet whose pod template someone changed is deleted and made again; a
 * pod with a container labrun did not put there (an ephemeral debug container
 * shares its network namespace) is deleted, and the DaemonSet replaces it.
 */
import type { ClusterClient, KubeObject } from "../runner/cluster/client.ts";
import type { Connectivity, Evidence } from "../runner/schema/report.ts";
import { sleep } from "../runner/util/sleep.ts";
import { errorMessage } from "../runner/util/text.ts";
import { IMAGE_PROBLEMS, lastWarningEvent } from "./owned.ts";
import { describePod, podView } from "./pods.ts";
import { PROBE_BINARY, PROBE_SECURITY_CONTEXT } from "./probe.ts";

export const PODNET_NAMESPACE = "labrun-system";
export const PODNET_CONTAINER = "echo";
export const DEFAULT_PODNET_PORT = 8080;

export function podnetName(port: number): string {
  return `labrun-podnet-${port}`;
}

export function podnetLabels(port: number): Record<string, string> {
  return { "app.kubernetes.io/name": "labrun-podnet", "app.kubernetes.io/managed-by": "labrun", "labrun.dev/port": String(port) };
}

export function podnetCommand(port: number): string[] {
  return [PROBE_BINARY, "hold", "--max", "0", "--listen", `:${port}`];
}

/** The DaemonSet: every node, control plane included (every taint tolerated), never the host network. */
export function podnetDaemonSet(port: number, image: string): KubeObject {
  const labels = podnetLabels(port);
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: podnetName(port), namespace: PODNET_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "100%" } },
      template: {
        metadata: { labels },
        spec: {
          hostNetwork: false,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 1,
          tolerations: [{ operator: "Exists" }],
          containers: [
            {
              name: PODNET_CONTAINER,
              image,
              imagePullPolicy: "IfNotPresent",
              command: podnetCommand(port),
              env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
              ports: [{ containerPort: port, protocol: "TCP" }],
              readinessProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 1 },
              securityContext: PROBE_SECURITY_CONTEXT,
            },
          ],
        },
      },
    },
  };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

/**
 * What is wrong with a pod spec (a DaemonSet's template or a live pod) for
 * labrun's echo server: anything that would let something other than the echo
 * server answer, or answer from the node's network. Empty when it is labrun's.
 */
export function podSpecProblems(spec: unknown, port: number, image: string): string[] {
  const s = obj(spec);
  const problems: string[] = [];
  if (s.hostNetwork === true) problems.push("runs on the host network");
  if (s.hostPID === true || s.hostIPC === true) problems.push("shares the host's PID or IPC namespace");
  if (list(s.initContainers).length) problems.push(`has init containers (${list(s.initContainers).map((c) => String(c.name)).join(", ")})`);
  const ephemeral = list(s.ephemeralContainers);
  if (ephemeral.length) problems.push(`has ephemeral containers labrun did not add (${ephemeral.map((c) => `${String(c.name)}: ${String(c.image)}`).join(", ")})`);
  if (list(s.hostAliases).length) problems.push("has hostAliases");
  const containers = list(s.containers);
  if (containers.length !== 1) problems.push(`has ${containers.length} containers, labrun's has 1 (${containers.map((c) => String(c.name)).join(", ")})`);
  const c = containers.find((x) => x.name === PODNET_CONTAINER);
  if (!c) problems.push(`has no container ${PODNET_CONTAINER}`);
  else {
    if (c.image !== image) problems.push(`container ${PODNET_CONTAINER} runs ${String(c.image)}, not ${image}`);
    if (JSON.stringify(c.command) !== JSON.stringify(podnetCommand(port)) || c.args !== undefined) problems.push(`container ${PODNET_CONTAINER} runs ${JSON.stringify([...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])])}`);
    const sc = obj(c.securityContext);
    const add = obj(sc.capabilities).add;
    if (sc.privileged === true || (Array.isArray(add) && add.length)) problems.push(`container ${PODNET_CONTAINER} is privileged or adds capabilities`);
  }
  return problems;
}

// ---------------------------------------------------------------- IPv4

export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Is `ip` inside the IPv4 CIDR? `undefined` when either is not IPv4. */
export function inCidr(ip: string, cidr: string): boolean | undefined {
  const [base, bitsText] = cidr.split("/");
  const b = ipv4ToNumber(base ?? "");
  const n = ipv4ToNumber(ip);
  const bits = Number(bitsText);
  if (b === undefined || n === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(n / size) === Math.floor(b / size);
}

// ---------------------------------------------------------------- the verdict

export interface EchoPod {
  name: string;
  node: string;
  /** Every IP of the pod (status.podIPs). */
  ips: string[];
}

export interface EchoAnswer {
  from: string;
  to: string;
  /** The nonce sent. */
  nonce: string;
  /** The probe could not run at all (exec failed): labrun could not evaluate this pair. */
  probeError?: string;
  /** The HTTP status (absent: no answer). */
  status?: number;
  /** labrun's echo reply, when the answer was one: did it carry the nonce, who answered, whom it saw. */
  reply?: { nonceMatch: boolean; hostname?: string; podIP?: string; peer?: string };
  error?: string;
  durationMs?: number;
}

export interface PodNetworkInput {
  /** Every node of the cluster. */
  nodes: string[];
  /** labrun's echo pods that run (one per node at most). */
  pods: EchoPod[];
  /** Nodes whose echo pod does not run, with what it is doing. */
  notRunning: { node: string; state: string }[];
  /** Every other running pod on the pod network (duplicate IPs with them count too). */
  others: { name: string; ips: string[] }[];
  podSubnet: string;
  minNodes: number;
  port: number;
  answers: EchoAnswer[];
}

export interface PodNetworkVerdict {
  ok: boolean;
  /** The probes could not run for pairs the verdict depends on. */
  couldNotEvaluate: boolean;
  message: string;
  evidence: Evidence[];
  connectivity: Connectivity[];
}

function peerIp(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  const m = /^\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return m ? m[1] : peer;
}

/** Judges one answer: undefined when it proves the pair works, else why not. */
export function judgeAnswer(a: EchoAnswer, from: EchoPod, to: EchoPod): string | undefined {
  if (a.probeError) return `the probe could not run: ${a.probeError}`;
  if (a.status === undefined) return `no answer: ${a.error ?? "unknown error"}`;
  if (a.status !== 200) return `HTTP ${a.status}: not labrun's echo server${a.error ? ` (${a.error})` : ""}`;
  if (!a.reply) return `not an echo reply: ${a.error ?? "unreadable answer"}`;
  if (!a.reply.nonceMatch) return `the answer did not carry the nonce ${a.nonce}: it did not come from labrun's echo server`;
  if (a.reply.hostname !== to.name) return `answered by ${JSON.stringify(a.reply.hostname ?? "")}, not by ${to.name}: the address reached another pod`;
  if (a.reply.podIP && !to.ips.includes(a.reply.podIP)) return `the answering pod reports IP ${a.reply.podIP}, not ${to.ips.join(", ")}`;
  const peer = peerIp(a.reply.peer);
  if (peer && !from.ips.includes(peer)) return `${to.name} saw the connection come from ${peer}, not from ${from.name}'s IP ${from.ips.join(", ")}: traffic between pods is NATed or proxied`;
  return undefined;
}

export function podNetworkVerdict(input: PodNetworkInput): PodNetworkVerdict {
  const evidence: Evidence[] = [];
  const problems: string[] = [];
  const podOn = new Map(input.pods.map((p) => [p.node, p]));
  const nodeLabel = (node: string) => node;
  const col = (node: string) => `${node}:${input.port}`;

  // every node takes part
  const missing = input.nodes.filter((n) => !podOn.has(n));
  for (const n of missing) {
    const state = input.notRunning.find((x) => x.node === n)?.state ?? "no echo pod was scheduled there";
    evidence.push({ label: `node ${n}: labrun's echo pod`, expected: "Running on the pod network", observed: state });
  }
  if (missing.length) problems.push(`labrun's echo pod does not run on ${missing.length === 1 ? "node" : "nodes"} ${missing.join(", ")}${input.notRunning.length ? ` (${input.notRunning.find((x) => x.node === missing[0])?.state ?? "not scheduled"})` : ""}`);
  if (input.pods.length < input.minNodes) problems.push(`only ${input.pods.length} of the required ${input.minNodes} nodes take part`);

  // pod IPs: inside the subnet, unique
  for (const p of input.pods) {
    const v4 = p.ips.filter((ip) => ipv4ToNumber(ip) !== undefined);
    if (!v4.length) {
      evidence.push({ label: `pod ${p.name} on ${p.node}: IP`, expected: `an IPv4 address in ${input.podSubnet}`, observed: p.ips.join(", ") || "none" });
      problems.push(`${p.name} on ${p.node} has no IPv4 pod IP`);
    }
    for (const ip of v4) {
      if (inCidr(ip, input.podSubnet) === false) {
        evidence.push({ label: `pod ${p.name} on ${p.node}: IP ${ip}`, expected: `inside the cluster's pod subnet ${input.podSubnet}`, observed: `outside it` });
        problems.push(`pod IP ${ip} on ${p.node} is outside the pod subnet ${input.podSubnet}`);
      }
    }
  }
  const holders = new Map<string, string[]>();
  for (const p of input.pods) for (const ip of p.ips) holders.set(ip, [...(holders.get(ip) ?? []), `${p.name} (${p.node})`]);
  for (const o of input.others) for (const ip of o.ips) if (holders.has(ip)) holders.set(ip, [...holders.get(ip)!, o.name]);
  for (const [ip, who] of holders) {
    if (who.length < 2) continue;
    evidence.push({ label: `pod IP ${ip}`, expected: "held by one pod", observed: `held by ${who.join(", ")}` });
    problems.push(`pod IP ${ip} is held by ${who.length} pods (${who.slice(0, 3).join(", ")}): each node's pods need their own range`);
  }

  // every pair
  const connectivity: Connectivity[] = [];
  const pairProblems: string[] = [];
  let errors = 0;
  const byName = new Map(input.pods.map((p) => [p.name, p]));
  for (const a of input.answers) {
    const from = byName.get(a.from);
    const to = byName.get(a.to);
    if (!from || !to) continue;
    const why = judgeAnswer(a, from, to);
    const url = `http://${to.ips[0] ?? "?"}:${input.port}`;
    connectivity.push({ from: nodeLabel(from.node), to: col(to.node), expected: "allowed", observed: why === undefined ? "allowed" : a.probeError ? "unknown" : "blocked" });
    evidence.push({
      label: `echo ${url} (${to.name} on ${to.node}) from ${from.name} on ${from.node}`,
      expected: `HTTP 200 from ${to.name} with the nonce, peer ${from.ips[0] ?? "?"}`,
      observed: why ?? `answered by ${to.name} with the nonce${a.durationMs !== undefined ? ` in ${a.durationMs}ms` : ""}`,
    });
    if (why !== undefined) {
      if (a.probeError) errors++;
      else pairProblems.push(`${from.node} → ${to.node}: ${why}`);
    }
  }
  // Missing nodes are columns nobody could reach.
  for (const n of missing) for (const p of input.pods) connectivity.push({ from: nodeLabel(p.node), to: col(n), expected: "allowed", observed: "unknown" });
  if (pairProblems.length) problems.push(`${pairProblems.length} of ${input.answers.length} pod-to-pod connections fail: ${pairProblems.slice(0, 2).join("; ")}${pairProblems.length > 2 ? "; …" : ""}`);

  if (!problems.length && !errors) {
    return {
      ok: true,
      couldNotEvaluate: false,
      message: `${input.pods.length} nodes reach each other's pods over the pod network (${input.answers.length} connections, unique pod IPs in ${input.podSubnet})`,
      evidence,
      connectivity,
    };
  }
  if (!problems.length) return { ok: false, couldNotEvaluate: true, message: `${errors} of ${input.answers.length} probes could not run`, evidence, connectivity };
  return { ok: false, couldNotEvaluate: false, message: problems.join("; "), evidence, connectivity };
}

// ---------------------------------------------------------------- the DaemonSet

export interface PodNetState {
  nodes: string[];
  running: { pod: KubeObject; node: string }[];
  /** `imageProblem`: the probe image cannot be pulled there (labrun's problem, not the cluster's). */
  notRunning: { node: string; state: string; imageProblem?: string }[];
  /** What labrun had to repair (a changed template, a pod with a foreign container). */
  repaired: Evidence[];
}

/**
 * Makes sure labrun's echo DaemonSet exists and is labrun's, then waits (at
 * most `timeoutMs`) until an echo pod runs on every node. Returns what runs and
 * what does not.
 */
export async function ensurePodNet(client: ClusterClient, o: { port: number; image: string; timeoutMs: number; signal?: AbortSignal; pollMs?: number }): Promise<PodNetState> {
  const sig = o.signal ? { signal: o.signal } : {};
  const repaired: Evidence[] = [];
  const deadline = Date.now() + o.timeoutMs;
  const name = podnetName(o.port);
  if (!(await client.get({ apiVersion: "v1", kind: "Namespace", name: PODNET_NAMESPACE }, sig))) {
    await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: PODNET_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "labrun" } } }, { fieldManager: "labrun", ...sig });
  }
  let ds = await client.get({ apiVersion: "apps/v1", kind: "DaemonSet", name, namespace: PODNET_NAMESPACE }, sig);
  if (ds) {
    const template = obj(obj(ds.spec).template);
    const problems = podSpecProblems(template.spec, o.port, o.image);
    const labels = obj(obj(template.metadata).labels);
    if (Object.entries(podnetLabels(o.port)).some(([k, v]) => labels[k] !== v)) problems.push("its pods' labels were changed");
    if (problems.length) {
      repaired.push({ label: `DaemonSet ${PODNET_NAMESPACE}/${name}`, expected: "labrun's echo server pod template", observed: `changed: ${problems.join("; ")}; labrun made it again` });
      await client.delete({ apiVersion: "apps/v1", kind: "DaemonSet", name, namespace: PODNET_NAMESPACE }, sig);
      while (await client.get({ apiVersion: "apps/v1", kind: "DaemonSet", name, namespace: PODNET_NAMESPACE }, sig)) {
        if (Date.now() >= deadline) break;
        await sleep(o.pollMs ?? 500, o.signal);
      }
      ds = undefined;
    }
  }
  if (!ds) ds = await client.apply(podnetDaemonSet(o.port, o.image), { fieldManager: "labrun", force: true, ...sig });
  const uid = ds.metadata.uid;

  const deleted = new Set<string>();
  for (;;) {
    const nodes = (await client.list("v1", "Node", sig)).map((n) => n.metadata.name).sort();
    const pods = (await client.list("v1", "Pod", { namespace: PODNET_NAMESPACE, labelSelector: Object.entries(podnetLabels(o.port)).map(([k, v]) => `${k}=${v}`).join(","), ...sig })).filter(
      (p) => !podView(p).terminating && (!uid || (p.metadata.ownerReferences ?? []).some((r) => r.uid === uid)),
    );
    const running: PodNetState["running"] = [];
    const notRunning: { node: string; state: string; pod?: string; imageProblem?: string }[] = [];
    for (const node of nodes) {
      const here = pods.filter((p) => podNode(p) === node);
      let ok: KubeObject | undefined;
      for (const p of here) {
        const problems = podSpecProblems(p.spec, o.port, o.image);
        if (problems.length) {
          if (!deleted.has(p.metadata.name)) {
            deleted.add(p.metadata.name);
            repaired.push({ label: `pod ${PODNET_NAMESPACE}/${p.metadata.name} on ${node}`, expected: "labrun's echo server, unchanged", observed: `${problems.join("; ")}; labrun deleted it (the DaemonSet makes a new one)` });
            await client.delete({ apiVersion: "v1", kind: "Pod", name: p.metadata.name, namespace: PODNET_NAMESPACE }, sig).catch((error: unknown) => {
              repaired.push({ label: `pod ${PODNET_NAMESPACE}/${p.metadata.name}`, observed: `could not delete it: ${errorMessage(error)}` });
            });
          }
          continue;
        }
        const v = podView(p);
        if (v.phase === "Running" && v.ready && v.podIP && !v.hostNetwork) ok = p;
      }
      if (ok) running.push({ pod: ok, node });
      else {
        const candidate = here.find((p) => !deleted.has(p.metadata.name));
        const waiting = candidate ? podView(candidate).containerStatuses.map((c) => c.state?.waiting?.reason ?? "").find((r) => IMAGE_PROBLEMS.has(r)) : undefined;
        notRunning.push({
          node,
          state: candidate ? `${candidate.metadata.name}: ${describePod(candidate)}` : here.length ? "being replaced" : "no echo pod scheduled yet",
          ...(candidate ? { pod: candidate.metadata.name } : {}),
          ...(waiting ? { imageProblem: waiting } : {}),
        });
      }
    }
    if (!notRunning.length || Date.now() >= deadline) {
      // The kubelet's last warning says why a pod does not start (no CNI, a sandbox that fails).
      for (const n of notRunning) {
        const event = n.pod ? await lastWarningEvent(client, PODNET_NAMESPACE, n.pod) : undefined;
        if (event) n.state += `; last warning: ${event}`;
      }
      return { nodes, running, notRunning: notRunning.map(({ node, state, imageProblem }) => ({ node, state, ...(imageProblem ? { imageProblem } : {}) })), repaired };
    }
    await sleep(Math.min(o.pollMs ?? 500, Math.max(0, deadline - Date.now())), o.signal);
  }
}

/** The node a DaemonSet pod is on, or is meant for (its node affinity) while it is not scheduled yet. */
export function podNode(pod: KubeObject): string | undefined {
  const spec = obj(pod.spec);
  if (typeof spec.nodeName === "string") return spec.nodeName;
  const terms = list(obj(obj(obj(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution).nodeSelectorTerms);
  for (const t of terms) {
    for (const f of list(t.matchFields)) {
      if (f.key === "metadata.name" && Array.isArray(f.values) && typeof f.values[0] === "string") return f.values[0];
    }
  }
  return undefined;
}
