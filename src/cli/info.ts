/**
 * The `--info` report: per account and repository, the resolved settings (secrets masked) and
 * the folder list with untranslated and translated names and whether each is filtered, the
 * tool a user needs to debug `nametrans` and `folderfilter` (config-options.md §3).
 *
 * Pure: the folder lists are given (the caller lists each repository), so the report can be
 * tested without a server.
 *
 * @module
 */

import type {
  AccountConfig,
  Config,
  ImapRepositoryConfig,
  MaildirRepositoryConfig,
  RepositoryConfig,
} from "../config/types.ts";

/** Shown instead of a secret. */
export const MASK = "********";

/** Options of {@link formatInfo}. */
export interface InfoOptions {
  /** Program version for the first line. */
  readonly version?: string;
  /**
   * Extra lines per repository name, shown under its settings (e.g. the server greeting and
   * capabilities, or the connection error).
   */
  readonly details?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Formats the report for every active account of `config`: the account's settings, then its
 * remote and its local repository (OfflineIMAP's order), each with its folders.
 *
 * `listings` maps a repository name to the folder names its `listFolders()` returned,
 * untranslated (as the server or the Maildir tree gives them), or to the Error that listing
 * failed with; a repository missing from the map is reported as not listed. Each folder is
 * printed as `name` or `name -> translated`, followed by ` (disabled)` when `folderfilter`
 * rejects it and `folderincludes` does not bring it back; `folderincludes` entries the listing
 * lacks are added with ` (included)`. A `nametrans` that throws shows its error in place of
 * the translation. Passwords, OAuth2 secrets and the password expression are never shown.
 * The result ends with a newline.
 */
export function formatInfo(
  config: Config,
  listings: ReadonlyMap<string, readonly string[] | Error>,
  options: InfoOptions = {},
): string {
  const lines: string[] = [];
  lines.push(
    `offlineimap-ts${options.version ? ` ${options.version}` : ""}: configuration "${config.path}"`,
  );
  const g = config.general;
  lines.push(
    "[general]",
    ...settings([
      ["accounts", g.accounts.join(", ")],
      ["metadata", g.metadata],
      ["ui", g.ui],
      ["maxsyncaccounts", g.maxSyncAccounts],
      ["socktimeout", g.sockTimeout],
      ["fsync", g.fsync],
      ["dry-run", g.dryRun],
      ["pythonfile", g.pythonFile],
      ["ignore-readonly", g.ignoreReadonly],
      ["mbnames", g.mbnames ? `enabled, writing "${g.mbnames.filename}"` : "disabled"],
    ]),
  );
  for (const account of config.accounts.values()) {
    lines.push("", ...accountLines(account));
    lines.push("", ...repositoryLines("Remote", account.remote, listings, options));
    lines.push("", ...repositoryLines("Local", account.local, listings, options));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Lists the folders of every repository of the active accounts for {@link formatInfo}, one
 * repository at a time, remote first. `list` returns the untranslated names of one repository
 * (e.g. `openAccount(...).remote.listFolders()` mapped to names); an error it throws is kept
 * as that repository's entry instead of ending the report. A repository shared by several
 * accounts is listed once.
 */
export async function gatherListings(
  config: Config,
  list: (account: AccountConfig, role: "remote" | "local") => Promise<readonly string[]>,
): Promise<Map<string, readonly string[] | Error>> {
  const listings = new Map<string, readonly string[] | Error>();
  for (const account of config.accounts.values()) {
    for (const role of ["remote", "local"] as const) {
      const name = account[role].name;
      if (listings.has(name)) continue;
      try {
        listings.set(name, await list(account, role));
      } catch (error) {
        listings.set(name, error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
  return listings;
}

function accountLines(a: AccountConfig): string[] {
  return [
    `Account "${a.name}"`,
    ...settings([
      ["localrepository", a.local.name],
      ["remoterepository", a.remote.name],
      ["status_backend", a.statusBackend],
      ["max_delete_ratio", a.maxDeleteRatio],
      ["autorefresh", a.autorefresh === 0 ? "0 (run once)" : `${a.autorefresh} minutes`],
      ["quick", a.quick],
      ["presynchook", a.preSyncHook],
      ["postsynchook", a.postSyncHook],
      ["maxsize", a.maxSize],
      ["maxage", a.maxAge ? `messages since ${a.maxAge.toISOString().slice(0, 10)}` : undefined],
      ["maildir-windows-compatible", a.maildirWindowsCompatible],
      ["utf8foldernames", a.utf8FolderNames],
      ["filterheaders", a.filterHeaders.length > 0 ? a.filterHeaders.join(", ") : undefined],
    ]),
  ];
}

function repositoryLines(
  role: "Remote" | "Local",
  repo: RepositoryConfig,
  listings: ReadonlyMap<string, readonly string[] | Error>,
  options: InfoOptions,
): string[] {
  const type = repo.declaredType ?? repo.type;
  const lines = [`${role} repository "${repo.name}": type ${type}`];
  lines.push(...settings(repo.type === "IMAP" ? imapSettings(repo) : maildirSettings(repo)));
  lines.push(
    ...settings([
      ["readonly", repo.readonly],
      ["createfolders", repo.createFolders],
      ["sync_deletes", repo.syncDeletes],
      ["startdate", repo.startDate],
      ["dynamic_folderfilter", repo.dynamicFolderFilter],
      ["folderfilter", repo.folderFilterSource],
      ["folderincludes", repo.folderIncludesSource],
      ["nametrans", repo.nametransSource],
      ["foldersort", repo.folderSortSource],
    ]),
  );
  for (const detail of options.details?.get(repo.name) ?? []) lines.push(`  ${detail}`);
  lines.push(...folderLines(repo, listings.get(repo.name)));
  return lines;
}

function imapSettings(r: ImapRepositoryConfig): [string, unknown][] {
  const password = (() => {
    switch (r.password.kind) {
      case "plain":
        return r.password.value === "" ? "remotepass is empty: ~/.netrc, then prompt" : MASK;
      case "file":
        return `read from remotepassfile "${r.password.path}"`;
      case "eval":
        return "from remotepasseval (evaluated when connecting)";
      case "netrc":
        return "from ~/.netrc or /etc/netrc, else prompt (ttyui only)";
      case "none":
        return "none (preauthtunnel)";
    }
  })();
  const oauth2 = r.oauth2 === undefined ? undefined : [
    r.oauth2.accessToken ? `access token ${MASK}` : "",
    r.oauth2.refreshToken ? `refresh token ${MASK}` : "",
    r.oauth2.clientId ? "client id set" : "",
    r.oauth2.clientSecret ? `client secret ${MASK}` : "",
    r.oauth2.requestUrl ? `token URL ${r.oauth2.requestUrl}` : "",
  ].filter((s) => s !== "").join(", ");
  return [
    ["remotehost", r.hostEval ? `${r.host || "(none)"}; remotehosteval wins` : r.host],
    ["remoteport", r.portEval ? `${r.port}; remoteporteval wins` : r.port],
    ["ssl", r.ssl],
    ["starttls", r.starttls],
    ["sslcacertfile", r.caFile ?? "OS-DEFAULT (system store)"],
    ["cert_fingerprint", r.certFingerprints.length > 0 ? r.certFingerprints.join(", ") : undefined],
    ["tls minimum", r.tlsMinVersion],
    ["sslclientcert", r.clientCert],
    ["sslclientkey", r.clientKey],
    ["ipv6", r.ipv6 === undefined ? undefined : r.ipv6 ? "IPv6 only" : "IPv4 only"],
    ["preauthtunnel", r.preauthTunnel],
    ["transporttunnel", r.transportTunnel],
    ["remoteuser", r.userEval ? "from remoteusereval" : r.user ?? "(from ~/.netrc)"],
    ["password", password],
    ["oauth2", oauth2],
    ["auth_mechanisms", r.authMechanisms.join(", ")],
    ["remote_identity", r.remoteIdentity],
    ["allow_plaintext_auth", r.allowPlaintextAuth],
    ["reference", r.reference === "" ? undefined : r.reference],
    ["subscribedonly", r.subscribedOnly],
    ["maxconnections", r.maxConnections],
    ["expunge", r.expunge],
    ["holdconnectionopen", r.holdConnectionOpen],
    ["keepalive", r.keepalive],
    ["idlefolders", r.idleFolders.length > 0 ? r.idleFolders.join(", ") : undefined],
    ["singlethreadperfolder", r.singleThreadPerFolder],
    ["retrycount", r.retryCount],
    ["copy_ignore_eval", r.copyIgnoreSource],
  ];
}

function maildirSettings(m: MaildirRepositoryConfig): [string, unknown][] {
  const flags = Object.entries(m.customFlags).map(([letter, keyword]) => `${letter}=${keyword}`);
  return [
    ["localfolders", m.localFolders],
    ["sep", m.sep],
    ["restoreatime", m.restoreAtime],
    ["utime_from_header", m.utimeFromHeader],
    ["filename_use_mail_timestamp", m.filenameUseMailTimestamp],
    ["customflags", flags.length > 0 ? flags.join(", ") : undefined],
  ];
}

function folderLines(repo: RepositoryConfig, listing: readonly string[] | Error | undefined) {
  if (listing === undefined) return ["  Folders: not listed"];
  if (listing instanceof Error) return [`  Folders: cannot list them: ${listing.message}`];
  const lines = [`  Folders (${listing.length}):`];
  for (const name of listing) lines.push(`    ${folderLine(repo, name, false)}`);
  for (const name of repo.folderIncludes) {
    if (!listing.includes(name)) lines.push(`    ${folderLine(repo, name, true)}`);
  }
  return lines;
}

function folderLine(repo: RepositoryConfig, name: string, extra: boolean): string {
  let line = name;
  try {
    const translated = repo.nametrans(name);
    if (translated !== name) line += ` -> ${translated}`;
  } catch (error) {
    line += ` -> nametrans failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (extra) return `${line} (included)`;
  let accepted: boolean;
  try {
    accepted = repo.folderFilter(name) || repo.folderIncludes.includes(name);
  } catch (error) {
    return `${line} (folderfilter failed: ${error instanceof Error ? error.message : error})`;
  }
  return accepted ? line : `${line} (disabled)`;
}

function settings(pairs: readonly (readonly [string, unknown])[]): string[] {
  const lines: string[] = [];
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    const text = typeof value === "boolean" ? (value ? "yes" : "no") : String(value);
    // Multi-line values (lambdas, hooks) keep their lines, indented under the key.
    lines.push(`  ${key} = ${text.replaceAll("\n", "\n      ")}`);
  }
  return lines;
}
