/**
 * Builders for configurations used by several test files.
 *
 * @module
 */

import type { MaildirRepositoryConfig } from "../../src/config/types.ts";

/** A resolved Maildir repository config with every default, `overrides` applied. */
export function maildirConfig(
  root: string,
  overrides: Partial<MaildirRepositoryConfig> = {},
): MaildirRepositoryConfig {
  return {
    type: "Maildir",
    name: "Local",
    localFolders: root,
    sep: ".",
    readonly: false,
    createFolders: true,
    syncDeletes: true,
    nametrans: (name) => name,
    folderFilter: () => true,
    folderIncludes: [],
    dynamicFolderFilter: false,
    restoreAtime: false,
    utimeFromHeader: false,
    filenameUseMailTimestamp: false,
    customFlags: {},
    ...overrides,
  };
}

/** Sections of {@link configText} that extra lines can go to. */
export type ConfigPart = "general" | "account" | "local" | "remote";

/** A valid one-account config file text; `extra` maps section → lines appended to it. */
export function configText(extra: Partial<Record<ConfigPart, string>> = {}): string {
  return [
    "[general]",
    "accounts = A",
    extra.general ?? "",
    "[Account A]",
    "localrepository = L",
    "remoterepository = R",
    extra.account ?? "",
    "[Repository L]",
    "type = Maildir",
    "localfolders = ~/Maildir",
    extra.local ?? "",
    "[Repository R]",
    "type = IMAP",
    "remotehost = imap.example.org",
    extra.remote ?? "",
  ].join("\n");
}
