/**
 * Maildir file names as OfflineIMAP writes and reads them (formats.md §1.2, §1.4, §1.5).
 *
 * Pure: no I/O except {@link NameGenerator}, which reads the clock, the process id and the host
 * name when they are not given.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Separator between a Maildir file's unique part and its info (`!` with `maildir-windows-compatible`). */
export type InfoSep = ":" | "!";

/** What a Maildir file name tells about its message. */
export interface ParsedMaildirName {
  /**
   * The UID, only when the name carries both `,FMD5=<this folder's md5>` and `,U=<digits>`
   * (formats.md §1.5); undefined for files of other programs, of mbsync, or moved in from
   * another folder.
   */
  readonly uid: number | undefined;
  /** Flag letters of the `2,` info part, deduplicated, in canonical order; unknown ones kept. */
  readonly flags: string;
  /** The unique part: the name up to (without) the first info separator. */
  readonly key: string;
}

/** Largest UID IMAP allows (RFC 3501: nz-number is a 32-bit unsigned value). */
const MAX_UID = 0xffffffff;
const UID_PATTERN = /,U=([0-9]+)/;
/** Python's `\w` on str: letters, digits and numerics of any script, plus `_` (sticky). */
const WORD_RUN = /[\p{L}\p{N}_]*/uy;

/**
 * Parses a Maildir file name (formats.md §1.5).
 *
 * `folderMd5` is {@link folderMd5} of the folder's visible name. A `,U=` value of 0 or beyond
 * 2^32-1 cannot be an IMAP UID, so such a file is treated like one without a UID (it is uploaded
 * and renamed rather than matched against a server message that cannot exist).
 *
 * @example
 * ```ts
 * parseMaildirName("1_0.1.vm,U=7,FMD5=7e33429f656f1e6e9d79b29c3f82c57e:2,SF",
 *   "7e33429f656f1e6e9d79b29c3f82c57e", { infoSep: ":" });
 * // { uid: 7, flags: "FS", key: "1_0.1.vm,U=7,FMD5=7e33429f656f1e6e9d79b29c3f82c57e" }
 * ```
 */
export function parseMaildirName(
  name: string,
  folderMd5: string,
  options: { readonly infoSep: InfoSep },
): ParsedMaildirName {
  return {
    uid: parseUid(name, folderMd5),
    flags: parseFlags(name, options.infoSep),
    key: maildirKey(name, options.infoSep),
  };
}

/** The unique part of a file name: everything before the first info separator. */
export function maildirKey(name: string, infoSep: InfoSep): string {
  const at = name.indexOf(infoSep);
  return at < 0 ? name : name.slice(0, at);
}

function parseUid(name: string, md5: string): number | undefined {
  if (!name.includes(`,FMD5=${md5}`)) return undefined;
  const match = UID_PATTERN.exec(name);
  if (match === null) return undefined;
  const uid = Number(match[1]);
  return uid >= 1 && uid <= MAX_UID ? uid : undefined;
}

function parseFlags(name: string, infoSep: InfoSep): string {
  const at = name.indexOf(`${infoSep}2,`);
  if (at < 0) return "";
  return sortFlags(flagRunAt(name, at + 3));
}

function flagRunAt(name: string, start: number): string {
  WORD_RUN.lastIndex = start;
  return WORD_RUN.exec(name)?.[0] ?? "";
}

/**
 * Returns the flag letters deduplicated and sorted by code point: `D F P R S T` before the
 * lower-case custom letters, as OfflineIMAP's `''.join(sorted(flags))`.
 */
export function sortFlags(flags: string): string {
  if (isCanonical(flags)) return flags;
  const unique = [...new Set(flags)];
  unique.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return unique.join("");
}

/** Fast path of {@link sortFlags}: true when `flags` is ASCII, strictly ascending. */
function isCanonical(flags: string): boolean {
  for (let i = 0; i < flags.length; i++) {
    const code = flags.charCodeAt(i);
    if (code > 0x7f || (i > 0 && code <= flags.charCodeAt(i - 1))) return false;
  }
  return true;
}

/** The fields of a name OfflineIMAP writes (formats.md §1.2). */
export interface MaildirNameFields {
  readonly secs: number;
  readonly seq: number;
  readonly pid: number;
  readonly host: string;
  /** Remote UID; without it the name has neither `,U=` nor `,FMD5=` (a new local message). */
  readonly uid?: number;
  readonly fmd5: string;
  readonly flags: string;
  readonly infoSep: InfoSep;
}

/**
 * Builds `<secs>_<seq>.<pid>.<host>,U=<uid>,FMD5=<md5><sep>2,<flags>` with the flags in
 * canonical order, then replaces every `/` with `-` (only the host name could hold one).
 */
export function formatMaildirName(fields: MaildirNameFields): string {
  const tag = fields.uid === undefined ? "" : `,U=${fields.uid},FMD5=${fields.fmd5}`;
  const name = `${fields.secs}_${fields.seq}.${fields.pid}.${fields.host}${tag}` +
    `${fields.infoSep}2,${sortFlags(fields.flags)}`;
  return name.replaceAll("/", "-");
}

/**
 * Returns `name` with its flags replaced (formats.md §1.4): the first `<sep>2,<word characters>`
 * becomes `<sep>2,<sorted flags>`; a name without one gets it appended. The rest of the name is
 * kept, so mutt-style and foreign names keep their unique part.
 */
export function replaceFlags(name: string, flags: string, infoSep: InfoSep): string {
  const info = `${infoSep}2,${sortFlags(flags)}`;
  const at = name.indexOf(`${infoSep}2,`);
  if (at < 0) return name + info;
  // OfflineIMAP cuts len(match) characters off the end, which mangles a name whose info is not
  // last; replacing the match in place gives the same result for every name it handles well.
  const end = at + 3 + flagRunAt(name, at + 3).length;
  return name.slice(0, at) + info + name.slice(end);
}

/** Lower-case hex MD5 of the UTF-8 bytes of a folder's visible name (the `FMD5=` value). */
export function folderMd5(visibleName: string): string {
  return createHash("md5").update(visibleName, "utf8").digest("hex");
}

/** Per-process `secs → last seq` table shared by every generator, like OfflineIMAP's `timehash`. */
const sequences = new Map<number, number>();
/** Bound on `sequences`: a daemon making names for months must not grow it forever. */
const MAX_SEQUENCE_ENTRIES = 10_000;

function nextSequence(secs: number): number {
  const seq = (sequences.get(secs) ?? -1) + 1;
  sequences.delete(secs);
  sequences.set(secs, seq);
  if (sequences.size > MAX_SEQUENCE_ENTRIES) {
    // Map iteration is insertion order: the least recently used seconds go first. Reusing a
    // forgotten second would need the clock to step back by hours, and the name also holds U=.
    for (const old of sequences.keys()) {
      sequences.delete(old);
      if (sequences.size <= MAX_SEQUENCE_ENTRIES / 2) break;
    }
  }
  return seq;
}

/** Fixed parts of the names a {@link NameGenerator} makes. */
export interface NameGeneratorOptions {
  /** Default `Deno.pid`. */
  readonly pid?: number;
  /** Default `Deno.hostname()` (needs `--allow-sys`). */
  readonly host?: string;
  /** Clock in milliseconds, default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Makes new file names. The `seq` counter is kept per `secs` value and shared by all generators
 * of the process, so `secs_seq` is unique within one run, as in OfflineIMAP.
 */
export class NameGenerator {
  readonly #pid: number;
  readonly #host: string;
  readonly #now: () => number;

  constructor(options: NameGeneratorOptions = {}) {
    this.#pid = options.pid ?? Deno.pid;
    this.#host = options.host ?? Deno.hostname();
    this.#now = options.now ?? Date.now;
  }

  /** Returns a fresh name; `secs` defaults to the current time. */
  next(
    fields: {
      readonly uid?: number;
      readonly fmd5: string;
      readonly flags: string;
      readonly infoSep: InfoSep;
      readonly secs?: number;
    },
  ): string {
    const secs = fields.secs ?? Math.floor(this.#now() / 1000);
    return formatMaildirName({
      ...fields,
      secs,
      seq: nextSequence(secs),
      pid: this.#pid,
      host: this.#host,
    });
  }
}
