/**
 * UID sets as IMAP writes them (RFC 3501 §9 `sequence-set`): `1:5,9`.
 *
 * Works on plain numbers; the branded `Uid` type of `types.ts` is a `number` underneath.
 *
 * @module
 */

/** Largest UID: `nz-number` is a non-zero unsigned 32-bit integer (RFC 3501 §9). */
const MAX_UID = 4294967295;

/**
 * Most members {@link parseUidSet} expands a set to, so a hostile `1:4294967295` cannot
 * exhaust memory.
 */
const MAX_EXPANDED = 10_000_000;

const NUMBER = /^[1-9][0-9]*$/;

/**
 * Writes UIDs as the shortest sequence set: sorted, duplicates dropped, runs as ranges.
 *
 * @throws {RangeError} when `uids` is empty (IMAP has no empty set) or holds a value that is
 *   not an integer from 1 to 4294967295
 *
 * @example
 * ```ts
 * compressUids([9, 3, 1, 2, 4, 5, 2]); // "1:5,9"
 * ```
 */
export function compressUids(uids: readonly number[]): string {
  if (uids.length === 0) throw new RangeError("Cannot compress UIDs: the list is empty");
  return uidRanges(uids).join(",");
}

/**
 * Reads a sequence set into its members, ascending and without duplicates. A range may be
 * written backwards (`5:1`). `*` stands for `max`, the largest UID in use; it is not used to clip
 * other members.
 *
 * @throws {SyntaxError} when `text` is not a sequence set, or holds `*` and no `max` was given
 * @throws {RangeError} when `max` is not a valid UID, or the set has more than 10,000,000 members
 *
 * @example
 * ```ts
 * parseUidSet("1:3,7"); // [1, 2, 3, 7]
 * parseUidSet("5:*", 6); // [5, 6]
 * ```
 */
export function parseUidSet(text: string, max?: number): number[] {
  if (max !== undefined && !isUid(max)) {
    throw new RangeError(`Cannot parse UID set "${text}": largest UID "${max}" is not valid`);
  }
  const ranges: Array<[number, number]> = [];
  let size = 0;
  for (const item of text.split(",")) {
    const bounds = item.split(":");
    if (bounds.length > 2) throw parseError(text, `"${item}" is not a number or range`);
    const first = parseMember(text, bounds[0]!, max);
    const last = bounds.length === 2 ? parseMember(text, bounds[1]!, max) : first;
    const low = Math.min(first, last);
    const high = Math.max(first, last);
    size += high - low + 1;
    if (size > MAX_EXPANDED) {
      throw new RangeError(
        `Cannot parse UID set "${text}": more than ${MAX_EXPANDED} members`,
      );
    }
    ranges.push([low, high]);
  }
  const members = new Set<number>();
  for (const [low, high] of ranges) {
    for (let uid = low; uid <= high; uid++) members.add(uid);
  }
  return [...members].sort((a, b) => a - b);
}

/**
 * Splits UIDs into sequence sets of at most `maxLen` characters each, for command lines that a
 * server limits in length. Input order and duplicates do not matter; the sets ascend and, joined
 * with `,`, equal {@link compressUids} of the input. No input gives no sets.
 *
 * @throws {RangeError} when a single range of the input is longer than `maxLen`, or a UID is
 *   invalid as for {@link compressUids}
 *
 * @example
 * ```ts
 * chunkUids([1, 2, 3, 10, 20, 30], 8); // ["1:3,10", "20,30"]
 * ```
 */
export function chunkUids(uids: readonly number[], maxLen: number): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const range of uidRanges(uids)) {
    if (range.length > maxLen) {
      throw new RangeError(
        `Cannot split UIDs into sets of ${maxLen} characters: range "${range}" is longer`,
      );
    }
    if (current === "") {
      current = range;
    } else if (current.length + 1 + range.length <= maxLen) {
      current += `,${range}`;
    } else {
      chunks.push(current);
      current = range;
    }
  }
  if (current !== "") chunks.push(current);
  return chunks;
}

/** The ranges of a UID list (`"1:5"`, `"9"`), ascending. */
function uidRanges(uids: readonly number[]): string[] {
  for (const uid of uids) {
    if (!isUid(uid)) {
      throw new RangeError(`Cannot use UID "${uid}": not an integer from 1 to ${MAX_UID}`);
    }
  }
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const low = sorted[i]!;
    let high = low;
    while (i + 1 < sorted.length && sorted[i + 1] === high + 1) high = sorted[++i]!;
    ranges.push(low === high ? `${low}` : `${low}:${high}`);
    i++;
  }
  return ranges;
}

function parseMember(text: string, member: string, max: number | undefined): number {
  if (member === "*") {
    if (max === undefined) throw parseError(text, `"*" needs the largest UID in use`);
    return max;
  }
  if (!NUMBER.test(member)) throw parseError(text, `"${member}" is not a UID`);
  const value = Number(member);
  if (value > MAX_UID) throw parseError(text, `"${member}" is larger than ${MAX_UID}`);
  return value;
}

function parseError(text: string, details: string): SyntaxError {
  return new SyntaxError(`Cannot parse UID set "${text}": ${details}`);
}

function isUid(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_UID;
}
