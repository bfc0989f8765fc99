import { ExitCode, InfraError, UsageError } from "../../errors.ts";
import { ADDONS, addonImagePlan, addonImages, addonText, addonVars, fillPlaceholders, type AddonName } from "../../lab/addons.ts";
import { loadLabImages } from "../../lab/actions/images.ts";
import { providerFor } from "../../lab/client.ts";
import type { LabRecord } from "../../lab/state.ts";
import type { ClusterSpec } from "../../schema/scenario.ts";
import { LabStore } from "../../lab/state.ts";
import { loadScenario } from "../../scenario/load.ts";
import { closest } from "../../util/suggest.ts";
import { bool, str, type Command } from "../command.ts";

const SUMMARIES: Record<AddonName, string> = {
  flannel: "Flannel: a CNI (pod networking, VXLAN), configured with the cluster's pod subnet",
  "kube-router": "kube-router as the CNI: pod networking (bridge, routes over BGP) and the NetworkPolicy firewall",
  "kube-router-netpol": "kube-router's NetworkPolicy firewall (iptables and ipset), without its router or proxy",
  cilium: "Cilium as the CNI: eBPF pod networking (VXLAN, each node's pod CIDR) and NetworkPolicy; kube-proxy stays",
};

const command: Command = {
  name: "addon",
  summary: "Print a network add-on's manifest (its images work offline).",
  usage: "labrun addon <NAME> [--lab LAB | --pod-subnet CIDR]   |   labrun addon --list",
  description: `Prints the manifest of an add-on that ships with labrun, ready for
\`kubectl apply -f -\`. Its images are built by \`npm run images\` and loaded into labs, so
it works without internet access. The pod subnet comes from --pod-subnet, or from
the lab's scenario with --lab (default 10.244.0.0/16). Cilium's images are not in
labrun's node image (\`tools/images/build.sh --with cilium\` builds them): with
--lab, they are loaded into the lab's nodes before the manifest is printed.`,
  options: {
    list: { type: "boolean", description: "List the add-ons." },
    lab: { type: "string", value: "LAB", description: "Take the pod subnet from this lab's scenario." },
    "pod-subnet": { type: "string", value: "CIDR", description: "The cluster's pod subnet." },
  },
  args: { min: 0, max: 1 },
  async run(args, io) {
    if (bool(args, "list") || args.positionals.length === 0) {
      for (const name of ADDONS) io.stdout.write(`${name.padEnd(20)}${SUMMARIES[name]}\n`);
      return ExitCode.ok;
    }
    const name = args.positionals[0]!;
    if (!(ADDONS as readonly string[]).includes(name)) {
      const guess = closest(name, ADDONS);
      throw new UsageError(`unknown add-on "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}`, { hint: "run `labrun addon --list`" });
    }
    let cluster: Pick<ClusterSpec, "networking"> = {};
    let lab: LabRecord | undefined;
    const labName = str(args, "lab");
    if (labName) {
      lab = await new LabStore({ env: io.env }).require(labName);
      cluster = (await loadScenario(lab.scenarioDir, { cwd: io.cwd })).scenario.spec.cluster;
    }
    const podSubnet = str(args, "pod-subnet");
    if (podSubnet !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podSubnet)) throw new UsageError(`--pod-subnet must be an IPv4 CIDR such as 192.168.0.0/16 (found "${podSubnet}")`);
    const vars = { ...addonVars(cluster), ...(podSubnet ? { PodSubnet: podSubnet } : {}) };
    const text = fillPlaceholders(name, await addonText(name as AddonName), vars);
    const images = await addonImages(name as AddonName);
    const provider = lab ? providerFor(lab, { env: io.env }) : undefined;
    const plan = addonImagePlan(name as AddonName, images, lab && provider ? { name: lab.name, canLoadImages: provider.capabilities().loadImages } : undefined);
    io.stderr.write(`${plan.note}\n`);
    if (plan.load && lab && provider) {
      try {
        await loadLabImages(provider, lab.cluster, images, io.env);
      } catch (error) {
        if (error instanceof InfraError && error.code === "IMAGE_MISSING") {
          throw new InfraError(`${error.message} (the ${name} add-on's images are not built by default)`, { code: error.code, hint: `build them: \`tools/images/build.sh --with ${name}\`` });
        }
        throw error;
      }
    }
    io.stdout.write(text);
    return ExitCode.ok;
  },
};

export default command;
