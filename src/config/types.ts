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
}

/** Where the password of an IMAP repository comes from, in OfflineIMAP's lookup order. */
export type PasswordSource =
  | { readonly kind: "plain"; readonly value: string }
  | { readonly kind: "file"; readonly path: string }
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
}

/** `type = Maildir` repository. */
export interface MaildirRepositoryConfig extends RepositoryCommon {
  readonly type: "Maildir";
  /** `localfolders`, `~`/`$VAR` expanded, absolute. */
  readonly localFolders: string;
  /** `sep` (default "."). */
  readonly sep: string;
}

/** `type = IMAP` repository. */
export interface ImapRepositoryConfig extends RepositoryCommon {
  readonly type: "IMAP";
  readonly host: string;
  /** `remoteport`; default 993 with `ssl`, else 143. */
  readonly port: number;
  /** `ssl` (default true): implicit TLS. */
  readonly ssl: boolean;
  /** `starttls` (default true): upgrade a plain connection, certificate verified. */
  readonly starttls: boolean;
  /** `sslcacertfile`: absolute path, or undefined for the system store (`OS-DEFAULT`). */
  readonly caFile?: string;
  /** `cert_fingerprint`: lower-case hex without colons. */
  readonly certFingerprints: readonly string[];
  readonly user?: string;
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
}

/** Any repository. */
export type RepositoryConfig = MaildirRepositoryConfig | ImapRepositoryConfig;

/** `[Account <name>]` with its two repositories resolved. */
export interface AccountConfig {
  readonly name: string;
  readonly local: RepositoryConfig;
  readonly remote: ImapRepositoryConfig;
  /** `status_backend` (DECISIONS.md #4): "sqlite" (default) or "plain". */
  readonly statusBackend: "sqlite" | "plain";
  /** `max_delete_ratio` (DECISIONS.md #2, default 0.5; 1.0 disables the guard). */
  readonly maxDeleteRatio: number;
}

/** The whole file, resolved. */
export interface Config {
  /** Path of the file that was read. */
  readonly path: string;
  readonly general: GeneralConfig;
  /** The active accounts (`-a`, else `[general] accounts`), resolved, in order. */
  readonly accounts: ReadonlyMap<string, AccountConfig>;
}
