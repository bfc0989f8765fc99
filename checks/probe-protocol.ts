/**
 * The protocol of the `labrun-probe` binary (see checks/probe.ts): what its
 * http, dns and tcp probes report, the settings of the probes, and the
 * command-line flags and JSON result lines of a probe or batch exec.
 */
import { PROBE_IMAGE } from "../runner/cluster/images.ts";
import { CheckEvalError } from "./context.ts";

export interface ConnectionFacts {
  /** The peer the connection reached (`ip:port`). */
  remoteAddr?: string;
  /** The probe's own end of the connection. */
  localAddr?: string;
  /** The destination is an address of the probe's own network namespace: the pod answered itself (a hijack). */
  localTarget?: boolean;
  /** The address a name resolved to (through the cluster DNS server labrun gave). */
  resolvedAddr?: string;
}

export interface HttpProbeResult extends ConnectionFacts {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
  durationMs?: number;
}

export interface DnsProbeResult {
  ok: boolean;
  addresses?: string[];
  error?: string;
  durationMs?: number;
  /** The DNS server that answered (or was asked last). */
  server?: string;
  /** NOERROR, NXDOMAIN, SERVFAIL, ... */
  rcode?: string;
  /** The fully qualified name that was answered. */
  name?: string;
  /** A server given was skipped because its address is local to the pod (a hijack of the DNS Service's IP). */
  localTarget?: boolean;
}

export interface TcpProbeResult extends ConnectionFacts {
  ok: boolean;
  error?: string;
  durationMs?: number;
}

/** `labrun-probe echo`: a GET of labrun's echo server with a nonce (tools/images/probe/echo.go). */
export interface EchoProbeResult extends ConnectionFacts {
  /** HTTP 200, the nonce came back, and from the expected host name when one was given. */
  ok: boolean;
  status?: number;
  nonceMatch: boolean;
  /** The host name the echo reported (a pod's name, an outside host's name). */
  hostname?: string;
  /** The client address the echo server saw. */
  peer?: string;
  error?: string;
  durationMs?: number;
}

/** An echo result line → EchoProbeResult. */
export function echoResult(r: Record<string, unknown>): EchoProbeResult {
  return {
    ok: r.ok === true,
    ...(typeof r.status === "number" && r.status > 0 ? { status: r.status } : {}),
    nonceMatch: r.nonceMatch === true,
    ...(typeof r.hostname === "string" && r.hostname ? { hostname: r.hostname } : {}),
    ...(typeof r.peer === "string" && r.peer ? { peer: r.peer } : {}),
    ...connectionFacts(r),
    ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
    ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
  };
}

/** Where names are resolved: a DNS server (`IP:53`) and the search list a pod of that namespace would use. */
export interface ProbeDns {
  server: string;
  search: string[];
  ndots: number;
}

export interface ProbeSettings {
  image: string;
  /** How long the probe container may take to start (default 60 s). */
  startTimeoutMs: number;
  /** `hold --max`: `0` holds until stopped (labs: `labrun down` or the cluster's deletion); a duration ends it by itself. */
  holdMax: string;
  /** Exec overhead allowed on top of a probe's own timeout (default 10 s). */
  execGraceMs: number;
  /** Cap on an HTTP response body the probe returns (default 65536). */
  maxBodyBytes: number;
  /** Probes asked for within this window from one pod go in one `batch` exec (default 5 ms; 0: no batching). */
  batchWindowMs: number;
}

export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  image: PROBE_IMAGE,
  startTimeoutMs: 60_000,
  holdMax: "0",
  execGraceMs: 10_000,
  maxBodyBytes: 65_536,
  batchWindowMs: 5,
};

/** A probe could not run (its container did not start, the exec failed): labrun could not evaluate. */
export class ProbeError extends CheckEvalError {}

/** One probe of a batch: `kind` plus the options of that probe command, in the batch spec's field names. */
export type ProbeItem = { kind: "http" | "dns" | "tcp" | "echo" } & Record<string, unknown>;

export function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not a result
  }
  return undefined;
}

export function dnsFields(dns: ProbeDns | undefined, serverField: "server" | "dnsServer"): Record<string, unknown> {
  if (!dns) return {};
  return { [serverField]: dns.server, search: dns.search, ndots: dns.ndots };
}

export function connectionFacts(r: Record<string, unknown>): ConnectionFacts {
  return {
    ...(typeof r.remoteAddr === "string" && r.remoteAddr ? { remoteAddr: r.remoteAddr } : {}),
    ...(typeof r.localAddr === "string" && r.localAddr ? { localAddr: r.localAddr } : {}),
    ...(r.localTarget === true || r.peerIsSelf === true ? { localTarget: true } : {}),
    ...(typeof r.resolvedAddr === "string" && r.resolvedAddr ? { resolvedAddr: r.resolvedAddr } : {}),
  };
}

/** A batch item as command-line flags: `maxBody` → `--max-body`, lists comma-joined, `timeoutMs` → `--timeout`. */
export function probeArgs(item: ProbeItem, timeoutMs: number): string[] {
  const { kind, ...fields } = item;
  const args: string[] = [kind];
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    args.push(`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, Array.isArray(value) ? value.join(",") : String(value));
  }
  args.push("--timeout", goDuration(timeoutMs));
  return args;
}

/** 3000 → `3s`, 1500 → `1500ms` (Go's time.ParseDuration reads both). */
export function goDuration(ms: number): string {
  const n = Math.max(1, Math.round(ms));
  return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
}
