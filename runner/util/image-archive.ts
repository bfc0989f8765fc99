/**
 * A container image archive written without Docker: one uncompressed layer,
 * an OCI image config, and both indexes that `docker save` writes today (an
 * OCI layout with index.json, and Docker's manifest.json), so `docker load`,
 * `ctr images import` and `kind load image-archive` all accept it. The bytes
 * depend only on the input (fixed mtimes and owners), so the image ID is stable.
 */
import { createHash } from "node:crypto";
import { writeTar, type TarEntry } from "./tar.ts";

export interface ImageArchiveRequest {
  /** The image's name, e.g. `ghcr.io/labrun/probe:v0.2.0` (a tag, not a digest). */
  reference: string;
  /** `amd64` or `arm64`. */
  architecture: string;
  /** The files of the single layer; directories are added for every parent. */
  files: readonly TarEntry[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
}

export interface ImageArchive {
  /** The tar to load. */
  tar: Buffer;
  /** `sha256:…` of the config: what `docker image inspect --format {{.Id}}` shows after loading. */
  imageId: string;
  /** `sha256:…` of the OCI manifest. */
  manifestDigest: string;
}

export class ImageReferenceError extends Error {
  readonly code = "IMAGE_REFERENCE";
  constructor(reference: string) {
    super(`not an image reference with a tag: ${reference}`);
  }
}

export function writeImageArchive(request: ImageArchiveRequest): ImageArchive {
  const tag = tagOf(request.reference);
  const layer = writeTar(withParents(request.files));
  const layerDigest = sha256(layer);
  const config = json({
    architecture: request.architecture,
    os: "linux",
    config: {
      ...(request.env ? { Env: request.env } : {}),
      ...(request.entrypoint ? { Entrypoint: request.entrypoint } : {}),
      ...(request.cmd ? { Cmd: request.cmd } : {}),
    },
    rootfs: { type: "layers", diff_ids: [layerDigest] },
    history: [{ created_by: "labrun image-archive" }],
  });
  const configDigest = sha256(config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
  });
  const manifestDigest = sha256(manifest);
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: manifestDigest,
        size: manifest.length,
        annotations: { "io.containerd.image.name": request.reference, "org.opencontainers.image.ref.name": tag },
        platform: { architecture: request.architecture, os: "linux" },
      },
    ],
  });
  const blob = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;
  const dockerManifest = json([{ Config: blob(configDigest), RepoTags: [request.reference], Layers: [blob(layerDigest)] }]);
  const tar = writeTar([
    { path: "blobs/" },
    { path: "blobs/sha256/" },
    { path: blob(layerDigest), data: layer },
    { path: blob(configDigest), data: config },
    { path: blob(manifestDigest), data: manifest },
    { path: "index.json", data: index },
    { path: "manifest.json", data: dockerManifest },
    { path: "oci-layout", data: json({ imageLayoutVersion: "1.0.0" }) },
  ]);
  return { tar, imageId: configDigest, manifestDigest };
}

/** `registry:5000/a/b:v1` → `v1`; a reference without a tag (or with a digest) is refused. */
function tagOf(reference: string): string {
  const last = reference.slice(reference.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  if (reference.includes("@") || colon <= 0 || colon === last.length - 1) throw new ImageReferenceError(reference);
  return last.slice(colon + 1);
}

/** The files, each preceded by its parent directories (once), in a stable order. */
function withParents(files: readonly TarEntry[]): TarEntry[] {
  const out: TarEntry[] = [];
  const seen = new Set<string>();
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const parts = file.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join("/")}/`;
      if (!seen.has(dir)) {
        seen.add(dir);
        out.push({ path: dir });
      }
    }
    out.push(file);
  }
  return out;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
