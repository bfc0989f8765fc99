/**
 * The node audit: hand-made firewall, NAT and routing rules on a node.
 *
 * The host-level sweep (checks/hostlevel.ts) sees the pod that could change a
 * node's network while it exists; the rules it added stay after it is deleted,
 * and a learner with a node shell (`labrun node`, `docker exec`) adds them
 * without any pod. On a kind lab labrun reads every node's rules (one exec per
 * node) and fails a network check's pass when it finds what no component of
 * the cluster writes:
 *
 *   - in a built-in chain (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING) of
 *     any table, iptables-nft or iptables-legacy, IPv4 or IPv6: a DROP, REJECT,
 *     DNAT, REDIRECT, TPROXY or NFQUEUE verdict, or a jump to a chain that is
 *     not one of kube-proxy's, kube-router's, flannel's, Cilium's (its ten
 *     CILIUM_* feeder targets, by name), the CNI plugins', kindnet's or
 *     Docker's entry chains (components only ever jump from a
 *     built-in chain to their own chain);
 *   - in the portmap plugin's CNI-HOSTPORT-DNAT chain, a rule that is not the
 *     plugin's jump to its per-pod CNI-DN-* chain for a pod sandbox that runs
 *     on the node (a DNAT for a hostPort added by hand);
 *   - an nftables table that iptables did not make (`nft add table inet fw`);
 *   - a policy routing rule beyond the kernel's three (`ip rule add from X
 *     blackhole`), or a blackhole, unreachable or prohibit route (`ip route add
 *     blackhole 10.244.1.7`), except Calico's (`proto bird`) block routes.
 *
 * Not seen: a rule inserted into a component's own chain (kube-proxy and
 * kube-router rewrite theirs on their next sync, Cilium its CILIUM_* chains when
 * its agent starts), tc filters, eBPF programs (Cilium's datapath is made of
 * them), a
 * changed binary on the node. docs/grading.md says what is and is not defended.
 */
import type { ClusterClient } from "../runner/cluster/client.ts";
import type { Evidence } from "../runner/schema/report.ts";
import { oneLine } from "../runner/util/text.ts";
import type { IntegrityFailure } from "./integrity.ts";

const BUILTIN = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);
const FORBIDDEN_TARGETS = new Set(["DROP", "REJECT", "DNAT", "REDIRECT", "TPROXY", "NFQUEUE"]);
/** Targets that end a rule without leaving the table's own logic (allowed in a built-in chain). */
const PLAIN_TARGETS = new Set(["ACCEPT", "RETURN", "MARK", "CONNMARK", "MASQUERADE", "SNAT", "CT", "NOTRACK", "LOG", "TCPMSS", "CHECKSUM", "CONNSECMARK", "SECMARK"]);
/** Entry chains components jump to from a built-in chain. */
export const KNOWN_ENTRY_CHAIN =
  /^(KUBE-(SERVICES|EXTERNAL-SERVICES|NODEPORTS|POSTROUTING|FORWARD|PROXY-FIREWALL|FIREWALL|MARK-MASQ|PROXY-CANARY|KUBELET-CANARY|ROUTER-[A-Z0-9-]+|NWPLCY-[A-Za-z0-9-]+|POD-FW-[A-Za-z0-9]+)|FLANNEL-(FWD|POSTRTG)|CNI-HOSTPORT-[A-Z]+|CNI-[0-9a-f]{8,}|CNI-DN-[0-9a-f]+|DOCKER_(OUTPUT|POSTROUTING)|KIND-MASQ-AGENT|cali-[A-Za-z0-9-]+|(OLD_)?CILIUM_(INPUT|OUTPUT|FORWARD|OUTPUT_raw|PRE_raw|PRE_nat|OUTPUT_nat|POST_nat|PRE_mangle|POST_mangle))$/;
/**
 * Whole rules a labrun add-on writes in a built-in chain: kube-router's full-CNI
 * add-on closes GoBGP's unauthenticated gRPC API (TCP 50051) to everything but
 * loopback (runner/addons/kube-router.yaml). Matched whole, so the exemption
 * covers that one port and nothing else.
 */
const ADDON_RULES = [/^-A INPUT (! -i lo -p tcp -m tcp --dport 50051|-p tcp -m tcp --dport 50051 ! -i lo|-p tcp ! -i lo -m tcp --dport 50051) -j DROP$/];
const IPTABLES_NFT_TABLES = new Set(["filter", "nat", "mangle", "raw", "security", "kube-proxy", "broute"]);

/** The script run on each node: sections headed `### name`. */
export const AUDIT_SCRIPT = [
  "for t in iptables-nft-save iptables-legacy-save ip6tables-nft-save ip6tables-legacy-save; do",
  '  if command -v "$t" >/dev/null 2>&1; then echo "### $t"; "$t" 2>/dev/null; fi',
  "done",
  'if command -v nft >/dev/null 2>&1; then echo "### nft-tables"; nft list tables 2>/dev/null; fi',
  'echo "### ip-rule"; ip rule show 2>/dev/null; ip -6 rule show 2>/dev/null',
  'echo "### ip-route"; ip route show table all 2>/dev/null; ip -6 route show table all 2>/dev/null',
  'if command -v crictl >/dev/null 2>&1; then echo "### sandboxes"; crictl pods -q --no-trunc 2>/dev/null; fi',
  "true",
].join("\n");

/** What on a node's dump no component of the cluster writes, one line each. */
export function auditNodeDump(dump: string): string[] {
  const found: string[] = [];
  let section = "";
  let table = "";
  const hostports: { backend: string; line: string; target: string; id: string | undefined }[] = [];
  let sandboxes: Set<string> | undefined;
  for (const raw of dump.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("### ")) {
      section = line.slice(4);
      table = "";
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    if (section.endsWith("tables-nft-save") || section.endsWith("tables-legacy-save")) {
      const backend = section.replace(/-save$/, "");
      if (line.startsWith("*")) table = line.slice(1);
      if (!line.startsWith("-A ")) continue;
      const parts = line.split(/\s+/);
      const chain = parts[1] ?? "";
      const j = Math.max(parts.lastIndexOf("-j"), parts.lastIndexOf("-g"), parts.lastIndexOf("--jump"), parts.lastIndexOf("--goto"));
      const target = j >= 0 ? (parts[j + 1] ?? "") : "";
      if (chain === "CNI-HOSTPORT-DNAT") hostports.push({ backend, line, target, id: /id: \\?"([0-9a-f]{12,})\\?"/.exec(line)?.[1] });
      if (!BUILTIN.has(chain)) continue;
      if (!target || PLAIN_TARGETS.has(target)) continue;
      if (ADDON_RULES.some((r) => r.test(line.replace(/\s+/g, " ")))) continue;
      if (FORBIDDEN_TARGETS.has(target) || !KNOWN_ENTRY_CHAIN.test(target)) found.push(`${backend} -t ${table} ${oneLine(line, 200)}`);
    } else if (section === "nft-tables") {
      const m = /^table\s+(\S+)\s+(\S+)/.exec(line);
      if (m && !IPTABLES_NFT_TABLES.has(m[2]!)) found.push(`nftables table ${m[1]} ${m[2]} (not made by iptables or kube-proxy)`);
    } else if (section === "ip-rule") {
      const m = /^(\d+):\s+(.*)$/.exec(line);
      if (!m) continue;
      const rule = m[2]!.replace(/\s+/g, " ");
      const kernel = (m[1] === "0" && rule === "from all lookup local") || (m[1] === "32766" && rule === "from all lookup main") || (m[1] === "32767" && rule === "from all lookup default");
      if (!kernel) found.push(`ip rule ${m[1]}: ${rule}`);
    } else if (section === "ip-route") {
      if (/^(blackhole|unreachable|prohibit)\s/.test(line) && !/\sproto bird(\s|$)/.test(line)) found.push(`route ${oneLine(line, 160)}`);
    } else if (section === "sandboxes") {
      (sandboxes ??= new Set()).add(line);
    }
  }
  for (const h of hostports) {
    // portmap's own rule: a jump to its per-sandbox chain, for a sandbox of this node.
    const ours = /^CNI-DN-[0-9a-f]+$/.test(h.target) && (!h.id || !sandboxes || sandboxes.has(h.id));
    if (!ours) found.push(`${h.backend} -t nat ${oneLine(h.line, 200)} (not the portmap plugin's rule for a pod of this node)`);
  }
  return found;
}

interface Cached {
  at: number;
  value: Promise<IntegrityFailure | undefined>;
}
const cache = new WeakMap<ClusterClient, Cached>();
const CACHE_MS = 1_500;

/**
 * Audits every node (`nodes`: their names). Undefined when nothing was found or
 * the nodes cannot be read (no node shell: a cluster that is not a kind lab);
 * answers within 1.5 s of each other share one audit.
 */
export function nodeRulesFailure(client: ClusterClient, nodes: string[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<IntegrityFailure | undefined> {
  const now = performance.now();
  const hit = cache.get(client);
  if (hit && now - hit.at < CACHE_MS) return hit.value;
  const value = audit(client, nodes, options);
  cache.set(client, { at: now, value });
  value.catch(() => cache.delete(client));
  return value;
}

async function audit(client: ClusterClient, nodes: string[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<IntegrityFailure | undefined> {
  const results = await Promise.all(
    nodes.map(async (node) => {
      try {
        const r = await client.runOnNode(node, ["sh", "-c", AUDIT_SCRIPT], { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
        if (r.timedOut || r.exitCode !== 0) return { node, found: [] as string[] };
        return { node, found: auditNodeDump(r.stdout) };
      } catch {
        // No node shell (not a kind lab) or the node cannot answer: the audit says nothing.
        return { node, found: [] as string[] };
      }
    }),
  );
  const bad = results.filter((r) => r.found.length);
  if (!bad.length) return undefined;
  const evidence: Evidence[] = bad.flatMap((r) =>
    r.found.slice(0, 6).map((f) => ({
      label: `node ${r.node}`,
      expected: "only the rules and routes the cluster's components write (kube-proxy, the CNI, the policy enforcer)",
      observed: f,
    })),
  );
  const first = bad[0]!;
  return {
    message: `node ${first.node} has a firewall, NAT or routing rule no component of the cluster wrote (${first.found[0]!}): traffic is steered by hand on the node, so a network verdict cannot be trusted`,
    evidence,
  };
}
