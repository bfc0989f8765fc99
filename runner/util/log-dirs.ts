/**
 * Kept logs, bounded: a logs folder holds at most N directories (the newest),
 * and every file in one is cut to its last bytes. For `kind export logs` of a
 * failed start, which can write tens of megabytes per node.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

export const boundLogs = {
  /** Empties `dir` for new logs and removes the oldest siblings so that, with it, at most `keep` remain. */
  async prepare(dir: string, keep: number): Promise<void> {
    await fs.rm(dir, { recursive: true, force: true });
    const parent = path.dirname(dir);
    await fs.mkdir(parent, { recursive: true });
    const siblings = await Promise.all(
      (await fs.readdir(parent)).map(async (name) => ({ name, mtime: (await fs.stat(path.join(parent, name)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    siblings.sort((a, b) => b.mtime - a.mtime || a.name.localeCompare(b.name));
    for (const old of siblings.slice(Math.max(0, keep - 1))) await fs.rm(path.join(parent, old.name), { recursive: true, force: true });
  },

  /** Removes a directory of logs that could not be written whole. */
  async discard(dir: string): Promise<void> {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  },

  /** Cuts every file under `dir` to its last `maxBytes` (the end of a log says why it failed). */
  async cut(dir: string, maxBytes: number): Promise<void> {
    for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      const { size } = await fs.stat(file);
      if (size <= maxBytes) continue;
      const handle = await fs.open(file, "r");
      const tail = Buffer.alloc(maxBytes);
      try {
        await handle.read(tail, 0, maxBytes, size - maxBytes);
      } finally {
        await handle.close();
      }
      await fs.writeFile(file, Buffer.concat([Buffer.from(`[labrun: cut to the last ${maxBytes} of ${size} bytes]\n`), tail]));
    }
  },
};
