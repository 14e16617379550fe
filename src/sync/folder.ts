/**
 * One folder: open both sides and the status, check UIDVALIDITY, snapshot, plan, execute.
 *
 * @module
 */

import { FolderError } from "../errors.ts";
import type {
  Folder,
  FolderSnapshot,
  FolderSummary,
  Repository,
  SnapshotWindow,
} from "../repository/folder.ts";
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
  /** Saved local UIDVALIDITY (42 for Maildir; the server's for a local IMAP folder). */
  readLocalValidity(localName: string): Promise<number | undefined>;
  /** Saves the UIDVALIDITY of both sides (local Maildir folders save OfflineIMAP's 42). */
  writeValidity(
    remoteName: string,
    remoteValue: number,
    localName: string,
    localValue: number,
  ): Promise<void>;
  /** Forgets a folder's status (its folder was just created on one side). */
  resetStatus(localName: string): Promise<void>;
  /** What the remote folder looked like after the last sync that left it unchanged. */
  readQuickState(remoteName: string): Promise<QuickState | undefined>;
  /** Saves (or with undefined, forgets) the quick-sync state of a remote folder. */
  writeQuickState(remoteName: string, state: QuickState | undefined): Promise<void>;
  /** Paths a user removes to recover from a UIDVALIDITY change, for the message. */
  recoveryPaths(remoteName: string, localName: string): string[];
  /** `startdate`: the cut-off UID saved by the first sync (`StartUID/<folder>`), if any. */
  readStartUid(remoteName: string): Promise<number | undefined>;
  /** Saves the `startdate` cut-off UID of a remote folder (not in a dry run). */
  writeStartUid(remoteName: string, uid: number): Promise<void>;
}

/** The remote folder's summary after a sync, compared by the next quick sync. */
export interface QuickState {
  readonly uidValidity: number;
  readonly exists: number;
  readonly uidNext?: number;
  /** Decimal string (HIGHESTMODSEQ may exceed 2^53). */
  readonly highestModseq?: string;
  /**
   * The local folder's stamp ({@link Repository.folderStamp}), read before a snapshot that
   * found the local folder, the status and the server all equal: while it and the server's
   * summary stay as saved, the next sync has nothing to do in this folder.
   */
  readonly localStamp?: string;
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
  /** Quick sync: skip the folder when neither side changed (sync-algorithm.md §6). */
  readonly quick?: boolean;
  /** `maxage` cut-off and `maxsize`: messages outside are invisible to the sync. */
  readonly window?: SnapshotWindow;
  /**
   * `startdate` of the remote repository: the first sync of a folder needs an empty local
   * folder and syncs the server's messages from this day on; it saves the smallest UID it
   * took, and later syncs take the server's messages from that UID on.
   */
  readonly remoteStartDate?: Date;
  /**
   * `newmail_hook` of each repository: called after this folder sync copied an unseen message
   * out of that repository's folder named exactly `INBOX`.
   */
  readonly newmailHooks?: {
    readonly remote?: () => Promise<void>;
    readonly local?: () => Promise<void>;
  };
  /** `copy_ignore_eval`: remote UIDs of a folder (translated name) never copied out. */
  readonly copyIgnore?: (folder: string) => readonly number[];
  /** `ignore-readonly`: no warning for a folder the server opened read-only. */
  readonly ignoreReadonly?: boolean;
  /** The remote folder's summary, read for all folders by the account before their syncs. */
  readonly summary?: FolderSummary;
}

/** Result of one folder sync. */
export interface FolderResult {
  readonly counts: SyncCounts;
  readonly messageErrors: number;
  /** True when a quick sync found nothing changed and skipped the folder. */
  readonly skipped: boolean;
}

/** Whether the local side still matches the status exactly (quick sync's local test). */
function localUnchanged(local: FolderSnapshot, status: ReadonlyMap<number, string>): boolean {
  if (local.unassigned.length > 0 || local.messages.size !== status.size) return false;
  for (const [uid, message] of local.messages) {
    if (status.get(uid) !== message.flags) return false;
  }
  return true;
}

/** Whether the server's summary equals the saved one exactly. */
function sameSummary(summary: FolderSummary, saved: QuickState): boolean {
  return summary.uidValidity === saved.uidValidity && summary.exists === saved.exists &&
    summary.uidNext === saved.uidNext &&
    summary.highestModseq?.toString() === saved.highestModseq;
}

/**
 * Whether the remote summary equals the saved one (EXISTS, UIDNEXT, HIGHESTMODSEQ) and the
 * status holds as many messages as the server: then the status is the server's listing.
 */
function remoteUnchanged(
  summary: FolderSummary,
  saved: QuickState | undefined,
  statusSize: number,
): boolean {
  if (saved === undefined || summary.exists === 0 || summary.exists !== statusSize) return false;
  return sameSummary(summary, saved);
}

/**
 * Whether both sides are as the last sync left them, decided without reading either listing or
 * the status (the no-change run's fast path): the saved quick state carries the local folder's
 * stamp (saved only after a snapshot that found the local folder, the status and the server
 * equal), the local folder still has that stamp, and the server's summary, read by the account
 * for all folders at once, equals the saved one, HIGHESTMODSEQ included (any flag change on the
 * server moves it) unless this is a quick sync. Never with a window or `startdate`, which hide
 * messages from the comparison.
 */
async function untouchedSinceLastSync(
  ctx: FolderSyncContext,
  localName: string,
  saved: QuickState | undefined,
): Promise<boolean> {
  const summary = ctx.summary;
  if (saved?.localStamp === undefined || summary === undefined) return false;
  if (ctx.window?.since !== undefined || ctx.window?.maxSize !== undefined) return false;
  if (ctx.remoteStartDate !== undefined || (!ctx.quick && summary.highestModseq === undefined)) {
    return false;
  }
  if (!sameSummary(summary, saved)) return false;
  return await ctx.local.folderStamp?.(localName) === saved.localStamp;
}

/**
 * Whether the local folder, the status and the server's listing hold the same messages with
 * the same flags, nothing hidden: the condition for saving the local stamp.
 */
function sidesEqual(
  local: FolderSnapshot,
  remote: FolderSnapshot,
  status: ReadonlyMap<number, string>,
  summary: FolderSummary,
): boolean {
  if ((remote.hidden?.size ?? 0) > 0 || remote.messages.size !== status.size) return false;
  if (summary.exists !== status.size || !localUnchanged(local, status)) return false;
  for (const [uid, flags] of status) {
    if (remote.messages.get(uid)?.flags !== flags) return false;
  }
  return true;
}

/**
 * `copy_ignore_eval`: listed remote UIDs that were never synced become hidden (never copied);
 * ones already known on both sides keep syncing flags and deletions.
 */
function ignoreCopies(
  remote: FolderSnapshot,
  status: ReadonlyMap<number, string>,
  local: FolderSnapshot,
  ignored: readonly number[] | undefined,
): FolderSnapshot {
  if (!ignored || ignored.length === 0) return remote;
  const hidden = new Set(remote.hidden ?? []);
  const messages = new Map(remote.messages);
  for (const uid of ignored) {
    if (messages.has(uid) && !status.has(uid) && !local.messages.has(uid)) {
      messages.delete(uid);
      hidden.add(uid);
    }
  }
  return { ...remote, messages, hidden };
}

/** Leading Unix time of a Maildir unique name (`1700000000.M1P2.host` → 1700000000). */
function nameTime(key: string): number | undefined {
  const m = /^(\d+)/.exec(key);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** Removes what lies outside the window: remote-hidden UIDs everywhere, old local new mail. */
function applyWindow(
  local: FolderSnapshot,
  remote: FolderSnapshot,
  status: ReadonlyMap<number, string>,
  window: SnapshotWindow | undefined,
): { local: FolderSnapshot; status: ReadonlyMap<number, string> } {
  const hidden = remote.hidden ?? new Set<number>();
  if (hidden.size === 0 && window?.since === undefined) return { local, status };
  const messages = new Map([...local.messages].filter(([uid]) => !hidden.has(uid)));
  const since = window?.since?.getTime();
  const unassigned = since === undefined
    ? local.unassigned
    : local.unassigned.filter((m) => (nameTime(m.key) ?? Infinity) >= since);
  const visibleStatus = new Map([...status].filter(([uid]) => !hidden.has(uid)));
  return { local: { ...local, messages, unassigned }, status: visibleStatus };
}

/**
 * The window of this folder's sync: `maxage`/`maxsize`, plus with `startdate` the saved cut-off
 * UID, found and saved on the folder's first sync (sync-algorithm.md §7). Undefined when no
 * window applies.
 *
 * @throws {FolderError} when a first sync with `startdate` finds the local folder not empty.
 */
async function startWindow(
  ctx: FolderSyncContext,
  remoteFolder: Folder,
  remoteName: string,
  localName: string,
  local: FolderSnapshot,
  status: ReadonlyMap<number, string>,
): Promise<SnapshotWindow | undefined> {
  const window = ctx.window?.since === undefined && ctx.window?.maxSize === undefined
    ? undefined
    : ctx.window;
  const startDate = ctx.remoteStartDate;
  if (startDate === undefined) return window;
  let minUid = await ctx.metadata.readStartUid(remoteName);
  if (minUid === undefined) {
    if (local.messages.size > 0 || local.unassigned.length > 0 || status.size > 0) {
      throw new FolderError(
        `Skipping folder "${localName}": startdate needs an empty local folder on its first sync`,
        {
          hint:
            "startdate is for cloning the server's recent mail into an empty folder: empty the local folder, or remove startdate",
        },
      );
    }
    if (remoteFolder.firstUidSince === undefined) {
      throw new FolderError(`Skipping folder "${localName}": startdate needs an IMAP folder`);
    }
    minUid = await remoteFolder.firstUidSince(startDate);
    await ctx.metadata.writeStartUid(remoteName, minUid);
  }
  return { ...window, minUid };
}

/**
 * `newmail_hook`s (OfflineIMAP calls them at the end of the copy pass): the remote one when unseen
 * mail came down from the server's `INBOX`, the local one (an IMAP local repository) when unseen
 * mail went up from its `INBOX`. A failing hook is reported as a warning; the sync stands.
 */
async function runNewmailHooks(
  ctx: FolderSyncContext,
  remoteName: string,
  localName: string,
  unseen: { readonly toLocal: number; readonly toRemote: number },
): Promise<void> {
  const calls: Array<[string, () => Promise<void>]> = [];
  const hooks = ctx.newmailHooks;
  if (hooks?.remote && remoteName === "INBOX" && unseen.toLocal > 0) {
    calls.push(["remote", hooks.remote]);
  }
  if (hooks?.local && localName === "INBOX" && unseen.toRemote > 0) {
    calls.push(["local", hooks.local]);
  }
  for (const [side, hook] of calls) {
    try {
      await hook();
    } catch (error) {
      ctx.events.warning(
        `newmail_hook of the ${side} repository failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }
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
): Promise<FolderResult> {
  const quickState = await ctx.metadata.readQuickState(remoteName);
  if (await untouchedSinceLastSync(ctx, localName, quickState)) {
    return { counts: emptyCounts(), messageErrors: 0, skipped: ctx.quick === true };
  }
  const status = await ctx.metadata.openStatus(localName);
  try {
    const localFolder = await ctx.local.openFolder(localName);
    const remoteFolder = await ctx.remote.openFolder(remoteName);
    try {
      // Read before the listing it vouches for: a change after this moves it.
      const localStamp = await ctx.local.folderStamp?.(localName);
      const [records, localAll, saved, savedLocal] = await Promise.all([
        status.read(),
        localFolder.readSnapshot(),
        ctx.metadata.readRemoteValidity(remoteName),
        ctx.metadata.readLocalValidity(localName),
      ]);
      /** Saves the local stamp with the unchanged summary, when it is new. */
      const saveStamp = async () => {
        if (localStamp === undefined || localStamp === quickState?.localStamp) return;
        await ctx.metadata.writeQuickState(remoteName, { ...quickState!, localStamp });
      };
      const localFresh = records.size === 0 && localAll.messages.size === 0 &&
        localAll.unassigned.length === 0;
      if (!localFresh && savedLocal !== undefined && savedLocal !== localAll.uidValidity) {
        // A local IMAP server renumbered the folder: the UID map names other messages now.
        throw new FolderError(
          `Skipping folder "${localName}": UIDVALIDITY changed on the local side (was ${savedLocal}, now ${localAll.uidValidity})`,
          {
            hint: `To start over for this folder, remove: ${
              ctx.metadata.recoveryPaths(remoteName, localName).map((p) => `"${p}"`).join(", ")
            }`,
            uidValidity: true,
          },
        );
      }
      // Before anything else: a quick sync ends here when neither side changed. A folder whose
      // last sync changed the server has no saved state, so it is always synced in full.
      const summary = remoteFolder.readSummary ? await remoteFolder.readSummary() : undefined;
      if (
        ctx.quick && summary !== undefined && ctx.window?.since === undefined &&
        localUnchanged(localAll, records) && remoteUnchanged(summary, quickState, records.size)
      ) {
        // The saved summary matched, and the local side equals the status that matched it.
        await saveStamp();
        return { counts: emptyCounts(), messageErrors: 0, skipped: true };
      }
      // A full sync skips the flag listing when the server proves nothing changed: with
      // CONDSTORE, the same UIDVALIDITY, EXISTS, UIDNEXT and HIGHESTMODSEQ as after a sync that
      // left the server equal to the status make the status the listing (any flag change,
      // expunge or new message on the server moves one of them).
      const window = await startWindow(ctx, remoteFolder, remoteName, localName, localAll, records);
      const remoteKnown = summary?.highestModseq !== undefined &&
        remoteFolder.knownSnapshot !== undefined && window === undefined &&
        remoteUnchanged(summary, quickState, records.size);
      // With CONDSTORE and a saved summary of the same UIDVALIDITY, the status is what the
      // server held at the saved HIGHESTMODSEQ: only what changed since needs listing.
      const savedModseq = /^\d+$/.test(quickState?.highestModseq ?? "")
        ? BigInt(quickState!.highestModseq!)
        : undefined;
      const remoteDelta = !remoteKnown && window === undefined && savedModseq !== undefined &&
        remoteFolder.changedSnapshot !== undefined && summary?.highestModseq !== undefined &&
        summary.uidValidity === quickState?.uidValidity && summary.highestModseq >= savedModseq;
      const remoteRead = remoteKnown
        ? remoteFolder.knownSnapshot!(records)
        : remoteDelta
        ? await remoteFolder.changedSnapshot!(records, savedModseq!)
        : await remoteFolder.readSnapshot(window);
      const remote = ignoreCopies(remoteRead, records, localAll, ctx.copyIgnore?.(localName));
      if (remote.readOnly && ctx.options.remoteWritable && !ctx.ignoreReadonly) {
        ctx.events.warning(
          `Folder "${remoteName}" is read-only on the server: local changes stay local (ignore-readonly silences this)`,
        );
      }
      const windowed = applyWindow(localAll, remote, records, window);
      const localRead = windowed.local;
      // OfflineIMAP: with an empty local folder and an empty status the saved values are
      // replaced, so a re-created empty server folder is accepted silently.
      const fresh = records.size === 0 && localRead.messages.size === 0 &&
        localRead.unassigned.length === 0;
      const validityChanged = !fresh && saved !== undefined && saved !== remote.uidValidity;
      // Never pair messages across a UIDVALIDITY change: the planner refuses the folder.
      const { local } = validityChanged || !ctx.local.writable
        ? { local: localRead }
        : await reconcileUploads(
          localFolder,
          remoteFolder,
          localRead,
          remote,
          windowed.status,
          ctx.dryRun,
        );
      const plan = planFolder({
        folder: localName,
        remote,
        local,
        status: windowed.status,
        savedRemoteUidValidity: fresh ? undefined : saved,
        options: {
          ...ctx.options,
          // A folder the server opens read-only is never written (OfflineIMAP warns per
          // message; we plan no write at all and warn once).
          remoteWritable: ctx.options.remoteWritable && !remote.readOnly,
          remoteStorableFlags: remote.storableFlags ?? "DFPRST",
        },
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
        return { counts: emptyCounts(), messageErrors: 0, skipped: false };
      }
      if (
        plan.actions.length === 0 && remoteKnown && saved !== undefined &&
        savedLocal !== undefined && !fresh
      ) {
        // Nothing to do, and the saved summary still describes the server.
        if (sidesEqual(localAll, remote, records, summary!)) await saveStamp();
        return { counts: emptyCounts(), messageErrors: 0, skipped: false };
      }
      // Whatever happens next, the saved summary is stale until this sync completes.
      if (quickState !== undefined) await ctx.metadata.writeQuickState(remoteName, undefined);
      const result = await executePlan(plan, {
        local: localFolder,
        remote: remoteFolder,
        status,
        onMessageError: (error) => ctx.events.error(ctx.account, error),
      });
      await runNewmailHooks(ctx, remoteName, localName, result.unseenCopied);
      if (saved === undefined || savedLocal === undefined || fresh) {
        await ctx.metadata.writeValidity(
          remoteName,
          remote.uidValidity,
          localName,
          local.uidValidity,
        );
      }
      // The summary read before the sync still describes the server only if we changed nothing
      // there; otherwise the next quick sync of this folder is a full one.
      const remoteChanged = result.counts.uploaded > 0 || result.counts.deletedRemote > 0 ||
        plan.actions.some((a) => a.kind === "changeFlags" && a.side === "remote");
      if (summary !== undefined && !remoteChanged && result.messageErrors === 0) {
        const equal = plan.actions.length === 0 && sidesEqual(localAll, remote, records, summary);
        await ctx.metadata.writeQuickState(remoteName, {
          uidValidity: summary.uidValidity,
          exists: summary.exists,
          uidNext: summary.uidNext,
          highestModseq: summary.highestModseq?.toString(),
          ...(equal && localStamp !== undefined ? { localStamp } : {}),
        });
      }
      return { ...result, skipped: false };
    } finally {
      await localFolder.close();
      await remoteFolder.close();
    }
  } finally {
    await status.close();
  }
}
