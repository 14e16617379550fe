/**
 * What the engine reports while it works. The engine never prints: a UI implements this
 * interface and decides what to show.
 *
 * @module
 */

import type { UserFacingError } from "../errors.ts";
import type { FolderPlan } from "../sync/types.ts";

/** Counts of one folder (or one account, summed). */
export interface SyncCounts {
  /** Messages copied from the server to the local side. */
  downloaded: number;
  /** Messages copied from the local side to the server. */
  uploaded: number;
  /** Messages whose flags changed on either side. */
  flagged: number;
  /** Messages deleted on the local side. */
  deletedLocal: number;
  /** Messages deleted on the server. */
  deletedRemote: number;
}

/** A zeroed {@link SyncCounts}. */
export function emptyCounts(): SyncCounts {
  return { downloaded: 0, uploaded: 0, flagged: 0, deletedLocal: 0, deletedRemote: 0 };
}

/** Adds `b` into `a`. */
export function addCounts(a: SyncCounts, b: SyncCounts): void {
  a.downloaded += b.downloaded;
  a.uploaded += b.uploaded;
  a.flagged += b.flagged;
  a.deletedLocal += b.deletedLocal;
  a.deletedRemote += b.deletedRemote;
}

/** Summary of one account's run. */
export interface AccountSummary {
  readonly account: string;
  readonly folders: number;
  readonly failedFolders: number;
  readonly counts: SyncCounts;
  readonly errors: number;
  readonly seconds: number;
}

/** The engine's reports. Every method must return quickly and never throw. */
export interface SyncEvents {
  accountStart(account: string): void;
  accountDone(summary: AccountSummary): void;
  /** A folder is about to be synced. */
  folderStart(account: string, folder: string): void;
  /** A folder finished; `counts` says what changed; `skipped`: a quick sync saw no change. */
  folderDone(account: string, folder: string, counts: SyncCounts, skipped?: boolean): void;
  /** A folder was created on one side. */
  folderCreated(account: string, side: "local" | "remote", folder: string, dryRun: boolean): void;
  /** With `--dry-run`: the plan that would have been executed. */
  plan(account: string, folder: string, plan: FolderPlan): void;
  /** Something failed; `error.constructor` tells the scope. */
  error(account: string | undefined, error: UserFacingError | Error): void;
  /** Something the user should know about that changed nothing. */
  warning(message: string): void;
  /** Debug output for channel `channel` (`imap`, `maildir`, ...), already free of secrets. */
  debug(channel: string, message: string): void;
}
