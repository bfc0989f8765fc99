/** A ustar reader for tests: the entries of an archive (name, type, mode, data), checking every header's checksum. */
export interface UntarEntry {
  path: string;
  type: "file" | "dir";
  mode: number;
  data: Buffer;
}

export function untar(tar: Buffer): UntarEntry[] {
  const out: UntarEntry[] = [];
  let at = 0;
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const field = (o: number, n: number) => h.subarray(o, o + n).toString("utf8").replace(/\0.*$/s, "");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (parseInt(field(148, 8), 8) !== sum) throw new Error(`bad checksum at offset ${at}`);
    if (field(257, 6) !== "ustar") throw new Error(`not ustar at offset ${at}`);
    const prefix = field(345, 155);
    const name = field(0, 100);
    const size = parseInt(field(124, 12), 8);
    out.push({ path: prefix ? `${prefix}/${name}` : name, type: field(156, 1) === "5" ? "dir" : "file", mode: parseInt(field(100, 8), 8), data: Buffer.from(tar.subarray(at + 512, at + 512 + size)) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
