/**
 * cniConfigured: every selected node has a CNI network configuration in
 * /etc/cni/net.d: a `*.conf`, `*.conflist` or `*.json` file that parses as a
 * CNI config (a `type`, or a non-empty `plugins` list). CNI-agnostic: any
 * plugin's file counts. Runs `sh` on the node through the provider (kind:
 * `docker exec`), bounded by `timeout`.
 */
import type { Evidence } from "../../runner/report/model.ts";
import type { CniConfiguredCheck } from "../../runner/schema/scenario.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { NodeShellUnavailableError } from "../kube-common.ts";
import { describeNodeSelector, selectNodes } from "../pods.ts";
import { oneLine } from "../util.ts";

const ENTRY = "@@labrun-entry@@ ";
const FILE = "@@labrun-file@@ ";
const NODIR = "@@labrun-nodir@@";

/** Lists the directory and prints each CNI config file (first 64 KiB). `$1` is the directory. */
export const LIST_SCRIPT = [
  'd="$1"',
  `[ -d "$d" ] || { echo "${NODIR}"; exit 0; }`,
  'for f in "$d"/* "$d"/.[!.]*; do',
  '  [ -e "$f" ] || continue',
  '  n="${f##*/}"',
  `  echo "${ENTRY}$n"`,
  '  case "$n" in *.conf|*.conflist|*.json) [ -f "$f" ] && { echo "' + FILE + '$n"; head -c 65536 "$f"; echo; } ;; esac',
  "done",
].join("\n");

export interface CniDirListing {
  exists: boolean;
  entries: string[];
  files: { name: string; content: string }[];
}

export function parseListing(stdout: string): CniDirListing {
  if (stdout.includes(NODIR)) return { exists: false, entries: [], files: [] };
  const entries: string[] = [];
  const files: { name: string; content: string }[] = [];
  let current: { name: string; lines: string[] } | undefined;
  const flush = () => {
    if (current) files.push({ name: current.name, content: current.lines.join("\n") });
    current = undefined;
  };
  for (const line of stdout.split("\n")) {
    if (line.startsWith(ENTRY)) {
      flush();
      entries.push(line.slice(ENTRY.length));
    } else if (line.startsWith(FILE)) {
      flush();
      current = { name: line.slice(FILE.length), lines: [] };
    } else if (current) current.lines.push(line);
  }
  flush();
  return { exists: true, entries, files };
}

/** The plugin types in a CNI config, or why it is not one. */
export function cniConfigTypes(content: string): { types: string[] } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch (error) {
    return { problem: `not valid JSON (${oneLine(error instanceof Error ? error.message : String(error), 80)})` };
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return { problem: "not a JSON object" };
  const o = data as { type?: unknown; plugins?: unknown; name?: unknown };
  if (Array.isArray(o.plugins) && o.plugins.length) {
    const types = o.plugins.map((p) => (p && typeof p === "object" && typeof (p as { type?: unknown }).type === "string" ? (p as { type: string }).type : "?"));
    return { types };
  }
  if (typeof o.type === "string" && o.type) return { types: [o.type] };
  return { problem: 'has neither a "type" nor a "plugins" list' };
}

export async function evaluate(ctx: CheckContext, spec: CniConfiguredCheck): Promise<Observation> {
  const dir = spec.directory ?? "/etc/cni/net.d";
  const all = await ctx.client.list("v1", "Node", { signal: ctx.signal });
  const nodes = selectNodes(all, spec.nodes);
  if (nodes.length === 0) {
    return { ok: false, message: `no node matches "${spec.nodes ?? "all"}"`, evidence: [{ label: "nodes", expected: describeNodeSelector(spec.nodes), observed: all.map((n) => n.metadata.name).join(", ") || "none" }] };
  }
  const seconds = Math.max(1, Math.ceil(ctx.settings.commandTimeoutMs / 1000) - 1);
  const evidence: Evidence[] = [];
  const missing: string[] = [];
  await Promise.all(
    nodes.map(async (node, i) => {
      const name = node.metadata.name;
      let result;
      try {
        result = await ctx.client.runOnNode(name, ["timeout", String(seconds), "sh", "-c", LIST_SCRIPT, "sh", dir], {
          timeoutMs: ctx.settings.commandTimeoutMs,
          signal: ctx.signal,
        });
      } catch (error) {
        if (error instanceof NodeShellUnavailableError) throw new CheckEvalError(error.message, { final: true, cause: error });
        throw error;
      }
      if (result.timedOut || result.exitCode !== 0) {
        throw new CheckEvalError(`listing ${dir} on node ${name} failed (${result.timedOut ? "timed out" : `exit ${String(result.exitCode)}`}): ${oneLine(result.stderr || result.stdout)}`);
      }
      const listing = parseListing(result.stdout);
      let observed: string;
      let ok = false;
      if (!listing.exists) observed = `${dir} does not exist`;
      else if (listing.entries.length === 0) observed = `${dir} is empty`;
      else {
        const valid: string[] = [];
        const invalid: string[] = [];
        for (const f of listing.files) {
          const r = cniConfigTypes(f.content);
          if ("types" in r) valid.push(`${f.name} (${r.types.join(", ")})`);
          else invalid.push(`${f.name}: ${r.problem}`);
        }
        ok = valid.length > 0;
        if (ok) observed = valid.join("; ");
        else if (invalid.length) observed = `no valid CNI configuration: ${invalid.join("; ")}`;
        else observed = `no *.conf, *.conflist or *.json file; found: ${listing.entries.join(", ")}`;
      }
      evidence[i] = { label: `node ${name}: ${dir}`, expected: "a CNI configuration (*.conf, *.conflist or *.json)", observed };
      if (!ok) missing.push(name);
    }),
  );
  missing.sort();
  if (missing.length) {
    return { ok: false, message: `no CNI configuration on ${missing.length} of ${nodes.length} node${nodes.length === 1 ? "" : "s"}: ${missing.join(", ")}`, evidence };
  }
  return { ok: true, message: `a CNI configuration exists on ${nodes.length === 1 ? "the node" : `all ${nodes.length} nodes`}`, evidence };
}
