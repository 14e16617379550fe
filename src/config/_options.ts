/**
 * The table of every option config-options.md lists, by section kind, and the checks that
 * decide what happens to an option found in the file: read, refused as "not supported yet",
 * or reported as ignored, misplaced or unknown. Private to `src/config/`.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { DEFAULT_SECTION, type IniFile, parsePyBoolean, pyStrip } from "./ini.ts";

/** Section kinds; Gmail and GmailMaildir repositories are `imap` and `maildir`. */
export type Kind = "general" | "mbnames" | "account" | "maildir" | "imap";

/**
 * `implemented`: read by `schema.ts`, or needing no action. `unsupported`: would change what a
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

/** What the checks need to know about the file being resolved. */
export interface CheckContext {
  readonly ini: IniFile;
  readonly path: string;
  readonly warnings: string[];
  /** Names used as `%(name)s`: helper options that must not be called unknown. */
  readonly referenced: ReadonlySet<string>;
}

const LETTERS = [..."abcdefghijklmnopqrstuvwxyz"];
const OAUTH2 = "client_id client_secret refresh_token access_token".split(" ")
  .flatMap((name) => [`oauth2_${name}`, `oauth2_${name}_eval`]);

const OPTION_RULES: readonly OptionRule[] = [
  rule("general", "implemented", "accounts metadata ui fsync maxsyncaccounts socktimeout dry-run"),
  rule("general", "implemented", "pythonfile ignore-readonly"),
  // We never use a keyring, which is what ignore-keyring asks for.
  rule("general", "implemented", "ignore-keyring"),
  rule("general maildir", "implemented", "utime_from_header filename_use_mail_timestamp"),
  rule("general", "unsupported", "update-keyring", {
    harmless: isFalse,
    note: "there is no keyring support",
  }),
  // `enabled = yes` is refused by schema.ts unless the caller writes mbnames files.
  rule("mbnames", "implemented", "enabled filename header peritem sep footer incremental"),
  rule("mbnames", "implemented", "folderfilter sort_keyfunc"),
  rule("account", "implemented", "localrepository remoterepository status_backend"),
  rule("account", "implemented", "max_delete_ratio autorefresh quick presynchook postsynchook"),
  rule("account", "implemented", "maxsize maxage maildir-windows-compatible utf8foldernames"),
  rule("account", "implemented", "filterheaders"),
  rule("account", "unsupported", "synclabels", {
    harmless: isFalse,
    note: "Gmail label synchronisation is not supported yet",
  }),
  rule("account", "unsupported", "proxy authproxy", {
    harmless: isEmpty,
    note: "connecting through a proxy is not supported yet",
  }),
  rule("account", "ignored", "labelsheader ignorelabels", {
    note: "it has no effect without synclabels",
  }),
  rule("account", "ignored", "skipsleep", {
    note: "it is internal to OfflineIMAP, not a configuration option",
  }),
  rule("maildir imap", "implemented", "type readonly createfolders sync_deletes"),
  rule("maildir imap", "implemented", "nametrans folderfilter folderincludes"),
  rule("maildir imap", "implemented", "dynamic_folderfilter startdate"),
  rule("maildir", "implemented", "localfolders sep restoreatime"),
  rule("maildir", "implemented", LETTERS.map((c) => `customflag_${c}`)),
  rule("maildir", "ignored", "foldersort", {
    note: "only IMAP repositories sort folders (OfflineIMAP ignores it too)",
  }),
  rule("maildir", "ignored", "maxconnections", {
    note: "the remote repository's maxconnections sets how many folders sync at once",
  }),
  rule("imap", "implemented", "remotehost remotehosteval remoteport remoteporteval"),
  rule("imap", "implemented", "remoteuser remoteusereval remotepass remotepassfile"),
  rule("imap", "implemented", "remotepasseval remote_identity auth_mechanisms"),
  rule("imap", "implemented", "ssl starttls sslcacertfile cert_fingerprint allow_plaintext_auth"),
  rule("imap", "implemented", "sslclientcert sslclientkey ssl_version tls_level ipv6"),
  rule("imap", "implemented", "preauthtunnel transporttunnel reference expunge maxconnections"),
  rule("imap", "implemented", "subscribedonly holdconnectionopen keepalive idlefolders"),
  rule("imap", "implemented", "singlethreadperfolder retrycount copy_ignore_eval foldersort"),
  rule("imap", "implemented", [...OAUTH2, "oauth2_request_url"]),
  rule("imap", "unsupported", "usecompression", {
    harmless: isFalse,
    note: "COMPRESS=DEFLATE is not supported yet",
  }),
  rule("imap", "unsupported", "decodefoldernames", {
    harmless: isFalse,
    note: "it is deprecated (and broken in OfflineIMAP 8): use utf8foldernames in the account",
  }),
  rule("imap", "implemented", "newmail_hook"),
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

/** Every option name the table knows (for `--info` and tests). */
export function knownOptions(kind?: Kind): string[] {
  return [
    ...new Set(
      OPTION_RULES.filter((r) => kind === undefined || r.kinds.includes(kind)).flatMap((r) =>
        r.keys
      ),
    ),
  ];
}

/**
 * Looks at every option visible in a section: refuses the unsupported ones, warns about the
 * ignored, misplaced and unknown ones. `overridden` options are replaced by the command line.
 */
export function checkOptions(
  ctx: CheckContext,
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
export function checkDefaultSection(ctx: CheckContext): void {
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
export function checkSectionNames(ctx: CheckContext): void {
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

/** Where an option was set, for messages: `line N of "<path>"` or `set on the command line`. */
export function where(ctx: { ini: IniFile; path: string }, section: string, key: string): string {
  const line = ctx.ini.line(section, key);
  return line === undefined ? "set on the command line" : `line ${line} of "${ctx.path}"`;
}

/** `Ignoring option "<key>" in section "<section>" (<where>): <why>`. */
export function ignoredMessage(
  ctx: { ini: IniFile; path: string },
  section: string,
  key: string,
  why: string,
): string {
  return `Ignoring option "${key}" in section "${section}" (${where(ctx, section, key)}): ${why}`;
}

function ruleFor(kind: Kind, key: string): OptionRule | undefined {
  return OPTION_RULES.find((r) => r.kinds.includes(kind) && r.keys.includes(key));
}

function unknownNote(key: string, kind?: Kind): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of knownOptions(kind)) {
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

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
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
