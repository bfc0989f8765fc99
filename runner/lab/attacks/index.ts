/**
 * The attack catalogue `labrun test` runs on every scenario, in this order
 * (cheapest undo first). Add an attack: a module exporting an Attack, listed here.
 */
import { hostAliases } from "./host-aliases.ts";
import { hostNetwork } from "./host-network.ts";
import { hostsFile } from "./hosts-file.ts";
import { imageSwap } from "./image-swap.ts";
import { netnsHijack } from "./netns-hijack.ts";
import type { Attack } from "./types.ts";

export const ATTACKS: readonly Attack[] = [netnsHijack, hostsFile, hostAliases, hostNetwork, imageSwap];

export type { Attack, AttackContext, AttackOutcome } from "./types.ts";
export { AttackError } from "./types.ts";
