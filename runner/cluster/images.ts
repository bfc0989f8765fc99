/**
 * The images labrun itself needs, in one place. They are built offline by
 * tools/images/build.sh with the names pinned in tools/images/versions.sh;
 * test/unit/lab/render.test.ts fails when the two drift apart. The node
 * images come from images.lock.json (runner/cluster/image-lock.ts).
 */
import { imageLock } from "./image-lock.ts";

/** The Kubernetes version a scenario gets when it names none. */
export const DEFAULT_KUBERNETES_VERSION = "v1.34.12";

/** kubernetesVersion → kind node image (tools/images: NODE_IMAGE). */
export const NODE_IMAGES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(imageLock({}).nodes).map(([version, node]) => [version, node.offline]));

/** labrun's probe, run by network checks as an ephemeral container (tools/images: PROBE_IMAGE). */
export const PROBE_IMAGE = "ghcr.io/labrun/probe:v0.2.0";

/** The shell behind `labrun serve`'s browser terminal: Debian, bash and kubectl (tools/images: TOOLBOX_IMAGE). */
export const TOOLBOX_IMAGE = "localhost/labrun/toolbox:v1.34.12";
