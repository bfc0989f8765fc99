import { expect } from "chai";
import { createHash } from "node:crypto";
import { ImageReferenceError, writeImageArchive } from "../../../runner/util/image-archive.ts";
import { untar } from "../../helpers/untar.ts";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("util/image-archive", () => {
  const request = {
    reference: "ghcr.io/labrun/probe:v9.9.9",
    architecture: "arm64",
    files: [{ path: "usr/local/bin/p", data: Buffer.from("#bin"), mode: 0o755 }, { path: "etc/x.conf", data: Buffer.from("x\n") }],
    entrypoint: ["/usr/local/bin/p"],
    cmd: ["hold"],
    env: ["PATH=/usr/local/bin"],
  };

  it("writes both docker save's manifest.json and an OCI layout whose digests match the blobs", () => {
    const archive = writeImageArchive(request);
    const files = new Map(untar(archive.tar).filter((e) => e.type === "file").map((e) => [e.path, e.data]));
    for (const [p, data] of files) if (p.startsWith("blobs/sha256/")) expect(sha(data), p).to.equal(`sha256:${p.slice("blobs/sha256/".length)}`);
    expect(JSON.parse(files.get("oci-layout")!.toString())).to.deep.equal({ imageLayoutVersion: "1.0.0" });

    const [docker] = JSON.parse(files.get("manifest.json")!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(docker!.RepoTags).to.deep.equal(["ghcr.io/labrun/probe:v9.9.9"]);
    expect(docker!.Config).to.equal(`blobs/sha256/${archive.imageId.slice(7)}`);

    const index = JSON.parse(files.get("index.json")!.toString()) as { manifests: { digest: string; annotations: Record<string, string>; platform: unknown }[] };
    expect(index.manifests).to.have.length(1);
    expect(index.manifests[0]!.digest).to.equal(archive.manifestDigest);
    expect(index.manifests[0]!.annotations).to.deep.equal({ "io.containerd.image.name": "ghcr.io/labrun/probe:v9.9.9", "org.opencontainers.image.ref.name": "v9.9.9" });
    expect(index.manifests[0]!.platform).to.deep.equal({ architecture: "arm64", os: "linux" });

    const manifest = JSON.parse(files.get(`blobs/sha256/${archive.manifestDigest.slice(7)}`)!.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    expect(manifest.config.digest).to.equal(archive.imageId);
    const config = JSON.parse(files.get(`blobs/sha256/${archive.imageId.slice(7)}`)!.toString()) as { architecture: string; os: string; config: Record<string, unknown>; rootfs: { diff_ids: string[] } };
    expect(config).to.deep.include({ architecture: "arm64", os: "linux" });
    expect(config.config).to.deep.equal({ Env: ["PATH=/usr/local/bin"], Entrypoint: ["/usr/local/bin/p"], Cmd: ["hold"] });
    expect(config.rootfs.diff_ids).to.deep.equal([manifest.layers[0]!.digest]);
    expect(docker!.Layers).to.deep.equal([`blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`]);
  });

  it("puts the files in one layer, with their parent directories and modes", () => {
    const archive = writeImageArchive(request);
    const entries = untar(archive.tar);
    const layerPath = entries.find((e) => e.path === "manifest.json")!.data.toString().match(/"Layers":\["([^"]+)"/)![1]!;
    const layer = untar(entries.find((e) => e.path === layerPath)!.data);
    expect(layer.map((e) => `${e.type} ${e.mode.toString(8)} ${e.path}`)).to.deep.equal([
      "dir 755 etc/",
      "file 644 etc/x.conf",
      "dir 755 usr/",
      "dir 755 usr/local/",
      "dir 755 usr/local/bin/",
      "file 755 usr/local/bin/p",
    ]);
    expect(layer.at(-1)!.data.toString()).to.equal("#bin");
  });

  it("is deterministic: the same input gives the same image ID; another input another", () => {
    expect(writeImageArchive(request).imageId).to.equal(writeImageArchive(request).imageId);
    expect(writeImageArchive({ ...request, architecture: "amd64" }).imageId).to.not.equal(writeImageArchive(request).imageId);
  });

  it("refuses a reference without a tag or with a digest", () => {
    for (const reference of ["ghcr.io/labrun/probe", "localhost:5000/probe", "probe:v1@sha256:abc", "probe:"]) {
      expect(() => writeImageArchive({ ...request, reference }), reference).to.throw(ImageReferenceError);
    }
  });
});
