/**
 * A grade's check of labrun's own infrastructure for a kind lab: every node
 * container of the cluster runs. A node container that exited, was paused or
 * removed is not something the learner did to the cluster (`labrun node`
 * gives a shell inside it, not on the Docker host): it is an InfraError
 * (exit 3), the grade ends, and the attempt is not recorded.
 *
 * The expected nodes are the lab record's (`nodes`), else those found by the
 * first call. Each call is one `docker ps` bounded by a few seconds.
 */
import type { InfraCheck } from "../../checks/engine.ts";
import { InfraError } from "../errors.ts";
import type { KindProvider } from "../providers/kind.ts";

export function kindNodesCheck(kind: Pick<KindProvider, "nodeStates">, cluster: string, options: { lab?: string; nodes?: readonly string[]; timeoutMs?: number } = {}): InfraCheck {
  let expected: readonly string[] | undefined = options.nodes?.length ? options.nodes : undefined;
  const status = options.lab ? `\`labrun status ${options.lab}\`` : "`docker ps -a`";
  const restart = options.lab ? `; \`labrun down ${options.lab}\` and \`labrun start\` make a new lab` : "";
  return async (signal) => {
    const states = await kind.nodeStates(cluster, { signal, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    expected ??= [...states.keys()].sort();
    if (expected.length === 0) {
      throw new InfraError(`the node containers of cluster "${cluster}" are gone`, { code: "NODE_CONTAINER_DOWN", hint: `see ${status}${restart}` });
    }
    const down = expected.map((node) => [node, states.get(node) ?? "removed"] as const).filter(([, state]) => state !== "running");
    if (down.length === 0) return;
    throw new InfraError(`the lab's node container ${describeDownNodes(down)}: labrun's infrastructure failed, this is not a grade of the cluster`, {
      code: "NODE_CONTAINER_DOWN",
      hint: `see ${status}; \`docker start ${down[0]![0]}\` (or \`docker unpause\`) may bring it back${restart}`,
    });
  };
}

/** `"n1" is not running (exited), "n2" is paused, "n3" is removed`: node containers and their Docker states, for a message. */
export function describeDownNodes(down: readonly (readonly [string, string])[]): string {
  return down.map(([node, state]) => `"${node}" is ${state === "exited" || state === "dead" ? `not running (${state})` : state}`).join(", ");
}
