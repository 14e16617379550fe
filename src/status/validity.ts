/**
 * `FolderValidity/<folder>` files: the UIDVALIDITY saved at the last sync (formats.md §2.4).
 *
 * @module
 */

import { dirname } from "node:path";
import { FolderError } from "../errors.ts";
import { errorText, fsHint } from "../fs_errors.ts";
import { uniqueTmpPath } from "./paths.ts";

/**
 * Reads a saved UIDVALIDITY. Returns undefined when the file does not exist (first sync).
 * Like OfflineIMAP, only the first line counts, with surrounding white space ignored.
 *
 * @throws {FolderError} when the file cannot be read or does not hold a decimal number; it is
 * never taken as missing, since that would skip the UIDVALIDITY check.
 */
export async function readFolderValidity(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new FolderError(`Cannot read UIDVALIDITY file "${path}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error),
    });
  }
  const line = text.split("\n", 1)[0]!.trim();
  const value = /^\+?[0-9]+$/.test(line) ? Number(line) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new FolderError(
      `Cannot read UIDVALIDITY file "${path}": expected a decimal number, found "${
        line.slice(0, 40)
      }"`,
      { hint: `move "${path}" away; the next sync saves the current value again` },
    );
  }
  return value;
}

/**
 * Saves a UIDVALIDITY as decimal followed by `\n`: writes a {@link uniqueTmpPath} file (not
 * OfflineIMAP's `<path>.tmp`, the file of a folder named `<folder>.tmp`), then renames it over
 * `path`, so a reader sees the old or the new value, never a partial one. Missing parent
 * directories are created with mode 0700, the file with 0600 (OfflineIMAP leaves it to the
 * umask). No fsync, as in OfflineIMAP: a lost write only means the value is saved again at the
 * next sync.
 *
 * @throws {FolderError} when the file cannot be written.
 */
export async function writeFolderValidity(path: string, value: number): Promise<void> {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot save UIDVALIDITY "${value}": not a non-negative integer`);
  }
  const tmp = uniqueTmpPath(path);
  try {
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(tmp, `${value}\n`, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {
      // Nothing to clean, or the disk is gone: the failure below is what matters.
    });
    throw new FolderError(`Cannot save UIDVALIDITY file "${path}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error),
    });
  }
}
