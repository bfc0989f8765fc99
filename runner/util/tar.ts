/**
 * A minimal ustar writer: regular files and directories, fixed owner and
 * mtime, so the same input always gives the same bytes (and the same digest).
 */

export interface TarEntry {
  /** Path inside the archive, without a leading slash; directories end with `/`. */
  path: string;
  /** File contents; absent for a directory. */
  data?: Uint8Array;
  /** Permission bits (default 0o644 for files, 0o755 for directories). */
  mode?: number;
}

export class TarPathError extends Error {
  readonly code = "TAR_PATH";
  constructor(path: string, cause?: unknown) {
    super(`tar entry path too long or invalid: ${path}`, { cause });
  }
}

const BLOCK = 512;

/** The archive: a header and padded data per entry, then two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const dir = entry.data === undefined;
    const data = dir ? Buffer.alloc(0) : Buffer.from(entry.data!);
    parts.push(header(entry.path, data.length, entry.mode ?? (dir ? 0o755 : 0o644), dir));
    parts.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function header(path: string, size: number, mode: number, dir: boolean): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, name] = splitPath(dir && !path.endsWith("/") ? `${path}/` : path);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h.write(dir ? "5" : "0", 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write("root", 265, 32, "ascii");
  h.write("root", 297, 32, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}

/** ustar: name up to 100 bytes, a longer path splits at a slash into prefix (≤155) and name. */
function splitPath(path: string): [string, string] {
  if (path.startsWith("/") || path === "") throw new TarPathError(path);
  if (Buffer.byteLength(path) <= 100) return ["", path];
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  for (let i = trimmed.lastIndexOf("/"); i > 0; i = trimmed.lastIndexOf("/", i - 1)) {
    const prefix = trimmed.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new TarPathError(path);
}

function octal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
}
