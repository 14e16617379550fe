/**
 * Builds the concrete repositories and the per-folder metadata of one account. This is the
 * only place that knows which repository and status implementations exist; the engine sees
 * interfaces.
 *
 * @module
 */

import type { AccountConfig, GeneralConfig } from "../config/types.ts";
import { AccountError, FolderError } from "../errors.ts";
import { errorText } from "../fs_errors.ts";
import { folderFileName, folderValidityPath, repositoryDir } from "../status/paths.ts";
import { openStatusStore, removeStatusStore, statusFiles } from "../status/open.ts";
import { readFolderValidity, writeFolderValidity } from "../status/validity.ts";
import type { FolderMetadata } from "../sync/folder.ts";
import type { Repository } from "./folder.ts";
import { ImapRepository } from "./imap.ts";
import { MaildirRepository } from "./maildir.ts";
import { MappedImapRepository } from "./imap_local.ts";

/** The two sides of an account and its metadata access. */
export interface OpenedAccount {
  readonly local: Repository;
  readonly remote: Repository;
  readonly metadata: FolderMetadata;
}

/** Options of {@link openAccount}. */
export interface OpenAccountOptions {
  readonly dryRun: boolean;
  /** `-1`: one connection per repository. */
  readonly singleThread?: boolean;
  /** UI name and whether it may ask for a password on the terminal. */
  readonly uiName?: string;
  readonly interactive?: boolean;
  /** Warnings such as an insecure password file. */
  readonly warn?: (message: string) => void;
  /** Protocol trace sink for `-d imap` (secrets masked by the client). */
  readonly imapLog?: (line: string) => void;
}

/**
 * Creates (without connecting) the repositories of `account`. Throws AccountError for a
 * combination not supported yet.
 */
export function openAccount(
  account: AccountConfig,
  general: GeneralConfig,
  options: OpenAccountOptions,
): OpenedAccount {
  if (account.local.startDate !== undefined) {
    throw new AccountError(
      `Option "startdate" in section "Repository ${account.local.name}" (the local repository) is not supported yet`,
      {
        hint:
          "remove it; startdate on the remote repository clones the server's recent mail, and maxage in the account section limits the sync by date",
      },
    );
  }
  const meta = general.metadata;
  const uidMapPath = (folder: string) =>
    `${repositoryDir(meta, account.local.name)}/UIDMapping/${folderFileName(folder)}`;
  const local: Repository = account.local.type === "Maildir"
    ? new MaildirRepository(account.local, {
      fsync: general.fsync,
      dryRun: options.dryRun,
      maxSize: account.maxSize,
      infoSep: account.maildirWindowsCompatible ? "!" : ":",
    })
    : new MappedImapRepository(
      new ImapRepository(account.local, {
        sockTimeout: general.sockTimeout,
        log: options.imapLog,
        maxConnections: options.singleThread ? 1 : account.local.maxConnections,
        dryRun: options.dryRun,
        uiName: options.uiName,
        interactive: options.interactive,
        warn: options.warn,
      }),
      (folder) => `${repositoryDir(meta, account.local.name)}/UIDMapping/${folderFileName(folder)}`,
      general.fsync,
    );
  const remote = new ImapRepository(account.remote, {
    sockTimeout: general.sockTimeout,
    log: options.imapLog,
    maxConnections: options.singleThread ? 1 : account.remote.maxConnections,
    dryRun: options.dryRun,
    utf8FolderNames: account.utf8FolderNames,
    filterHeaders: account.filterHeaders,
    customFlags: account.local.type === "Maildir" ? account.local.customFlags : undefined,
    uiName: options.uiName,
    interactive: options.interactive,
    warn: options.warn,
  });
  const statusPath = (localName: string) =>
    statusFiles(meta, account.name, localName)[account.statusBackend];
  const remoteValidity = (name: string) => folderValidityPath(meta, account.remote.name, name);
  const localValidity = (name: string) => folderValidityPath(meta, account.local.name, name);
  // Our own addition to OfflineIMAP's layout (it ignores unknown directories): the server's
  // summary after the last sync, for quick syncs (DECISIONS.md #8).
  const quickPath = (name: string) =>
    `${repositoryDir(meta, account.remote.name)}/QuickSync/${folderFileName(name)}`;
  const startUidPath = (name: string) =>
    `${repositoryDir(meta, account.remote.name)}/StartUID/${folderFileName(name)}`;
  const metadata: FolderMetadata = {
    openStatus: (localName) =>
      openStatusStore(meta, account.name, localName, {
        backend: account.statusBackend,
        fsync: general.fsync,
        create: !options.dryRun,
      }),
    readRemoteValidity: (remoteName) => readFolderValidity(remoteValidity(remoteName)),
    readLocalValidity: (localName) => readFolderValidity(localValidity(localName)),
    async writeValidity(remoteName, remoteValue, localName, localValue) {
      if (options.dryRun) return;
      await writeFolderValidity(remoteValidity(remoteName), remoteValue);
      await writeFolderValidity(localValidity(localName), localValue);
    },
    async resetStatus(localName) {
      if (options.dryRun) return;
      // (A dry run keeps the old status file; the folder then reads as empty anyway.)
      // Both backends: an old plain cache left behind would be imported again.
      await removeStatusStore(meta, account.name, localName);
      if (account.local.type === "IMAP") {
        await Deno.remove(uidMapPath(localName)).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
      }
    },
    async readQuickState(remoteName) {
      try {
        const state = JSON.parse(await Deno.readTextFile(quickPath(remoteName)));
        return typeof state?.uidValidity === "number" && typeof state?.exists === "number"
          ? state
          : undefined;
      } catch {
        // Missing or unreadable: the folder simply gets a full sync.
        return undefined;
      }
    },
    async writeQuickState(remoteName, state) {
      if (options.dryRun) return;
      const path = quickPath(remoteName);
      if (state === undefined) {
        await Deno.remove(path).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
        return;
      }
      await replaceFile(path, JSON.stringify(state));
    },
    async readStartUid(remoteName) {
      const path = startUidPath(remoteName);
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw new FolderError(`Cannot read "${path}": ${errorText(error)}`, { cause: error });
      }
      const value = text.trim();
      if (!/^[0-9]+$/.test(value)) {
        throw new FolderError(`Cannot use "${path}": "${value}" is not a UID`, {
          hint: "remove the file only if the local folder is empty: startdate then starts over",
        });
      }
      return Number(value);
    },
    async writeStartUid(remoteName, uid) {
      if (options.dryRun) return;
      await replaceFile(startUidPath(remoteName), `${uid}\n`);
    },
    recoveryPaths: (remoteName, localName) => [
      statusPath(localName),
      remoteValidity(remoteName),
      localValidity(localName),
      ...(account.local.type === "IMAP" ? [uidMapPath(localName)] : []),
      // The saved startdate cut-off is a UID of the old numbering too.
      ...(account.remote.startDate !== undefined ? [startUidPath(remoteName)] : []),
    ],
  };
  return { local, remote, metadata };
}

/** Writes a small metadata file (mode 0600, directory 0700) through a rename, never half. */
async function replaceFile(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${path}.tmp`, text, { mode: 0o600 });
  await Deno.rename(`${path}.tmp`, path);
}
