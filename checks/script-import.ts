/**
 * Imports a script check's module. Node strips TypeScript types everywhere
 * except under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), and
 * that is where the scenarios of an installed labrun package live: there, the
 * module's types are stripped with node:module's stripTypeScriptTypes into a
 * temporary .mjs file, which is imported instead. Such a copy can import
 * packages and node: modules but not files relative to the script (it lives
 * elsewhere); the scenarios labrun ships only import types.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as nodeModule from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export async function importScript(file: string): Promise<{ default?: unknown }> {
  try {
    return (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING") throw error;
    return (await import(pathToFileURL(await strippedCopy(file)).href)) as { default?: unknown };
  }
}

/** The script with its types stripped, in a file named by the content's hash (written once). */
async function strippedCopy(file: string): Promise<string> {
  const strip = (nodeModule as { stripTypeScriptTypes?: (code: string, options?: { mode?: "strip" }) => string }).stripTypeScriptTypes;
  if (!strip) throw new Error(`cannot strip the types of ${file}: node:module has no stripTypeScriptTypes (Node >= 22.13 needed)`);
  const js = strip(await readFile(file, "utf8"), { mode: "strip" });
  const dir = join(tmpdir(), "labrun-scripts");
  await mkdir(dir, { recursive: true });
  const out = join(dir, `${createHash("sha256").update(file).update("\0").update(js).digest("hex").slice(0, 16)}.mjs`);
  await writeFile(out, js);
  return out;
}
