/**
 * Placeholders in a scenario's `apply` manifests for what only exists once the
 * lab runs: the addresses of its hosts outside the cluster (`spec.outside`).
 *
 *     cidr: "{{ .OutsideNetwork }}"          # the lab's Docker network, IPv4 CIDR
 *     except: ["{{ .Outside.tracker }}/32"]  # an outside host's IPv4 address
 *
 * Any other `{{ ... }}` text is left as it is (manifests may carry Go templates
 * of their own, for example in a ConfigMap).
 */

/** The values placeholders stand for. */
export interface OutsideVars {
  /** Outside host name → IPv4 address. */
  hosts: Record<string, string>;
  /** The Docker network's IPv4 CIDR. */
  network: string;
}

const PLACEHOLDER = /\{\{\s*\.(Outside\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)|OutsideNetwork)\s*\}\}/g;

/** The outside host names a manifest's placeholders refer to, with `OutsideNetwork` as `""`. */
export function placeholderNames(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[2] ?? "");
}

export class PlaceholderError extends Error {
  readonly code = "UNKNOWN_OUTSIDE_HOST";
  constructor(message: string) {
    super(message);
    this.name = "PlaceholderError";
  }
}

/**
 * Fills the placeholders of `text` (read from `file`). A name the scenario does
 * not declare, or a placeholder in a lab without outside hosts, is an error
 * naming the file.
 */
export function fillOutside(text: string, file: string, vars: OutsideVars | undefined): string {
  return text.replace(PLACEHOLDER, (whole, _what: string, name: string | undefined) => {
    if (!vars) throw new PlaceholderError(`${file}: ${whole} needs a host outside the cluster, and this lab has none (declare it in spec.outside)`);
    if (name === undefined) return vars.network;
    const ip = vars.hosts[name];
    if (ip === undefined) {
      const known = Object.keys(vars.hosts);
      throw new PlaceholderError(`${file}: ${whole} names no host of spec.outside${known.length ? ` (declared: ${known.join(", ")})` : ""}`);
    }
    return ip;
  });
}
