/**
 * What `main.ts` runs once the configuration is read: the account syncs (with their loops,
 * hooks and mbnames), `--info`, `--delete-folder` and `--mbnames-prune`. Nothing here exits or
 * prints directly: results go to the UI's events or are returned as text.
 *
 * @module
 */

import type { AccountConfig, Config } from "./config/types.ts";
import { formatInfo, gatherListings } from "./cli/info.ts";
import { AccountError, UserFacingError } from "./errors.ts";
import { runHook } from "./hooks.ts";
import { acquireAccountLock } from "./lock.ts";
import { pruneMbnames, writeAccountMbnames, writeMbnamesFile } from "./mbnames.ts";
import { openAccount } from "./repository/open.ts";
import { MaildirRepository } from "./repository/maildir.ts";
import type { OpenAccountOptions } from "./repository/open.ts";
import { runLimited } from "./sync/account.ts";
import { runAccount } from "./sync/daemon.ts";
import type { RunControl } from "./sync/daemon.ts";
import type { SyncEvents } from "./ui/events.ts";

/** How the run was asked for. */
export interface RunOptions {
  readonly dryRun: boolean;
  readonly singleThread: boolean;
  readonly uiName: string;
  /** A password may be asked on the terminal (ttyui on a TTY). */
  readonly interactive: boolean;
  /** `-d imap`. */
  readonly traceImap: boolean;
}

/** Totals of a sync run, from which `main.ts` derives the exit status. */
export interface RunTotals {
  errors: number;
  uidValidityErrors: number;
}

function accountOptions(options: RunOptions, events: SyncEvents): OpenAccountOptions {
  return {
    dryRun: options.dryRun,
    singleThread: options.singleThread,
    uiName: options.uiName,
    interactive: options.interactive,
    warn: (message) => events.warning(message),
    imapLog: options.traceImap ? (line) => events.debug("imap", line) : undefined,
  };
}

/** Syncs every active account, `maxsyncaccounts` at a time (1 with `-1`). */
export async function syncAccounts(
  config: Config,
  options: RunOptions,
  events: SyncEvents,
  control: RunControl,
): Promise<RunTotals> {
  const totals: RunTotals = { errors: 0, uidValidityErrors: 0 };
  const mbnames = config.general.mbnames;
  await runLimited(
    [...config.accounts.values()],
    options.singleThread ? 1 : config.general.maxSyncAccounts,
    async (account) => {
      let opened;
      try {
        opened = openAccount(account, config.general, accountOptions(options, events));
      } catch (error) {
        if (!(error instanceof UserFacingError)) throw error;
        events.error(account.name, error);
        totals.errors++;
        return;
      }
      const localRoot = account.local.type === "Maildir" ? account.local.localFolders : "";
      const result = await runAccount({
        name: account.name,
        local: opened.local,
        remote: opened.remote,
        localConfig: account.local,
        remoteConfig: account.remote,
        metadata: opened.metadata,
        events,
        dryRun: options.dryRun,
        maxDeleteRatio: account.maxDeleteRatio,
        folderConcurrency: options.singleThread ? 1 : account.remote.maxConnections,
        copyIgnore: account.remote.copyIgnore,
        retryCount: account.remote.retryCount,
        ignoreReadonly: config.general.ignoreReadonly,
        window: account.maxAge || account.maxSize
          ? { since: account.maxAge, maxSize: account.maxSize }
          : undefined,
        newmailHooks: {
          remote: account.remote.newmailHook,
          local: account.local.type === "IMAP" ? account.local.newmailHook : undefined,
        },
        remoteStartDate: account.remote.startDate === undefined
          ? undefined
          : new Date(`${account.remote.startDate}T00:00:00Z`),
      }, {
        autorefresh: account.autorefresh,
        quick: account.quick,
        preSyncHook: account.preSyncHook,
        postSyncHook: account.postSyncHook,
        holdConnectionOpen: account.remote.holdConnectionOpen,
        idleFolders: account.remote.idleFolders,
        keepalive: account.remote.keepalive,
        // A dry run writes nothing, not even the lock file (DECISIONS.md #9).
        lock: options.dryRun
          ? undefined
          : () => acquireAccountLock(config.general.metadata, account.name),
        afterCycle: mbnames
          ? async (cycle) => {
            await writeAccountMbnames(
              config.general.metadata,
              account.name,
              localRoot,
              cycle.syncedFolders,
              { dryRun: options.dryRun },
            );
            if (mbnames.incremental) {
              await writeMbnamesFile(config.general.metadata, mbnames, { dryRun: options.dryRun });
            }
          }
          : undefined,
        runHook: async (command, name, mode) => {
          const hook = await runHook(command, name, account.name, mode);
          const output = `${hook.stdout}${hook.stderr}`.trim();
          if (output) events.debug("hooks", `${name} said: ${output}`);
          if (hook.code !== 0) {
            events.warning(`${name} of account "${account.name}" exited with status ${hook.code}`);
          }
        },
      }, control);
      totals.errors += result.errors;
      totals.uidValidityErrors += result.uidValidityErrors;
    },
  );
  if (mbnames && !mbnames.incremental) {
    await writeMbnamesFile(config.general.metadata, mbnames, { dryRun: options.dryRun });
  }
  return totals;
}

/** `--info`: the resolved settings and folder lists, as text. */
export async function infoReport(
  config: Config,
  options: RunOptions,
  events: SyncEvents,
  version: string,
): Promise<string> {
  const listings = await gatherListings(config, async (account, role) => {
    const opened = openAccount(account, config.general, {
      ...accountOptions(options, events),
      dryRun: true,
    });
    try {
      const repository = role === "remote" ? opened.remote : opened.local;
      // Listed in sync order: case-insensitive, as OfflineIMAP's default foldersort.
      return (await repository.listFolders()).map((f) => f.name)
        .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    } finally {
      await opened.local.close().catch(() => {});
      await opened.remote.close().catch(() => {});
    }
  });
  return formatInfo(config, listings, { version });
}

/** `--delete-folder NAME`: deletes one folder on the remote server of the one active account. */
export async function deleteRemoteFolder(
  config: Config,
  name: string,
  options: RunOptions,
  events: SyncEvents,
): Promise<void> {
  const accounts: AccountConfig[] = [...config.accounts.values()];
  if (accounts.length !== 1) {
    throw new AccountError(
      `--delete-folder needs exactly one account, not ${accounts.length}`,
      { hint: "choose it with -a ACCOUNT" },
    );
  }
  const account = accounts[0]!;
  const opened = openAccount(account, config.general, accountOptions(options, events));
  try {
    if (options.dryRun) {
      events.warning(
        `[DRYRUN] Would delete folder "${name}" on repository "${account.remote.name}"`,
      );
      return;
    }
    await opened.remote.deleteFolder!(name);
  } finally {
    await opened.remote.close();
    await opened.local.close();
  }
}

/** `--mbnames-prune`: removes mbnames caches of accounts no longer configured. */
export async function pruneMbnamesCaches(
  config: Config,
  options: RunOptions,
): Promise<string[]> {
  return await pruneMbnames(
    config.general.metadata,
    config.general.accounts,
    config.general.mbnames,
    { dryRun: options.dryRun },
  );
}

/** `--migrate-fmd5-using-nametrans` over the local Maildir of every active account. */
export async function migrateFmd5(
  config: Config,
  options: RunOptions,
  events: SyncEvents,
): Promise<void> {
  for (const account of config.accounts.values()) {
    if (account.local.type !== "Maildir") continue;
    const repository = new MaildirRepository(account.local, {
      fsync: config.general.fsync,
      dryRun: options.dryRun,
      infoSep: account.maildirWindowsCompatible ? "!" : ":",
    });
    const renamed = await repository.migrateFmd5();
    events.warning(
      `${
        options.dryRun ? "[DRYRUN] Would rename" : "Renamed"
      } ${renamed} files of account "${account.name}" to the FMD5 of their translated folder names`,
    );
  }
}
