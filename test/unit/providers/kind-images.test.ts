import { expect } from "chai";
import { readdir, readFile } from "node:fs/promises";
import { parse } from "yaml";
import { fullImageName, imagesNodesLack, parseBakedImages } from "../../../runner/providers/kind-images.ts";

const NGINX = "docker.io/library/nginx:1.22.1";
const CURL = "docker.io/curlimages/curl:7.88.1";

describe("providers/kind-images (images the node image holds)", () => {
  it("reads the label NAME=ID ..., names in full", () => {
    const baked = parseBakedImages(`nginx:1.22.1=sha256:n ${CURL}=sha256:c  broken= =x`);
    expect([...baked]).to.deep.equal([
      [NGINX, "sha256:n"],
      [CURL, "sha256:c"],
    ]);
    expect(fullImageName("a/b")).to.equal("docker.io/a/b:latest");
    expect(fullImageName("localhost/labrun/debian:bookworm")).to.equal("localhost/labrun/debian:bookworm");
    expect(fullImageName("localhost:5001/x@sha256:1")).to.equal("localhost:5001/x@sha256:1");
  });

  it("an image is loaded unless every node's image holds it with the local Docker's ID", () => {
    const ids = new Map([
      [NGINX, "sha256:n"],
      [CURL, "sha256:c"],
    ]);
    const both = `${NGINX}=sha256:n ${CURL}=sha256:c`;
    expect(imagesNodesLack([NGINX, CURL], ids, [both, both])).to.deep.equal([]);
    expect(imagesNodesLack([NGINX, CURL], ids, [both, `${NGINX}=sha256:n`]), "one node lacks curl").to.deep.equal([CURL]);
    expect(imagesNodesLack([NGINX, CURL], ids, [`${NGINX}=sha256:old ${CURL}=sha256:c`]), "nginx rebuilt locally").to.deep.equal([NGINX]);
    expect(imagesNodesLack([NGINX, CURL], ids, ["", ""]), "kind's own node image").to.deep.equal([NGINX, CURL]);
    expect(imagesNodesLack([NGINX, CURL], ids, []), "no node known").to.deep.equal([NGINX, CURL]);
    expect(imagesNodesLack([NGINX, CURL], new Map(), [both]), "no local ID known").to.deep.equal([NGINX, CURL]);
  });

  it("the node image bakes every image the shipped scenarios list (tools/images/versions.sh WORKLOAD_IMAGES and the add-ons)", async () => {
    const sh = await readFile(new URL("../../../tools/images/versions.sh", import.meta.url), "utf8");
    const vars: Record<string, string> = {};
    for (const m of sh.matchAll(/^([A-Z0-9_]+)="?([^"\n#]*?)"?\s*(?:#.*)?$/gm)) vars[m[1]!] = m[2]!.trim().replace(/\$\{?([A-Z0-9_]+)\}?/g, (_, k: string) => vars[k] ?? "");
    const node = await readFile(new URL("../../../tools/images/lib/node.sh", import.meta.url), "utf8");
    expect(node, "node.sh bakes WORKLOAD_IMAGES").to.match(/for t in \$WORKLOAD_IMAGES; do echo "\$t"; done/);
    for (const v of ["FLANNEL_IMAGE", "FLANNEL_CNI_PLUGIN_IMAGE", "KUBE_ROUTER_IMAGE", "PROBE_IMAGE"]) expect(node, `node.sh bakes $${v}`).to.contain(`echo "$${v}"`);
    const baked = new Set([...vars.WORKLOAD_IMAGES!.split(/\s+/), vars.FLANNEL_IMAGE, vars.FLANNEL_CNI_PLUGIN_IMAGE, vars.KUBE_ROUTER_IMAGE, vars.PROBE_IMAGE]);
    expect(baked).to.include(NGINX).and.to.include(CURL);
    const root = new URL("../../../scenarios/", import.meta.url);
    const listed = new Set<string>();
    for (const dir of await readdir(root)) {
      const doc = parse(await readFile(new URL(`${dir}/scenario.yaml`, root), "utf8")) as { spec?: { images?: string[] } };
      for (const image of doc.spec?.images ?? []) listed.add(image);
    }
    expect(listed.size).to.be.greaterThan(0);
    for (const image of listed) expect(baked, `${image}: add it to WORKLOAD_IMAGES in tools/images/versions.sh`).to.include(image);
  });
});
