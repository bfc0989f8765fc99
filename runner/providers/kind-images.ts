/**
 * Which images a kind cluster still needs side-loaded. labrun's node image
 * (tools/images/lib/node.sh) holds the control-plane, add-on, probe and the
 * catalogue's workload images, and records each one's Docker image ID in its
 * label `labrun.images` ("NAME=ID NAME=ID ..."); every node container inherits
 * the label from its image. An image is loaded only when some node's image
 * does not record it with the ID the local Docker has under that name: a node
 * image without the label (kind's own, another build) gets every image, and a
 * local image rebuilt or pulled under the same name replaces the baked one.
 *
 * `kind load docker-image` skips an image a node already has, but only after
 * one `docker exec` per image and node, and once any node lacks any of the
 * images it `docker save`s all of them (add-on images included) and imports
 * the whole archive into every node that lacks one. Deciding from the label
 * costs one `docker ps` and loads nothing for a lab of the catalogue.
 */

/** The node image's label naming the images it holds, with their Docker image IDs. */
export const BAKED_IMAGES_LABEL = "labrun.images";

/** `NAME=ID NAME=ID ...` → full NAME → ID. Malformed items are ignored. */
export function parseBakedImages(label: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of label.split(/\s+/)) {
    const at = item.lastIndexOf("=");
    if (at > 0 && at < item.length - 1) out.set(fullImageName(item.slice(0, at)), item.slice(at + 1));
  }
  return out;
}

/** `nginx:1` → `docker.io/library/nginx:1`, `a/b` → `docker.io/a/b:latest` (as Docker and containerd name them). */
export function fullImageName(image: string): string {
  let name = image.includes("/") ? image : `library/${image}`;
  const first = name.slice(0, name.indexOf("/"));
  if (!/[.:]/.test(first) && first !== "localhost") name = `docker.io/${name}`;
  if (!name.includes("@") && !/:[^/]+$/.test(name)) name = `${name}:latest`;
  return name;
}

/**
 * The images some node lacks: `nodeLabels` holds one `labrun.images` label per
 * node container ("" for a node image without it), `localIds` the local
 * Docker's image ID per image name. No node known: every image.
 */
export function imagesNodesLack(images: readonly string[], localIds: ReadonlyMap<string, string>, nodeLabels: readonly string[]): string[] {
  if (nodeLabels.length === 0) return [...images];
  const baked = nodeLabels.map(parseBakedImages);
  return images.filter((image) => {
    const id = localIds.get(image);
    return !id || !baked.every((b) => b.get(fullImageName(image)) === id);
  });
}
