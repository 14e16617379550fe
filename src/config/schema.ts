/**
 * Turns a parsed `~/.offlineimaprc` ({@link IniFile}) into the typed {@link Config}, with
 * OfflineIMAP's defaults and conversions (config-options.md §4–§9, DECISIONS.md).
 *
 * Only the active accounts (`-a`, else `[general] accounts`) and their repositories are read, as
 * OfflineIMAP only reads what it uses. Every option found in those sections is accounted for:
 * implemented, refused as "not supported yet" when it would change what a sync does, or reported
 * in the returned warnings (obsolete, misplaced, unknown). Nothing here prints.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type {
  AccountConfig,
  Config,
  GeneralConfig,
  ImapRepositoryConfig,
  MaildirRepositoryConfig,
  PasswordSource,
  RepositoryCommon,
  RepositoryConfig,
} from "./types.ts";
import {
  DEFAULT_SECTION,
  type IniFile,
  parsePyBoolean,
  parsePyFloat,
  parsePyInt,
  pyStrip,
  referencedNames,
} from "./ini.ts";
import { expandPath, expandUser, type PathEnv } from "./load.ts";

/** Options of {@link resolveConfig}, from the command line. */
export interface ResolveOptions {
  /** `-a`, already split: the accounts to sync instead of `[general] accounts`. */
  readonly accounts?: readonly string[];
  /**
   * `-f`, already split: on every remote repository, replaces `folderfilter` with "name is one
   * of these" and `folderincludes` with `[]` (config-options.md §3).
   */
  readonly folders?: readonly string[];
  /** Environment and directory for path expansion; defaults to the process's. */
  readonly env?: PathEnv;
  /** Whether a path is an existing regular file (for `sslcacertfile`); defaults to a stat. */
  readonly isFile?: (path: string) => boolean;
}

/** Result of {@link resolveConfig}. */
export interface ResolvedConfig {
  readonly config: Config;
  /** One line each, for the UI to show; ignored or misplaced options and similar. */
  readonly warnings: string[];
}

/** Where an expression option was found, for {@link compileExpressionOption}'s messages. */
export interface ExpressionSite {
  /** Section that was read (`Repository <name>`). */
  readonly section: string;
  /** Section the text was written in (the same, or `DEFAULT`). */
  readonly writtenIn: string;
  /** Configuration file. */
  readonly path: string;
  /** Line of the option, or undefined when set with `-k`. */
  readonly line?: number;
}

/** Mechanisms OfflineIMAP accepts in `auth_mechanisms`, and its default order. */
export const AUTH_MECHANISMS: readonly string[] = "GSSAPI XOAUTH2 CRAM-MD5 PLAIN LOGIN".split(" ");

type Kind = "general" | "mbnames" | "account" | "maildir" | "imap";
/**
 * `implemented`: read by this module, or needing no action. `unsupported`: would change what a
 * sync does, so refused unless `harmless` says the value is the no-op one. `ignored`: no effect
 * (often in OfflineIMAP too), so a warning unless `harmless`.
 */
type Status = "implemented" | "unsupported" | "ignored";

interface OptionRule {
  readonly kinds: readonly Kind[];
  readonly status: Status;
  readonly keys: readonly string[];
  /** True when this value is the default/no-op one, so accepting it changes nothing. */
  readonly harmless?: (value: string) => boolean;
  /** Why, for the message. */
  readonly note?: string;
}

const EXPRESSIONS_LATER = "Python expressions are not supported yet";

/**
 * Every option config-options.md lists, by section kind: the one table that decides what
 * happens to an option found in the file. Options of a kind not listed here are unknown there.
 */
const OPTION_RULES: readonly OptionRule[] = [
  rule("general", "implemented", "accounts metadata ui fsync maxsyncaccounts socktimeout dry-run"),
  // We never use a keyring, which is what ignore-keyring asks for.
  rule("general", "implemented", "ignore-keyring"),
  rule("general", "unsupported", "pythonfile", { note: EXPRESSIONS_LATER }),
  rule("general maildir", "unsupported", "utime_from_header filename_use_mail_timestamp", {
    harmless: isFalse,
  }),
  rule("general", "unsupported", "update-keyring", {
    harmless: isFalse,
    note: "there is no keyring support",
  }),
  rule("general", "ignored", "ignore-readonly", {
    harmless: isFalse,
    note: "warnings about read-only folders are always shown",
  }),
  rule("mbnames", "unsupported", "enabled", { harmless: isFalse }),
  // Only read when mbnames is enabled, which is refused above.
  rule("mbnames", "implemented", "filename header peritem sep footer incremental folderfilter"),
  rule("mbnames", "implemented", "sort_keyfunc"),
  rule("account", "implemented", "localrepository remoterepository"),
  rule("account", "implemented", "status_backend max_delete_ratio"),
  rule("account", "unsupported", "autorefresh", {
    // OfflineIMAP forces negative values to 0 (off).
    harmless: (v) => (parsePyFloat(v) ?? NaN) <= 0,
    note: "for periodic syncs, run offlineimap -o from cron or a systemd timer",
  }),
  rule("account", "unsupported", "quick", {
    harmless: isZero,
    note: "quick mode (-q) is not supported yet",
  }),
  rule("account", "unsupported", "presynchook postsynchook filterheaders proxy authproxy", {
    harmless: isEmpty,
  }),
  rule("account", "unsupported", "maxsize maxage"),
  rule("account", "unsupported", "maildir-windows-compatible synclabels utf8foldernames", {
    harmless: isFalse,
  }),
  rule("account", "ignored", "labelsheader ignorelabels", {
    note: "it has no effect without synclabels",
  }),
  rule("account", "ignored", "skipsleep", {
    note: "it is internal to OfflineIMAP, not a configuration option",
  }),
  rule("maildir imap", "implemented", "type readonly createfolders sync_deletes"),
  rule("maildir imap", "implemented", "nametrans folderfilter"),
  rule("maildir imap", "unsupported", "folderincludes", { harmless: isEmptyList }),
  rule("maildir imap", "unsupported", "dynamic_folderfilter", { harmless: isFalse }),
  rule("maildir imap", "unsupported", "startdate"),
  rule("maildir", "implemented", "localfolders sep"),
  rule("maildir", "unsupported", "restoreatime", { harmless: isFalse }),
  rule("maildir", "unsupported", [..."abcdefghijklmnopqrstuvwxyz"].map((c) => `customflag_${c}`)),
  rule("maildir", "ignored", "foldersort", {
    note: "only IMAP repositories sort folders (OfflineIMAP ignores it too)",
  }),
  rule("maildir", "ignored", "maxconnections", {
    note: "Maildir folders are synced one after the other",
  }),
  rule("imap", "implemented", "remotehost remoteport ssl starttls sslcacertfile cert_fingerprint"),
  rule("imap", "implemented", "remoteuser remotepass remotepassfile remote_identity"),
  rule("imap", "implemented", "allow_plaintext_auth auth_mechanisms reference expunge"),
  rule("imap", "implemented", "maxconnections"),
  rule("imap", "unsupported", "remotehosteval remoteporteval remoteusereval remotepasseval", {
    note: EXPRESSIONS_LATER,
  }),
  rule("imap", "unsupported", "copy_ignore_eval newmail_hook foldersort", {
    note: EXPRESSIONS_LATER,
  }),
  rule("imap", "unsupported", "oauth2_client_id oauth2_client_secret oauth2_refresh_token"),
  rule("imap", "unsupported", "oauth2_client_id_eval oauth2_client_secret_eval"),
  rule("imap", "unsupported", "oauth2_refresh_token_eval oauth2_access_token"),
  rule("imap", "unsupported", "oauth2_access_token_eval oauth2_request_url"),
  rule("imap", "unsupported", "sslclientcert sslclientkey ssl_version ipv6"),
  rule("imap", "unsupported", "preauthtunnel transporttunnel", { harmless: isEmpty }),
  rule("imap", "unsupported", "tls_level", { harmless: (v) => v === "tls_compat" }),
  rule("imap", "unsupported", "idlefolders", { harmless: isEmptyList }),
  rule("imap", "unsupported", "usecompression subscribedonly decodefoldernames", {
    harmless: isFalse,
  }),
  rule("imap", "ignored", "holdconnectionopen keepalive", {
    harmless: (v) => isFalse(v) || isZero(v),
    note: "it has no effect without autorefresh",
  }),
  rule("imap", "ignored", "singlethreadperfolder", {
    harmless: isFalse,
    note: "messages of a folder are copied in order anyway",
  }),
  rule("imap", "ignored", "retrycount", {
    note: "not supported yet: a fetch interrupted by a broken connection is not retried",
  }),
  rule("imap", "ignored", "realdelete trashfolder spamfolder", {
    note: "it is an obsolete Gmail option without effect (in OfflineIMAP too)",
  }),
  rule("imap", "ignored", "sep", { note: "IMAP repositories use the server's separator" }),
  rule("maildir imap", "ignored", "remotefile", {
    note:
      'it is not an option (a typo in OfflineIMAP\'s sample file): did you mean "remotepassfile"?',
  }),
];

const KIND_LABEL: Readonly<Record<Kind, string>> = {
  general: "[general]",
  mbnames: "[mbnames]",
  account: "[Account ...]",
  maildir: "Maildir [Repository ...]",
  imap: "IMAP [Repository ...]",
};

/**
 * Resolves the active accounts of a parsed configuration into a {@link Config}.
 *
 * Throws {@link ConfigError} (exit code 1) for: a missing `[general]` or `accounts` (unless
 * `-a` is given), an active account without an `[Account <name>]` section (`The account "<x>"
 * does not exist`, before anything else is resolved), a missing repository section or required
 * option, a value of the wrong type or range, a repository type that is unknown or not supported
 * yet, and options that are not supported yet (`Option "<key>" in section "<section>" is not
 * supported yet`) unless their value is the no-op one.
 */
export function resolveConfig(
  ini: IniFile,
  path: string,
  opts: ResolveOptions = {},
): ResolvedConfig {
  const ctx: Context = {
    ini,
    path,
    opts,
    env: opts.env ?? { vars: Deno.env.toObject(), cwd: Deno.cwd() },
    warnings: [],
    referenced: referencedNames(ini),
  };
  checkSectionNames(ctx);
  checkDefaultSection(ctx);
  if (ini.hasSection("mbnames")) checkOptions(ctx, "mbnames", "mbnames");
  const general = resolveGeneral(ctx);
  const names = opts.accounts ?? general.accounts;
  const existing = ini.sections().filter((s) => s.startsWith("Account ")).map((s) => s.slice(8));
  for (const name of names) {
    if (!existing.includes(name)) {
      throw new ConfigError(`The account "${name}" does not exist`, {
        hint: existing.length > 0
          ? `Valid accounts are: ${existing.join(", ")}`
          : `No account is defined: add an [Account ${name}] section to "${path}"`,
      });
    }
  }
  const accounts = new Map<string, AccountConfig>();
  for (const name of names) {
    if (!accounts.has(name)) accounts.set(name, resolveAccount(ctx, name));
  }
  return { config: { path, general, accounts }, warnings: ctx.warnings };
}

/**
 * Splits an account list as OfflineIMAP does for `[general] accounts` and `-a`: on `,`, each
 * item left-stripped only (`"A ,B"` gives `"A "` and `"B"`).
 */
export function splitAccountList(value: string): string[] {
  return value.split(",").map((item) => item.replace(/^\s+/, ""));
}

/**
 * Compiles a Python-valued repository option (`nametrans`, `folderfilter`).
 *
 * This is the single place where the Python-expression compiler plugs in. Until then it throws
 * {@link ConfigError} `Option "<option>" in section "<section>" is not supported yet`.
 */
export function compileExpressionOption(
  option: "nametrans",
  source: string,
  site: ExpressionSite,
): (name: string) => string;
export function compileExpressionOption(
  option: "folderfilter",
  source: string,
  site: ExpressionSite,
): (name: string) => boolean;
export function compileExpressionOption(
  option: "nametrans" | "folderfilter",
  _source: string,
  site: ExpressionSite,
): ((name: string) => string) | ((name: string) => boolean) {
  const where = site.line === undefined
    ? "set on the command line"
    : `line ${site.line} of "${site.path}"`;
  throw new ConfigError(
    `Option "${option}" in section "${site.writtenIn}" is not supported yet`,
    {
      hint: `${EXPRESSIONS_LATER}; remove it (${where}) to sync every folder under its own name`,
    },
  );
}

interface Context {
  readonly ini: IniFile;
  readonly path: string;
  readonly opts: ResolveOptions;
  readonly env: PathEnv;
  readonly warnings: string[];
  /** Names used as `%(name)s`: helper options that must not be called unknown. */
  readonly referenced: Set<string>;
}

function resolveGeneral(ctx: Context): GeneralConfig {
  const { ini } = ctx;
  const section = "general";
  if (!ini.hasSection(section) && ctx.opts.accounts === undefined) {
    throw new ConfigError(`Section "general" is missing from "${ctx.path}"`, {
      hint: "Add a [general] section with accounts = <your account names>",
    });
  }
  checkOptions(ctx, "general", section);
  // Read even with -a: --mbnames-prune compares with the file's list.
  const listed = ini.get(section, "accounts");
  if (listed === undefined && ctx.opts.accounts === undefined) {
    throw missingOption(ctx, section, "accounts");
  }
  const accounts = listed === undefined ? [] : splitAccountList(listed);
  const metadata = ini.get(section, "metadata") ?? "~/.offlineimap";
  warnIfQuoted(ctx, section, "metadata");
  const maxSyncAccounts = ini.getInt(section, "maxsyncaccounts", 1);
  if (maxSyncAccounts < 1) {
    throw badValue(ctx, section, "maxsyncaccounts", `${maxSyncAccounts} is less than 1`);
  }
  return {
    accounts,
    metadata: expandPath(metadata, { vars: true, absolute: true, env: ctx.env }),
    ui: ini.get(section, "ui") ?? "ttyui",
    fsync: ini.getBoolean(section, "fsync", true),
    maxSyncAccounts,
    // OfflineIMAP only sets a timeout when the value is positive.
    sockTimeout: Math.max(0, ini.getInt(section, "socktimeout", 0)),
    dryRun: ini.getBoolean(section, "dry-run", false),
    ignoreReadonly: false,
  };
}

function resolveAccount(ctx: Context, name: string): AccountConfig {
  const { ini } = ctx;
  const section = `Account ${name}`;
  checkOptions(ctx, "account", section);
  const localName = ini.get(section, "localrepository");
  if (localName === undefined) throw missingOption(ctx, section, "localrepository");
  const remoteName = ini.get(section, "remoterepository");
  if (remoteName === undefined) throw missingOption(ctx, section, "remoterepository");

  const statusBackend = ini.get(section, "status_backend") ?? "sqlite";
  if (statusBackend !== "sqlite" && statusBackend !== "plain") {
    throw badValue(
      ctx,
      section,
      "status_backend",
      `"${statusBackend}" is neither "sqlite" nor "plain"`,
      "Use status_backend = sqlite (the default)",
    );
  }
  const maxDeleteRatio = ini.getFloat(section, "max_delete_ratio", 0.5);
  if (!(maxDeleteRatio > 0 && maxDeleteRatio <= 1)) {
    throw badValue(
      ctx,
      section,
      "max_delete_ratio",
      `${maxDeleteRatio} is not between 0 (excluded) and 1`,
      "Use a fraction such as 0.5; 1 disables the guard against mass deletion",
    );
  }
  return {
    name,
    local: resolveRepository(ctx, name, localName, "local"),
    remote: resolveRepository(ctx, name, remoteName, "remote") as ImapRepositoryConfig,
    statusBackend,
    maxDeleteRatio,
    // Placeholders until these options are implemented (they are refused as unsupported).
    autorefresh: 0,
    quick: 0,
    maildirWindowsCompatible: false,
    utf8FolderNames: false,
    filterHeaders: [],
  };
}

function resolveRepository(
  ctx: Context,
  account: string,
  name: string,
  role: "local" | "remote",
): RepositoryConfig {
  const { ini } = ctx;
  const section = `Repository ${name}`;
  const roleKey = `${role}repository`;
  if (!ini.hasSection(section)) {
    throw new ConfigError(
      `Cannot find section "${section}" required by account "${account}"`,
      { hint: `Add a [${section}] section, or fix ${roleKey} in [Account ${account}]` },
    );
  }
  const rawType = ini.get(section, "type");
  if (rawType === undefined) {
    throw missingOption(ctx, section, "type", role === "local" ? "Maildir" : "IMAP");
  }
  const type = pyStrip(rawType);
  const wanted = role === "local" ? "Maildir" : "IMAP";
  const later: Readonly<Record<string, string>> = role === "local"
    ? {
      GmailMaildir: "Use type = Maildir (Gmail labels are then not synced)",
      IMAP: "IMAP-to-IMAP sync is not supported yet: the local repository must be a Maildir",
    }
    : { Gmail: "Use type = IMAP with remotehost = imap.gmail.com (labels are then not synced)" };
  const laterHint = later[type];
  if (laterHint !== undefined) {
    throw new ConfigError(
      `Repository type "${type}" in section "${section}" is not supported yet`,
      { hint: laterHint },
    );
  }
  if (type !== wanted) {
    throw badValue(
      ctx,
      section,
      "type",
      `"${type}" is not a valid type for ${role} repositories (account "${account}")`,
      `Use type = ${wanted} (case sensitive)`,
    );
  }
  const kind = type === "Maildir" ? "maildir" : "imap";
  const folders = role === "remote" ? ctx.opts.folders : undefined;
  checkOptions(
    ctx,
    kind,
    section,
    folders ? new Set(["folderfilter", "folderincludes"]) : new Set(),
  );
  const common = resolveCommon(ctx, name, section, folders);
  return kind === "maildir"
    ? resolveMaildir(ctx, section, common)
    : resolveImap(ctx, section, common);
}

function resolveCommon(
  ctx: Context,
  name: string,
  section: string,
  folders: readonly string[] | undefined,
): RepositoryCommon {
  const { ini } = ctx;
  const site = (key: string): ExpressionSite => ({
    section,
    writtenIn: ini.ownKeys(section).includes(key) ? section : DEFAULT_SECTION,
    path: ctx.path,
    line: ini.line(section, key),
  });
  const nametransSource = ini.get(section, "nametrans");
  let folderFilterSource = ini.get(section, "folderfilter");
  let folderFilter: (name: string) => boolean = () => true;
  if (folders !== undefined) {
    const list = [...folders];
    folderFilterSource = `lambda f: f in [${list.map(pythonRepr).join(", ")}]`;
    folderFilter = (folder) => list.includes(folder);
  } else if (folderFilterSource !== undefined) {
    folderFilter = compileExpressionOption(
      "folderfilter",
      folderFilterSource,
      site("folderfilter"),
    );
  }
  return {
    name,
    readonly: ini.getBoolean(section, "readonly", false),
    createFolders: ini.getBoolean(section, "createfolders", true),
    syncDeletes: ini.getBoolean(section, "sync_deletes", true),
    nametrans: nametransSource === undefined
      ? (folder) => folder
      : compileExpressionOption("nametrans", nametransSource, site("nametrans")),
    folderFilter,
    nametransSource,
    folderFilterSource,
    folderIncludes: [],
    dynamicFolderFilter: false,
  };
}

function resolveMaildir(
  ctx: Context,
  section: string,
  common: RepositoryCommon,
): MaildirRepositoryConfig {
  const { ini } = ctx;
  const localFolders = ini.get(section, "localfolders");
  if (localFolders === undefined) {
    throw missingOption(ctx, section, "localfolders", "~/Maildir");
  }
  if (localFolders === "") {
    throw badValue(
      ctx,
      section,
      "localfolders",
      "the value is empty",
      "Write the mail directory, e.g. ~/Maildir",
    );
  }
  warnIfQuoted(ctx, section, "localfolders");
  const sep = pyStrip(ini.get(section, "sep") ?? ".");
  if (sep === "") {
    throw badValue(
      ctx,
      section,
      "sep",
      "the value is empty",
      "Use sep = . (the default) or sep = /",
    );
  }
  warnIfQuoted(ctx, section, "sep");
  return {
    ...common,
    type: "Maildir",
    localFolders: expandPath(localFolders, { vars: true, absolute: true, env: ctx.env }),
    sep,
    restoreAtime: false,
    utimeFromHeader: false,
    filenameUseMailTimestamp: false,
    customFlags: {},
  };
}

function resolveImap(
  ctx: Context,
  section: string,
  common: RepositoryCommon,
): ImapRepositoryConfig {
  const { ini } = ctx;
  const host = ini.get(section, "remotehost");
  if (host === undefined) throw missingOption(ctx, section, "remotehost", "imap.example.org");
  if (host === "") {
    throw badValue(
      ctx,
      section,
      "remotehost",
      "the value is empty",
      "Write the server's host name",
    );
  }
  warnIfQuoted(ctx, section, "remotehost");
  const ssl = ini.getBoolean(section, "ssl", true);
  const starttls = ini.getBoolean(section, "starttls", true);
  const port = ini.getInt(section, "remoteport", ssl ? 993 : 143);
  if (port < 1 || port > 65535) {
    throw badValue(ctx, section, "remoteport", `${port} is not a TCP port (1-65535)`);
  }
  const allowPlaintextAuth = ini.getBoolean(section, "allow_plaintext_auth", false);
  if (allowPlaintextAuth && (ssl || starttls)) {
    ctx.warnings.push(
      `Option "allow_plaintext_auth" in section "${section}" has no effect: ` +
        "it only applies with ssl = no and starttls = no",
    );
  }
  warnIfQuoted(ctx, section, "remoteuser");
  warnIfQuoted(ctx, section, "remotepass");
  return {
    ...common,
    type: "IMAP",
    host,
    port,
    ssl,
    starttls,
    caFile: resolveCaFile(ctx, section),
    certFingerprints: resolveFingerprints(ctx, section),
    user: ini.get(section, "remoteuser"),
    password: resolvePassword(ctx, section),
    allowPlaintextAuth,
    authMechanisms: resolveAuthMechanisms(ctx, section),
    remoteIdentity: ini.get(section, "remote_identity"),
    reference: resolveReference(ini.get(section, "reference")),
    expunge: ini.getBoolean(section, "expunge", true),
    maxConnections: resolveMaxConnections(ctx, section),
    subscribedOnly: false,
    holdConnectionOpen: false,
    keepalive: 0,
    idleFolders: [],
    singleThreadPerFolder: false,
    retryCount: 2,
  };
}

function resolveCaFile(ctx: Context, section: string): string | undefined {
  const value = ctx.ini.get(section, "sslcacertfile");
  // DECISIONS.md #5: the system store is the default.
  if (value === undefined || value === "OS-DEFAULT") return undefined;
  const file = expandPath(value, { vars: true, absolute: true, env: ctx.env });
  const isFile = ctx.opts.isFile ?? isRegularFile;
  if (!isFile(file)) {
    throw badValue(
      ctx,
      section,
      "sslcacertfile",
      `CA certificate file "${file}" does not exist`,
      "Fix the path, or write sslcacertfile = OS-DEFAULT to use the system's CA store",
    );
  }
  return file;
}

function resolveFingerprints(ctx: Context, section: string): string[] {
  const value = ctx.ini.get(section, "cert_fingerprint");
  if (value === undefined) return [];
  const prints = value.split(",").map((f) => pyStrip(f).toLowerCase().replaceAll(":", ""))
    .filter((f) => f !== "");
  for (const print of prints) {
    if (!/^[0-9a-f]+$/.test(print) || ![40, 56, 64, 96, 128].includes(print.length)) {
      throw badValue(
        ctx,
        section,
        "cert_fingerprint",
        `"${print}" is not a hexadecimal SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512 fingerprint`,
        "Separate several fingerprints with commas; colons are optional",
      );
    }
  }
  return prints;
}

// OfflineIMAP's lookup order: remotepasseval (refused above), remotepass, remotepassfile.
function resolvePassword(ctx: Context, section: string): PasswordSource {
  const { ini } = ctx;
  const value = ini.get(section, "remotepass");
  // An empty remotepass still wins over remotepassfile: OfflineIMAP then prompts.
  if (value !== undefined) return { kind: "plain", value };
  const file = ini.get(section, "remotepassfile");
  if (file !== undefined) return { kind: "file", path: expandUser(file, ctx.env.vars) };
  return { kind: "none" };
}

function resolveAuthMechanisms(ctx: Context, section: string): string[] {
  const value = ctx.ini.get(section, "auth_mechanisms");
  if (value === undefined) return [...AUTH_MECHANISMS];
  const mechanisms = pyStrip(value).split(/,\s*/);
  for (const mechanism of mechanisms) {
    if (!AUTH_MECHANISMS.includes(mechanism)) {
      const upper = mechanism.toUpperCase();
      throw badValue(
        ctx,
        section,
        "auth_mechanisms",
        `unknown authentication mechanism "${mechanism}"`,
        AUTH_MECHANISMS.includes(upper)
          ? `Names are case sensitive: write "${upper}"`
          : `Valid mechanisms are: ${AUTH_MECHANISMS.join(", ")}`,
      );
    }
  }
  return mechanisms;
}

/** OfflineIMAP's default is the two characters `""`, IMAP's empty string; we keep it unquoted. */
function resolveReference(value: string | undefined): string {
  if (value === undefined) return "";
  const quoted = /^"(.*)"$/s.exec(value);
  return quoted ? (quoted[1] as string) : value;
}

function resolveMaxConnections(ctx: Context, section: string): number {
  const value = ctx.ini.getInt(section, "maxconnections", 1);
  if (value < 1) throw badValue(ctx, section, "maxconnections", `${value} is less than 1`);
  return value;
}

/**
 * Looks at every option visible in a section: refuses the unsupported ones, warns about the
 * ignored, misplaced and unknown ones. `overridden` options are replaced by the command line.
 */
function checkOptions(
  ctx: Context,
  kind: Kind,
  section: string,
  overridden: ReadonlySet<string> = new Set(),
): void {
  const { ini } = ctx;
  const own = new Set(ini.ownKeys(section));
  for (const key of ini.keys(section)) {
    if (overridden.has(key)) continue;
    const writtenIn = own.has(key) ? section : DEFAULT_SECTION;
    const rule = ruleFor(kind, key);
    if (rule?.status === "unsupported") {
      if (rule.harmless?.(ini.get(section, key) ?? "")) continue;
      throw new ConfigError(`Option "${key}" in section "${writtenIn}" is not supported yet`, {
        hint: `${rule.note ? `${capitalize(rule.note)}. ` : ""}Remove it (${
          where(ctx, section, key)
        }) or keep using OfflineIMAP for this account`,
      });
    }
    // Keys from [DEFAULT] are shared by every kind of section: judged once, by checkDefaultSection.
    if (!own.has(key) || rule?.status === "implemented") continue;
    if (rule?.status === "ignored") {
      if (rule.harmless?.(ini.get(section, key, { raw: true }) ?? "")) continue;
      ctx.warnings.push(ignoredMessage(ctx, section, key, rule.note ?? "it has no effect"));
      continue;
    }
    const home = OPTION_RULES.filter((r) => r.keys.includes(key)).flatMap((r) => r.kinds);
    if (home.length > 0) {
      const places = [...new Set(home.map((k) => KIND_LABEL[k]))].join(" or ");
      ctx.warnings.push(ignoredMessage(ctx, section, key, `it belongs in ${places} sections`));
    } else if (!ctx.referenced.has(key)) {
      ctx.warnings.push(ignoredMessage(ctx, section, key, unknownNote(key, kind)));
    }
  }
}

/** `[DEFAULT]` keys are used by whichever section reads them; only judge what applies nowhere. */
function checkDefaultSection(ctx: Context): void {
  for (const key of ctx.ini.ownKeys(DEFAULT_SECTION)) {
    const rules = OPTION_RULES.filter((r) => r.keys.includes(key));
    if (rules.length === 0) {
      if (!ctx.referenced.has(key)) {
        ctx.warnings.push(ignoredMessage(ctx, DEFAULT_SECTION, key, unknownNote(key)));
      }
    } else if (rules.every((r) => r.status === "ignored")) {
      const rule = rules[0] as OptionRule;
      const value = ctx.ini.get(DEFAULT_SECTION, key, { raw: true }) ?? "";
      if (!rule.harmless?.(value)) {
        ctx.warnings.push(
          ignoredMessage(ctx, DEFAULT_SECTION, key, rule.note ?? "it has no effect"),
        );
      }
    }
  }
}

/** Sections that OfflineIMAP would ignore only because of their case or spacing. */
function checkSectionNames(ctx: Context): void {
  for (const section of ctx.ini.sections()) {
    if (
      section === "general" || section === "mbnames" || section.startsWith("Account ") ||
      section.startsWith("Repository ")
    ) continue;
    const lower = pyStrip(section).toLowerCase();
    let meant: string | undefined;
    if (["general", "mbnames"].includes(lower)) meant = lower;
    else if (lower === "default") meant = DEFAULT_SECTION;
    else if (/^account\s/.test(lower)) meant = `Account ${pyStrip(pyStrip(section).slice(7))}`;
    else if (/^repository\s/.test(lower)) {
      meant = `Repository ${pyStrip(pyStrip(section).slice(10))}`;
    }
    if (meant !== undefined && meant !== section) {
      ctx.warnings.push(
        `Ignoring section "[${section}]" (line ${
          ctx.ini.sectionLine(section)
        } of "${ctx.path}"): ` +
          `section names are case and space sensitive, did you mean "[${meant}]"?`,
      );
    }
  }
}

function ruleFor(kind: Kind, key: string): OptionRule | undefined {
  return OPTION_RULES.find((r) => r.kinds.includes(kind) && r.keys.includes(key));
}

function unknownNote(key: string, kind?: Kind): string {
  const candidates = [
    ...new Set(
      OPTION_RULES.filter((r) => kind === undefined || r.kinds.includes(kind)).flatMap((r) =>
        r.keys
      ),
    ),
  ];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const close = best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3));
  return close ? `unknown option, did you mean "${best}"?` : "unknown option";
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(
        Math.min(
          (previous[j] as number) + 1,
          (row[j - 1] as number) + 1,
          (previous[j - 1] as number) + cost,
        ),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** Values wrapped in quotes keep them (config-options.md §2.2), which is rarely meant. */
function warnIfQuoted(ctx: Context, section: string, key: string): void {
  const value = ctx.ini.get(section, key, { raw: true });
  if (value === undefined || !/^(".*"|'.*')$/s.test(value) || value.length < 2) return;
  ctx.warnings.push(
    `Option "${key}" in section "${section}" (${where(ctx, section, key)}) is enclosed in ` +
      "quotes, which are kept as part of the value; remove them unless they are meant",
  );
}

function ignoredMessage(ctx: Context, section: string, key: string, why: string): string {
  return `Ignoring option "${key}" in section "${section}" (${where(ctx, section, key)}): ${why}`;
}

function missingOption(ctx: Context, section: string, key: string, example?: string): ConfigError {
  const line = ctx.ini.sectionLine(section);
  const at = line === undefined ? `"${ctx.path}"` : `the section at line ${line} of "${ctx.path}"`;
  return new ConfigError(`Option "${key}" in section "${section}" is required`, {
    hint: `Add ${key} = ${example ?? "..."} to ${at}`,
  });
}

function badValue(
  ctx: Context,
  section: string,
  key: string,
  problem: string,
  fix?: string,
): ConfigError {
  const at = where(ctx, section, key);
  return new ConfigError(`Cannot read option "${key}" in section "${section}": ${problem}`, {
    hint: fix ? `${fix} (${at})` : `Fix ${at}`,
  });
}

function where(ctx: Context, section: string, key: string): string {
  const line = ctx.ini.line(section, key);
  return line === undefined ? "set on the command line" : `line ${line} of "${ctx.path}"`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Python's `repr()` of a str, for showing the `-f` filter as OfflineIMAP writes it. */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function rule(
  kinds: string,
  status: Status,
  keys: string | string[],
  extra: Pick<OptionRule, "harmless" | "note"> = {},
): OptionRule {
  return {
    kinds: kinds.split(" ") as Kind[],
    status,
    keys: typeof keys === "string" ? keys.split(" ") : keys,
    ...extra,
  };
}

function isFalse(value: string): boolean {
  return parsePyBoolean(value) === false;
}

function isEmpty(value: string): boolean {
  return pyStrip(value) === "";
}

function isEmptyList(value: string): boolean {
  return pyStrip(value) === "[]";
}

function isZero(value: string): boolean {
  return parsePyInt(value) === 0;
}
