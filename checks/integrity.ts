/**
 * Pod integrity: may labrun trust a probe run in this pod's network namespace,
 * or an answer from this pod?
 *
 * labrun's probe shares the source pod's network namespace, so anything else
 * in that namespace could answer for the target: an ephemeral container the
 * learner added with `kubectl debug` (an nginx serving :80; one with
 * `--profile=netadmin` that puts the target's IP on the pod's loopback), or a
 * pod recreated with NET_ADMIN, privileges, hostAliases or its own DNS
 * settings. Before a network check trusts a source or a target pod it checks:
 *
 *   - every ephemeral container is one of labrun's probes, matched on its whole
 *     spec (name, image, command, securityContext and nothing else), since a
 *     learner can name a debug container `labrun-probe-x`; an ephemeral
 *     container cannot be removed, so one that ever ran stays a reason;
 *   - the pod matches the scenario's declaration (checks/workloads.ts):
 *     images, no added capabilities or privileges, hostNetwork, hostPID,
 *     hostAliases, dnsPolicy, dnsConfig and shareProcessNamespace.
 *
 * A violation fails the check (the cluster is not in a state labrun can
 * grade), with the evidence; it is never an `error` and never a pass.
 */
import type { Evidence } from "../runner/schema/report.ts";
import type { KubeObject } from "../runner/cluster/client.ts";
import { isLabrunProbeContainer } from "./probe.ts";
import { podName } from "./pods.ts";
import type { WorkloadIndex } from "./workloads.ts";

export interface IntegrityFailure {
  /** One line: what is wrong and why it matters. */
  message: string;
  evidence: Evidence[];
}

interface EphemeralContainer {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  targetContainerName?: string;
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[] } };
}

interface EphemeralStatus {
  name: string;
  state?: { running?: unknown; terminated?: { reason?: string; exitCode?: number }; waiting?: { reason?: string } };
}

/** The ephemeral containers of `pod` that labrun did not add, described for evidence. */
export function foreignEphemeralContainers(pod: KubeObject, probeImage: string): { name: string; image: string; describe: string }[] {
  const spec = (pod.spec ?? {}) as { ephemeralContainers?: EphemeralContainer[] };
  const statuses = ((pod.status ?? {}) as { ephemeralContainerStatuses?: EphemeralStatus[] }).ephemeralContainerStatuses ?? [];
  const out: { name: string; image: string; describe: string }[] = [];
  for (const c of spec.ephemeralContainers ?? []) {
    if (isLabrunProbeContainer(c, probeImage, { anyVersion: true })) continue;
    const name = c.name ?? "?";
    const image = c.image ?? "?";
    const status = statuses.find((s) => s.name === name);
    const state = status?.state?.running
      ? "running"
      : status?.state?.terminated
        ? `terminated (${status.state.terminated.reason ?? `exit ${String(status.state.terminated.exitCode)}`})`
        : status?.state?.waiting
          ? `waiting (${status.state.waiting.reason ?? "?"})`
          : "not started";
    const caps = c.securityContext?.capabilities?.add ?? [];
    const parts = [
      `image ${image}`,
      `command ${JSON.stringify([...(c.command ?? []), ...(c.args ?? [])].join(" ") || "(image default)")}`,
      state,
      ...(c.securityContext?.privileged ? ["privileged"] : []),
      ...(caps.length ? [`adds ${caps.join(", ")}`] : []),
      ...(c.targetContainerName ? [`shares the process namespace of ${c.targetContainerName}`] : []),
    ];
    out.push({ name, image, describe: parts.join(", ") });
  }
  return out;
}

/**
 * Whether labrun may probe from (`source`) or probe (`target`) this pod.
 * Undefined when it may; otherwise why not.
 */
export function checkPodIntegrity(pod: KubeObject, role: "source" | "target", options: { workloads: WorkloadIndex; probeImage: string }): IntegrityFailure | undefined {
  const who = podName(pod);
  const foreign = foreignEphemeralContainers(pod, options.probeImage);
  if (foreign.length) {
    const first = foreign[0]!;
    const consequence = role === "source" ? "a probe from this pod cannot be trusted" : "an answer from this pod cannot be trusted";
    return {
      message: `pod ${who} has an ephemeral container ${first.name} (image ${first.image}) that labrun did not add: ${consequence}`,
      evidence: foreign.map((f) => ({
        label: `${role} pod ${who}: ephemeral container ${f.name}`,
        expected: "only labrun's probe containers share the pod's network namespace (an ephemeral container cannot be removed: recreate the pod to grade it)",
        observed: f.describe,
      })),
    };
  }
  const replaced = options.workloads.verify(pod, role);
  if (replaced.length) {
    return { message: `${role} pod ${who} is not the pod the scenario deploys: ${replaced[0]!.observed}`, evidence: replaced };
  }
  return undefined;
}
