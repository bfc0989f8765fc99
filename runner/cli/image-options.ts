/**
 * `--online`, `--offline` and `--registry-mirror` for the commands that make
 * clusters (start, test). They travel as $LABRUN_IMAGES and
 * $LABRUN_REGISTRY_MIRROR (runner/lab/image-mode.ts), so every lab a command
 * makes gets them.
 */
import { UsageError } from "../errors.ts";
import { bool, str, type OptionSpec, type ParsedArgs } from "./command.ts";

export const IMAGE_OPTIONS: Record<string, OptionSpec> = {
  online: { type: "boolean", description: "Get images online: kind's published node image, the rest pulled by the nodes (default: offline when the offline images are present, else online when a registry answers)." },
  offline: { type: "boolean", description: "Use the offline images built by `npm run images` (side-loaded, no registry)." },
  "registry-mirror": { type: "string", value: "URL", description: "A registry mirror (pull-through cache) for the online path: the node image and the nodes' pulls of docker.io, registry.k8s.io, ghcr.io and quay.io go through it (default: $LABRUN_REGISTRY_MIRROR)." },
};

/** The command's environment with the image flags applied. */
export function imageEnv(args: ParsedArgs, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const online = bool(args, "online");
  const offline = bool(args, "offline");
  if (online && offline) throw new UsageError("--online and --offline exclude each other", { hint: "give one, or neither to let labrun decide" });
  const mirror = str(args, "registry-mirror");
  if (mirror && offline) throw new UsageError("--registry-mirror is for the online path; it cannot go with --offline");
  if (!online && !offline && !mirror) return env;
  return { ...env, ...(online ? { LABRUN_IMAGES: "online" } : {}), ...(offline ? { LABRUN_IMAGES: "offline" } : {}), ...(mirror ? { LABRUN_REGISTRY_MIRROR: mirror } : {}) };
}
