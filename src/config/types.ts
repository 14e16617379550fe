/**
 * Typed configuration produced by `src/config/schema.ts` from an `~/.offlineimaprc`.
 *
 * Everything here is plain data plus a few callables compiled from Python-lambda options
 * (`nametrans`, `folderfilter`). The engine never sees raw option strings.
 *
 * @module
 */

/** `[general]` section. */
export interface GeneralConfig {
  /** Accounts to sync when `-a` is not given, in file order. */
  readonly accounts: readonly string[];
  /** Metadata directory (`metadata`, default `~/.offlineimap`), expanded and absolute. */
  readonly metadata: string;
  /** UI name as written (`ui`, default `ttyui`); validated by `main.ts`. */
  readonly ui: string;
  /** `fsync` (default true): fsync new Maildir files and commit status per batch. */
  readonly fsync: boolean;
  /** `maxsyncaccounts` (default 1). */
  readonly maxSyncAccounts: number;
  /** `socktimeout` in seconds; 0 means none. */
  readonly sockTimeout: number;
  /** `dry-run` (default false); `--dry-run` sets it. */
  readonly dryRun: boolean;
  /** `pythonfile`, expanded, absolute; undefined when not set. */
  readonly pythonFile?: string;
  /** `ignore-readonly` (default false). */
  readonly ignoreReadonly: boolean;
  /**
   * `[mbnames]` when the section exists and `enabled` is true; undefined otherwise (OfflineIMAP
   * still requires its options whenever the section exists, so they are checked either way).
   */
  readonly mbnames?: MbnamesConfig;
}

/** `[mbnames]` (config-options.md §5; file format in formats.md §2.8). */
export interface MbnamesConfig {
  /** `filename`, `~`/`$VAR` expanded, absolute. */
  readonly filename: string;
  /** Evaluated `header`, `sep`, `footer`. */
  readonly header: string;
  readonly sep: string;
  readonly footer: string;
  /** `peritem`, raw: a Python `%`-format string over `accountname`, `foldername`, `localfolders`. */
  readonly peritem: string;
  /** `incremental` (default false): rewrite the file after each account. */
  readonly incremental: boolean;
  /** Compiled `folderfilter(accountname, foldername)`; accept-all when absent. */
  readonly folderFilter: (account: string, folder: string) => boolean;
  /**
   * Compares two items by the compiled `sort_keyfunc`'s keys (Python ordering); default key
   * `(accountname, foldername)`. Use with a stable sort, as Python's.
   */
  readonly compare: (a: MbnamesItem, b: MbnamesItem) => number;
}

/** One entry of an mbnames per-account cache file. */
export interface MbnamesItem {
  readonly accountname: string;
  readonly foldername: string;
  readonly localfolders: string;
}

/** Where the password of an IMAP repository comes from, in OfflineIMAP's lookup order. */
export type PasswordSource =
  /** `remotepass`; an empty value means "no password" (prompt or fail). */
  | { readonly kind: "plain"; readonly value: string }
  /** `remotepassfile` (`~` expanded): the first line, stripped. */
  | { readonly kind: "file"; readonly path: string }
  /** `remotepasseval`: evaluated on every connection that needs the password. */
  | { readonly kind: "eval"; readonly evaluate: () => Promise<string> }
  /**
   * None of the above: `~/.netrc` then `/etc/netrc` entry for the host (user must match when
   * one is set), then an interactive prompt (ttyui on a terminal only). `host` is the static
   * `remotehost` ("" when only `remotehosteval` gives it; pass the evaluated host then).
   */
  | { readonly kind: "netrc"; readonly host: string }
  /** No password is used (`preauthtunnel`). */
  | { readonly kind: "none" };

/** Options shared by every repository type (`[Repository X]`, config-options.md §7). */
export interface RepositoryCommon {
  /** The `<name>` of `[Repository <name>]`. */
  readonly name: string;
  /** `readonly` (default false): never write to this repository. */
  readonly readonly: boolean;
  /** `createfolders` (default true). */
  readonly createFolders: boolean;
  /** `sync_deletes` (default true). */
  readonly syncDeletes: boolean;
  /** Compiled `nametrans`; identity when absent. */
  readonly nametrans: (name: string) => string;
  /** Compiled `folderfilter`; accept-all when absent. */
  readonly folderFilter: (name: string) => boolean;
  /** Raw option text for `--info` and error messages (undefined when not set). */
  readonly nametransSource?: string;
  readonly folderFilterSource?: string;
  /** `folderincludes`: extra folder names (untranslated) to sync even if filtered or unlisted. */
  readonly folderIncludes: readonly string[];
  /** `foldersort` as a comparison function over translated names; undefined: default order. */
  readonly folderSort?: (a: string, b: string) => number;
  /** `dynamic_folderfilter` (default false). */
  readonly dynamicFolderFilter: boolean;
  /** `startdate` (YYYY-MM-DD, zero-padded) when set. */
  readonly startDate?: string;
  /** Raw `folderincludes` / `foldersort` text for `--info` (undefined when not set). */
  readonly folderIncludesSource?: string;
  readonly folderSortSource?: string;
}

/** `type = Maildir` repository. */
export interface MaildirRepositoryConfig extends RepositoryCommon {
  readonly type: "Maildir";
  /** `type = GmailMaildir`: a Maildir (label sync, `synclabels`, is refused). */
  readonly declaredType?: "GmailMaildir";
  /** `localfolders`, `~`/`$VAR` expanded, absolute. */
  readonly localFolders: string;
  /** `sep` (default "."). */
  readonly sep: string;
  /** `restoreatime` (default false). */
  readonly restoreAtime: boolean;
  /** `utime_from_header` (repository, else `[general]`, default false). */
  readonly utimeFromHeader: boolean;
  /** `filename_use_mail_timestamp` (repository, else `[general]`, default false). */
  readonly filenameUseMailTimestamp: boolean;
  /** `customflag_<letter>`: lower-case letter → IMAP keyword. */
  readonly customFlags: Readonly<Record<string, string>>;
}

/** `type = IMAP` repository. */
export interface ImapRepositoryConfig extends RepositoryCommon {
  readonly type: "IMAP";
  /**
   * `type = Gmail`: an IMAP repository with Gmail's defaults (`remotehost` imap.gmail.com,
   * port 993, `oauth2_request_url` Google's); label sync (`synclabels`) is refused.
   */
  readonly declaredType?: "Gmail";
  /** `remotehost`; "" with a `preauthtunnel` and no host, or when only `hostEval` gives it. */
  readonly host: string;
  /**
   * `remotehosteval`, evaluated when a connection is opened; its result wins over `host` when
   * non-empty (OfflineIMAP's order). Use `resolveHost()` from `passwords.ts`.
   */
  readonly hostEval?: () => Promise<string>;
  /** `remoteport`; default 993 with `ssl` (always for Gmail), else 143. */
  readonly port: number;
  /** `remoteporteval`, evaluated when a connection is opened; wins over `port`. */
  readonly portEval?: () => Promise<number>;
  /** `ssl` (default true): implicit TLS. */
  readonly ssl: boolean;
  /** `starttls` (default true): upgrade a plain connection, certificate verified. */
  readonly starttls: boolean;
  /** `sslcacertfile`: absolute path, or undefined for the system store (`OS-DEFAULT`). */
  readonly caFile?: string;
  /** `cert_fingerprint`: lower-case hex without colons. */
  readonly certFingerprints: readonly string[];
  /** `remoteuser`; see also `userEval` and `resolveUser()` in `passwords.ts` (netrc login). */
  readonly user?: string;
  /** Use `resolvePassword()` from `passwords.ts` rather than reading this directly. */
  readonly password: PasswordSource;
  /** `allow_plaintext_auth` (DECISIONS.md #6, default false). */
  readonly allowPlaintextAuth: boolean;
  /** `auth_mechanisms`, upper case, in order. */
  readonly authMechanisms: readonly string[];
  /** `remote_identity` (SASL PLAIN authzid). */
  readonly remoteIdentity?: string;
  /** `reference` for LIST (default ""). */
  readonly reference: string;
  /** `expunge` (default true). */
  readonly expunge: boolean;
  /** `maxconnections` (default 1). */
  readonly maxConnections: number;
  /** `user` from `remoteusereval` when set (evaluated at connection time). */
  readonly userEval?: () => Promise<string>;
  /** `preauthtunnel`: shell command speaking IMAP in PREAUTH state. */
  readonly preauthTunnel?: string;
  /** `transporttunnel`: shell command carrying the IMAP byte stream. */
  readonly transportTunnel?: string;
  /** `ipv6`: true = IPv6 only, false = IPv4 only, undefined = any. */
  readonly ipv6?: boolean;
  /** From `tls_level`/`ssl_version`: lowest TLS version accepted, when restricted. */
  readonly tlsMinVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** `sslclientcert` / `sslclientkey`: absolute paths (a key needs a certificate). */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** `subscribedonly` (default false): LSUB instead of LIST. */
  readonly subscribedOnly: boolean;
  /** `holdconnectionopen` (default false; true with `idlefolders`). */
  readonly holdConnectionOpen: boolean;
  /** `keepalive` seconds (default 0; 1740 with `idlefolders`). */
  readonly keepalive: number;
  /** `idlefolders`: untranslated remote names. */
  readonly idleFolders: readonly string[];
  /** `singlethreadperfolder` (default false; true with `idlefolders`). */
  readonly singleThreadPerFolder: boolean;
  /** `retrycount` (default 2). */
  readonly retryCount: number;
  /**
   * `newmail_hook`: a Python callable, called after a folder sync copied at least one unseen
   * message out of this repository's folder named exactly `INBOX` (new mail downloaded from
   * the server's INBOX).
   */
  readonly newmailHook?: () => Promise<void>;
  /** `copy_ignore_eval`: UIDs never copied out of a folder (translated name; `None` → []). */
  readonly copyIgnore?: (folder: string) => readonly number[];
  /** Raw `copy_ignore_eval` text for `--info`. */
  readonly copyIgnoreSource?: string;
  /**
   * OAuth2 (`oauth2_*` options, the plain one winning over its `_eval`); undefined when none is
   * set. Each function gives the value, evaluating the `_eval` expression each time (its `None`
   * gives undefined: treat as not configured).
   */
  readonly oauth2?: {
    readonly accessToken?: () => Promise<string | undefined>;
    readonly refreshToken?: () => Promise<string | undefined>;
    readonly clientId?: () => Promise<string | undefined>;
    readonly clientSecret?: () => Promise<string | undefined>;
    readonly requestUrl?: string;
  };
}

/** Any repository. */
export type RepositoryConfig = MaildirRepositoryConfig | ImapRepositoryConfig;

/** `[Account <name>]` with its two repositories resolved. */
export interface AccountConfig {
  readonly name: string;
  /** Maildir, or IMAP for IMAP-to-IMAP sync. */
  readonly local: RepositoryConfig;
  readonly remote: ImapRepositoryConfig;
  /** `status_backend` (DECISIONS.md #4): "sqlite" (default) or "plain". */
  readonly statusBackend: "sqlite" | "plain";
  /** `max_delete_ratio` (DECISIONS.md #2, default 0.5; 1.0 disables the guard). */
  readonly maxDeleteRatio: number;
  /** `autorefresh` in minutes (0: run once); `-o` forces 0. */
  readonly autorefresh: number;
  /** `quick`: 0 never, -1 always (`-q`), N: N quick syncs between full ones. */
  readonly quick: number;
  /** `presynchook` / `postsynchook` shell commands. */
  readonly preSyncHook?: string;
  readonly postSyncHook?: string;
  /** `maxsize` in bytes. */
  readonly maxSize?: number;
  /** `maxage`: a cut-off date (midnight UTC of the day), resolved from days or YYYY-MM-DD. */
  readonly maxAge?: Date;
  /** `maildir-windows-compatible` (default false): `!` instead of `:` in file names. */
  readonly maildirWindowsCompatible: boolean;
  /** `utf8foldernames` (default false). */
  readonly utf8FolderNames: boolean;
  /** `filterheaders`: header names removed before upload. */
  readonly filterHeaders: readonly string[];
}

/** The whole file, resolved. */
export interface Config {
  /** Path of the file that was read. */
  readonly path: string;
  readonly general: GeneralConfig;
  /** The active accounts (`-a`, else `[general] accounts`), resolved, in order. */
  readonly accounts: ReadonlyMap<string, AccountConfig>;
}
