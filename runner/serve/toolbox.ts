/**
 * The toolbox of a served lab (checks/toolbox.ts says what it is): its image
 * loaded into the lab's nodes (while the scenario's setup runs), then the
 * namespace, ServiceAccount (cluster-admin), add-on ConfigMap and pod applied
 * and waited for; and the terminal: `/bin/bash -il` with a TTY in it, through
 * the Kubernetes exec API with the lab's own kubeconfig. Nothing here runs on
 * the host that runs labrun but the API calls.
 */
import { TOOLBOX_CONTAINER, TOOLBOX_NAME, TOOLBOX_NAMESPACE, TOOLBOX_SHELL, toolboxObjects } from "../../checks/toolbox.ts";
import type { ClusterClient, KubeObject } from "../cluster/client.ts";
import { TOOLBOX_IMAGE } from "../cluster/images.ts";
import { readKubeConfig } from "../cluster/kubeconfig-lite.ts";
import { openTerminal, terminalTarget, type RemoteTerminal, type TerminalHandlers, type TerminalSize } from "../cluster/ws-terminal.ts";
import { InfraError } from "../errors.ts";
import { ADDONS, addonText, fillPlaceholders, LOADED_ON_DEMAND } from "../lab/addons.ts";
import type { LabRecord } from "../lab/state.ts";
import type { ClusterSpec } from "../schema/scenario.ts";
import { podSubnetOf, serviceSubnetOf } from "../schema/values.ts";
import { sleep } from "../util/sleep.ts";

const IMAGE_PROBLEMS = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerError", "CreateContainerConfigError"]);

/**
 * The add-on manifests for the toolbox's /labrun/addons, filled for the lab's
 * cluster (what `labrun addon NAME --lab LAB` prints). Not those whose images
 * are loaded on demand (Cilium): the page's terminal cannot load them into the nodes.
 */
export async function toolboxAddons(cluster: Pick<ClusterSpec, "networking">): Promise<Record<string, string>> {
  const vars = { PodSubnet: podSubnetOf(cluster), ServiceSubnet: serviceSubnetOf(cluster) };
  const out: Record<string, string> = {};
  for (const name of ADDONS) if (!LOADED_ON_DEMAND.has(name)) out[name] = fillPlaceholders(name, await addonText(name), vars);
  return out;
}

/** The control-plane node (the toolbox runs there, next to the API server), or undefined. */
export async function controlPlaneNode(client: ClusterClient, signal?: AbortSignal): Promise<string | undefined> {
  const nodes = await client.list("v1", "Node", signal ? { signal } : {});
  return nodes
    .filter((n) => n.metadata.labels?.["node-role.kubernetes.io/control-plane"] !== undefined)
    .map((n) => n.metadata.name)
    .sort()[0];
}

/**
 * Applies the toolbox's objects and waits until its pod runs. A pod that
 * cannot run (its image is not in the node, its container cannot be made)
 * is an InfraError naming the reason, never a hang.
 */
export async function ensureToolbox(
  client: ClusterClient,
  options: { cluster: Pick<ClusterSpec, "networking">; image?: string; timeoutMs?: number; pollMs?: number; signal?: AbortSignal },
): Promise<{ node: string | undefined }> {
  const signal = options.signal;
  const sig = signal ? { signal } : {};
  const node = await controlPlaneNode(client, signal);
  const objects = toolboxObjects({ addons: await toolboxAddons(options.cluster), ...(node ? { node } : {}), ...(options.image ? { image: options.image } : {}) });
  for (const object of objects) await applyRetrying(client, object, options.pollMs ?? 500, signal);
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    const pod = await client.get({ apiVersion: "v1", kind: "Pod", name: TOOLBOX_NAME, namespace: TOOLBOX_NAMESPACE }, sig);
    const status = (pod?.status ?? {}) as { phase?: string; containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string; message?: string } } }[] };
    if (status.phase === "Running" && status.containerStatuses?.[0]?.ready) return { node };
    const waiting = status.containerStatuses?.[0]?.state?.waiting;
    if (waiting?.reason && IMAGE_PROBLEMS.has(waiting.reason)) {
      throw new InfraError(`labrun's toolbox pod cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`, {
        hint: `build the toolbox image (\`tools/images/build.sh --only toolbox-image\`, image ${options.image ?? TOOLBOX_IMAGE})`,
      });
    }
    if (status.phase === "Failed" || status.phase === "Succeeded" || Date.now() >= deadline) {
      throw new InfraError(`labrun's toolbox pod ${TOOLBOX_NAMESPACE}/${TOOLBOX_NAME} did not start (phase ${status.phase ?? "none"}${waiting?.reason ? `, ${waiting.reason}` : ""})`);
    }
    await sleep(options.pollMs ?? 500, signal);
  }
}

/** A namespace made a moment ago has no default ServiceAccount yet, and a pod's own ServiceAccount may lag: admission refuses the pod until they exist. */
async function applyRetrying(client: ClusterClient, object: KubeObject, pollMs: number, signal: AbortSignal | undefined): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await client.apply(object, { fieldManager: "labrun-serve", force: true, ...(signal ? { signal } : {}) });
      return;
    } catch (error) {
      if (signal?.aborted || tries >= 40 || !/serviceaccount.*not found|not found.*serviceaccount/i.test(String((error as Error).message))) throw error;
      await sleep(pollMs, signal);
    }
  }
}

/** `/bin/bash -il` with a TTY in the lab's toolbox, over the exec API with the lab's kubeconfig. */
export function openToolboxShell(lab: Pick<LabRecord, "kubeconfig" | "context">, size: TerminalSize, handlers: TerminalHandlers): Promise<RemoteTerminal> {
  const config = readKubeConfig(lab.kubeconfig, lab.context);
  if (config.unsupported) throw new InfraError(`the lab's kubeconfig cannot be used for a terminal: ${config.unsupported}`);
  return openTerminal(terminalTarget(config), { namespace: TOOLBOX_NAMESPACE, pod: TOOLBOX_NAME, container: TOOLBOX_CONTAINER }, TOOLBOX_SHELL, size, handlers);
}
