/**
 * The host-level sweep: no pod the scenario does not account for may hold the
 * keys to a node's network.
 *
 * A verdict on the pod network is only as good as the network it went
 * through. A pod on the host network with NET_ADMIN (or privileged) can add
 * iptables rules on its node: a DROP of one source makes a `blocked` check
 * pass without any NetworkPolicy, a DNAT makes an `http` check reach
 * something else, a hostPath mount rewrites a node's CNI files. Before a
 * network or CNI check's pass counts, every pod of the cluster is looked at;
 * a pod is **host-level** when it uses the host's network, PID or IPC
 * namespace, runs a privileged container, adds a capability beyond the
 * container runtime's defaults (NET_ADMIN, SYS_ADMIN, ...), or mounts a
 * hostPath volume. A host-level pod passes only when it is accounted for:
 *
 *   - a static pod (a mirror pod: its manifest is a file on the node, and a
 *     forged mirror pod is never run by the kubelet);
 *   - a pod of a workload the scenario's `apply` steps declare (setup, break
 *     or solution), with the same host shape: images, commands and args,
 *     environment, privileges, capabilities, lifecycle and probe commands,
 *     host namespaces and hostPath mounts;
 *   - a pod of an add-on labrun serves (runner/addons/*.yaml: every file
 *     there is trusted, so a new add-on needs nothing here) or of kubeadm's
 *     kube-proxy DaemonSet, with the same host shape (placeholders such as
 *     `{{ .ServiceSubnet }}` match any value).
 *
 * Anything else (a learner's firewall DaemonSet, a completed privileged Job,
 * flannel's DaemonSet with an extra init container or a changed command) makes
 * the check fail with the pod and why. labrun's own pods (the probe, the echo
 * DaemonSet in labrun-system, truth-table rows) are never host-level.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeObject } from "../runner/cluster/client.ts";
import type { Evidence } from "../runner/schema/report.ts";
import type { IntegrityFailure } from "./integrity.ts";
import { isLabrunProbeContainer } from "./probe.ts";
import { isLabrunToolboxPod } from "./toolbox.ts";
import { podName } from "./pods.ts";
import { canonical, normalizeCapability, normalizeImage, WorkloadIndex } from "./workloads.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Capabilities a container runtime grants by default (containerd, Docker): adding them gives nothing. */
export const DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** kubeadm's kube-proxy DaemonSet (cmd/kubeadm/app/phases/addons/proxy/manifests.go), as kind creates it. */
export const KUBE_PROXY_MANIFEST = `
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: kube-proxy, namespace: kube-system }
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: kube-proxy
          image: registry.k8s.io/kube-proxy:{{ .KubernetesVersion }}
          command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf, "--hostname-override=$(NODE_NAME)"]
          securityContext: { privileged: true }
          env:
            - name: NODE_NAME
              valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
          volumeMounts:
            - { mountPath: /var/lib/kube-proxy, name: kube-proxy }
            - { mountPath: /run/xtables.lock, name: xtables-lock }
            - { mountPath: /lib/modules, name: lib-modules, readOnly: true }
      volumes:
        - { name: kube-proxy, configMap: { name: kube-proxy } }
        - { name: xtables-lock, hostPath: { path: /run/xtables.lock, type: FileOrCreate } }
        - { name: lib-modules, hostPath: { path: /lib/modules } }
`;

/** Why a pod spec gives access to its node (empty: it does not). labrun's probe containers do not count. */
export function hostAccess(spec: unknown, probeImage: string): string[] {
  const s = isObj(spec) ? spec : {};
  const reasons: string[] = [];
  if (s.hostNetwork === true) reasons.push("hostNetwork");
  if (s.hostPID === true) reasons.push("hostPID");
  if (s.hostIPC === true) reasons.push("hostIPC");
  const hostPaths = arr(s.volumes)
    .filter(isObj)
    .filter((v) => isObj(v.hostPath))
    .map((v) => String((v.hostPath as Obj).path ?? "?"));
  if (hostPaths.length) reasons.push(`hostPath ${hostPaths.join(", ")}`);
  for (const [kind, list] of [
    ["container", s.containers],
    ["init container", s.initContainers],
    ["ephemeral container", s.ephemeralContainers],
  ] as const) {
    for (const c of arr(list).filter(isObj)) {
      if (kind === "ephemeral container" && isLabrunProbeContainer(c as never, probeImage, { anyVersion: true })) continue;
      const sc = isObj(c.securityContext) ? c.securityContext : {};
      if (sc.privileged === true) reasons.push(`${kind} ${String(c.name)} privileged`);
      const caps = (isObj(sc.capabilities) ? arr(sc.capabilities.add) : []).map((x) => normalizeCapability(String(x))).filter((x) => !DEFAULT_CAPABILITIES.has(x));
      if (caps.length) reasons.push(`${kind} ${String(c.name)} adds ${caps.join(", ")}`);
    }
  }
  return reasons;
}

/**
 * What a pod could do to its node, as canonical JSON: host namespaces, hostPath
 * mounts, and per container everything that runs code or grants access
 * (image, command, args, env, privileges, capabilities, lifecycle and probe
 * commands, mounts). Fields the API server defaults are left out, so a
 * manifest and the pod made from it have the same shape.
 */
export function hostShape(spec: unknown, probeImage?: string): string {
  const s = isObj(spec) ? spec : {};
  const volumes = new Map<string, string>();
  for (const v of arr(s.volumes).filter(isObj)) {
    const name = String(v.name ?? "");
    volumes.set(name, isObj(v.hostPath) ? `hostPath:${String(v.hostPath.path ?? "")}` : Object.keys(v).filter((k) => k !== "name").sort().join(","));
  }
  const exec = (probe: unknown) => (isObj(probe) && isObj(probe.exec) ? arr(probe.exec.command).map(String) : undefined);
  const container = (c: Obj) => {
    const sc = isObj(c.securityContext) ? c.securityContext : {};
    const lifecycle = isObj(c.lifecycle) ? c.lifecycle : {};
    return {
      name: String(c.name ?? ""),
      image: normalizeImage(String(c.image ?? "")),
      command: arr(c.command).map(String),
      args: arr(c.args).map(String),
      env: arr(c.env)
        .filter(isObj)
        .map((e) => {
          const from = isObj(e.valueFrom) ? structuredClone(e.valueFrom) : undefined;
          if (from && isObj(from.fieldRef)) delete from.fieldRef.apiVersion;
          return `${String(e.name)}=${from ? canonical(from) : String(e.value ?? "")}`;
        }),
      envFrom: canonical(arr(c.envFrom)),
      privileged: sc.privileged === true,
      capabilities: (isObj(sc.capabilities) ? arr(sc.capabilities.add) : []).map((x) => normalizeCapability(String(x))).sort(),
      postStart: exec(lifecycle.postStart),
      preStop: exec(lifecycle.preStop),
      probes: [exec(c.livenessProbe), exec(c.readinessProbe), exec(c.startupProbe)],
      mounts: arr(c.volumeMounts)
        .filter(isObj)
        // The service account token the API server's admission adds to every pod (a manifest never has it).
        .filter((m) => !(String(m.name).startsWith("kube-api-access-") && volumes.get(String(m.name)) === "projected"))
        .map((m) => `${String(m.mountPath)}<-${volumes.get(String(m.name)) ?? "?"}${m.readOnly === true ? ":ro" : ""}${typeof m.subPath === "string" && m.subPath ? `/${m.subPath}` : ""}`)
        .sort(),
    };
  };
  return canonical({
    hostNetwork: s.hostNetwork === true,
    hostPID: s.hostPID === true,
    hostIPC: s.hostIPC === true,
    hostPaths: [...volumes.values()].filter((v) => v.startsWith("hostPath:")).sort(),
    containers: arr(s.containers).filter(isObj).map(container),
    initContainers: arr(s.initContainers).filter(isObj).map(container),
    // labrun's own probe containers (a host-network pod the scenario declares can be a probe's source) are not the pod's.
    ephemeralContainers: arr(s.ephemeralContainers)
      .filter(isObj)
      .filter((c) => !(probeImage && isLabrunProbeContainer(c as never, probeImage, { anyVersion: true })))
      .map(container),
  });
}

/** Whether a live shape matches a declared one; `{{ .Name }}` placeholders in the declaration match any value. */
export function shapeMatches(declared: string, live: string): boolean {
  if (!declared.includes("{{")) return declared === live;
  const pattern = declared
    .split(/\{\{\s*\.[A-Za-z][A-Za-z0-9]*\s*\}\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join('[^"]*');
  return new RegExp(`^${pattern}$`).test(live);
}

/** The manifests of the add-ons labrun serves (runner/addons/*.yaml) and kubeadm's kube-proxy. */
export function trustedAddonIndex(dir = addonsDir()): WorkloadIndex {
  const index = new WorkloadIndex().addManifests(KUBE_PROXY_MANIFEST, "kube-system", " (kubeadm's kube-proxy)");
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  } catch {
    // no add-ons in this installation: only the scenario's own pods are trusted
  }
  for (const file of files.sort()) {
    try {
      index.addManifests(readFileSync(path.join(dir, file), "utf8"), "default", ` (labrun add-on ${file.replace(/\.yaml$/, "")})`);
    } catch {
      // unreadable: not trusted
    }
  }
  return index;
}

/** runner/addons/ from checks/ in the source tree, or from dist/checks/ in the published package. */
function addonsDir(): string {
  const candidates = [new URL("../runner/addons/", import.meta.url), new URL("../../runner/addons/", import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0]!;
}

let defaultTrusted: WorkloadIndex | undefined;

export interface UnaccountedPod {
  pod: string;
  access: string[];
  /** Why it is not accounted for. */
  why: string;
}

/** The host-level pods of `pods` that nothing accounts for. */
export function unaccountedHostPods(pods: KubeObject[], options: { workloads: WorkloadIndex; probeImage: string; trusted?: WorkloadIndex }): UnaccountedPod[] {
  const trusted = options.trusted ?? (defaultTrusted ??= trustedAddonIndex());
  const out: UnaccountedPod[] = [];
  for (const pod of pods) {
    const access = hostAccess(pod.spec, options.probeImage);
    if (!access.length) continue;
    if (typeof pod.metadata.annotations?.[MIRROR_ANNOTATION] === "string") continue;
    // labrun serve's terminal pod (host network, no privileges): exactly the pod labrun makes, nothing alike.
    if (isLabrunToolboxPod(pod)) continue;
    const live = hostShape(pod.spec, options.probeImage);
    const declared = [...options.workloads.variantsFor(pod), ...trusted.variantsFor(pod)];
    if (declared.some((d) => shapeMatches(hostShape(d.spec), live))) continue;
    out.push({
      pod: podName(pod),
      access,
      why: declared.length
        ? `differs from ${declared[0]!.source} (its containers, commands, environment, privileges or host mounts were changed)`
        : "the scenario does not deploy it and it is not an add-on labrun serves",
    });
  }
  return out;
}

/** The sweep as an integrity verdict: undefined when every host-level pod is accounted for. */
export function hostLevelFailure(pods: KubeObject[], options: { workloads: WorkloadIndex; probeImage: string; trusted?: WorkloadIndex }): IntegrityFailure | undefined {
  const found = unaccountedHostPods(pods, options);
  if (!found.length) return undefined;
  const first = found[0]!;
  const evidence: Evidence[] = found.slice(0, 8).map((f) => ({
    label: `host-level pod ${f.pod}`,
    expected: "no pod with access to a node's network or files that the scenario or labrun's add-ons do not account for",
    observed: `${f.access.join(", ")}: ${f.why}`,
  }));
  if (found.length > 8) evidence.push({ label: "host-level pods: …", observed: `${found.length - 8} more` });
  return {
    message: `pod ${first.pod} (${first.access.join(", ")}) can change its node's network (iptables, routes, CNI files) and ${first.why}: a network verdict cannot be trusted while it exists`,
    evidence,
  };
}
