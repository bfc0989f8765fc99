/** The kind node image the e2e suites use, and the skip when it is not built. */
import { execa } from "execa";
import { DEFAULT_KUBERNETES_VERSION, NODE_IMAGES } from "../../runner/cluster/images.ts";

export const NODE_IMAGE = process.env.LABRUN_NODE_IMAGE ?? NODE_IMAGES[DEFAULT_KUBERNETES_VERSION]!;

/** Skips the suite (from its `before` hook) when the node image is not in the local Docker. */
export async function skipWithoutNodeImage(ctx: Mocha.Context): Promise<void> {
  if ((await execa("docker", ["image", "inspect", NODE_IMAGE], { reject: false })).exitCode !== 0) {
    console.warn(`skipping: node image ${NODE_IMAGE} is not built (tools/images/build.sh)`);
    ctx.skip();
  }
}
