/**
 * Flag algebra over Maildir flag letters, and the mapping between letters and IMAP flags.
 *
 * Flags travel through the engine as canonical letter strings: each letter once, sorted by code
 * point, so upper-case `D F P R S T` come before the lower-case custom letters `a`-`z`
 * (`formats.md` §1.2). Every function here returns canonical strings, so results can be compared
 * with `===` and written to the status store as they are.
 *
 * Pure: no I/O, no `Deno.*`, no `node:*` (`STYLE.md` §2.1 rule 3).
 *
 * @module
 */

import type { FlagLetters } from "../repository/folder.ts";

/** IMAP system flag (lower-cased, since flags match case-insensitively) → Maildir letter. */
const SYSTEM_FLAG_LETTERS: ReadonlyMap<string, string> = new Map([
  ["\\draft", "D"],
  ["\\flagged", "F"],
  ["\\answered", "R"],
  ["\\seen", "S"],
  ["\\deleted", "T"],
]);

/** Maildir letter → IMAP flag as sent to the server. */
const LETTER_IMAP_FLAGS: ReadonlyMap<string, string> = new Map([
  ["D", "\\Draft"],
  ["F", "\\Flagged"],
  // DECISIONS.md #3: "passed" has no system flag; the `$Forwarded` keyword means the same.
  ["P", "$Forwarded"],
  ["R", "\\Answered"],
  ["S", "\\Seen"],
  ["T", "\\Deleted"],
]);

const FORWARDED_KEYWORD = "$forwarded";

/** Options of {@link imapFlagsToLetters}. */
export interface ImapFlagsToLettersOptions {
  /**
   * The `customflag_<letter>` options of the local Maildir: lower-case letter → IMAP keyword.
   * Keywords are matched case-sensitively, as OfflineIMAP does.
   */
  readonly customFlags?: Readonly<Record<string, string>>;
}

/**
 * Returns the canonical form of a letter string: each letter once, sorted by code point.
 *
 * @example
 * ```ts
 * sortFlags("SFS"); // "FS"
 * ```
 */
export function sortFlags(s: string): FlagLetters {
  // Hot path (called per message in every sync): most strings are already canonical.
  let canonical = true;
  for (let i = 1; i < s.length; i++) {
    if (s[i - 1]! >= s[i]!) {
      canonical = false;
      break;
    }
  }
  if (canonical) return s;
  return [...new Set(s)].sort(compareCodePoints).join("");
}

/** Letters present in `a` or `b`, canonical. */
export function flagUnion(a: FlagLetters, b: FlagLetters): FlagLetters {
  return sortFlags(a + b);
}

/** Letters present in `a` and not in `b`, canonical. */
export function flagDiff(a: FlagLetters, b: FlagLetters): FlagLetters {
  return sortFlags([...a].filter((letter) => !b.includes(letter)).join(""));
}

/** Letters present in both `a` and `b`, canonical. */
export function flagIntersect(a: FlagLetters, b: FlagLetters): FlagLetters {
  return sortFlags([...a].filter((letter) => b.includes(letter)).join(""));
}

/** Whether `flags` contains the single letter `letter`. */
export function hasFlag(flags: FlagLetters, letter: string): boolean {
  return letter.length === 1 && flags.includes(letter);
}

/**
 * Converts the flags of a FETCH FLAGS response to Maildir letters.
 *
 * System flags match case-insensitively (RFC 3501 §2.3.2); `$Forwarded` becomes `P`
 * (DECISIONS.md #3); keywords named in `opts.customFlags` become their letter. Everything else
 * (`\Recent`, unmapped keywords) is dropped, as OfflineIMAP drops it.
 *
 * @example
 * ```ts
 * imapFlagsToLetters(["\\Seen", "\\Flagged", "$Junk"]); // "FS"
 * imapFlagsToLetters(["todo"], { customFlags: { a: "todo" } }); // "a"
 * ```
 */
export function imapFlagsToLetters(
  flags: readonly string[],
  opts: ImapFlagsToLettersOptions = {},
): FlagLetters {
  const custom = opts.customFlags;
  let letters = "";
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    const letter = SYSTEM_FLAG_LETTERS.get(lower) ??
      (lower === FORWARDED_KEYWORD
        ? "P"
        : custom === undefined
        ? undefined
        : letterOf(custom, flag));
    if (letter !== undefined) letters += letter;
  }
  return sortFlags(letters);
}

/**
 * The `customflag_<letter>` letter of a keyword (matched case-sensitively), if any; of two letters
 * for one keyword, the later one.
 */
function letterOf(custom: Readonly<Record<string, string>>, keyword: string): string | undefined {
  let found: string | undefined;
  for (const [letter, value] of Object.entries(custom)) {
    if (value === keyword) found = letter;
  }
  return found;
}

/**
 * Converts Maildir letters to IMAP flags, in letter order: `D F R S T` to their system flags and
 * `P` to `$Forwarded` (DECISIONS.md #3). Other letters are dropped: OfflineIMAP never turns
 * custom letters back into keywords. Whether the server can store a flag is the caller's
 * concern (see `PlanOptions.remoteStorableFlags`).
 *
 * @example
 * ```ts
 * lettersToImapFlags("FPSa"); // ["\\Flagged", "$Forwarded", "\\Seen"]
 * ```
 */
export function lettersToImapFlags(letters: FlagLetters): string[] {
  const flags: string[] = [];
  for (const letter of sortFlags(letters)) {
    const flag = LETTER_IMAP_FLAGS.get(letter);
    if (flag !== undefined) flags.push(flag);
  }
  return flags;
}

/** A letter whose value the two sides disagree on with no base to decide, and the value kept. */
export interface MergeConflict {
  readonly flag: string;
  /** Whether the merged result has the letter. */
  readonly kept: boolean;
}

/** Result of {@link mergeFlags}. */
export interface MergeResult {
  readonly merged: FlagLetters;
  /** Sorted by letter; empty whenever a base was given. */
  readonly conflicts: readonly MergeConflict[];
}

/**
 * Three-way merge of one message's flags, letter by letter (`sync-algorithm.md` §3.2).
 *
 * With a base (`status`, the flags both sides agreed on at the last sync) a change on either side
 * wins: a letter in the base ends set iff neither side cleared it; a letter not in the base ends
 * set iff at least one side set it. Letters are binary, so two sides can only change a letter
 * the same way: this never reports a conflict.
 *
 * Without a base (`status` undefined: the message is on both sides but the status never saw it)
 * local wins, as in OfflineIMAP where the local→remote pass pushes the Maildir's flags last; each
 * letter the sides disagree on is reported as a conflict.
 *
 * @example
 * ```ts
 * mergeFlags("S", "FS", "").merged; // "F": local set F, remote cleared S
 * mergeFlags(undefined, "S", "FS"); // { merged: "S", conflicts: [{ flag: "F", kept: false }] }
 * ```
 */
export function mergeFlags(
  status: FlagLetters | undefined,
  local: FlagLetters,
  remote: FlagLetters,
): MergeResult {
  if (status === undefined) {
    const conflicts = [...flagUnion(flagDiff(local, remote), flagDiff(remote, local))].map(
      (flag) => ({ flag, kept: local.includes(flag) }),
    );
    return { merged: sortFlags(local), conflicts };
  }
  let merged = "";
  for (const letter of flagUnion(status, flagUnion(local, remote))) {
    const keep = status.includes(letter)
      ? local.includes(letter) && remote.includes(letter)
      : local.includes(letter) || remote.includes(letter);
    if (keep) merged += letter;
  }
  return { merged, conflicts: [] };
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
