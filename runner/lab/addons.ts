/**
 * The add-ons that ship with labrun (runner/addons/<name>.yaml): network
 * plugins whose images tools/images builds offline. Manifests carry
 * placeholders that are filled from the scenario's cluster.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { InfraError } from "../errors.ts";
import type { KubeObject } from "../cluster/client.ts";
import type { ClusterSpec } from "../schema/scenario.ts";
import { ADDON_NAMES, cniOf, podSubnetOf, serviceSubnetOf, type CniName } from "../schema/values.ts";

export const ADDONS = ADDON_NAMES;
export type AddonName = (typeof ADDONS)[number];

/** Placeholder values, written `{{ .PodSubnet }}` in the manifests (kind's template style). */
export interface AddonVars {
  /** The cluster's pod subnet, e.g. `192.168.0.0/16`. */
  PodSubnet: string;
  /** The cluster's service subnet. */
  ServiceSubnet: string;
  /** The lab's CNI (what `addon: { name: cni }` installs); not a manifest placeholder. */
  Cni: CniName;
}

/** The add-on values of a scenario's cluster. */
export function addonVars(cluster: Pick<ClusterSpec, "networking">): AddonVars {
  return { PodSubnet: podSubnetOf(cluster), ServiceSubnet: serviceSubnetOf(cluster), Cni: cniOf(cluster) };
}

/**
 * The add-ons that install a CNI: the CNI's own, and kube-router's firewall
 * with Flannel when the lab needs NetworkPolicy enforced (kube-router and
 * Cilium enforce it themselves).
 */
export function cniAddons(cni: CniName, networkPolicy = false): AddonName[] {
  if (cni === "kube-router" || cni === "cilium") return [cni];
  return networkPolicy ? ["flannel", "kube-router-netpol"] : ["flannel"];
}

/** The add-ons a step installs (`cni` resolved to the lab's CNI). */
export function stepAddons(addon: { name: AddonName | "cni"; networkPolicy?: boolean }, cni: CniName): AddonName[] {
  return addon.name === "cni" ? cniAddons(cni, addon.networkPolicy === true) : [addon.name];
}

/**
 * Add-ons whose images are not baked into labrun's node image (too large to
 * carry in every cluster): labs whose CNI is one of them load its images at
 * start, and `labrun addon NAME --lab LAB` loads them into the lab's nodes.
 */
export const LOADED_ON_DEMAND: ReadonlySet<AddonName> = new Set<AddonName>(["cilium"]);

/** What `labrun addon NAME` does about the add-on's images, and the line it prints about them. */
export type AddonImagePlan = { load: boolean; note: string };

/**
 * The images' plan for `labrun addon NAME [--lab LAB]`: an add-on whose images
 * the node image holds needs nothing; one loaded on demand is loaded into the
 * lab's nodes when there is a lab whose provider loads images (kind: `kind
 * load` then skips a node that has them already), and otherwise the line says
 * how to get them there (a cluster of another provider must pull them).
 */
export function addonImagePlan(name: AddonName, images: readonly string[], lab?: { name: string; canLoadImages: boolean }): AddonImagePlan {
  const list = images.join(", ");
  if (!LOADED_ON_DEMAND.has(name)) return { load: false, note: `images (in labrun's node image): ${list}` };
  if (lab?.canLoadImages) return { load: true, note: `loading into lab "${lab.name}" (not in labrun's node image; built by \`tools/images/build.sh --with ${name}\`): ${list}` };
  if (lab) return { load: false, note: `images (lab "${lab.name}" is not a kind cluster labrun loads images into: its nodes must pull them): ${list}` };
  return { load: false, note: `images (not in labrun's node image; \`labrun addon ${name} --lab LAB\` loads them into a lab's nodes): ${list}` };
}

/** runner/addons/ in the source tree and in the published package (`files` lists it). */
export function addonsDir(): string {
  // runner/lab/addons.ts → runner/addons/; dist/runner/lab/addons.js → runner/addons/ at the package root
  const candidates = [new URL("../addons/", import.meta.url), new URL("../../../runner/addons/", import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(path.join(dir, "flannel.yaml"))) ?? candidates[0]!;
}

export async function addonText(name: AddonName, dir = addonsDir()): Promise<string> {
  try {
    return await readFile(path.join(dir, `${name}.yaml`), "utf8");
  } catch (error) {
    throw new InfraError(`add-on "${name}" is missing from this labrun installation (${path.join(dir, `${name}.yaml`)})`, { cause: error, hint: "reinstall labrun" });
  }
}

/** Replaces `{{ .Name }}` placeholders; an unknown placeholder is an error. */
export function fillPlaceholders(name: string, text: string, vars: Pick<AddonVars, "PodSubnet" | "ServiceSubnet">): string {
  const values: Record<string, string> = { PodSubnet: vars.PodSubnet, ServiceSubnet: vars.ServiceSubnet };
  const filled = text.replace(/\{\{\s*\.([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new InfraError(`add-on "${name}" has an unknown placeholder ${whole}`, { hint: "this is a bug in labrun's add-on manifests; please report it" });
    return value;
  });
  return filled;
}

/** The add-on's objects, placeholders filled. */
export async function addonObjects(name: AddonName, vars: Pick<AddonVars, "PodSubnet" | "ServiceSubnet">, dir?: string): Promise<KubeObject[]> {
  return parseManifests(fillPlaceholders(name, await addonText(name, dir), vars), `add-on ${name}`);
}

/** Every `image:` an add-on's pods use (to load them into the cluster before it is applied). */
export async function addonImages(name: AddonName, dir?: string): Promise<string[]> {
  const text = await addonText(name, dir);
  const images = new Set<string>();
  for (const m of text.matchAll(/^\s*(?:-\s+)?image:\s*["']?([^\s"'#]+)["']?/gm)) images.add(m[1]!);
  return [...images];
}

/** Multi-document YAML → objects (empty documents skipped; `List` kinds flattened). */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length) throw new InfraError(`${source}: invalid YAML: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) throw new InfraError(`${source}: a document is not a Kubernetes object`);
    const obj = value as KubeObject & { items?: KubeObject[] };
    if (obj.kind === "List" || (obj.kind?.endsWith("List") && Array.isArray(obj.items))) objects.push(...(obj.items ?? []));
    else objects.push(obj);
  }
  return objects;
}
