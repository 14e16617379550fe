/**
 * Plain data exchanged between the planner (`plan.ts`) and the executor (`execute.ts`).
 * No handles, no I/O: a plan can be printed (`--dry-run`), compared in tests, and logged.
 *
 * @module
 */

import type { FlagLetters, FolderSnapshot, MessageRef } from "../repository/folder.ts";

/** Which side of an account. */
export type Side = "local" | "remote";

/** Policy inputs of one folder sync. */
export interface PlanOptions {
  /** False when the local repository is `readonly`: nothing is planned into it. */
  readonly localWritable: boolean;
  /** False when the remote repository is `readonly`. */
  readonly remoteWritable: boolean;
  /** `sync_deletes` of the local repository: local deletions reach the server. */
  readonly localSyncDeletes: boolean;
  /** `sync_deletes` of the remote repository: server deletions reach the Maildir. */
  readonly remoteSyncDeletes: boolean;
  /**
   * `max_delete_ratio` (DECISIONS.md #2): refuse a plan deleting more than this share of the
   * folder's known messages on one side, or all of them; 1.0 disables the guard.
   */
  readonly maxDeleteRatio: number;
  /** Flag letters the remote side can store (e.g. `"DFRST"`, plus `"P"` with `$Forwarded`). */
  readonly remoteStorableFlags: FlagLetters;
}

/** Everything the planner needs to decide one folder. */
export interface FolderSyncInput {
  /** Folder name for messages (local name). */
  readonly folder: string;
  readonly remote: FolderSnapshot;
  readonly local: FolderSnapshot;
  /** Status store records: remote UID → agreed flags. */
  readonly status: ReadonlyMap<number, FlagLetters>;
  /** UIDVALIDITY saved for the remote folder at the last sync, undefined on a first sync. */
  readonly savedRemoteUidValidity: number | undefined;
  readonly options: PlanOptions;
}

/** One step of a plan. The executor runs them in the order given. */
export type SyncAction =
  /** Download these remote messages; record each with its flags once stored locally. */
  | {
    readonly kind: "copyToLocal";
    readonly messages: ReadonlyArray<{ readonly uid: number; readonly flags: FlagLetters }>;
  }
  /** Upload these local messages; assign the new UID locally, then record with the flags. */
  | {
    readonly kind: "copyToRemote";
    readonly messages: ReadonlyArray<{ readonly ref: MessageRef; readonly flags: FlagLetters }>;
  }
  /** Add and remove the same letters on these UIDs of one side (one UID STORE per group). */
  | {
    readonly kind: "changeFlags";
    readonly side: Side;
    readonly uids: readonly number[];
    readonly add: FlagLetters;
    readonly remove: FlagLetters;
  }
  /** Record agreed flags in the status (both sides already hold them, or earlier actions did). */
  | {
    readonly kind: "record";
    readonly entries: ReadonlyArray<readonly [uid: number, flags: FlagLetters]>;
  }
  /** Delete these UIDs on one side, then forget them in the status. */
  | { readonly kind: "delete"; readonly side: Side; readonly uids: readonly number[] }
  /** Forget these UIDs in the status (gone on both sides). */
  | { readonly kind: "forget"; readonly uids: readonly number[] };

/** Why a folder must not be synced this time. */
export interface PlanRefusal {
  /** What is wrong, e.g. `UIDVALIDITY changed on the remote side (was 1200, now 1733)`. */
  readonly reason: string;
  /** What the user can do. */
  readonly hint: string;
  /** True for UIDVALIDITY refusals (exit status 2). */
  readonly uidValidity: boolean;
}

/** A flag both sides changed differently since the last sync, and how it was resolved. */
export interface FlagConflict {
  readonly uid: number;
  readonly flag: string;
  /** The value the merge kept. */
  readonly kept: boolean;
}

/** The outcome of planning one folder. */
export interface FolderPlan {
  readonly actions: readonly SyncAction[];
  readonly refusal?: PlanRefusal;
  readonly conflicts: readonly FlagConflict[];
}
