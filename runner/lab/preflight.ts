/**
 * Preflight: what a kind lab needs from the host, checked before anything is
 * created. Each failure says exactly how to fix it (the command to run).
 * Probes are injectable so unit tests can script every failure.
 */
import { readFile } from "node:fs/promises";
import { InfraError } from "../errors.ts";
import { execaRunner, outputOf, type CommandRunner } from "../providers/exec.ts";
import { resolveKindBinary } from "../providers/kind.ts";
import { registryAnswers } from "./image-mode.ts";

export const GIB = 1024 ** 3;
/** Memory a kind node needs to run the control plane or a few workloads. */
export const MEMORY_PER_NODE = 1 * GIB;
export const INOTIFY_MIN_INSTANCES = 512;
export const INOTIFY_MIN_WATCHES = 524_288;
/** kind versions before this lack features labrun renders (kubeProxyMode none/nftables). */
export const KIND_MIN_VERSION = "v0.24.0";
export const KIND_TESTED_VERSION = "v0.30.0";

export interface PreflightProbes {
  /** `docker info`: resolves with the server version, or rejects/returns an error text. */
  docker(): Promise<{ ok: true; serverVersion: string; memTotal?: number } | { ok: false; output: string; notFound?: boolean }>;
  /** `kind version`. */
  kind(): Promise<{ ok: true; version: string } | { ok: false; output: string; notFound?: boolean }>;
  /** Available memory in bytes (MemAvailable), or undefined when unknown. */
  memAvailable(): Promise<number | undefined>;
  /** fs.inotify limits, or undefined when unknown (not Linux). */
  inotify(): Promise<{ maxUserInstances: number; maxUserWatches: number } | undefined>;
  /** Which of these images the local Docker lacks. */
  missingImages(images: string[]): Promise<string[]>;
  /** Whether a registry answers at `url` (its /v2/) within a few seconds (runner/lab/image-mode.ts); absent: never asked. */
  registry?(url: string): Promise<{ ok: true; ms: number } | { ok: false; error: string }>;
}

export interface PreflightRequest {
  /** Nodes the lab will have (for the memory estimate). */
  nodes: number;
  /** Images that must be present locally (node image first). */
  images?: string[];
  /** Online path: the registry (or mirror) the images come from, which must answer. */
  registry?: string;
}

export interface PreflightResult {
  name: "docker" | "kind" | "memory" | "inotify" | "images" | "registry";
  ok: boolean;
  /** What was found, e.g. `kind v0.30.0`. */
  detail: string;
  /** Not fatal: printed as a warning. */
  warning?: string;
  error?: InfraError;
}

/** Runs every check and returns every result (never throws for a failed check). */
export async function preflight(request: PreflightRequest, probes: PreflightProbes): Promise<PreflightResult[]> {
  const results: PreflightResult[] = [];

  const docker = await probes.docker();
  if (docker.ok) results.push({ name: "docker", ok: true, detail: `docker ${docker.serverVersion}` });
  else {
    const error = docker.notFound
      ? new InfraError("docker is not installed", { code: "PREFLIGHT_DOCKER", hint: "install Docker (for example `sudo apt-get install docker.io`) and check `docker info`" })
      : new InfraError("docker is not reachable", {
          code: "PREFLIGHT_DOCKER",
          output: docker.output,
          hint: "start the Docker daemon (`sudo systemctl start docker`) and make sure your user may use it (`sudo usermod -aG docker $USER`, then log in again); `docker info` must work",
        });
    results.push({ name: "docker", ok: false, detail: "unreachable", error });
  }

  const kind = await probes.kind();
  if (!kind.ok) {
    const error = new InfraError(kind.notFound ? "kind is not installed" : "kind does not work", {
      code: "PREFLIGHT_KIND",
      ...(kind.notFound ? {} : { output: kind.output }),
      hint: `install kind ${KIND_TESTED_VERSION}: its release binary (https://kind.sigs.k8s.io/docs/user/quick-start/#installing-from-release-binaries), \`go install sigs.k8s.io/kind@${KIND_TESTED_VERSION}\` or \`tools/images/build.sh --only kind\`; or set LABRUN_KIND=/path/to/kind`,
    });
    results.push({ name: "kind", ok: false, detail: "missing", error });
  } else if (compareVersions(kind.version, KIND_MIN_VERSION) < 0) {
    const error = new InfraError(`kind ${kind.version} is too old (labrun needs ${KIND_MIN_VERSION} or later)`, {
      code: "PREFLIGHT_KIND",
      hint: `install kind ${KIND_TESTED_VERSION}: \`go install sigs.k8s.io/kind@${KIND_TESTED_VERSION}\`, or set LABRUN_KIND=/path/to/kind`,
    });
    results.push({ name: "kind", ok: false, detail: `kind ${kind.version}`, error });
  } else {
    const minor = (v: string) => v.split(".").slice(0, 2).join(".");
    results.push({
      name: "kind",
      ok: true,
      detail: `kind ${kind.version}`,
      ...(minor(kind.version) !== minor(KIND_TESTED_VERSION) ? { warning: `kind ${kind.version} is untested; labrun is tested with ${KIND_TESTED_VERSION}` } : {}),
    });
  }

  const need = Math.max(1, request.nodes) * MEMORY_PER_NODE;
  const available = (await probes.memAvailable()) ?? (docker.ok ? docker.memTotal : undefined);
  if (available === undefined) results.push({ name: "memory", ok: true, detail: "unknown", warning: "could not read the free memory; a lab needs about 1 GiB per node" });
  else if (available < need) {
    const error = new InfraError(`not enough free memory: ${fmtGiB(available)} available, the lab needs about ${fmtGiB(need)} (${request.nodes} node${request.nodes === 1 ? "" : "s"})`, {
      code: "PREFLIGHT_MEMORY",
      hint: "free memory: stop labs you do not need (`labrun status`, then `labrun down <lab>`), remove leftovers with `labrun gc`, or stop other containers (`docker ps`)",
    });
    results.push({ name: "memory", ok: false, detail: `${fmtGiB(available)} free`, error });
  } else results.push({ name: "memory", ok: true, detail: `${fmtGiB(available)} free` });

  const inotify = await probes.inotify();
  if (!inotify) results.push({ name: "inotify", ok: true, detail: "unknown" });
  else {
    const low: string[] = [];
    if (inotify.maxUserInstances < INOTIFY_MIN_INSTANCES) low.push(`fs.inotify.max_user_instances=${INOTIFY_MIN_INSTANCES}`);
    if (inotify.maxUserWatches < INOTIFY_MIN_WATCHES) low.push(`fs.inotify.max_user_watches=${INOTIFY_MIN_WATCHES}`);
    const detail = `max_user_instances=${inotify.maxUserInstances} max_user_watches=${inotify.maxUserWatches}`;
    if (low.length) {
      const error = new InfraError(`inotify limits are too low for kind (${detail})`, {
        code: "PREFLIGHT_INOTIFY",
        hint: `run \`sudo sysctl -w ${low.join(" ")}\`; to keep it after a reboot: \`printf '%s\\n' ${low.map((l) => l.replace("=", " = ")).map((l) => `'${l}'`).join(" ")} | sudo tee /etc/sysctl.d/99-labrun.conf\``,
      });
      results.push({ name: "inotify", ok: false, detail, error });
    } else results.push({ name: "inotify", ok: true, detail });
  }

  const images = request.images ?? [];
  if (images.length && docker.ok) {
    const missing = await probes.missingImages(images);
    if (missing.length) {
      const error = new InfraError(`image${missing.length > 1 ? "s" : ""} not available locally: ${missing.join(", ")}`, {
        code: "PREFLIGHT_IMAGES",
        hint: "where a registry is reachable: `labrun start --online <scenario>` (kind's published node image, images pulled by the nodes); air-gapped: build labrun's offline images with `npm run images` (about 16 minutes cold on 2 cores; cached afterwards)",
      });
      results.push({ name: "images", ok: false, detail: `${missing.length} missing`, error });
    } else results.push({ name: "images", ok: true, detail: `${images.length} present` });
  }
  if (request.registry && probes.registry && docker.ok) {
    const answer = await probes.registry(request.registry);
    if (answer.ok) results.push({ name: "registry", ok: true, detail: `${request.registry} answered in ${answer.ms} ms` });
    else {
      const error = new InfraError(`the registry ${request.registry} does not answer (${answer.error}); the online path needs it`, {
        code: "PREFLIGHT_REGISTRY",
        hint: "check the network (or the mirror: --registry-mirror / LABRUN_REGISTRY_MIRROR); without a registry build the offline images with `npm run images` and run `labrun start --offline <scenario>`",
      });
      results.push({ name: "registry", ok: false, detail: "no answer", error });
    }
  }
  return results;
}

/**
 * Throws the first failure as an InfraError (exit 3). When several checks
 * failed, the error's output lists the others with their fixes.
 */
export function assertPreflight(results: PreflightResult[]): void {
  const failed = results.filter((r) => !r.ok && r.error);
  const first = failed[0]?.error;
  if (!first) return;
  if (failed.length === 1) throw first;
  const output = failed
    .slice(1)
    .map((r) => `also: ${r.error!.message}${r.error!.hint ? `\n  fix: ${r.error!.hint}` : ""}`)
    .join("\n");
  throw new InfraError(first.message, { code: first.code, hint: first.hint, output: [first.output, output].filter(Boolean).join("\n") });
}

/** The real probes: docker and kind through a CommandRunner, /proc for memory and inotify. */
export function hostProbes(options: { run?: CommandRunner; env?: NodeJS.ProcessEnv; kind?: string; docker?: string } = {}): PreflightProbes {
  const run = options.run ?? execaRunner;
  const env = options.env ?? process.env;
  const kindBin = options.kind ?? resolveKindBinary(env);
  const dockerBin = options.docker ?? (env.LABRUN_DOCKER || "docker");
  const notFound = (error: unknown) => error instanceof InfraError && error.code === "COMMAND_NOT_FOUND";
  return {
    async docker() {
      try {
        const r = await run(dockerBin, ["info", "--format", "{{.ServerVersion}}\t{{.MemTotal}}"], { timeoutMs: 20_000 });
        const [version = "", mem = ""] = r.stdout.trim().split("\t");
        if (r.timedOut) return { ok: false, output: `\`${dockerBin} info\` did not answer within 20s: the Docker engine is wedged or overloaded` };
        if (r.exitCode !== 0 || !version || version.includes("<no value>")) return { ok: false, output: outputOf(r) };
        return { ok: true, serverVersion: version, ...(Number(mem) > 0 ? { memTotal: Number(mem) } : {}) };
      } catch (error) {
        if (notFound(error)) return { ok: false, output: "", notFound: true };
        throw error;
      }
    },
    async kind() {
      try {
        const r = await run(kindBin, ["version"], { timeoutMs: 10_000 });
        const m = /\bv(\d+\.\d+\.\d+\S*)/.exec(r.stdout);
        if (r.exitCode !== 0 || !m) return { ok: false, output: outputOf(r) };
        return { ok: true, version: `v${m[1]}` };
      } catch (error) {
        if (notFound(error)) return { ok: false, output: "", notFound: true };
        throw error;
      }
    },
    async memAvailable() {
      try {
        const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(await readFile("/proc/meminfo", "utf8"));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async inotify() {
      try {
        const [i, w] = await Promise.all([readFile("/proc/sys/fs/inotify/max_user_instances", "utf8"), readFile("/proc/sys/fs/inotify/max_user_watches", "utf8")]);
        return { maxUserInstances: Number(i.trim()), maxUserWatches: Number(w.trim()) };
      } catch {
        return undefined;
      }
    },
    registry: (url) => registryAnswers(url),
    async missingImages(images) {
      // One call for every image, one deadline: a wedged Docker costs 20 s here, not 20 s per image.
      if (images.length === 0) return [];
      const r = await run(dockerBin, ["image", "inspect", "--format", "{{.Id}}", ...images], { timeoutMs: 20_000 });
      if (r.exitCode === 0) return [];
      // Docker did not answer: that is no missing image; the Docker check that follows names the fault.
      if (r.timedOut) return [];
      const missing = images.filter((image) => r.stderr.includes(`No such image: ${image}`) || r.stderr.includes(`No such image: ${image.replace(/^docker\.io\/(library\/)?/, "")}`));
      return missing.length ? missing : images;
    },
  };
}

/** Compares `v1.2.3` versions (pre-release suffixes ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function fmtGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}
