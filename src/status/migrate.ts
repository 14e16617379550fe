/**
 * Moves a folder's status between the two backends (DECISIONS.md #4): a plain-text cache is
 * imported into sqlite on the first sqlite run, as OfflineIMAP's documentation promises (its own
 * importer never runs), and the other way round when `status_backend = plain` finds only a
 * sqlite cache. The source files are always left in place.
 *
 * @module
 */

import { dirname } from "node:path";
import { FolderError } from "../errors.ts";
import { errorText, fsHint } from "../fs_errors.ts";
import { readPlainStatus, writePlainStatusFile } from "./plain.ts";
import { uniqueTmpPath } from "./paths.ts";
import { createSqliteStatusFile, readSqliteRecords } from "./sqlite.ts";

/** Where one folder's status files are. */
export interface StatusFiles {
  /** `LocalStatus-sqlite/<f>`. */
  readonly sqlite: string;
  /** `LocalStatus/<f>`. */
  readonly plain: string;
  /** `LocalStatus-journal/<f>`, the plain store's journal. */
  readonly journal: string;
}

/**
 * Imports the plain status (with its journal replayed) into a new sqlite file, when the sqlite
 * file is missing and a plain one exists. The database is filled under a temporary name and
 * renamed into place, so a crash leaves either no sqlite file (the import runs again) or a
 * complete one. Returns whether it imported.
 *
 * @throws {FolderError} when the plain file is corrupt (nothing is written then) or the new
 * file cannot be written.
 */
export async function migratePlainToSqlite(
  files: StatusFiles,
  options: { readonly fsync: boolean },
): Promise<boolean> {
  if (await exists(files.sqlite)) return false;
  const records = await readPlainStatus(files.plain, files.journal);
  if (records === undefined) return false;
  const tmp = uniqueTmpPath(files.sqlite);
  try {
    await makeParent(files.sqlite);
    createSqliteStatusFile(tmp, records, options);
    await Deno.rename(tmp, files.sqlite);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {
      // Never created, or the disk is gone: the rename did not happen, which is what matters.
    });
    throw migrationError(files, error);
  }
  if (options.fsync) await syncDirectory(dirname(files.sqlite), files);
  return true;
}

/**
 * Writes the records of an existing sqlite status as a new plain file, when the plain file
 * and its journal are missing. The write is the plain store's own save (temporary name,
 * rename). Returns whether it imported.
 *
 * @throws {FolderError} when the database cannot be read or the file cannot be written.
 */
export async function migrateSqliteToPlain(
  files: StatusFiles,
  options: { readonly fsync: boolean },
): Promise<boolean> {
  if (await exists(files.plain) || await exists(files.journal)) return false;
  const records = await readSqliteRecords(files.sqlite);
  if (records === undefined) return false;
  await writePlainStatusFile(files.plain, records, options);
  return true;
}

async function makeParent(path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new FolderError(`Cannot look at status file "${path}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error),
    });
  }
}

async function syncDirectory(path: string, files: StatusFiles): Promise<void> {
  try {
    const dir = await Deno.open(path, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch (error) {
    throw migrationError(files, error);
  }
}

function migrationError(files: StatusFiles, error: unknown): FolderError {
  if (error instanceof FolderError) return error;
  return new FolderError(
    `Cannot import status "${files.plain}" into "${files.sqlite}": ${errorText(error)}`,
    { cause: error, hint: fsHint(error) },
  );
}
