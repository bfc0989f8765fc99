/** A state directory labrun cannot write (read-only, no permission, full): the error users see. */
import { accessSync, constants, existsSync } from "node:fs";
import { InfraError } from "../errors.ts";
import { errorMessage } from "./text.ts";

/** The file system errors that mean "labrun cannot write its state directory" (not a bug, not the learner). */
const READ_ONLY = new Set(["EROFS", "EACCES", "EPERM"]);
const FULL = new Set(["ENOSPC", "EDQUOT"]);

/**
 * A write to the state directory that failed because the directory is
 * read-only or full: an InfraError (exit 3) naming the directory, with
 * code STATE_DIR_READ_ONLY or STATE_DIR_FULL; undefined for other errors.
 */
export function stateDirError(dir: string, error: unknown): InfraError | undefined {
  if (error instanceof InfraError) return undefined;
  let code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  // Node's recursive mkdir reports ENOENT on a read-only file system: ask the directory itself.
  if (code === "ENOENT" && existsSync(dir)) code = unwritable(dir) ?? code;
  if (typeof code !== "string" || !(READ_ONLY.has(code) || FULL.has(code))) return undefined;
  const full = FULL.has(code);
  return new InfraError(`the state directory ${dir} is ${full ? "full" : "not writable"} (${code}): labrun cannot record labs there`, {
    code: full ? "STATE_DIR_FULL" : "STATE_DIR_READ_ONLY",
    cause: error,
    output: errorMessage(error),
    hint: `${full ? "free space on its file system" : "make it writable"}, or point LABRUN_STATE_DIR at a writable directory with free space`,
  });
}

function unwritable(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}
