/**
 * labrun's probe image, made on the spot: the npm package ships static
 * labrun-probe binaries (tools/build-probe.sh puts them in dist/probe at
 * pack time), and labrun writes a one-layer image archive around the one for
 * the Docker host's architecture and loads it into the lab's nodes. No
 * registry, no `docker build`, no base image. Where no binary ships (a git
 * checkout that did not run tools/build-probe.sh), the probe image comes from
 * the local Docker as before (tools/images/build.sh builds it).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PROBE_IMAGE } from "../cluster/images.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import { writeImageArchive, type ImageArchive } from "../util/image-archive.ts";

/** Node's `process.arch` → the image architecture of a Linux node on this host. */
export function nodeArchitecture(arch: string = process.arch): "amd64" | "arm64" | undefined {
  return arch === "x64" ? "amd64" : arch === "arm64" ? "arm64" : undefined;
}

/**
 * The packaged probe binary for this host's nodes, or undefined: `$LABRUN_PROBE_DIR`
 * (a directory with linux-<arch>/labrun-probe), else `dist/probe` of the package.
 */
export function probeBinary(env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync, hostArch: string = process.arch): string | undefined {
  const arch = nodeArchitecture(hostArch);
  if (!arch) return undefined;
  const dirs = env.LABRUN_PROBE_DIR ? [env.LABRUN_PROBE_DIR] : packageProbeDirs();
  return dirs.map((d) => path.join(d, `linux-${arch}`, "labrun-probe")).find((p) => exists(p));
}

/** dist/probe of the package, seen from this file in source (runner/lab) and compiled (dist/runner/lab). */
function packageProbeDirs(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, "../../dist/probe"), path.resolve(here, "../../probe")];
}

/** The probe image (same name, entrypoint and files as tools/images/images/probe/Dockerfile) around a binary. */
export function probeImageArchive(binary: Uint8Array, architecture: string, reference: string = PROBE_IMAGE): ImageArchive {
  return writeImageArchive({
    reference,
    architecture,
    files: [
      { path: "etc/nsswitch.conf", data: Buffer.from("hosts: files dns\n") },
      { path: "usr/local/bin/labrun-probe", data: binary, mode: 0o755 },
    ],
    env: ["PATH=/usr/local/bin"],
    entrypoint: ["/usr/local/bin/labrun-probe"],
    cmd: ["hold"],
  });
}

/** Writes the probe archive for `binary` to a temporary file, loads it into the cluster's nodes, removes the file. */
export async function loadProbeImage(provider: ClusterProvider, cluster: string, binary: string, signal?: AbortSignal): Promise<void> {
  const arch = path.basename(path.dirname(binary)).replace(/^linux-/, "");
  const archive = probeImageArchive(await readFile(binary), arch);
  const dir = await mkdtemp(path.join(tmpdir(), "labrun-probe-"));
  try {
    const file = path.join(dir, "probe.tar");
    await writeFile(file, archive.tar);
    await provider.loadImageArchive!(cluster, file, signal ? { signal } : {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
