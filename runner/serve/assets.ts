/**
 * The lab page's browser assets: xterm.js, its fit add-on and its style,
 * served from labrun's own npm dependencies (@xterm/xterm, @xterm/addon-fit),
 * never from a CDN. Read once, kept in memory.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { ASSETS } from "../schema/api.ts";
import { ApiError } from "./errors.ts";

type AssetName = (typeof ASSETS)[number];

const FILES: Record<AssetName, { module: string; type: string }> = {
  "xterm.js": { module: "@xterm/xterm/lib/xterm.js", type: "text/javascript; charset=utf-8" },
  "xterm.css": { module: "@xterm/xterm/css/xterm.css", type: "text/css; charset=utf-8" },
  "addon-fit.js": { module: "@xterm/addon-fit/lib/addon-fit.js", type: "text/javascript; charset=utf-8" },
};

const cache = new Map<AssetName, Promise<{ type: string; body: Buffer }>>();
const require = createRequire(import.meta.url);

export function readAsset(name: string): Promise<{ type: string; body: Buffer }> {
  const file = Object.hasOwn(FILES, name) ? FILES[name as AssetName] : undefined;
  if (!file) return Promise.reject(new ApiError(404, "NO_SUCH_ASSET", `no asset "${name}"`));
  let loaded = cache.get(name as AssetName);
  if (!loaded) {
    // The source map comment is dropped: the map is not served.
    loaded = readFile(require.resolve(file.module)).then((body) => ({ type: file.type, body: Buffer.from(body.toString("utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n")) }));
    cache.set(name as AssetName, loaded);
    loaded.catch(() => cache.delete(name as AssetName));
  }
  return loaded;
}
