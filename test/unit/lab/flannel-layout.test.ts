/**
 * labrun's Flannel manifests run on the public images as on labrun's offline
 * builds of them: they follow upstream's kube-flannel.yml and use only what
 * upstream's images hold (ghcr.io/flannel-io/flannel: /opt/bin/flanneld and
 * `cp`; ghcr.io/flannel-io/flannel-cni-plugin: /flannel and `cp`). labrun's
 * offline Flannel image still carries install-conf and /opt/cni/bin for older
 * manifests (tools/images/images/flannel/Dockerfile); nothing here may use them.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { imageLock } from "../../../runner/cluster/image-lock.ts";

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
}

const FLANNEL = "ghcr.io/flannel-io/flannel:v0.28.10";
const CNI_PLUGIN = "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1";
/** What upstream's images hold that a manifest may run (their Dockerfiles: flannel-io/flannel images/, flannel-io/cni-plugin Dockerfile.image). */
const UPSTREAM_EXECUTABLES: Record<string, string[]> = { [FLANNEL]: ["/opt/bin/flanneld", "cp"], [CNI_PLUGIN]: ["cp"] };

const MANIFESTS = ["runner/addons/flannel.yaml", "tools/images/manifests/flannel.yaml", "scenarios/cni-wrong-subnet/manifests/kube-flannel.yaml"];
const read = (file: string) => readFile(new URL(`../../../${file}`, import.meta.url), "utf8");

async function daemonSetPod(file: string): Promise<{ initContainers: Container[]; containers: Container[]; volumes: Obj[] }> {
  const ds = parseAllDocuments(await read(file))
    .map((d) => d.toJS() as Obj)
    .find((o) => o.kind === "DaemonSet");
  return ((ds!.spec as Obj).template as Obj).spec as never;
}

describe("lab/flannel manifests: upstream's layout", () => {
  it("the add-on and kind's default CNI manifest are the same file", async () => {
    expect(await read("tools/images/manifests/flannel.yaml")).to.equal(await read("runner/addons/flannel.yaml"));
  });

  for (const file of MANIFESTS) {
    it(`${file}: install-cni-plugin copies /flannel from flannel-cni-plugin, install-cni the config with cp, flanneld runs from /opt/bin`, async () => {
      const pod = await daemonSetPod(file);
      const [plugin, conf] = pod.initContainers;
      expect(pod.initContainers.map((c) => c.name)).to.deep.equal(["install-cni-plugin", "install-cni"]);
      expect(plugin).to.deep.include({ image: CNI_PLUGIN, command: ["cp"], args: ["-f", "/flannel", "/opt/cni/bin/flannel"] });
      expect(plugin!.volumeMounts).to.deep.equal([{ name: "cni-plugin", mountPath: "/opt/cni/bin" }]);
      expect(conf).to.deep.include({ image: FLANNEL, command: ["cp"], args: ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"] });
      const [flanneld] = pod.containers;
      expect(flanneld).to.deep.include({ name: "kube-flannel", image: FLANNEL, command: ["/opt/bin/flanneld"] });
      expect(flanneld!.args!.slice(0, 2)).to.deep.equal(["--ip-masq", "--kube-subnet-mgr"]);
      expect(pod.volumes).to.deep.include({ name: "cni-plugin", hostPath: { path: "/opt/cni/bin" } });
    });

    it(`${file}: runs nothing upstream's images lack (no install-conf, no plugin copied out of the Flannel image)`, async () => {
      const pod = await daemonSetPod(file);
      for (const c of [...pod.initContainers, ...pod.containers]) {
        expect(UPSTREAM_EXECUTABLES, `${c.name}'s image`).to.have.property(c.image);
        expect(UPSTREAM_EXECUTABLES[c.image], `${c.name} runs ${c.command?.[0]}`).to.include(c.command?.[0]);
        const copied = c.command?.[0] === "cp" ? (c.args ?? []).filter((a) => !a.startsWith("-")).slice(0, -1) : [];
        if (c.image === FLANNEL) for (const src of copied) expect(src, `${c.name} copies ${src} out of the Flannel image`).to.match(/^\/etc\/kube-flannel\//);
      }
      expect(await read(file)).not.to.match(/install-conf/);
    });
  }

  it("images.lock.json lists both images; the CNI plugin by its public digest", () => {
    const lock = imageLock({});
    expect(lock.images.find((i) => i.name === FLANNEL)).to.be.an("object");
    expect(lock.images.find((i) => i.name === CNI_PLUGIN)?.digest).to.equal("sha256:7c3377e977b4b77b8efdad96e207ebee371537d6dcd7b9c40853cf0c0f0aade3");
  });
});
