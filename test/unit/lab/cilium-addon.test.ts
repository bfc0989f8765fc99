/**
 * The cilium add-on (runner/addons/cilium.yaml): what its manifest sets for a
 * lab's pod subnet, where its images come from (not the node image: loaded on
 * demand), and what `labrun addon cilium` prints.
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { imagesFor } from "../../../runner/lab/actions/images.ts";
import { addonImagePlan, addonImages, addonObjects, addonText } from "../../../runner/lab/addons.ts";
import { ROOT, runCli } from "../../helpers/cli.ts";

const CILIUM_IMAGES = ["quay.io/cilium/cilium:v1.15.19", "quay.io/cilium/operator-generic:v1.15.19"];

describe("the cilium add-on", () => {
  it("renders for a lab on 192.168.0.0/16: IPAM from the nodes' pod CIDRs (allocated from the lab's subnet), no pool of its own, VXLAN, kube-proxy kept", async () => {
    const objects = await addonObjects("cilium", { PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.96.0.0/16" });
    expect(JSON.stringify(objects)).not.to.contain("{{");
    const names = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(names).to.include.members(["ConfigMap/kube-system/cilium-config", "DaemonSet/kube-system/cilium", "Deployment/kube-system/cilium-operator"]);
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "cilium-config") as unknown as { data: Record<string, string> };
    expect(cm.data).to.include({
      ipam: "kubernetes",
      "routing-mode": "tunnel",
      "tunnel-protocol": "vxlan",
      "kube-proxy-replacement": "false",
      "bpf-lb-sock": "false",
      "enable-l7-proxy": "false",
      "enable-k8s-networkpolicy": "true",
    });
    // cluster-pool IPAM's own CIDR (chart default 10.0.0.0/8) would hand out addresses outside the lab's pod subnet
    expect(Object.keys(cm.data).filter((k) => k.startsWith("cluster-pool"))).to.deep.equal([]);
    expect(await addonText("cilium")).not.to.match(/\b10\.0\.0\.0\/8\b/);
  });

  it("asks kind's nodes for no capability Docker 20.10's kind nodes lack (SYS_RESOURCE, BPF, PERFMON, CHECKPOINT_RESTORE)", async () => {
    const objects = await addonObjects("cilium", { PodSubnet: "10.244.0.0/16", ServiceSubnet: "10.96.0.0/16" });
    const caps = new Set<string>();
    for (const o of objects) {
      const spec = (o as unknown as { spec?: { template?: { spec?: { containers?: unknown[]; initContainers?: unknown[] } } } }).spec?.template?.spec;
      for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])] as { securityContext?: { capabilities?: { add?: string[] } } }[]) {
        for (const cap of c.securityContext?.capabilities?.add ?? []) caps.add(cap);
      }
    }
    expect(caps.size).to.be.greaterThan(0);
    for (const missing of ["SYS_RESOURCE", "BPF", "PERFMON", "CHECKPOINT_RESTORE"]) expect([...caps]).not.to.include(missing);
  });

  it("its images are labrun's builds, not in the node image: a kind lab loads them, anything else is told how", async () => {
    expect(await addonImages("cilium")).to.deep.equal(CILIUM_IMAGES);
    const kindLab = addonImagePlan("cilium", CILIUM_IMAGES, { name: "l1", canLoadImages: true });
    expect(kindLab.load).to.equal(true);
    expect(kindLab.note).to.contain('into lab "l1"').and.contain("tools/images/build.sh --with cilium");
    const other = addonImagePlan("cilium", CILIUM_IMAGES, { name: "ext", canLoadImages: false });
    expect(other).to.deep.include({ load: false });
    expect(other.note).to.contain("must pull them");
    const noLab = addonImagePlan("cilium", CILIUM_IMAGES);
    expect(noLab).to.deep.include({ load: false });
    expect(noLab.note).to.contain("labrun addon cilium --lab LAB");
    // the node image's add-ons load nothing, with a lab or without
    expect(addonImagePlan("kube-router", ["docker.io/cloudnativelabs/kube-router:v2.1.0"], { name: "l1", canLoadImages: true }).load).to.equal(false);
    expect(addonImagePlan("flannel", [], { name: "l1", canLoadImages: true }).load).to.equal(false);
  });

  it("a lab whose CNI is cilium gets Cilium's images at start, and no kube-router firewall beside it", async () => {
    const scenario = {
      spec: { cluster: { networking: { defaultCNI: false, cni: "cilium" } }, setup: [{ addon: { name: "cni", networkPolicy: true } }], solution: { steps: [{ wait: { kind: "Node" } }] } },
    };
    const images = await imagesFor(scenario as never);
    expect(images).to.include.members(CILIUM_IMAGES);
    expect(images.filter((i) => i.includes("kube-router") || i.includes("flannel"))).to.deep.equal([]);
  });

  it("labrun addon --list shows cilium; labrun addon cilium prints its manifest and, without a lab, how to load its images", async () => {
    const list = await runCli(["addon", "--list"]);
    expect(list.code).to.equal(0);
    expect(list.stdout).to.match(/^cilium\s+Cilium as the CNI/m);
    const printed = await runCli(["addon", "cilium", "--pod-subnet", "192.168.0.0/16"]);
    expect(printed.code).to.equal(0);
    expect(printed.stdout).to.contain("name: cilium-operator").and.contain('ipam: "kubernetes"');
    expect(printed.stderr).to.contain("labrun addon cilium --lab LAB").and.contain(CILIUM_IMAGES[0]);
  });

  it("tools/images/build.sh builds Cilium only as an extra (--with cilium), and refuses an unknown extra", async () => {
    const cache = await mkdtemp(path.join(tmpdir(), "labrun-build-sh-"));
    try {
      const run = (args: string[]) => execa("bash", [path.join(ROOT, "tools/images/build.sh"), ...args], { env: { LABRUN_CACHE: cache }, reject: false });
      const list = await run(["--list"]);
      expect(list.exitCode).to.equal(0);
      expect(list.stdout).to.match(/^cilium-image\s+deps: debian cilium cni$/m);
      expect(list.stderr).to.contain("extras (--with NAME): cilium");
      const bad = await run(["--with", "calico"]);
      expect(bad.exitCode).to.equal(1);
      expect(bad.stderr).to.contain("unknown extra: calico (extras: cilium)");
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
