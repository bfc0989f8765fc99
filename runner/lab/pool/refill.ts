/**
 * After a claim, the pool refills in the background: a detached
 * `labrun pool fill` for the claimed shape, at the size `pool fill` was last
 * asked for, its output appended to pool/fill.log. Concurrent fills are safe
 * (reservations happen under the pool lock), so a refill per claim is fine.
 */
import { spawn } from "node:child_process";
import { openSync, mkdirSync, closeSync } from "node:fs";
import path from "node:path";
import { PoolStore } from "./store.ts";

export interface RefillOptions {
  stateDir: string;
  shape: string;
  /** The labrun executable script (the CLI passes process.argv[1]). */
  bin: string;
  env: NodeJS.ProcessEnv;
}

/** Starts the refill when a size is recorded for the shape; resolves to its pid (undefined: nothing to refill). */
export async function spawnRefill(options: RefillOptions): Promise<number | undefined> {
  const pool = new PoolStore(options.stateDir);
  const target = (await pool.targets())[options.shape];
  if (!target || target.size <= 0) return undefined;
  mkdirSync(pool.dir, { recursive: true });
  const log = openSync(path.join(pool.dir, "fill.log"), "a");
  try {
    const child = spawn(process.execPath, [...process.execArgv, options.bin, "pool", "fill", "--scenario", target.scenarioDir, "--size", String(target.size)], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...options.env, LABRUN_STATE_DIR: options.stateDir },
    });
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}
