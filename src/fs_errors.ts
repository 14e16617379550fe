/**
 * Wording shared by every error about a file or directory: the system's text for the failure,
 * and the one-line hint that goes with it ("disk full?" as isync says when a write comes up
 * short).
 *
 * @module
 */

/** SQLite's primary result code for "database or disk is full" (`SQLITE_FULL`). */
const SQLITE_FULL = 13;

/** The message of an error, or its string form for a thrown non-Error. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * True when `error` says the disk or the user's quota is full: `ENOSPC`, `EDQUOT` (as Deno and
 * node:fs report them in `code`), or SQLite's `SQLITE_FULL` (node:sqlite's `errcode`, whose low
 * byte is the primary code).
 */
export function isDiskFull(error: unknown): boolean {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  return typeof errcode === "number" && (errcode & 0xff) === SQLITE_FULL;
}

/**
 * The hint for a failed file operation, or undefined when there is nothing useful to add:
 * "disk full?" for {@link isDiskFull}, a permission hint for `EACCES`/`EPERM`.
 */
export function fsHint(error: unknown): string | undefined {
  if (isDiskFull(error)) return "disk full? free some space (or raise the quota), then sync again";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "check the owner and permissions of the path";
  }
  return undefined;
}
