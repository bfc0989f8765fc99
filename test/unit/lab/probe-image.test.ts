import { expect } from "chai";
import { PROBE_IMAGE } from "../../../runner/cluster/images.ts";
import { nodeArchitecture, probeBinary, probeImageArchive } from "../../../runner/lab/probe-image.ts";
import { untar } from "../../helpers/untar.ts";

describe("lab/probe-image", () => {
  it("maps Node's architecture to the node image's", () => {
    expect(nodeArchitecture("x64")).to.equal("amd64");
    expect(nodeArchitecture("arm64")).to.equal("arm64");
    expect(nodeArchitecture("ia32")).to.equal(undefined);
  });

  it("finds the binary for the architecture under LABRUN_PROBE_DIR, and nothing where there is none", () => {
    const have = new Set(["/p/linux-arm64/labrun-probe"]);
    expect(probeBinary({ LABRUN_PROBE_DIR: "/p" }, (f) => have.has(f), "arm64")).to.equal("/p/linux-arm64/labrun-probe");
    expect(probeBinary({ LABRUN_PROBE_DIR: "/p" }, (f) => have.has(f), "x64")).to.equal(undefined);
    expect(probeBinary({}, () => false, "x64"), "no binary in the package").to.equal(undefined);
    expect(probeBinary({}, (f) => f.endsWith("/dist/probe/linux-amd64/labrun-probe") || f.endsWith("/probe/linux-amd64/labrun-probe"), "x64")).to.match(/probe\/linux-amd64\/labrun-probe$/);
    expect(probeBinary({}, () => true, "ia32"), "no known architecture").to.equal(undefined);
  });

  it("builds the probe image as tools/images/images/probe/Dockerfile does: nsswitch.conf, the binary, its entrypoint", () => {
    const archive = probeImageArchive(Buffer.from("bin"), "amd64");
    const files = untar(archive.tar);
    const manifest = JSON.parse(files.find((f) => f.path === "manifest.json")!.data.toString()) as { Config: string; RepoTags: string[] }[];
    expect(manifest[0]!.RepoTags).to.deep.equal([PROBE_IMAGE]);
    const config = JSON.parse(files.find((f) => f.path === manifest[0]!.Config)!.data.toString()) as { config: unknown };
    expect(config.config).to.deep.equal({ Env: ["PATH=/usr/local/bin"], Entrypoint: ["/usr/local/bin/labrun-probe"], Cmd: ["hold"] });
  });
});
