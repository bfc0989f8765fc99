/**
 * labrun's toolbox: the pod behind `labrun serve`'s browser terminal (the
 * learner's shell, with kubectl), in namespace `labrun-system` of a served
 * lab's cluster. runner/serve/toolbox.ts creates it; this module says what it
 * is, so that checks and sweeps of "pods the scenario does not declare" can
 * leave it out without giving learners a way to hide a pod of their own:
 *
 *   - the exemption is the exact pod labrun makes: namespace `labrun-system`,
 *     name `labrun-toolbox`, one container `shell` running the toolbox image
 *     with `sleep infinity`, as uid 1000 without capabilities or privileges,
 *     no init or ephemeral containers, labrun's ServiceAccount, its add-on
 *     ConfigMap as the only volume. A pod with another name, namespace, image,
 *     command, container, volume or more privileges is not the toolbox, labels
 *     and annotations notwithstanding (a learner can copy those);
 *   - only one pod can have that namespace and name, and a copy that passes is
 *     the same harmless shell: nothing run in it can change the node's network
 *     (no capabilities, no privilege escalation).
 *
 * The toolbox runs on the control-plane node's host network (it must work
 * before a CNI exists: beebox-cni's nodes are NotReady) and talks to the API
 * server on 127.0.0.1:6443, so a broken kube-proxy or CNI does not cut the
 * learner off. Its ServiceAccount is bound to cluster-admin: the learner's
 * permissions, as with the CLI's kubeconfig.
 */
import type { KubeObject } from "../runner/cluster/client.ts";
import { TOOLBOX_IMAGE } from "../runner/cluster/images.ts";
import { OWNED_ANNOTATION } from "./owned.ts";

export const TOOLBOX_NAMESPACE = "labrun-system";
export const TOOLBOX_NAME = "labrun-toolbox";
export const TOOLBOX_CONTAINER = "shell";
export const TOOLBOX_ADDONS_CONFIGMAP = "labrun-toolbox-addons";
/** Where the add-on manifests are mounted (the toolbox's `labrun addon NAME` prints them). */
export const TOOLBOX_ADDONS_DIR = "/labrun/addons";
export const TOOLBOX_USER = 1000;
/** What the browser terminal runs. */
export const TOOLBOX_SHELL = ["/bin/bash", "-il"];
const TOOLBOX_COMMAND = ["sleep", "infinity"];
const TOOLBOX_LABELS = { "app.kubernetes.io/name": "labrun-toolbox", "app.kubernetes.io/managed-by": "labrun" };
const SECURITY_CONTEXT = { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } };

export interface ToolboxOptions {
  /** The node it runs on (the control plane: the API server is on its 127.0.0.1:6443); absent: the scheduler picks one and kubectl uses the kubernetes Service. */
  node?: string;
  /** Add-on manifests by name (`flannel` → YAML, placeholders filled for this cluster). */
  addons: Record<string, string>;
  image?: string;
}

/** Everything the toolbox needs, in apply order: namespace, ServiceAccount, its cluster-admin binding, the add-on ConfigMap, the pod. */
export function toolboxObjects(o: ToolboxOptions): KubeObject[] {
  const annotations = { [OWNED_ANNOTATION]: "labrun serve: the lab page's terminal" };
  const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: TOOLBOX_NAMESPACE } : {}), labels: { ...TOOLBOX_LABELS }, annotations: { ...annotations } });
  const data: Record<string, string> = {};
  for (const [name, text] of Object.entries(o.addons)) data[`${name}.yaml`] = text;
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: meta(TOOLBOX_NAMESPACE, false) },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(TOOLBOX_NAME) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(TOOLBOX_NAME, false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: TOOLBOX_NAME, namespace: TOOLBOX_NAMESPACE }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(TOOLBOX_ADDONS_CONFIGMAP), data },
    toolboxPod(o),
  ];
}

export function toolboxPod(o: Pick<ToolboxOptions, "node" | "image">): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: TOOLBOX_NAME, namespace: TOOLBOX_NAMESPACE, labels: { ...TOOLBOX_LABELS }, annotations: { [OWNED_ANNOTATION]: "labrun serve: the lab page's terminal", "kubectl.kubernetes.io/default-container": TOOLBOX_CONTAINER } },
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      // Before a CNI exists no pod gets a network: the node's, and every taint (NotReady, control plane) tolerated.
      hostNetwork: true,
      dnsPolicy: "ClusterFirstWithHostNet",
      tolerations: [{ operator: "Exists" }],
      serviceAccountName: TOOLBOX_NAME,
      automountServiceAccountToken: true,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsUser: TOOLBOX_USER, runAsGroup: TOOLBOX_USER, runAsNonRoot: true },
      containers: [
        {
          name: TOOLBOX_CONTAINER,
          image: o.image ?? TOOLBOX_IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: TOOLBOX_COMMAND,
          // On the control plane's host network the API server is on the loopback: no kube-proxy or CNI in the way.
          // kubectl's namespace is `default`, as with the CLI's kubeconfig (in a pod it would be the pod's own).
          env: [
            { name: "POD_NAMESPACE", value: "default" },
            ...(o.node
              ? [
                  { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
                  { name: "KUBERNETES_SERVICE_PORT", value: "6443" },
                ]
              : []),
          ],
          securityContext: SECURITY_CONTEXT,
          volumeMounts: [{ name: "addons", mountPath: TOOLBOX_ADDONS_DIR, readOnly: true }],
        },
      ],
      volumes: [{ name: "addons", configMap: { name: TOOLBOX_ADDONS_CONFIGMAP } }],
    },
  };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Whether `pod` is labrun's toolbox: exactly the pod toolboxPod makes (see
 * the module comment), not merely one with its name, labels or annotation.
 */
export function isLabrunToolboxPod(pod: KubeObject, image: string = TOOLBOX_IMAGE): boolean {
  if (pod.kind !== undefined && pod.kind !== "Pod") return false;
  if (pod.metadata.namespace !== TOOLBOX_NAMESPACE || pod.metadata.name !== TOOLBOX_NAME) return false;
  const spec = obj(pod.spec);
  if (list(spec.initContainers).length || list(spec.ephemeralContainers).length) return false;
  if (spec.serviceAccountName !== TOOLBOX_NAME || spec.hostPID === true || spec.hostIPC === true || spec.shareProcessNamespace === true) return false;
  const sc = obj(spec.securityContext);
  if (sc.runAsUser !== TOOLBOX_USER || sc.runAsNonRoot !== true) return false;
  const containers = list(spec.containers).map(obj);
  if (containers.length !== 1) return false;
  const c = containers[0]!;
  if (c.name !== TOOLBOX_CONTAINER || c.image !== image || JSON.stringify(c.command) !== JSON.stringify(TOOLBOX_COMMAND) || list(c.args).length) return false;
  const csc = obj(c.securityContext);
  const caps = obj(csc.capabilities);
  if (csc.privileged === true || csc.allowPrivilegeEscalation !== false || list(caps.add).length || JSON.stringify(caps.drop) !== '["ALL"]') return false;
  if (c.runAsUser !== undefined || obj(c.securityContext).runAsUser !== undefined) return false;
  const volumes = list(spec.volumes).map(obj);
  // The API server adds the ServiceAccount token's projected volume (kube-api-access-*); nothing else may be there.
  const own = volumes.filter((v) => !(typeof v.name === "string" && v.name.startsWith("kube-api-access-") && v.projected));
  if (own.length !== 1 || own[0]!.name !== "addons" || obj(own[0]!.configMap).name !== TOOLBOX_ADDONS_CONFIGMAP) return false;
  const mounts = list(c.volumeMounts).map(obj);
  return mounts.every((m) => (m.name === "addons" && m.mountPath === TOOLBOX_ADDONS_DIR && m.readOnly === true) || (typeof m.name === "string" && m.name.startsWith("kube-api-access-")));
}
