/**
 * The one entry point that opens a folder's status store for `src/repository/open.ts`,
 * choosing the backend from `status_backend` and migrating between backends when needed
 * (DECISIONS.md #4).
 *
 * @module
 */

import { migratePlainToSqlite, migrateSqliteToPlain, type StatusFiles } from "./migrate.ts";
import { openPlainStatus } from "./plain.ts";
import { statusJournalPath, statusPlainPath, statusSqlitePath } from "./paths.ts";
import { openSqliteStatus } from "./sqlite.ts";
import type { StatusStore } from "./store.ts";

/** Options of {@link openStatusStore}. */
export interface StatusStoreOptions {
  /** `status_backend`: `"sqlite"` (default) or `"plain"`. */
  readonly backend: "sqlite" | "plain";
  /** `[general] fsync`. */
  readonly fsync: boolean;
  /**
   * True for a real sync: files and directories (0700/0600) are created, old formats upgraded,
   * a cache of the other backend imported. False for `--dry-run` (DECISIONS.md #9): nothing is
   * written; the status is read from whichever backend has it, and `apply()` throws.
   */
  readonly create: boolean;
}

/** Paths of every file that may hold the status of a folder, whatever the backend. */
export function statusFiles(metadata: string, account: string, folderName: string): StatusFiles {
  return {
    sqlite: statusSqlitePath(metadata, account, folderName),
    plain: statusPlainPath(metadata, account, folderName),
    journal: statusJournalPath(metadata, account, folderName),
  };
}

/**
 * Opens the status of the local folder `folderName` of `account` under `metadata`.
 * `folderName` is the local folder name with its separator replaced by `.` (formats.md §2.1).
 *
 * - `sqlite`: `Account-<account>/LocalStatus-sqlite/<f>`. When that file is missing and a plain
 *   cache exists (`LocalStatus/<f>`, plus our journal), the plain cache is imported first and
 *   left in place; in a dry run it is read instead.
 * - `plain`: `Account-<account>/LocalStatus/<f>` with its journal in `LocalStatus-journal/<f>`.
 *   When neither exists but a sqlite cache does, its rows are written as the plain file first
 *   (the sqlite file stays); in a dry run the sqlite file is read instead.
 *
 * @throws {FolderError} with the path and the fix when a status file is unreadable or corrupt
 * (never read as empty, which would copy back deleted mail) or cannot be written.
 *
 * @example
 * ```ts
 * const status = await openStatusStore("/home/me/.offlineimap", "Personal", "INBOX", {
 *   backend: "sqlite", fsync: true, create: true,
 * });
 * try {
 *   const records = await status.read(); // uid -> flags
 * } finally {
 *   await status.close();
 * }
 * ```
 */
export async function openStatusStore(
  metadata: string,
  account: string,
  folderName: string,
  options: StatusStoreOptions,
): Promise<StatusStore> {
  const files = statusFiles(metadata, account, folderName);
  const plainOptions = { fsync: options.fsync, create: options.create, journalPath: files.journal };
  const sqliteOptions = { fsync: options.fsync, create: options.create };
  if (options.backend === "plain") {
    if (options.create) {
      await migrateSqliteToPlain(files, options);
    } else if (
      !(await anyExists([files.plain, files.journal])) && await anyExists([files.sqlite])
    ) {
      return await openSqliteStatus(files.sqlite, sqliteOptions);
    }
    return await openPlainStatus(files.plain, plainOptions);
  }
  if (options.create) {
    await migratePlainToSqlite(files, options);
  } else if (!(await anyExists([files.sqlite])) && await anyExists([files.plain, files.journal])) {
    return await openPlainStatus(files.plain, plainOptions);
  }
  return await openSqliteStatus(files.sqlite, sqliteOptions);
}

/**
 * Removes every status file of a folder, of both backends (the sqlite file with its journal,
 * WAL and shared-memory files; the plain file and its journal), for a folder that starts over.
 * Both must go: a plain cache left behind would be imported again by the next sqlite run,
 * bringing back records of messages the new folder never had.
 *
 * @throws the filesystem error when a file exists but cannot be removed.
 */
export async function removeStatusStore(
  metadata: string,
  account: string,
  folderName: string,
): Promise<void> {
  const files = statusFiles(metadata, account, folderName);
  // The plain files first: after a crash in between, a sqlite file without them is harmless,
  // while a plain file without the sqlite one would be imported.
  const paths = [
    files.plain,
    files.journal,
    ...["", "-journal", "-wal", "-shm"].map((suffix) => files.sqlite + suffix),
  ];
  for (const path of paths) {
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    try {
      await Deno.lstat(path);
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return false;
}
