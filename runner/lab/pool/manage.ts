/** `labrun pool drain` and `labrun pool status`: empty the warm pool, or say what is in it. */
import { kindOf, type LifecycleOptions } from "../client.ts";
import { step } from "../events.ts";
import { LabStore } from "../state.ts";
import { PoolStore, type PoolEntry, type PoolTarget } from "./store.ts";

/**
 * Deletes every ready pool cluster (of one shape, or all) and forgets the
 * sizes, so nothing refills them. Clusters being warmed are left to their
 * fill; claimed ones belong to labs (`labrun down`).
 */
export async function drain(options: LifecycleOptions & { shape?: string }): Promise<string[]> {
  const labs = options.store ?? new LabStore({ env: options.env ?? process.env });
  const pool = new PoolStore(labs.dir);
  const kind = kindOf(options);
  for (const shape of Object.keys(await pool.targets())) if (!options.shape || shape === options.shape) await pool.setTarget(shape, { size: 0, scenarioDir: "" });
  const taken = await pool.takeForDrain(options.shape);
  for (const entry of taken) {
    await step(options.onEvent, "down", `delete pool cluster ${entry.cluster}`, async () => {
      await kind.delete(entry.cluster, { kubeconfigPath: pool.kubeconfigPath(entry.id) });
      await pool.remove(entry.id);
    });
  }
  return taken.map((e) => e.cluster);
}

export interface PoolShapeStatus {
  shape: string;
  /** The size `pool fill` was asked for (0: none recorded). */
  target: number;
  scenarioDir?: string;
  ready: number;
  warming: number;
  /** Claimed by labs (they show in the labs' status). */
  claimed: number;
  entries: PoolEntry[];
}

/** The pool by shape: targets and entries. */
export async function poolStatus(options: LifecycleOptions): Promise<PoolShapeStatus[]> {
  const labs = options.store ?? new LabStore({ env: options.env ?? process.env });
  const pool = new PoolStore(labs.dir);
  const [entries, targets] = [await pool.list(), await pool.targets()];
  const shapes = new Set([...Object.keys(targets), ...entries.map((e) => e.shape)]);
  return [...shapes].sort().map((shape) => {
    const mine = entries.filter((e) => e.shape === shape);
    const target: PoolTarget | undefined = targets[shape];
    return {
      shape,
      target: target?.size ?? 0,
      ...(target?.scenarioDir ? { scenarioDir: target.scenarioDir } : {}),
      ready: mine.filter((e) => e.state === "ready").length,
      warming: mine.filter((e) => e.state === "warming" && pool.live(e)).length,
      claimed: mine.filter((e) => e.state === "claimed").length,
      entries: mine,
    };
  });
}
