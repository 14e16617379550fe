/**
 * One folder: open both sides and the status, check UIDVALIDITY, snapshot, plan, execute.
 *
 * @module
 */

import { FolderError } from "../errors.ts";
import type { Repository } from "../repository/folder.ts";
import type { StatusStore } from "../status/store.ts";
import type { SyncCounts, SyncEvents } from "../ui/events.ts";
import { emptyCounts } from "../ui/events.ts";
import { executePlan } from "./execute.ts";
import { planFolder } from "./plan.ts";
import { reconcileUploads } from "./reconcile.ts";
import type { PlanOptions } from "./types.ts";

/** Access to the per-folder metadata of one account (status store and saved UIDVALIDITY). */
export interface FolderMetadata {
  /** Opens the status store of a folder (keyed by its local name). */
  openStatus(localName: string): Promise<StatusStore>;
  /** Saved remote UIDVALIDITY, undefined when none was saved. */
  readRemoteValidity(remoteName: string): Promise<number | undefined>;
  /** Saves the UIDVALIDITY of both sides (local Maildir folders save OfflineIMAP's 42). */
  writeValidity(
    remoteName: string,
    remoteValue: number,
    localName: string,
    localValue: number,
  ): Promise<void>;
  /** Forgets a folder's status (its folder was just created on one side). */
  resetStatus(localName: string): Promise<void>;
  /** Paths a user removes to recover from a UIDVALIDITY change, for the message. */
  recoveryPaths(remoteName: string, localName: string): string[];
}

/** Everything one folder sync needs. */
export interface FolderSyncContext {
  readonly account: string;
  readonly local: Repository;
  readonly remote: Repository;
  readonly metadata: FolderMetadata;
  readonly events: SyncEvents;
  readonly dryRun: boolean;
  readonly options: Omit<PlanOptions, "remoteStorableFlags">;
}

/**
 * Syncs one folder pair. Throws FolderError when the folder cannot be synced (UIDVALIDITY,
 * mass-deletion guard, unreadable side); connection errors propagate unchanged.
 * Returns the counts and the number of message-level errors.
 */
export async function syncFolder(
  ctx: FolderSyncContext,
  remoteName: string,
  localName: string,
): Promise<{ counts: SyncCounts; messageErrors: number }> {
  const status = await ctx.metadata.openStatus(localName);
  try {
    const localFolder = await ctx.local.openFolder(localName);
    const remoteFolder = await ctx.remote.openFolder(remoteName);
    try {
      const [records, localRead, remote, saved] = await Promise.all([
        status.read(),
        localFolder.readSnapshot(),
        remoteFolder.readSnapshot(),
        ctx.metadata.readRemoteValidity(remoteName),
      ]);
      // OfflineIMAP: with an empty local folder and an empty status the saved values are
      // replaced, so a re-created empty server folder is accepted silently.
      const fresh = records.size === 0 && localRead.messages.size === 0 &&
        localRead.unassigned.length === 0;
      const validityChanged = !fresh && saved !== undefined && saved !== remote.uidValidity;
      // Never pair messages across a UIDVALIDITY change: the planner refuses the folder.
      const { local } = validityChanged || !ctx.local.writable
        ? { local: localRead }
        : await reconcileUploads(localFolder, remoteFolder, localRead, remote, records, ctx.dryRun);
      const plan = planFolder({
        folder: localName,
        remote,
        local,
        status: records,
        savedRemoteUidValidity: fresh ? undefined : saved,
        options: { ...ctx.options, remoteStorableFlags: remote.storableFlags ?? "DFPRST" },
      });
      if (plan.refusal) {
        const paths = plan.refusal.uidValidity
          ? ` To start over for this folder, remove: ${
            ctx.metadata.recoveryPaths(remoteName, localName).map((p) => `"${p}"`).join(", ")
          }`
          : "";
        throw new FolderError(`Skipping folder "${localName}": ${plan.refusal.reason}`, {
          hint: `${plan.refusal.hint}${paths}`,
          uidValidity: plan.refusal.uidValidity,
        });
      }
      if (ctx.dryRun) {
        ctx.events.plan(ctx.account, localName, plan);
        return { counts: emptyCounts(), messageErrors: 0 };
      }
      const result = await executePlan(plan, {
        local: localFolder,
        remote: remoteFolder,
        status,
        onMessageError: (error) => ctx.events.error(ctx.account, error),
      });
      if (saved === undefined || fresh) {
        await ctx.metadata.writeValidity(
          remoteName,
          remote.uidValidity,
          localName,
          local.uidValidity,
        );
      }
      return result;
    } finally {
      await localFolder.close();
      await remoteFolder.close();
    }
  } finally {
    await status.close();
  }
}
