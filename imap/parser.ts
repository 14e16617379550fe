/**
 * Turns one framed response ({@link RawResponse}) into a typed {@link Response}. Pure: tested
 * from strings. Every failure is an {@link ImapProtocolError} quoting the offending bytes.
 *
 * @module
 */

import { ImapProtocolError, showBytes } from "./errors.ts";
import type { RawResponse } from "./framer.ts";
import type {
  FetchData,
  ImapValue,
  ListEntry,
  Response,
  ResponseCode,
  SpecialUse,
  StatusWord,
  StreamedLiteral,
} from "./types.ts";

const SPECIAL_USES: readonly SpecialUse[] = [
  "\\All",
  "\\Archive",
  "\\Drafts",
  "\\Flagged",
  "\\Junk",
  "\\Sent",
  "\\Trash",
];
const SPECIAL_USE = new Map(SPECIAL_USES.map((u) => [u.toLowerCase(), u]));

const STREAMED: StreamedLiteral = Object.freeze({ streamed: true as const });
const UTF8 = new TextDecoder("utf-8");
const ENCODER = new TextEncoder();

/** Characters that end an atom (RFC 3501 atom-specials, minus `]`, handled by context). */
const ATOM_END = new Set([" ", "(", ")", "{", '"', "\r", "\n"]);

const MONTHS: Record<string, number> = {
  JAN: 0,
  FEB: 1,
  MAR: 2,
  APR: 3,
  MAY: 4,
  JUN: 5,
  JUL: 6,
  AUG: 7,
  SEP: 8,
  OCT: 9,
  NOV: 10,
  DEC: 11,
};

/** A cursor over the lines and literals of one response. */
class Cursor {
  #texts: string[];
  #literals: readonly (Uint8Array | null)[];
  line = 0;
  pos = 0;

  constructor(texts: string[], literals: readonly (Uint8Array | null)[]) {
    this.#texts = texts;
    this.#literals = literals;
  }

  get text(): string {
    return this.#texts[this.line] ?? "";
  }

  get atEnd(): boolean {
    return this.line >= this.#texts.length - 1 && this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? "";
  }

  fail(what: string): never {
    const bytes = ENCODER.encode(this.#texts[0] ?? "");
    throw new ImapProtocolError(`Cannot parse server response: ${what}: ${showBytes(bytes, 120)}`);
  }

  skipSpaces(): void {
    while (this.peek() === " ") this.pos++;
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected "${ch}" at column ${this.pos}`);
    this.pos++;
  }

  /** The rest of the current line (used for human-readable text). */
  rest(): string {
    const out = this.text.slice(this.pos);
    this.pos = this.text.length;
    return out;
  }

  /** Reads an atom; with `brackets`, `[...]` and a following `<...>` belong to it. */
  atom(brackets = false): string {
    const text = this.text;
    const start = this.pos;
    while (this.pos < text.length) {
      const ch = text[this.pos]!;
      if (ch === "[" && brackets) {
        const close = text.indexOf("]", this.pos);
        if (close < 0) this.fail('unterminated "["');
        this.pos = close + 1;
        if (text[this.pos] === "<") {
          const end = text.indexOf(">", this.pos);
          if (end < 0) this.fail('unterminated "<"');
          this.pos = end + 1;
        }
        continue;
      }
      if (ATOM_END.has(ch) || ch === "]" || ch.charCodeAt(0) < 0x20) break;
      this.pos++;
    }
    if (this.pos === start) this.fail(`expected an atom at column ${start}`);
    return text.slice(start, this.pos);
  }

  quoted(): string {
    this.expect('"');
    const text = this.text;
    let out = "";
    for (;;) {
      if (this.pos >= text.length) this.fail("unterminated quoted string");
      const ch = text[this.pos++]!;
      if (ch === '"') return out;
      if (ch === "\\") {
        const next = text[this.pos++];
        if (next === undefined) this.fail("unterminated quoted string");
        out += next;
      } else out += ch;
    }
  }

  literal(): Uint8Array | StreamedLiteral {
    const match = /^\{(\d+)\+?\}$/.exec(this.text.slice(this.pos));
    if (!match) this.fail(`literal marker must end the line at column ${this.pos}`);
    const value = this.#literals[this.line];
    if (value === undefined) this.fail("literal without data");
    this.line++;
    this.pos = 0;
    return value === null ? STREAMED : value;
  }

  /** Reads any value: atom, NIL, number, quoted string, literal or parenthesised list. */
  value(brackets = false): ImapValue {
    const ch = this.peek();
    if (ch === "(") return this.list();
    if (ch === '"') return this.quoted();
    if (ch === "{") return this.literal();
    // RFC 3516 literal8 (BINARY[] bodies): "~{n}".
    if (ch === "~" && this.text[this.pos + 1] === "{") {
      this.pos++;
      return this.literal();
    }
    if (ch === "") this.fail("unexpected end of response");
    const atom = this.atom(brackets);
    return atom.toUpperCase() === "NIL" ? null : atom;
  }

  list(): ImapValue[] {
    this.expect("(");
    const out: ImapValue[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.peek() === ")") {
        this.pos++;
        return out;
      }
      if (this.peek() === "" && this.line >= this.#texts.length - 1) this.fail("unterminated list");
      out.push(this.value(true));
    }
  }
}

function asText(value: ImapValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return UTF8.decode(value);
  return undefined;
}

const UID_SET = /^\d+(:\d+)?(,\d+(:\d+)?)*$/;

/** Largest number32 / nz-number (RFC 3501 9). */
const MAX_NUMBER = 0xffffffff;

function asNumber(value: ImapValue | undefined, cursor: Cursor, what: string): number {
  const text = asText(value);
  if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) > MAX_NUMBER) {
    cursor.fail(`${what} is not a 32-bit number`);
  }
  return Number(text);
}

/** Largest mod-sequence value (RFC 7162 7: 63 bits). */
const MAX_MODSEQ = (1n << 63n) - 1n;

function asBig(value: ImapValue | undefined, cursor: Cursor, what: string): bigint {
  const text = asText(value);
  if (text === undefined || !/^\d{1,20}$/.test(text)) cursor.fail(`${what} is not a number`);
  const big = BigInt(text);
  if (big > MAX_MODSEQ) cursor.fail(`${what} is out of range`);
  return big;
}

function asStrings(value: ImapValue | undefined, cursor: Cursor, what: string): string[] {
  if (!Array.isArray(value)) cursor.fail(`${what} is not a list`);
  return value.map((v) => asText(v) ?? cursor.fail(`${what} holds a non-string`));
}

const INTERNAL_DATE = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/;

/** Parses an INTERNALDATE such as `17-Jul-1996 02:44:25 -0700`. */
export function parseInternalDate(text: string): Date | undefined {
  const m = INTERNAL_DATE.exec(text);
  if (!m) return undefined;
  const month = MONTHS[m[2]!.toUpperCase()];
  if (month === undefined) return undefined;
  const offset = (m[7] === "-" ? -1 : 1) * (+m[8]! * 60 + +m[9]!);
  const utc = Date.UTC(+m[3]!, month, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  return new Date(utc - offset * 60_000);
}

function parseCode(cursor: Cursor): ResponseCode | undefined {
  if (cursor.peek() !== "[") return undefined;
  cursor.pos++;
  const name = cursor.atom().toUpperCase();
  const args: ImapValue[] = [];
  for (;;) {
    cursor.skipSpaces();
    const ch = cursor.peek();
    if (ch === "]") {
      cursor.pos++;
      break;
    }
    if (ch === "") cursor.fail("unterminated response code");
    args.push(cursor.value());
  }
  cursor.skipSpaces();
  return { name, args };
}

function parseFetch(seq: number, cursor: Cursor): FetchData {
  const data: FetchData = { seq, sections: new Map(), other: new Map() };
  cursor.expect("(");
  for (;;) {
    cursor.skipSpaces();
    if (cursor.peek() === ")") {
      cursor.pos++;
      break;
    }
    const key = cursor.atom(true);
    const upper = key.toUpperCase();
    cursor.skipSpaces();
    const value = cursor.value();
    switch (upper) {
      case "UID":
        data.uid = asNumber(value, cursor, "UID");
        break;
      case "FLAGS":
        data.flags = asStrings(value, cursor, "FLAGS");
        break;
      case "RFC822.SIZE":
        data.size = asNumber(value, cursor, "RFC822.SIZE");
        break;
      case "INTERNALDATE": {
        const text = asText(value);
        const date = text === undefined ? undefined : parseInternalDate(text);
        if (!date) cursor.fail("INTERNALDATE is not a date");
        data.internalDate = date;
        break;
      }
      case "MODSEQ":
        data.modseq = asBig(Array.isArray(value) ? value[0] : undefined, cursor, "MODSEQ");
        break;
      default:
        if (/^(BODY|BINARY|RFC822)(\.|\[|$)/.test(upper) && !/^BODY(STRUCTURE)?$/.test(upper)) {
          if (Array.isArray(value)) cursor.fail(`${key} is a list`);
          data.sections.set(
            normalizeSection(key),
            typeof value === "string" ? ENCODER.encode(value) : value,
          );
        } else {
          data.other.set(upper, value);
        }
    }
  }
  return data;
}

/** Upper-cases a section name outside of quoted field names; drops a `.PEEK`. */
export function normalizeSection(key: string): string {
  if (key === "BODY[]") return key;
  return key.replace(/\.PEEK\[/i, "[").replace(/^[^[]*/, (head) => head.toUpperCase());
}

function parseList(cursor: Cursor): ListEntry {
  const attributes = asStrings(cursor.list(), cursor, "LIST attributes");
  cursor.skipSpaces();
  const delimiterValue = cursor.value();
  const delimiter = delimiterValue === null ? null : asText(delimiterValue as ImapValue);
  if (delimiter === undefined) cursor.fail("LIST delimiter");
  cursor.skipSpaces();
  const nameValue = cursor.value();
  const name = nameValue === null ? "NIL" : asText(nameValue);
  if (name === undefined) cursor.fail("LIST mailbox name");
  // LIST-EXTENDED (RFC 5258) may append extended data such as ("CHILDINFO" ("SUBSCRIBED")).
  cursor.skipSpaces();
  if (cursor.peek() === "(") cursor.list();
  const specialUse = attributes.map((a) => SPECIAL_USE.get(a.toLowerCase())).find((u) => u);
  return specialUse ? { attributes, delimiter, name, specialUse } : { attributes, delimiter, name };
}

function parseNumbers(cursor: Cursor): { numbers: number[]; modseq?: bigint } {
  const numbers: number[] = [];
  let modseq: bigint | undefined;
  for (;;) {
    cursor.skipSpaces();
    if (cursor.atEnd || cursor.peek() === "") break;
    if (cursor.peek() === "(") {
      const extra = cursor.list();
      if (asText(extra[0])?.toUpperCase() === "MODSEQ") {
        modseq = asBig(extra[1], cursor, "SEARCH MODSEQ");
      }
      continue;
    }
    numbers.push(asNumber(cursor.atom(), cursor, "SEARCH result"));
  }
  return { numbers, modseq };
}

function rest(cursor: Cursor): ImapValue[] {
  const values: ImapValue[] = [];
  for (;;) {
    cursor.skipSpaces();
    if (cursor.peek() === "" && cursor.atEnd) return values;
    if (cursor.peek() === "") cursor.fail("unexpected data");
    values.push(cursor.value(true));
  }
}

function parseUntagged(cursor: Cursor): Response {
  const first = cursor.atom();
  const upper = first.toUpperCase();
  if (/^\d{1,10}$/.test(first)) {
    const number = Number(first);
    cursor.expect(" ");
    const keyword = cursor.atom().toUpperCase();
    if (number > MAX_NUMBER) cursor.fail("message number is not a 32-bit number");
    switch (keyword) {
      case "EXISTS":
        return { kind: "exists", count: number };
      case "RECENT":
        return { kind: "recent", count: number };
      case "EXPUNGE":
        return { kind: "expunge", seq: number };
      case "FETCH":
        cursor.skipSpaces();
        return { kind: "fetch", data: parseFetch(number, cursor) };
      default:
        return { kind: "other", keyword, values: [first, ...rest(cursor)] };
    }
  }
  switch (upper) {
    case "OK":
    case "NO":
    case "BAD":
    case "BYE":
    case "PREAUTH": {
      cursor.skipSpaces();
      const code = parseCode(cursor);
      return { kind: "status", status: upper as StatusWord, code, text: cursor.rest() };
    }
    case "CAPABILITY":
      return {
        kind: "capability",
        capabilities: rest(cursor).map((v) => String(asText(v) ?? "")),
      };
    case "ENABLED":
      return { kind: "enabled", capabilities: rest(cursor).map((v) => String(asText(v) ?? "")) };
    case "LIST":
    case "LSUB":
      cursor.skipSpaces();
      return { kind: "list", command: upper, entry: parseList(cursor) };
    case "FLAGS":
      cursor.skipSpaces();
      return { kind: "flags", flags: asStrings(cursor.list(), cursor, "FLAGS") };
    case "SEARCH":
      return { kind: "search", ...parseNumbers(cursor) };
    case "STATUS": {
      cursor.skipSpaces();
      const mailbox = asText(cursor.value());
      if (mailbox === undefined) cursor.fail("STATUS mailbox");
      cursor.skipSpaces();
      const list = cursor.list();
      const items = new Map<string, bigint>();
      for (let i = 0; i + 1 < list.length; i += 2) {
        const name = asText(list[i]);
        if (name === undefined) cursor.fail("STATUS item name");
        items.set(name.toUpperCase(), asBig(list[i + 1], cursor, `STATUS ${name}`));
      }
      return { kind: "mailboxStatus", mailbox, items };
    }
    case "VANISHED": {
      cursor.skipSpaces();
      let earlier = false;
      if (cursor.peek() === "(") {
        earlier = cursor.list().some((v) => asText(v)?.toUpperCase() === "EARLIER");
        cursor.skipSpaces();
      }
      const uids = cursor.atom();
      if (!UID_SET.test(uids)) cursor.fail("VANISHED is not a UID set");
      return { kind: "vanished", earlier, uids };
    }
    default:
      return { kind: "other", keyword: upper, values: rest(cursor) };
  }
}

/**
 * Parses one framed response. Throws {@link ImapProtocolError} when it is not valid IMAP.
 *
 * @example
 * ```ts
 * import { parseResponse } from "./parser.ts";
 * const enc = new TextEncoder();
 * const r = parseResponse({ lines: [enc.encode("* 3 EXISTS")], literals: [] });
 * console.assert(r.kind === "exists" && r.count === 3);
 * ```
 */
export function parseResponse(raw: RawResponse): Response {
  return parseDecoded(raw.lines.map((line) => UTF8.decode(line)), raw.literals);
}

/**
 * {@link parseResponse} for lines already decoded (as UTF-8): lets a caller that looked at the
 * text parse it without decoding it again.
 */
export function parseDecoded(
  texts: string[],
  literals: readonly (Uint8Array | null)[],
): Response {
  const cursor = new Cursor(texts, literals);
  const text = cursor.text;
  if (text.startsWith("+")) {
    return { kind: "continuation", text: text.slice(text[1] === " " ? 2 : 1) };
  }
  if (text.startsWith("* ")) {
    cursor.pos = 2;
    return parseUntagged(cursor);
  }
  const tag = cursor.atom();
  cursor.expect(" ");
  const status = cursor.atom().toUpperCase();
  if (status !== "OK" && status !== "NO" && status !== "BAD") {
    cursor.fail(`tagged response status "${status}" is not OK, NO or BAD`);
  }
  cursor.skipSpaces();
  const code = parseCode(cursor);
  return { kind: "tagged", tag, status: status as "OK" | "NO" | "BAD", code, text: cursor.rest() };
}

/** Convenience for tests and transcripts: parses a response given as one string. */
export function parseResponseText(text: string): Response {
  const lines: Uint8Array[] = [];
  const literals: Array<Uint8Array | null> = [];
  let rest = text.replace(/\r?\n$/, "");
  for (;;) {
    const m = /\{(\d+)\+?\}\r?\n/.exec(rest);
    if (!m) break;
    const head = rest.slice(0, m.index + m[0].replace(/\r?\n$/, "").length);
    lines.push(ENCODER.encode(head));
    const bodyStart = m.index + m[0].length;
    const size = Number(m[1]);
    const bytes = ENCODER.encode(rest.slice(bodyStart));
    literals.push(bytes.slice(0, size));
    rest = new TextDecoder().decode(bytes.slice(size));
  }
  lines.push(ENCODER.encode(rest));
  return parseResponse({ lines, literals });
}
