/**
 * Waiting for an ephemeral container to run: polls the pod until the
 * container runs, and fails at once on a state that will not fix itself
 * (image missing, creation refused, exited), or at the deadline with the last
 * waiting reason.
 */
import type { EphemeralContainerSpec, KubeObject } from "./client.ts";
import { EphemeralContainerError } from "./errors.ts";
import type { Clock } from "../util/clock.ts";
import { formatDuration } from "../util/duration.ts";
import { poll } from "../util/poll.ts";

/** Waiting reasons that will not fix themselves while a grade runs. */
export const FATAL_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerError",
  "CreateContainerConfigError",
  "RunContainerError",
  "PreCreateHookError",
  "PreStartHookError",
]);

interface ContainerStatus {
  name: string;
  state?: {
    running?: Record<string, unknown>;
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; message?: string; exitCode?: number };
  };
}

export async function waitUntilRunning(
  getPod: (signal: AbortSignal | undefined) => Promise<KubeObject | undefined>,
  pod: { namespace: string; pod: string },
  spec: EphemeralContainerSpec,
  options: { timeoutMs: number; remainingMs: number; intervalMs: number; signal?: AbortSignal; clock?: Clock },
): Promise<void> {
  let waiting: { reason?: string; message?: string } | undefined;
  const running = await poll(
    async () => {
      const live = await getPod(options.signal);
      if (!live) throw new EphemeralContainerError(`pod ${pod.namespace}/${pod.pod} disappeared while its probe container started`, "PodGone");
      const statuses = ((live.status as { ephemeralContainerStatuses?: ContainerStatus[] } | undefined)?.ephemeralContainerStatuses ?? []) as ContainerStatus[];
      const status = statuses.find((s) => s.name === spec.name);
      if (status?.state?.running) return true;
      if (status?.state?.terminated) {
        const t = status.state.terminated;
        throw new EphemeralContainerError(
          `container ${spec.name} in pod ${pod.namespace}/${pod.pod} exited (${t.reason ?? "exit code " + String(t.exitCode)})${t.message ? `: ${t.message}` : ""}`,
          t.reason ?? "Terminated",
        );
      }
      waiting = status?.state?.waiting;
      if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
        throw new EphemeralContainerError(
          `container ${spec.name} (image ${spec.image}) in pod ${pod.namespace}/${pod.pod} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`,
          waiting.reason,
        );
      }
      return undefined;
    },
    { timeoutMs: options.remainingMs, intervalMs: options.intervalMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.clock ? { clock: options.clock } : {}) },
  );
  if (!running) {
    throw new EphemeralContainerError(
      `container ${spec.name} in pod ${pod.namespace}/${pod.pod} did not start within ${formatDuration(options.timeoutMs)}${waiting?.reason ? ` (${waiting.reason})` : ""}`,
      "Timeout",
    );
  }
}
