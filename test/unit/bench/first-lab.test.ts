import { expect } from "chai";
import { coldBuild, comparison, parseBuildLog, parseTimings } from "../../../bench/first-lab.ts";

const T = (run: string, status: string, s: number, name: string) => `${run}\t${status}\t${s}\t${name}`;

describe("bench/first-lab (time to the first lab, online against offline cold)", () => {
  it("a cold build is the last full build's steps, each at its last real duration; cached runs do not erase it", () => {
    const tsv = [
      T("r1", "ok", 600, "kubernetes v1.34.12 binaries"),
      T("r1", "ok", 80, "image localhost/labrun/kind-node:v1.34.12"),
      T("r2", "cached", 0, "kubernetes v1.34.12 binaries"),
      T("r2", "ok", 3, "image ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1"),
      T("r2", "ok", 150, "image localhost/labrun/kind-node:v1.34.12"),
      T("r3", "ok", 900, "registry v3.1.2"), // registry.sh: not a full build, not counted
      "garbage line",
    ].join("\n");
    const b = coldBuild(parseTimings(tsv), "timings.tsv")!;
    expect(b).to.deep.equal({ seconds: 600 + 3 + 150, steps: 3, missing: [], source: "timings.tsv" });
  });

  it("names the steps with no real build on record instead of guessing them", () => {
    const b = coldBuild(parseTimings([T("r1", "cached", 0, "etcd v3.6.5"), T("r1", "ok", 90, "image localhost/labrun/kind-node:v1.34.12")].join("\n")), "x")!;
    expect(b.missing).to.deep.equal(["etcd v3.6.5"]);
    expect(comparison({ onlineStartS: 97, build: b })).to.contain("1 of 2 steps with no build on record: etcd v3.6.5").and.contain("an offline start (not measured here)");
    expect(coldBuild([], "x")).to.equal(undefined);
  });

  it("reads build.sh's own output, and prints both paths side by side with the ratio", () => {
    const log = ["labrun images: cache /c", "[ok]      kubernetes v1.34.12 binaries                           679s", "[cached]  etcd v3.6.5    0s", "[ok]      image localhost/labrun/kind-node:v1.34.12               83s", "done in 762s"].join("\n");
    const b = coldBuild(parseBuildLog(log), "images-cold.log")!;
    expect(b).to.deep.include({ seconds: 762, steps: 3, missing: ["etcd v3.6.5"] });
    const table = comparison({ onlineStartS: 100, offlineStartS: 60, build: { ...b, missing: [] } });
    expect(table).to.contain("| online, registry warm | **100.0 s** |").and.contain("**13.7 min**: 12.7 min build + 60.0 s offline start (measured)").and.contain("8.2x sooner online");
  });
});
