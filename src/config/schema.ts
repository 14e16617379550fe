/**
 * Turns a parsed `~/.offlineimaprc` ({@link IniFile}) into the typed {@link Config}, with
 * OfflineIMAP's defaults, conversions and cross-option rules (config-options.md §4–§10,
 * DECISIONS.md).
 *
 * Only the active accounts (`-a`, else `[general] accounts`) and their repositories are read, as
 * OfflineIMAP only reads what it uses. Every option found in those sections is accounted for
 * (see `_options.ts`): implemented, refused as "not supported yet", or reported in the returned
 * warnings (obsolete, misplaced, unknown). Python-valued options go through `expressions.ts`.
 * Nothing here prints.
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
  MbnamesConfig,
  MbnamesItem,
  PasswordSource,
  RepositoryCommon,
  RepositoryConfig,
} from "./types.ts";
import { DEFAULT_SECTION, type IniFile, parsePyInt, pyStrip, referencedNames } from "./ini.ts";
import { expandPath, expandUser, type PathEnv } from "./load.ts";
import {
  type CheckContext,
  checkDefaultSection,
  checkOptions,
  checkSectionNames,
  ignoredMessage,
  type Kind,
  where,
} from "./_options.ts";
import {
  compileCopyIgnore,
  compileFolderFilter,
  compileFolderSort,
  compileIntEval,
  compileMbnamesFilter,
  compileMbnamesSortKey,
  compileNametrans,
  compileNewmailHook,
  compileOAuth2Eval,
  compileStringEval,
  evaluateString,
  evaluateStringList,
  type ExpressionContext,
  type ExpressionHooks,
  type ExpressionSite,
  processHooks,
} from "./expressions.ts";
import { insecureFileWarning } from "./passwords.ts";

/** Options of {@link resolveConfig}, from the command line and the environment. */
export interface ResolveOptions {
  /** `-a`, already split: the accounts to sync instead of `[general] accounts`. */
  readonly accounts?: readonly string[];
  /**
   * `-f`, already split: on every remote repository, replaces `folderfilter` with "name is one
   * of these" and `folderincludes` with `[]` (config-options.md §3).
   */
  readonly folders?: readonly string[];
  /**
   * True when the caller writes the `[mbnames]` files (`src/mbnames.ts`); until then
   * `enabled = yes` is refused rather than silently ignored.
   */
  readonly mbnames?: boolean;
  /** Environment and directory for path expansion; defaults to the process's. */
  readonly env?: PathEnv;
  /** Whether a path is an existing regular file (CA, client certificate, pythonfile). */
  readonly isFile?: (path: string) => boolean;
  /** Permission bits of a file, or null when unknown (config file check); defaults to a stat. */
  readonly fileMode?: (path: string) => number | null;
  /** The current time, for `maxage`; defaults to now. */
  readonly now?: Date;
  /**
   * The outside world for Python expressions (environment, files, commands, the `pythonfile`
   * bridge of `pythonfile.ts`). Defaults to this process without a `pythonfile` bridge, with
   * `env` as the environment and notes added to the warnings.
   */
  readonly expressionHooks?: ExpressionHooks;
  /**
   * Receives the notes of Python expressions that first run after {@link resolveConfig}
   * returned (e.g. `remotepasseval` using `subprocess` without importing it, evaluated at
   * connection time). Without it they are appended to the returned `warnings` array.
   */
  readonly lateWarning?: (message: string) => void;
}

/** Result of {@link resolveConfig}. */
export interface ResolvedConfig {
  readonly config: Config;
  /** One line each, for the UI to show; ignored or misplaced options and similar. */
  readonly warnings: string[];
  /**
   * Ends the `python3` child that runs the `pythonfile` (started on the first call into it);
   * call it once the configuration is no longer used, or the process cannot exit. No-op
   * without a `pythonfile` or with `expressionHooks`.
   */
  close(): Promise<void>;
}

/** Mechanisms OfflineIMAP accepts in `auth_mechanisms`, and its default order. */
export const AUTH_MECHANISMS: readonly string[] = "GSSAPI XOAUTH2 CRAM-MD5 PLAIN LOGIN".split(" ");

/** `keepalive` when `idlefolders` is set and `keepalive` is not: 29 minutes, as OfflineIMAP. */
export const IDLE_KEEPALIVE = 29 * 60;

const GMAIL_HOST = "imap.gmail.com";
const GMAIL_TOKEN_URL = "https://accounts.google.com/o/oauth2/token";
const LOCAL_TYPES = ["Maildir", "GmailMaildir", "IMAP"];
const REMOTE_TYPES = ["IMAP", "Gmail"];
/** `time.strptime(value, "%Y-%m-%d")`: Python's %m and %d accept unpadded numbers. */
const DATE_RE = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])$/;
/** An IMAP keyword is an atom: no spaces, specials or controls, and not a `\System` flag. */
// deno-lint-ignore no-control-regex
const KEYWORD_RE = /^[^\s(){%*"\\\]\x00-\x1f\x7f]+$/;
const TLS_LEVELS = ["tls_compat", "tls_no_ssl", "tls_secure"];
const SSL_VERSIONS: Readonly<Record<string, ImapRepositoryConfig["tlsMinVersion"] | "ssl">> = {
  tls1: "TLSv1",
  "tls1_1": "TLSv1.1",
  "tls1_2": "TLSv1.2",
  ssl3: "ssl",
  ssl23: undefined,
};

/**
 * Resolves the active accounts of a parsed configuration into a {@link Config}.
 *
 * Throws {@link ConfigError} (exit code 1) for: a missing `[general]` or `accounts` (unless
 * `-a` is given), an active account without an `[Account <name>]` section (`The account "<x>"
 * does not exist`, before anything else is resolved), a missing repository section or required
 * option, a value of the wrong type or range, an unknown repository type, a forbidden
 * combination (both tunnels, `tls_level` without `ssl_version`, `maxage` with `startdate` or an
 * IMAP local repository, ...), and options that are not supported yet (`Option "<key>" in
 * section "<section>" is not supported yet`) unless their value is the no-op one.
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
    expr: {},
  };
  checkSectionNames(ctx);
  checkDefaultSection(ctx);
  const general = resolveGeneral(ctx);
  let resolved = false;
  const warn = (warning: string) => {
    if (resolved && opts.lateWarning) opts.lateWarning(warning);
    else ctx.warnings.push(warning);
  };
  const own = opts.expressionHooks === undefined
    ? processHooks(ctx.env.vars, warn, general.pythonFile)
    : undefined;
  ctx.expr = { pythonFile: general.pythonFile, hooks: opts.expressionHooks ?? own?.hooks };
  const close = () => own?.close() ?? Promise.resolve();
  try {
    return resolveAccounts(ctx, general, close, () => resolved = true);
  } catch (error) {
    // A pythonfile child started by a compiled expression must not outlive the failure.
    void close();
    throw error;
  }
}

function resolveAccounts(
  ctx: Context,
  general: GeneralConfig,
  close: () => Promise<void>,
  done: () => void,
): ResolvedConfig {
  const { ini, opts, path } = ctx;
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
  const mbnames = resolveMbnames(ctx);
  const accounts = new Map<string, AccountConfig>();
  for (const name of names) {
    if (!accounts.has(name)) accounts.set(name, resolveAccount(ctx, name));
  }
  checkConfigPermissions(ctx, accounts);
  done();
  return {
    config: { path, general: mbnames ? { ...general, mbnames } : general, accounts },
    warnings: ctx.warnings,
    close,
  };
}

/**
 * Splits an account list as OfflineIMAP does for `[general] accounts` and `-a`: on `,`, each
 * item left-stripped only (`"A ,B"` gives `"A "` and `"B"`).
 */
export function splitAccountList(value: string): string[] {
  return value.split(",").map((item) => item.replace(/^\s+/, ""));
}

/**
 * Resolves `maxage` as OfflineIMAP does: `YYYY-MM-DD` (year ≥ 1900, not in the future) or a
 * whole number of days ≥ 1 counted back from `now` in local time. Returns the cut-off day as
 * midnight UTC. Throws {@link ConfigError} naming the option for anything else.
 */
export function parseMaxAge(value: string, section: string, now: Date): Date {
  const date = parseDate(value);
  if (date !== undefined) {
    const [year, month, day] = date;
    if (year < 1900) {
      throw new ConfigError(
        `Cannot read option "maxage" in section "${section}": year ${year} is before 1900`,
      );
    }
    if (new Date(year, month - 1, day).getTime() > now.getTime()) {
      throw new ConfigError(
        `Cannot read option "maxage" in section "${section}": ${formatDate(date)} is in the ` +
          "future",
        { hint: "Write a past date (YYYY-MM-DD) or a number of days" },
      );
    }
    return new Date(Date.UTC(year, month - 1, day));
  }
  const days = parsePyInt(value);
  if (days === undefined || days < 1) {
    throw new ConfigError(
      `Cannot read option "maxage" in section "${section}": "${value}" is neither a number of ` +
        "days (1 or more) nor a date (YYYY-MM-DD)",
      { hint: "Write maxage = 30 for the last 30 days, or maxage = 2024-01-31" },
    );
  }
  const then = new Date(now.getTime() - days * 86_400_000);
  return new Date(Date.UTC(then.getFullYear(), then.getMonth(), then.getDate()));
}

interface Context extends CheckContext {
  readonly opts: ResolveOptions;
  readonly env: PathEnv;
  expr: ExpressionContext;
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
  // Type-checked even though nothing depends on them, as OfflineIMAP reads them.
  ini.getBoolean(section, "ignore-keyring", false);
  ini.getBoolean(section, "utime_from_header", false);
  ini.getBoolean(section, "filename_use_mail_timestamp", false);
  return {
    accounts,
    metadata: expandPath(metadata, { vars: true, absolute: true, env: ctx.env }),
    ui: ini.get(section, "ui") ?? "ttyui",
    fsync: ini.getBoolean(section, "fsync", true),
    maxSyncAccounts,
    // OfflineIMAP only sets a timeout when the value is positive.
    sockTimeout: Math.max(0, ini.getInt(section, "socktimeout", 0)),
    dryRun: ini.getBoolean(section, "dry-run", false),
    pythonFile: existingFile(ctx, section, "pythonfile", "Python file"),
    ignoreReadonly: ini.getBoolean(section, "ignore-readonly", false),
  };
}

/** OfflineIMAP reads peritem, header, sep, footer and filename whenever the section exists. */
function resolveMbnames(ctx: Context): MbnamesConfig | undefined {
  const { ini } = ctx;
  const section = "mbnames";
  if (!ini.hasSection(section)) return undefined;
  checkOptions(ctx, "mbnames", section);
  for (const key of ["filename", "header", "peritem", "sep", "footer"]) {
    if (!ini.has(section, key)) {
      const error = missingOption(ctx, section, key);
      throw new ConfigError(error.message, {
        hint: `OfflineIMAP reads it whenever [mbnames] exists, even with enabled = no: ${
          error.hint?.charAt(0).toLowerCase()
        }${error.hint?.slice(1)}, or remove the section`,
      });
    }
  }
  const incremental = ini.getBoolean(section, "incremental", false);
  if (!ini.getBoolean(section, "enabled", false)) return undefined;
  if (!ctx.opts.mbnames) {
    throw new ConfigError('Option "enabled" in section "mbnames" is not supported yet', {
      hint: `Writing the mbnames file is not supported yet. Set enabled = no (${
        where(ctx, section, "enabled")
      }) or keep using OfflineIMAP`,
    });
  }
  const site = (key: string) => siteOf(ctx, section, key);
  const filterSource = ini.get(section, "folderfilter");
  const sortSource = ini.get(section, "sort_keyfunc");
  return {
    filename: expandPath(ini.get(section, "filename") as string, {
      vars: true,
      absolute: true,
      env: ctx.env,
    }),
    header: evaluateString(ini.get(section, "header") as string, site("header"), ctx.expr),
    sep: evaluateString(ini.get(section, "sep") as string, site("sep"), ctx.expr),
    footer: evaluateString(ini.get(section, "footer") as string, site("footer"), ctx.expr),
    peritem: ini.get(section, "peritem", { raw: true }) as string,
    incremental,
    folderFilter: filterSource === undefined
      ? () => true
      : compileMbnamesFilter(filterSource, site("folderfilter"), ctx.expr),
    compare: sortSource === undefined
      ? compareMbnamesItems
      : compileMbnamesSortKey(sortSource, site("sort_keyfunc"), ctx.expr),
  };
}

/** OfflineIMAP's default sort key `(accountname, foldername)`, compared by code point. */
function compareMbnamesItems(a: MbnamesItem, b: MbnamesItem): number {
  return compareCodePoints(a.accountname, b.accountname) ||
    compareCodePoints(a.foldername, b.foldername);
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
  const local = resolveRepository(ctx, name, localName, "local");
  const remote = resolveRepository(ctx, name, remoteName, "remote") as ImapRepositoryConfig;

  const maxAge = resolveMaxAge(ctx, section, local, remote);
  let quick = ini.getInt(section, "quick", 0);
  // OfflineIMAP treats every negative value as "always quick".
  if (quick < 0) quick = -1;
  if (quick !== 0 && (maxAge !== undefined || local.startDate || remote.startDate)) {
    ctx.warnings.push(
      `Quick syncs (-q, quick) are not supported with ${
        maxAge === undefined ? "startdate" : "maxage"
      }: every sync of account "${name}" is a full sync`,
    );
    quick = 0;
  }
  const maxSize = ini.getInt(section, "maxsize");
  if (maxSize !== undefined && maxSize < 1) {
    throw badValue(
      ctx,
      section,
      "maxsize",
      `${maxSize} is less than 1`,
      "Write a size in bytes, or remove the option for no limit",
    );
  }
  const filterHeaders = ini.get(section, "filterheaders");
  return {
    name,
    local,
    remote,
    statusBackend,
    maxDeleteRatio,
    autorefresh: resolveAutorefresh(ctx, section),
    quick,
    preSyncHook: ini.get(section, "presynchook") || undefined,
    postSyncHook: ini.get(section, "postsynchook") || undefined,
    maxSize,
    maxAge,
    maildirWindowsCompatible: ini.getBoolean(section, "maildir-windows-compatible", false),
    utf8FolderNames: ini.getBoolean(section, "utf8foldernames", false),
    filterHeaders: filterHeaders === undefined
      ? []
      : filterHeaders.split(/\s*,\s*/).filter((h) => h !== ""),
  };
}

function resolveAutorefresh(ctx: Context, section: string): number {
  const minutes = ctx.ini.getFloat(section, "autorefresh", 0);
  if (Number.isNaN(minutes) || minutes === Infinity) {
    throw badValue(
      ctx,
      section,
      "autorefresh",
      `"${ctx.ini.get(section, "autorefresh")}" is not a number of minutes`,
      "Write the minutes between syncs, e.g. 5 or 0.5",
    );
  }
  if (minutes < 0) {
    ctx.warnings.push(
      `Option "autorefresh" in section "${section}" (${
        where(ctx, section, "autorefresh")
      }) is negative: autorefresh is off`,
    );
    return 0;
  }
  return minutes;
}

function resolveMaxAge(
  ctx: Context,
  section: string,
  local: RepositoryConfig,
  remote: ImapRepositoryConfig,
): Date | undefined {
  const value = ctx.ini.get(section, "maxage");
  if (value === undefined) return undefined;
  if (local.type === "IMAP") {
    throw new ConfigError(
      `Option "maxage" in section "${section}" is not supported on IMAP-to-IMAP sync`,
      { hint: `Remove it (${where(ctx, section, "maxage")}): the local repository is IMAP` },
    );
  }
  const withStart = [local, remote].find((r) => r.startDate !== undefined);
  if (withStart !== undefined) {
    throw new ConfigError(
      `Options "maxage" in section "${section}" and "startdate" in section "Repository ${withStart.name}" cannot be used together`,
      { hint: "Keep one of them" },
    );
  }
  try {
    return parseMaxAge(value, section, ctx.opts.now ?? new Date());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.message, {
      hint: `${error.hint ?? "Fix it"} (${where(ctx, section, "maxage")})`,
    });
  }
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
  const allowed = role === "local" ? LOCAL_TYPES : REMOTE_TYPES;
  if (!allowed.includes(type)) {
    const cased = allowed.find((t) => t.toLowerCase() === type.toLowerCase());
    throw badValue(
      ctx,
      section,
      "type",
      `"${type}" is not a valid type for ${role} repositories (account "${account}")`,
      cased === undefined
        ? `Use one of: ${allowed.join(", ")}`
        : `Types are case sensitive: write type = ${cased}`,
    );
  }
  const kind: Kind = type === "Maildir" || type === "GmailMaildir" ? "maildir" : "imap";
  const folders = role === "remote" ? ctx.opts.folders : undefined;
  checkOptions(
    ctx,
    kind,
    section,
    folders ? new Set(["folderfilter", "folderincludes"]) : new Set(),
  );
  const common = resolveCommon(ctx, name, section, kind, folders);
  return kind === "maildir"
    ? resolveMaildir(ctx, section, common, type === "GmailMaildir")
    : resolveImap(ctx, section, common, type === "Gmail");
}

function resolveCommon(
  ctx: Context,
  name: string,
  section: string,
  kind: Kind,
  folders: readonly string[] | undefined,
): RepositoryCommon {
  const { ini } = ctx;
  const site = (key: string) => siteOf(ctx, section, key);
  const nametransSource = ini.get(section, "nametrans");
  let folderFilterSource = ini.get(section, "folderfilter");
  let folderIncludesSource = ini.get(section, "folderincludes");
  let folderFilter: (name: string) => boolean = () => true;
  let folderIncludes: string[] = [];
  if (folders !== undefined) {
    const list = [...folders];
    folderFilterSource = `lambda f: f in [${list.map(pythonRepr).join(", ")}]`;
    folderFilter = (folder) => list.includes(folder);
    folderIncludesSource = "[]";
  } else {
    if (folderFilterSource !== undefined) {
      folderFilter = compileFolderFilter(folderFilterSource, site("folderfilter"), ctx.expr);
    }
    if (folderIncludesSource !== undefined) {
      folderIncludes = evaluateStringList(
        folderIncludesSource,
        site("folderincludes"),
        ctx.expr,
      );
    }
  }
  // Only IMAP repositories sort folders (a Maildir's foldersort is warned about and ignored).
  const folderSortSource = kind === "imap" ? ini.get(section, "foldersort") : undefined;
  const startDate = ini.get(section, "startdate");
  return {
    name,
    readonly: ini.getBoolean(section, "readonly", false),
    createFolders: ini.getBoolean(section, "createfolders", true),
    syncDeletes: ini.getBoolean(section, "sync_deletes", true),
    nametrans: nametransSource === undefined
      ? (folder) => folder
      : compileNametrans(nametransSource, site("nametrans"), ctx.expr),
    folderFilter,
    nametransSource,
    folderFilterSource,
    folderIncludes,
    folderIncludesSource,
    folderSort: folderSortSource === undefined
      ? undefined
      : compileFolderSort(folderSortSource, site("foldersort"), ctx.expr),
    folderSortSource,
    dynamicFolderFilter: ini.getBoolean(section, "dynamic_folderfilter", false),
    startDate: startDate === undefined ? undefined : resolveStartDate(ctx, section, startDate),
  };
}

function resolveStartDate(ctx: Context, section: string, value: string): string {
  const date = parseDate(value);
  if (date === undefined) {
    throw badValue(
      ctx,
      section,
      "startdate",
      `"${value}" is not a date (YYYY-MM-DD)`,
      "Write startdate = 2024-01-31",
    );
  }
  return formatDate(date);
}

function resolveMaildir(
  ctx: Context,
  section: string,
  common: RepositoryCommon,
  gmail: boolean,
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
  // The repository's own value, else [general]'s (OfflineIMAP's getdefaultboolean order).
  const inherited = (key: string) =>
    ini.ownKeys(section).includes(key) || !ini.has("general", key)
      ? ini.getBoolean(section, key, false)
      : ini.getBoolean("general", key, false);
  return {
    ...common,
    type: "Maildir",
    ...(gmail ? { declaredType: "GmailMaildir" as const } : {}),
    localFolders: expandPath(localFolders, { vars: true, absolute: true, env: ctx.env }),
    sep,
    restoreAtime: ini.getBoolean(section, "restoreatime", false),
    utimeFromHeader: inherited("utime_from_header"),
    filenameUseMailTimestamp: inherited("filename_use_mail_timestamp"),
    customFlags: resolveCustomFlags(ctx, section),
  };
}

function resolveCustomFlags(ctx: Context, section: string): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const key of ctx.ini.keys(section)) {
    const letter = /^customflag_([a-z])$/.exec(key)?.[1];
    if (letter === undefined) continue;
    const keyword = pyStrip(ctx.ini.get(section, key) ?? "");
    if (!KEYWORD_RE.test(keyword)) {
      throw badValue(
        ctx,
        section,
        key,
        `"${keyword}" is not an IMAP keyword`,
        "Write one keyword such as $Label1 (no spaces, quotes or backslash)",
      );
    }
    flags[letter] = keyword;
  }
  return flags;
}

function resolveImap(
  ctx: Context,
  section: string,
  common: RepositoryCommon,
  gmail: boolean,
): ImapRepositoryConfig {
  const { ini } = ctx;
  const site = (key: string) => siteOf(ctx, section, key);
  const tunnels = resolveTunnels(ctx, section, gmail);
  const hostSource = ini.get(section, "remotehosteval");
  let host = ini.get(section, "remotehost");
  if (host === undefined && hostSource === undefined) {
    if (gmail) host = GMAIL_HOST;
    else if (tunnels.preauthTunnel === undefined) {
      throw missingOption(ctx, section, "remotehost", "imap.example.org");
    }
  }
  if (host === "" && hostSource === undefined && tunnels.preauthTunnel === undefined) {
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
  const port = ini.getInt(section, "remoteport", gmail || ssl ? 993 : 143);
  if (port < 1 || port > 65535) {
    throw badValue(ctx, section, "remoteport", `${port} is not a TCP port (1-65535)`);
  }
  const portSource = ini.get(section, "remoteporteval");
  const allowPlaintextAuth = ini.getBoolean(section, "allow_plaintext_auth", false);
  if (allowPlaintextAuth && (ssl || starttls)) {
    ctx.warnings.push(
      `Option "allow_plaintext_auth" in section "${section}" has no effect: ` +
        "it only applies with ssl = no and starttls = no",
    );
  }
  warnIfQuoted(ctx, section, "remoteuser");
  warnIfQuoted(ctx, section, "remotepass");
  const userSource = ini.get(section, "remoteusereval");
  const idleSource = ini.get(section, "idlefolders");
  const idleFolders = idleSource === undefined
    ? []
    : evaluateStringList(idleSource, site("idlefolders"), ctx.expr);
  const idle = idleFolders.length > 0;
  const keepalive = ini.getInt(section, "keepalive", 0);
  if (keepalive < 0) throw badValue(ctx, section, "keepalive", `${keepalive} is less than 0`);
  const retryCount = ini.getInt(section, "retrycount", 2);
  if (retryCount < 1) throw badValue(ctx, section, "retrycount", `${retryCount} is less than 1`);
  const copyIgnoreSource = ini.get(section, "copy_ignore_eval");
  // OfflineIMAP tests it for truth: an empty value is no hook.
  const newmailSource = ini.get(section, "newmail_hook") || undefined;
  const client = resolveClientCertificate(ctx, section);
  return {
    ...common,
    type: "IMAP",
    ...(gmail ? { declaredType: "Gmail" as const } : {}),
    host: host ?? "",
    hostEval: hostSource === undefined
      ? undefined
      : compileStringEval(hostSource, site("remotehosteval"), ctx.expr),
    port,
    portEval: portSource === undefined
      ? undefined
      : compileIntEval(portSource, site("remoteporteval"), ctx.expr),
    ssl,
    starttls,
    caFile: resolveCaFile(ctx, section),
    certFingerprints: resolveFingerprints(ctx, section),
    user: ini.get(section, "remoteuser"),
    userEval: userSource === undefined
      ? undefined
      : compileStringEval(userSource, site("remoteusereval"), ctx.expr),
    password: resolvePasswordSource(ctx, section, host ?? "", tunnels.preauthTunnel),
    allowPlaintextAuth,
    authMechanisms: resolveAuthMechanisms(ctx, section),
    remoteIdentity: ini.get(section, "remote_identity"),
    reference: resolveReference(ini.get(section, "reference")),
    expunge: ini.getBoolean(section, "expunge", true),
    // OfflineIMAP raises the pool to one connection per IDLE folder.
    maxConnections: Math.max(resolveMaxConnections(ctx, section), idleFolders.length),
    ...tunnels,
    ipv6: ini.getBoolean(section, "ipv6"),
    tlsMinVersion: resolveTls(ctx, section),
    ...client,
    subscribedOnly: ini.getBoolean(section, "subscribedonly", false),
    holdConnectionOpen: idle || ini.getBoolean(section, "holdconnectionopen", false),
    keepalive: keepalive === 0 && idle ? IDLE_KEEPALIVE : keepalive,
    idleFolders,
    singleThreadPerFolder: idle || ini.getBoolean(section, "singlethreadperfolder", false),
    retryCount,
    copyIgnore: copyIgnoreSource === undefined
      ? undefined
      : compileCopyIgnore(copyIgnoreSource, site("copy_ignore_eval"), ctx.expr),
    copyIgnoreSource,
    newmailHook: newmailSource === undefined
      ? undefined
      : compileNewmailHook(newmailSource, site("newmail_hook"), ctx.expr),
    oauth2: resolveOauth2(ctx, section, gmail),
  };
}

function resolveTunnels(
  ctx: Context,
  section: string,
  gmail: boolean,
): { preauthTunnel?: string; transportTunnel?: string } {
  const { ini } = ctx;
  // OfflineIMAP tests them for truth: an empty command is no tunnel.
  let preauthTunnel = ini.get(section, "preauthtunnel") || undefined;
  const transportTunnel = ini.get(section, "transporttunnel") || undefined;
  if (preauthTunnel !== undefined && gmail) {
    ctx.warnings.push(
      ignoredMessage(ctx, section, "preauthtunnel", "Gmail repositories never use it"),
    );
    preauthTunnel = undefined;
  }
  if (preauthTunnel !== undefined && transportTunnel !== undefined) {
    throw new ConfigError(
      `Options "preauthtunnel" and "transporttunnel" in section "${section}" cannot both be set`,
      {
        hint: `Keep one: preauthtunnel for a command that speaks IMAP already logged in, ` +
          `transporttunnel for one that only carries the connection (${
            where(ctx, section, "preauthtunnel")
          })`,
      },
    );
  }
  return {
    ...(preauthTunnel === undefined ? {} : { preauthTunnel }),
    ...(transportTunnel === undefined ? {} : { transportTunnel }),
  };
}

/**
 * OfflineIMAP's order: remotepasseval, remotepass, remotepassfile, then at connection time
 * ~/.netrc, /etc/netrc and the prompt. A preauthtunnel logs in by itself.
 */
function resolvePasswordSource(
  ctx: Context,
  section: string,
  host: string,
  preauthTunnel: string | undefined,
): PasswordSource {
  const { ini } = ctx;
  if (preauthTunnel !== undefined) return { kind: "none" };
  const source = ini.get(section, "remotepasseval");
  if (source !== undefined) {
    return {
      kind: "eval",
      evaluate: compileStringEval(source, siteOf(ctx, section, "remotepasseval"), ctx.expr),
    };
  }
  const value = ini.get(section, "remotepass");
  // An empty remotepass still wins over remotepassfile: OfflineIMAP then prompts.
  if (value !== undefined) return { kind: "plain", value };
  const file = ini.get(section, "remotepassfile");
  if (file !== undefined) return { kind: "file", path: expandUser(file, ctx.env.vars) };
  return { kind: "netrc", host };
}

/**
 * `tls_level` and `ssl_version` → the lowest TLS version to accept. OfflineIMAP: any level but
 * `tls_compat` requires `ssl_version`, which the level must allow; `ssl23` negotiates.
 */
function resolveTls(ctx: Context, section: string): ImapRepositoryConfig["tlsMinVersion"] {
  const { ini } = ctx;
  const level = ini.get(section, "tls_level") ?? "tls_compat";
  if (!TLS_LEVELS.includes(level)) {
    throw badValue(
      ctx,
      section,
      "tls_level",
      `unknown TLS level "${level}"`,
      `Use one of: ${TLS_LEVELS.join(", ")}`,
    );
  }
  const version = ini.get(section, "ssl_version");
  if (version === undefined) {
    if (level === "tls_compat") return undefined;
    throw new ConfigError(
      `Option "tls_level" in section "${section}" requires option "ssl_version"`,
      {
        hint: `Add ssl_version = tls1_2 (or ssl23 to negotiate), or remove tls_level (${
          where(ctx, section, "tls_level")
        })`,
      },
    );
  }
  if (!(version in SSL_VERSIONS)) {
    throw badValue(
      ctx,
      section,
      "ssl_version",
      `unknown SSL version "${version}"`,
      `Use one of: ${Object.keys(SSL_VERSIONS).join(", ")}`,
    );
  }
  const minimum = SSL_VERSIONS[version];
  if (minimum === "ssl") {
    throw badValue(
      ctx,
      section,
      "ssl_version",
      "SSL 3.0 is insecure and not supported",
      "Use ssl_version = tls1_2, or ssl23 to negotiate the highest version",
    );
  }
  const allowed = level === "tls_secure"
    ? ["tls1_1", "tls1_2", "ssl23"]
    : ["tls1", "tls1_1", "tls1_2", "ssl23"];
  if (!allowed.includes(version)) {
    throw badValue(
      ctx,
      section,
      "ssl_version",
      `"${version}" is not allowed by tls_level = ${level}`,
      `With tls_level = ${level}, use one of: ${allowed.join(", ")}`,
    );
  }
  if (minimum !== undefined) return minimum;
  return level === "tls_secure" ? "TLSv1.1" : level === "tls_no_ssl" ? "TLSv1" : undefined;
}

function resolveClientCertificate(
  ctx: Context,
  section: string,
): { clientCert?: string; clientKey?: string } {
  const clientCert = existingFile(ctx, section, "sslclientcert", "client certificate file");
  const clientKey = existingFile(ctx, section, "sslclientkey", "client key file");
  if (clientKey !== undefined && clientCert === undefined) {
    throw new ConfigError(
      `Option "sslclientkey" in section "${section}" requires option "sslclientcert"`,
      { hint: `Add sslclientcert with the certificate (${where(ctx, section, "sslclientkey")})` },
    );
  }
  return {
    ...(clientCert === undefined ? {} : { clientCert }),
    ...(clientKey === undefined ? {} : { clientKey }),
  };
}

function resolveOauth2(
  ctx: Context,
  section: string,
  gmail: boolean,
): ImapRepositoryConfig["oauth2"] {
  const { ini } = ctx;
  const secret = (name: string): (() => Promise<string | undefined>) | undefined => {
    const value = ini.get(section, `oauth2_${name}`);
    if (value !== undefined) return () => Promise.resolve(value);
    const source = ini.get(section, `oauth2_${name}_eval`);
    if (source === undefined) return undefined;
    return compileOAuth2Eval(source, siteOf(ctx, section, `oauth2_${name}_eval`), ctx.expr);
  };
  const accessToken = secret("access_token");
  const refreshToken = secret("refresh_token");
  const clientId = secret("client_id");
  const clientSecret = secret("client_secret");
  const explicitUrl = ini.get(section, "oauth2_request_url");
  if (!accessToken && !refreshToken && !clientId && !clientSecret && !explicitUrl) {
    return undefined;
  }
  const requestUrl = explicitUrl ?? (gmail ? GMAIL_TOKEN_URL : undefined);
  if (refreshToken && !accessToken && requestUrl === undefined) {
    throw new ConfigError(
      `Option "oauth2_request_url" in section "${section}" is required with a refresh token`,
      { hint: "Add the provider's token endpoint as oauth2_request_url" },
    );
  }
  return {
    ...(accessToken ? { accessToken } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    ...(clientId ? { clientId } : {}),
    ...(clientSecret ? { clientSecret } : {}),
    ...(requestUrl === undefined ? {} : { requestUrl }),
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

/** A path option (`~`, `$VAR`, made absolute) that must name an existing file. */
function existingFile(
  ctx: Context,
  section: string,
  key: string,
  what: string,
): string | undefined {
  const value = ctx.ini.get(section, key);
  if (value === undefined) return undefined;
  warnIfQuoted(ctx, section, key);
  const file = expandPath(value, { vars: true, absolute: true, env: ctx.env });
  const isFile = ctx.opts.isFile ?? isRegularFile;
  if (!isFile(file)) {
    throw badValue(ctx, section, key, `${what} "${file}" does not exist`, "Fix the path");
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

/** A config file holding a password in clear should not be readable by others. */
function checkConfigPermissions(ctx: Context, accounts: ReadonlyMap<string, AccountConfig>) {
  const holdsSecret = [...accounts.values()].some((account) =>
    [account.local, account.remote].some((repo) =>
      repo.type === "IMAP" &&
      ((repo.password.kind === "plain" && repo.password.value !== "") ||
        ["oauth2_client_secret", "oauth2_refresh_token", "oauth2_access_token"].some((key) =>
          ctx.ini.has(`Repository ${repo.name}`, key)
        ))
    )
  );
  if (!holdsSecret) return;
  const mode = (ctx.opts.fileMode ?? fileMode)(ctx.path);
  const warning = insecureFileWarning(ctx.path, mode, "Config file");
  if (warning !== undefined) ctx.warnings.push(`${warning} (it contains a password)`);
}

function siteOf(ctx: Context, section: string, key: string): ExpressionSite {
  return {
    option: key,
    section,
    writtenIn: ctx.ini.ownKeys(section).includes(key) ? section : DEFAULT_SECTION,
    path: ctx.path,
    line: ctx.ini.line(section, key),
  };
}

/** `[year, month, day]` for a valid `YYYY-MM-DD` (Python's strptime rules), else undefined. */
function parseDate(value: string): [number, number, number] | undefined {
  const m = DATE_RE.exec(value);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(pyStrip(m[3] as string))];
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCDate() === day ? [year, month, day] : undefined;
}

function formatDate([year, month, day]: [number, number, number]): string {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${
    String(day).padStart(2, "0")
  }`;
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

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function fileMode(path: string): number | null {
  try {
    return Deno.statSync(path).mode;
  } catch {
    return null;
  }
}
