/** IPv4 CIDRs of spec.cluster.networking: valid, and the pod and service subnets apart. */
export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(text: string): Cidr | string {
  const [ip, bitsText] = text.split("/");
  const octets = (ip ?? "").split(".");
  if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return `"${text}" is not a valid IPv4 CIDR`;
  const bits = Number(bitsText);
  if (!Number.isInteger(bits) || bits < 8 || bits > 28) return `"${text}": the prefix length must be between /8 and /28`;
  const base = octets.reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  if ((base & mask) >>> 0 !== base) return `"${text}" has host bits set (did you mean ${maskText(base, mask)}/${bits}?)`;
  return { base, bits };
}

function maskText(base: number, mask: number): string {
  const n = (base & mask) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = 2 ** 32 - 2 ** (32 - bits);
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}
