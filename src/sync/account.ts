/**
 * One account: list folders on both sides, create the missing ones, then sync each folder.
 * Folder failures are reported and the next folder goes on; account failures end the account.
 *
 * @module
 */

import { AccountError, FolderError, isTransientError, UserFacingError } from "../errors.ts";
import type { RepositoryCommon } from "../config/types.ts";
import type { Repository, SnapshotWindow } from "../repository/folder.ts";
import type { AccountSummary, SyncEvents } from "../ui/events.ts";
import { addCounts, emptyCounts } from "../ui/events.ts";
import { syncFolder } from "./folder.ts";
import type { FolderMetadata } from "./folder.ts";

/** Everything an account sync needs; built by `main.ts` from the configuration. */
export interface AccountSyncContext {
  readonly name: string;
  readonly local: Repository;
  readonly remote: Repository;
  readonly localConfig: RepositoryCommon;
  readonly remoteConfig: RepositoryCommon;
  readonly metadata: FolderMetadata;
  readonly events: SyncEvents;
  readonly dryRun: boolean;
  readonly maxDeleteRatio: number;
  /** Folders synced at the same time (the remote `maxconnections`; 1 with `-1`). */
  readonly folderConcurrency: number;
  /** This cycle is a quick sync (`-q`, `quick`). */
  readonly quick?: boolean;
  /** `maxage` cut-off and `maxsize`. */
  readonly window?: SnapshotWindow;
  /** `startdate` of the remote repository. */
  readonly remoteStartDate?: Date;
  /** `newmail_hook` of each repository (see `FolderSyncContext.newmailHooks`). */
  readonly newmailHooks?: {
    readonly remote?: () => Promise<void>;
    readonly local?: () => Promise<void>;
  };
  /** True once a stop was requested (SIGTERM/SIGINT): no further folder is started. */
  readonly stopping?: () => boolean;
  /** `copy_ignore_eval` of the remote repository. */
  readonly copyIgnore?: (folder: string) => readonly number[];
  /** Only these remote folders (an IDLE-triggered sync of one folder). */
  readonly onlyRemoteFolders?: ReadonlySet<string>;
  /** `retrycount`: attempts of a folder whose connection broke (default 1). */
  readonly retryCount?: number;
  /** `ignore-readonly`: no warning for folders the server opens read-only. */
  readonly ignoreReadonly?: boolean;
}

/** Outcome of one account. */
export interface AccountResult {
  readonly summary: AccountSummary;
  /** Failures other than UIDVALIDITY refusals. */
  readonly errors: number;
  /** Folders skipped because their UIDVALIDITY changed. */
  readonly uidValidityErrors: number;
  /** True when the account itself failed (connection, login, folder listing). */
  readonly accountError: boolean;
  /** Local names of the folders synced this cycle, in sync order (for mbnames). */
  readonly syncedFolders: readonly string[];
}

/** Runs `job` over `items` with at most `limit` running at once, in order of start. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  job: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await job(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function translate(
  name: string,
  nametrans: (n: string) => string,
  from: string,
  to: string,
): string {
  const translated = nametrans(name);
  return from === to ? translated : translated.split(from).join(to);
}

/**
 * Syncs one account once. Never throws for a folder's failure; an account-level failure is
 * reported through `events.error` and counted. The repositories stay open: the caller closes
 * them (between cycles, unless `holdconnectionopen`).
 */
export async function syncAccount(ctx: AccountSyncContext): Promise<AccountResult> {
  const started = performance.now();
  const counts = emptyCounts();
  let errors = 0;
  let uidValidityErrors = 0;
  let folders = 0;
  let failedFolders = 0;
  let accountError = false;
  const syncedFolders: string[] = [];
  ctx.events.accountStart(ctx.name);
  try {
    const listed = (await ctx.remote.listFolders()).map((f) => f.name);
    // folderincludes: synced even when LIST does not show them or the filter says no.
    const includes = new Set(ctx.remoteConfig.folderIncludes);
    const remoteList = [...new Set([...listed, ...includes])];
    const localList = (await ctx.local.listFolders()).map((f) => f.name);
    const remoteSep = ctx.remote.sep;
    const localSep = ctx.local.sep;
    const localSet = new Set(localList);
    const remoteSet = new Set(remoteList);

    // Remote → local: create local folders for remote ones that pass the remote filter.
    const pairs: Array<{ remote: string; local: string; sortKey: string }> = [];
    for (const remoteName of remoteList) {
      if (!includes.has(remoteName) && !ctx.remoteConfig.folderFilter(remoteName)) continue;
      const localName = translate(remoteName, ctx.remoteConfig.nametrans, remoteSep, localSep);
      if (localSep !== "/" && localSep !== remoteSep && remoteName.includes(localSep)) {
        ctx.events.warning(
          `Skipping folder "${remoteName}": its name contains the local separator "${localSep}"`,
        );
        continue;
      }
      pairs.push({ remote: remoteName, local: localName, sortKey: localName });
      if (localSet.has(localName)) continue;
      if (!ctx.local.writable || !ctx.localConfig.createFolders) continue;
      ctx.events.folderCreated(ctx.name, "local", localName, ctx.dryRun);
      // In a dry run the repository only remembers the folder, which then reads as empty.
      const created = await ctx.local.createFolder(localName);
      // An IMAP local repository with a `reference` names the folder with its prefix.
      pairs[pairs.length - 1] = { remote: remoteName, local: created, sortKey: localName };
      await ctx.metadata.resetStatus(created);
      localSet.add(created);
    }

    // Local → remote: create server folders for local ones, after the round-trip check.
    for (const localName of localList) {
      if (!ctx.localConfig.folderFilter(localName)) continue;
      const remoteName = translate(localName, ctx.localConfig.nametrans, localSep, remoteSep);
      if (remoteSet.has(remoteName)) continue;
      if (!ctx.remote.writable || !ctx.remoteConfig.createFolders) continue;
      if (!ctx.remoteConfig.folderFilter(remoteName)) continue;
      const back = translate(remoteName, ctx.remoteConfig.nametrans, remoteSep, localSep);
      if (back !== localName) {
        throw new AccountError(
          `Refusing to create folder "${remoteName}" on the server for local folder "${localName}": it would come back as "${back}" and be created again on every run`,
          {
            hint:
              "make the nametrans of the two repositories inverse of each other, or exclude the folder with folderfilter",
          },
        );
      }
      ctx.events.folderCreated(ctx.name, "remote", remoteName, ctx.dryRun);
      // With a `reference`, the server folder carries that prefix (OfflineIMAP's makefolder).
      const created = await ctx.remote.createFolder(remoteName);
      await ctx.metadata.resetStatus(localName);
      remoteSet.add(created);
      pairs.push({ remote: created, local: localName, sortKey: localName });
    }

    // foldersort compares translated names; the default is case-insensitive (OfflineIMAP).
    const compare = ctx.remoteConfig.folderSort ?? ((a: string, b: string) => {
      const x = a.toLowerCase();
      const y = b.toLowerCase();
      return x < y ? -1 : x > y ? 1 : 0;
    });
    pairs.sort((a, b) => compare(a.sortKey, b.sortKey));
    const runnable = pairs.filter((pair) => {
      if (ctx.onlyRemoteFolders && !ctx.onlyRemoteFolders.has(pair.remote)) return false;
      if (!ctx.localConfig.folderFilter(pair.local)) return false;
      if (localSet.has(pair.local)) return true;
      failedFolders++;
      errors++;
      ctx.events.error(
        ctx.name,
        new FolderError(`Folder "${pair.local}" does not exist locally and may not be created`, {
          hint: "set createfolders = yes on the local repository, or create it yourself",
        }),
      );
      return false;
    });
    // One pipelined round trip for every folder's summary: a folder that neither side changed
    // then costs no SELECT, listing or status read (see untouchedSinceLastSync), which needs a
    // local side that can stamp its folders.
    const summaries = ctx.local.folderStamp === undefined
      ? undefined
      : await ctx.remote.readSummaries?.(runnable.map((pair) => pair.remote));
    let fatal: unknown;
    const syncOne = async (pair: { remote: string; local: string }) => {
      if (fatal !== undefined || ctx.stopping?.()) return;
      folders++;
      ctx.events.folderStart(ctx.name, pair.local);
      try {
        const attempt = (tries: number) =>
          syncFolder(
            {
              account: ctx.name,
              local: ctx.local,
              remote: ctx.remote,
              metadata: ctx.metadata,
              events: ctx.events,
              dryRun: ctx.dryRun,
              quick: ctx.quick,
              window: ctx.window,
              remoteStartDate: ctx.remoteStartDate,
              newmailHooks: ctx.newmailHooks,
              copyIgnore: ctx.copyIgnore,
              ignoreReadonly: ctx.ignoreReadonly,
              // Only the first attempt: a retry follows a broken connection, so look again.
              summary: tries === 1 ? summaries?.get(pair.remote) : undefined,
              options: {
                localWritable: ctx.local.writable,
                remoteWritable: ctx.remote.writable,
                localSyncDeletes: ctx.localConfig.syncDeletes,
                remoteSyncDeletes: ctx.remoteConfig.syncDeletes,
                maxDeleteRatio: ctx.maxDeleteRatio,
              },
            },
            pair.remote,
            pair.local,
          );
        // retrycount: a folder whose connection broke is tried again on a fresh connection
        // (the pool drops the broken one); every step is idempotent, so a retry finishes the job.
        let result;
        for (let tries = 1;; tries++) {
          try {
            result = await attempt(tries);
            break;
          } catch (error) {
            if (!isTransientError(error) || tries >= Math.max(1, ctx.retryCount ?? 1)) throw error;
            ctx.events.warning(
              `Folder "${pair.local}": ${(error as Error).message}; trying again (${tries})`,
            );
          }
        }
        addCounts(counts, result.counts);
        errors += result.messageErrors;
        syncedFolders.push(pair.local);
        ctx.events.folderDone(ctx.name, pair.local, result.counts, result.skipped);
      } catch (error) {
        if (!(error instanceof FolderError)) {
          // A broken connection or another account-level failure: start no further folder.
          fatal ??= error;
          return;
        }
        failedFolders++;
        if (error.uidValidity) uidValidityErrors++;
        else errors++;
        ctx.events.error(ctx.name, error);
      }
    };
    await runLimited(runnable, ctx.folderConcurrency, syncOne);
    if (fatal !== undefined) throw fatal;
    if (folders === 0 && failedFolders === 0) {
      throw new AccountError(`No folder to sync in account "${ctx.name}"`, {
        hint: "check folderfilter and -f",
      });
    }
  } catch (error) {
    errors++;
    accountError = true;
    ctx.events.error(
      ctx.name,
      error instanceof UserFacingError || error instanceof Error ? error : new Error(String(error)),
    );
  }
  const summary: AccountSummary = {
    account: ctx.name,
    folders,
    failedFolders,
    counts,
    errors: errors + uidValidityErrors,
    seconds: (performance.now() - started) / 1000,
  };
  ctx.events.accountDone(summary);
  return { summary, errors, uidValidityErrors, accountError, syncedFolders };
}
