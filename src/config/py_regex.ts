/**
 * Python `re` semantics on top of JavaScript `RegExp` (python-expressions.md §4).
 *
 * A Python pattern is parsed by a small recursive-descent parser that mirrors `sre_parse`
 * (same syntax, same errors, same positions) and emitted as a JavaScript pattern that behaves
 * like Python's: `$` also matches before a final newline, `.` only excludes `\n`, `\w`/`\d`/`\s`
 * and `\b` use Python's Unicode definitions, `\A`/`\Z` exist, verbose mode is applied while
 * parsing, inline flags become JavaScript flags or explicit constructs. The result always runs
 * with the `u` flag (code points) and never with `v`.
 *
 * Matching follows Python's rules that JavaScript does not share: `match` is anchored at the
 * start position only, `fullmatch` must end at the end, and after an empty match the next match
 * may start at the same position if it is not empty (Python 3.7+, which `String.replace` does
 * not do). Replacement templates (`\1`, `\g<name>`, escapes) are expanded here, never handed to
 * `String.replace`.
 *
 * Everything is pure. Positions in this module are UTF-16 indices; {@link toCodePointIndex} and
 * {@link toUnitIndex} convert to and from the code-point indices Python shows.
 *
 * Known differences that cannot be expressed in JavaScript, refused or documented: atomic groups,
 * possessive quantifiers and conditional groups are refused; a quantified group keeps its last
 * capture in Python but is reset by JavaScript on each iteration; a backreference to a group that
 * did not take part in the match fails in Python but matches the empty string in JavaScript.
 *
 * @module
 */

/** Python's `re` flag values (`re.I` is 2, and so on). */
export const RE_FLAGS = {
  TEMPLATE: 1,
  IGNORECASE: 2,
  LOCALE: 4,
  MULTILINE: 8,
  DOTALL: 16,
  UNICODE: 32,
  VERBOSE: 64,
  DEBUG: 128,
  ASCII: 256,
} as const;

const I = RE_FLAGS.IGNORECASE;
const M = RE_FLAGS.MULTILINE;
const S = RE_FLAGS.DOTALL;
const U = RE_FLAGS.UNICODE;
const X = RE_FLAGS.VERBOSE;
const A = RE_FLAGS.ASCII;
const L = RE_FLAGS.LOCALE;

const INLINE_FLAGS: Readonly<Record<string, number>> = { i: I, L, m: M, s: S, x: X, a: A, u: U };

/** Python's `re.error` (or the other exception Python raises, see {@link pythonType}). */
export class RegexError extends Error {
  /** Position (code points) in the pattern or template, when known. */
  readonly pos?: number;
  /** Python exception class: `re.error`, or `ValueError`/`IndexError` where Python uses those. */
  readonly pythonType: string;
  constructor(message: string, pos?: number, pythonType = "re.error") {
    super(pos === undefined ? message : `${message} at position ${pos}`);
    this.name = "RegexError";
    this.pos = pos;
    this.pythonType = pythonType;
  }
}

/** A pattern that Python accepts but that cannot run on JavaScript's engine. */
export class RegexUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegexUnsupportedError";
  }
}

/** A Python pattern compiled to JavaScript. */
export interface CompiledRegex {
  /** The Python pattern text. */
  readonly pattern: string;
  /** Python's `.flags`: the flags given, the inline global flags, and `re.UNICODE`. */
  readonly flags: number;
  /** Number of capturing groups. */
  readonly groups: number;
  /** Group name → group number. */
  readonly groupIndex: ReadonlyMap<string, number>;
  /** Group number → name, for `lastgroup`. */
  readonly groupNames: ReadonlyMap<number, string>;
  /** `lastInside[g]`: highest group number nested in group g, to find Python's `lastindex`. */
  readonly lastInside: readonly number[];
  /** The JavaScript pattern (without delimiters), for tests and debugging. */
  readonly source: string;
  /** JavaScript flags used by every matcher built from {@link source}. */
  readonly jsFlags: string;
  /** Searching matcher (flags `g`, `d`), shared: always set `lastIndex` before use. */
  readonly search: RegExp;
  /** Anchored matcher (flags `y`, `d`). */
  readonly sticky: RegExp;
  /** Anchored matcher that must end at the end of the input. */
  readonly full: RegExp;
}

/** One match: UTF-16 spans of the whole match (index 0) and of every group. */
export interface RegexMatch {
  readonly regex: CompiledRegex;
  /** The string searched (already cut at `endpos`). */
  readonly input: string;
  /** `spans[g]` is `[start, end]` of group `g`, or undefined when the group did not match. */
  readonly spans: readonly (readonly [number, number] | undefined)[];
  /** Python's `pos` and `endpos`, UTF-16. */
  readonly pos: number;
  readonly endpos: number;
  /** Number of the last group that matched (Python's `lastindex`), or undefined. */
  readonly lastIndex?: number;
}

// ---------------------------------------------------------------------------------------------
// Code points

const SURROGATE = /[\uD800-\uDFFF]/;

/** Converts a UTF-16 index of `text` to a code-point index. */
export function toCodePointIndex(text: string, unit: number): number {
  if (!SURROGATE.test(text)) return unit;
  let cp = 0;
  for (let i = 0; i < unit && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    cp++;
  }
  return cp;
}

/** Converts a code-point index of `text` (clamped to its length) to a UTF-16 index. */
export function toUnitIndex(text: string, cp: number): number {
  if (!SURROGATE.test(text)) return Math.max(0, Math.min(cp, text.length));
  let unit = 0;
  for (let n = 0; n < cp && unit < text.length; n++) {
    const c = text.charCodeAt(unit);
    unit += c >= 0xd800 && c <= 0xdbff && unit + 1 < text.length &&
        text.charCodeAt(unit + 1) >= 0xdc00 && text.charCodeAt(unit + 1) <= 0xdfff
      ? 2
      : 1;
  }
  return unit;
}

function nextUnit(text: string, unit: number): number {
  const c = text.charCodeAt(unit);
  if (c >= 0xd800 && c <= 0xdbff && unit + 1 < text.length) {
    const d = text.charCodeAt(unit + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return unit + 2;
  }
  return unit + 1;
}

// ---------------------------------------------------------------------------------------------
// Parser (mirrors sre_parse of Python 3.11)

type Category = "d" | "D" | "w" | "W" | "s" | "S";

type SetItem =
  | { readonly t: "char"; readonly cp: number }
  | { readonly t: "range"; readonly lo: number; readonly hi: number }
  | { readonly t: "cat"; readonly cat: Category };

type Node =
  | { readonly t: "lit"; readonly cp: number }
  | { readonly t: "any"; readonly dotall: boolean }
  | {
    readonly t: "set";
    readonly negated: boolean;
    readonly items: SetItem[];
    readonly ascii: boolean;
  }
  | { readonly t: "cat"; readonly cat: Category; readonly ascii: boolean }
  | {
    readonly t: "at";
    readonly at: "bol" | "eol" | "A" | "Z" | "b" | "B";
    readonly multiline: boolean;
    readonly ascii: boolean;
  }
  | { readonly t: "group"; readonly index?: number; readonly name?: string; readonly body: Alt }
  | { readonly t: "look"; readonly behind: boolean; readonly negated: boolean; readonly body: Alt }
  | { readonly t: "backref"; readonly index: number; readonly name?: string }
  | {
    readonly t: "repeat";
    readonly body: Node;
    readonly min: number;
    readonly max: number;
    readonly lazy: boolean;
  }
  | { readonly t: "scoped"; readonly ignoreCase?: boolean; readonly body: Alt };

interface Alt {
  readonly t: "alt";
  readonly branches: Node[][];
}

const MAXREPEAT = 4294967295;
const DIGITS = "0123456789";
const OCTDIGITS = "01234567";
const HEXDIGITS = "0123456789abcdefABCDEF";
const ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const WHITESPACE = " \t\n\r\v\f";
const SPECIAL_CHARS = ".\\[{()*+?^$|";
const REPEAT_CHARS = "*+?{";

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 92,
};

class Source {
  readonly chars: string[];
  index = 0;
  constructor(readonly text: string) {
    this.chars = Array.from(text);
  }
  get next(): string | undefined {
    return this.chars[this.index];
  }
  peek(offset = 0): string | undefined {
    return this.chars[this.index + offset];
  }
  get(): string | undefined {
    const c = this.chars[this.index];
    if (c !== undefined) this.index++;
    return c;
  }
  match(c: string): boolean {
    if (this.chars[this.index] === c) {
      this.index++;
      return true;
    }
    return false;
  }
  getUntil(terminator: string, what: string): string {
    const start = this.index;
    let out = "";
    for (;;) {
      const c = this.get();
      if (c === undefined) {
        if (out === "") throw new RegexError(`missing ${what}`, start);
        throw new RegexError(`missing ${terminator}, unterminated name`, start);
      }
      if (c === terminator) {
        if (out === "") throw new RegexError(`missing ${what}`, this.index - 1);
        return out;
      }
      out += c;
    }
  }
  error(message: string, back = 0): RegexError {
    return new RegexError(message, this.index - back);
  }
}

interface ParseState {
  flags: number;
  groups: number;
  readonly groupIndex: Map<string, number>;
  readonly openGroups: Set<number>;
  readonly closedGroups: Set<number>;
  /** `lastInside[g]`: highest group number nested in group g (g itself when none). */
  readonly lastInside: number[];
  /** Lookbehind bodies to check for fixed width, with their positions. */
  readonly lookbehinds: Alt[];
}

function isIdentifier(name: string): boolean {
  return /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u.test(name);
}

function parsePattern(pattern: string, flags: number): { body: Alt; state: ParseState } {
  const source = new Source(pattern);
  const state: ParseState = {
    flags,
    groups: 0,
    groupIndex: new Map(),
    openGroups: new Set(),
    closedGroups: new Set(),
    lastInside: [0],
    lookbehinds: [],
  };
  const body = parseAlternation(source, state, 0);
  if (source.next !== undefined) {
    // Only a ")" can stop the top level early.
    throw new RegexError("unbalanced parenthesis", source.index);
  }
  for (const lb of state.lookbehinds) {
    const [lo, hi] = widthOf(lb);
    // Python gives no position for this one.
    if (lo !== hi) throw new RegexError("look-behind requires fixed-width pattern");
  }
  return { body, state };
}

function parseAlternation(source: Source, state: ParseState, nested: number): Alt {
  const branches: Node[][] = [];
  for (;;) {
    branches.push(parseSequence(source, state, nested, nested === 0 && branches.length === 0));
    if (!source.match("|")) break;
  }
  return { t: "alt", branches };
}

function parseSequence(source: Source, state: ParseState, nested: number, first: boolean): Node[] {
  const items: Node[] = [];
  for (;;) {
    const here = source.index;
    const c = source.next;
    if (c === undefined || c === "|" || c === ")") break;
    source.get();
    if (state.flags & X) {
      if (WHITESPACE.includes(c)) continue;
      if (c === "#") {
        for (;;) {
          const n = source.get();
          if (n === undefined || n === "\n") break;
        }
        continue;
      }
    }
    if (c === "\\") {
      items.push(parseEscape(source, state, here));
      continue;
    }
    if (!SPECIAL_CHARS.includes(c)) {
      items.push({ t: "lit", cp: c.codePointAt(0) as number });
      continue;
    }
    if (c === "[") {
      items.push(parseSet(source, state, here));
      continue;
    }
    if (REPEAT_CHARS.includes(c)) {
      let min: number;
      let max: number;
      if (c === "?") [min, max] = [0, 1];
      else if (c === "*") [min, max] = [0, MAXREPEAT];
      else if (c === "+") [min, max] = [1, MAXREPEAT];
      else {
        if (source.next === "}") {
          items.push({ t: "lit", cp: 123 });
          continue;
        }
        let lo = "";
        let hi = "";
        while (source.next !== undefined && DIGITS.includes(source.next)) lo += source.get();
        if (source.match(",")) {
          while (source.next !== undefined && DIGITS.includes(source.next)) hi += source.get();
        } else hi = lo;
        if (!source.match("}")) {
          items.push({ t: "lit", cp: 123 });
          source.index = here + 1;
          continue;
        }
        min = lo === "" ? 0 : Number(lo);
        max = hi === "" ? MAXREPEAT : Number(hi);
        if (min >= MAXREPEAT || (hi !== "" && max >= MAXREPEAT)) {
          throw new RegexError("the repetition number is too large", here);
        }
        if (max < min) throw new RegexError("min repeat greater than max repeat", here + 1);
      }
      const item = items[items.length - 1];
      if (item === undefined || item.t === "at") {
        throw new RegexError("nothing to repeat", here);
      }
      if (item.t === "repeat") {
        throw new RegexError("multiple repeat", here);
      }
      let lazy = false;
      if (source.match("?")) lazy = true;
      else if (source.next === "+") {
        throw new RegexUnsupportedError(
          `possessive quantifier "${c}+" (position ${here}) cannot run on JavaScript's engine`,
        );
      }
      items[items.length - 1] = { t: "repeat", body: item, min, max, lazy } as Node;
      continue;
    }
    if (c === ".") {
      items.push({ t: "any", dotall: (state.flags & S) !== 0 });
      continue;
    }
    if (c === "^") {
      items.push({ t: "at", at: "bol", multiline: (state.flags & M) !== 0, ascii: false });
      continue;
    }
    if (c === "$") {
      items.push({ t: "at", at: "eol", multiline: (state.flags & M) !== 0, ascii: false });
      continue;
    }
    // c === "("
    const node = parseGroup(source, state, nested, first && items.length === 0, here);
    if (node === "flags") continue;
    if (node !== undefined) items.push(node);
  }
  return items;
}

function parseGroup(
  source: Source,
  state: ParseState,
  nested: number,
  first: boolean,
  here: number,
): Node | "flags" | undefined {
  let capture = true;
  let name: string | undefined;
  if (source.match("?")) {
    const c = source.get();
    if (c === undefined) throw new RegexError("unexpected end of pattern", source.index);
    if (c === "P") {
      if (source.match("<")) {
        name = source.getUntil(">", "group name");
        if (!isIdentifier(name)) {
          throw new RegexError(`bad character in group name '${name}'`, here + 4);
        }
      } else if (source.match("=")) {
        const ref = source.getUntil(")", "group name");
        if (!isIdentifier(ref)) {
          throw new RegexError(`bad character in group name '${ref}'`, here + 4);
        }
        const index = state.groupIndex.get(ref);
        if (index === undefined) {
          throw new RegexError(`unknown group name '${ref}'`, here + 4);
        }
        if (!state.closedGroups.has(index)) {
          throw new RegexError("cannot refer to an open group", here + 4);
        }
        return { t: "backref", index, name: ref };
      } else {
        const n = source.get();
        if (n === undefined) throw new RegexError("unexpected end of pattern", source.index);
        throw new RegexError(`unknown extension ?P${n}`, here + 1);
      }
    } else if (c === ":") {
      capture = false;
    } else if (c === "#") {
      for (;;) {
        const n = source.get();
        if (n === undefined) {
          throw new RegexError("missing ), unterminated comment", here);
        }
        if (n === ")") return undefined;
      }
    } else if (c === "=" || c === "!" || c === "<") {
      let behind = false;
      let kind = c;
      if (c === "<") {
        const n = source.get();
        if (n === undefined) throw new RegexError("unexpected end of pattern", source.index);
        if (n !== "=" && n !== "!") throw new RegexError(`unknown extension ?<${n}`, here + 1);
        behind = true;
        kind = n;
      }
      const body = parseAlternation(source, state, nested + 1);
      if (!source.match(")")) {
        throw new RegexError("missing ), unterminated subpattern", here);
      }
      if (behind) state.lookbehinds.push(body);
      return { t: "look", behind, negated: kind === "!", body };
    } else if (c === "(") {
      throw new RegexUnsupportedError(
        `conditional group "(?(" (position ${here}) cannot run on JavaScript's engine`,
      );
    } else if (c === ">") {
      throw new RegexUnsupportedError(
        `atomic group "(?>" (position ${here}) cannot run on JavaScript's engine`,
      );
    } else if (c in INLINE_FLAGS || c === "-") {
      source.index--;
      const scoped = parseFlags(source, state);
      if (scoped === undefined) {
        if (!first || nested > 0) {
          throw new RegexError("global flags not at the start of the expression", here);
        }
        return "flags";
      }
      const saved = state.flags;
      state.flags = (state.flags | scoped.add) & ~scoped.del;
      const body = parseAlternation(source, state, nested + 1);
      state.flags = saved;
      if (!source.match(")")) {
        throw new RegexError("missing ), unterminated subpattern", here);
      }
      let ignoreCase: boolean | undefined;
      if (scoped.add & I) ignoreCase = true;
      if (scoped.del & I) ignoreCase = false;
      return { t: "scoped", ignoreCase, body };
    } else {
      throw new RegexError(`unknown extension ?${c}`, here + 1);
    }
  }
  let index: number | undefined;
  if (capture) {
    index = ++state.groups;
    if (name !== undefined) {
      const old = state.groupIndex.get(name);
      if (old !== undefined) {
        throw new RegexError(
          `redefinition of group name '${name}' as group ${index}; was group ${old}`,
          here + 4,
        );
      }
      state.groupIndex.set(name, index);
    }
    state.openGroups.add(index);
  }
  const body = parseAlternation(source, state, nested + 1);
  if (!source.match(")")) throw new RegexError("missing ), unterminated subpattern", here);
  if (index !== undefined) {
    state.openGroups.delete(index);
    state.closedGroups.add(index);
    state.lastInside[index] = state.groups;
  }
  return { t: "group", index, name, body };
}

/** Parses `(?flags)` or `(?flags-flags:`; returns undefined for global flags (already applied). */
function parseFlags(
  source: Source,
  state: ParseState,
): { add: number; del: number } | undefined {
  let add = 0;
  let del = 0;
  let c = source.get();
  if (c !== "-") {
    for (;;) {
      const flag = INLINE_FLAGS[c as string] as number;
      if (flag === L) {
        throw new RegexError(
          "bad inline flags: cannot use 'L' flag with a str pattern",
          source.index,
        );
      }
      add |= flag;
      if ((add & A) && (add & U)) {
        throw new RegexError(
          "bad inline flags: flags 'a', 'u' and 'L' are incompatible",
          source.index,
        );
      }
      c = source.get();
      if (c === undefined) throw new RegexError("missing -, : or )", source.index);
      if (c === ")" || c === "-" || c === ":") break;
      if (!(c in INLINE_FLAGS)) {
        throw new RegexError(
          /[a-zA-Z]/.test(c) ? "unknown flag" : "missing -, : or )",
          source.index - 1,
        );
      }
    }
  }
  if (c === ")") {
    // Global flags: apply to the rest of the pattern (they must be at the start).
    state.flags |= add;
    return undefined;
  }
  if (c === "-") {
    c = source.get();
    if (c === undefined) throw new RegexError("missing flag", source.index);
    for (;;) {
      const flag = INLINE_FLAGS[c as string];
      if (flag === undefined || flag === L || flag === A || flag === U) {
        throw new RegexError(
          flag === undefined
            ? (/[a-zA-Z]/.test(c) ? "unknown flag" : "missing flag")
            : "bad inline flags: cannot turn off flags 'a', 'u' and 'L'",
          source.index - (flag === undefined ? 1 : 0),
        );
      }
      del |= flag;
      c = source.get();
      if (c === undefined) throw new RegexError("missing :", source.index);
      if (c === ":") break;
      if (!(c in INLINE_FLAGS)) {
        throw new RegexError(
          /[a-zA-Z]/.test(c) ? "unknown flag" : "missing :",
          source.index - 1,
        );
      }
    }
  }
  if (c !== ":") throw new RegexError("missing :", source.index);
  if (add & del) {
    throw new RegexError("bad inline flags: flag turned on and off", source.index - 1);
  }
  return { add, del };
}

function parseEscape(source: Source, state: ParseState, here: number): Node {
  const c = source.get();
  if (c === undefined) throw new RegexError("bad escape (end of pattern)", here);
  const ascii = (state.flags & A) !== 0;
  switch (c) {
    case "d":
    case "D":
    case "w":
    case "W":
    case "s":
    case "S":
      return { t: "cat", cat: c, ascii };
    case "A":
      return { t: "at", at: "A", multiline: false, ascii };
    case "Z":
      return { t: "at", at: "Z", multiline: false, ascii };
    case "b":
      return { t: "at", at: "b", multiline: false, ascii };
    case "B":
      return { t: "at", at: "B", multiline: false, ascii };
  }
  const code = commonEscape(source, c, here);
  if (code !== undefined) return { t: "lit", cp: code };
  if (c === "0") {
    let digits = "";
    for (let i = 0; i < 2 && source.next !== undefined && OCTDIGITS.includes(source.next); i++) {
      digits += source.get();
    }
    return { t: "lit", cp: digits === "" ? 0 : parseInt(digits, 8) };
  }
  if (DIGITS.includes(c)) {
    if (source.next !== undefined && DIGITS.includes(source.next)) {
      const d = source.next;
      if (
        OCTDIGITS.includes(c) && OCTDIGITS.includes(d) && source.peek(1) !== undefined &&
        OCTDIGITS.includes(source.peek(1) as string)
      ) {
        const text = c + source.get() + source.get();
        const value = parseInt(text, 8);
        if (value > 0o377) {
          throw new RegexError(
            `octal escape value \\${text} outside of range 0-0o377`,
            here,
          );
        }
        return { t: "lit", cp: value };
      }
      source.get();
      return groupRef(state, Number(c + d), here);
    }
    return groupRef(state, Number(c), here);
  }
  if (ASCII_LETTERS.includes(c)) throw new RegexError(`bad escape \\${c}`, here);
  return { t: "lit", cp: c.codePointAt(0) as number };
}

function groupRef(state: ParseState, index: number, here: number): Node {
  if (index > state.groups || !state.closedGroups.has(index)) {
    if (state.openGroups.has(index)) {
      throw new RegexError("cannot refer to an open group", here);
    }
    throw new RegexError(`invalid group reference ${index}`, here + 1);
  }
  return { t: "backref", index };
}

/** Escapes shared by patterns and classes: `\a \f \n \r \t \v \\ \xhh \uhhhh \Uhhhhhhhh \N`. */
function commonEscape(source: Source, c: string, here: number): number | undefined {
  if (c in SIMPLE_ESCAPES && c !== "b") return SIMPLE_ESCAPES[c];
  if (c === "x" || c === "u" || c === "U") {
    const width = c === "x" ? 2 : c === "u" ? 4 : 8;
    let hex = "";
    while (hex.length < width && source.next !== undefined && HEXDIGITS.includes(source.next)) {
      hex += source.get();
    }
    if (hex.length !== width) throw new RegexError(`incomplete escape \\${c}${hex}`, here);
    const value = parseInt(hex, 16);
    if (value > 0x10ffff) throw new RegexError(`bad escape \\${c}${hex}`, here);
    return value;
  }
  if (c === "N") {
    throw new RegexUnsupportedError(`named character escape "\\N{...}" (position ${here})`);
  }
  return undefined;
}

function parseSet(source: Source, state: ParseState, here: number): Node {
  const items: SetItem[] = [];
  const ascii = (state.flags & A) !== 0;
  const negated = source.match("^");
  let start = true;
  for (;;) {
    const itemPos = source.index;
    let c = source.get();
    if (c === undefined) throw new RegexError("unterminated character set", here);
    if (c === "]" && !start) break;
    start = false;
    let lo: SetItem;
    if (c === "\\") lo = classEscape(source, itemPos, ascii);
    else lo = { t: "char", cp: c.codePointAt(0) as number };
    if (source.next === "-" && source.peek(1) !== undefined) {
      source.get();
      c = source.get() as string;
      if (c === "]") {
        items.push(lo, { t: "char", cp: 45 });
        break;
      }
      let hi: SetItem;
      if (c === "\\") hi = classEscape(source, source.index - 1, ascii);
      else hi = { t: "char", cp: c.codePointAt(0) as number };
      if (lo.t !== "char" || hi.t !== "char") {
        const text = Array.from(source.text).slice(itemPos, source.index).join("");
        throw new RegexError(`bad character range ${text}`, itemPos);
      }
      if (hi.cp < lo.cp) {
        const text = Array.from(source.text).slice(itemPos, source.index).join("");
        throw new RegexError(`bad character range ${text}`, itemPos);
      }
      items.push({ t: "range", lo: lo.cp, hi: hi.cp });
    } else {
      if (source.next === "-" && source.peek(1) === undefined) {
        throw new RegexError("unterminated character set", here);
      }
      items.push(lo);
    }
  }
  return { t: "set", negated, items, ascii };
}

function classEscape(source: Source, here: number, _ascii: boolean): SetItem {
  const c = source.get();
  if (c === undefined) throw new RegexError("unterminated character set", here);
  if ("dDwWsS".includes(c)) return { t: "cat", cat: c as Category };
  if (c === "b") return { t: "char", cp: 8 };
  const code = commonEscape(source, c, here);
  if (code !== undefined) return { t: "char", cp: code };
  if (OCTDIGITS.includes(c)) {
    let digits = c;
    for (let i = 0; i < 2 && source.next !== undefined && OCTDIGITS.includes(source.next); i++) {
      digits += source.get();
    }
    const value = parseInt(digits, 8);
    if (value > 0o377) {
      throw new RegexError(`octal escape value \\${digits} outside of range 0-0o377`, here);
    }
    return { t: "char", cp: value };
  }
  if (DIGITS.includes(c) || ASCII_LETTERS.includes(c)) {
    throw new RegexError(`bad escape \\${c}`, here);
  }
  return { t: "char", cp: c.codePointAt(0) as number };
}

/** Minimum and maximum width in code points (Infinity when unbounded), as sre's getwidth. */
function widthOf(node: Node | Alt): [number, number] {
  switch (node.t) {
    case "alt": {
      let lo = Infinity;
      let hi = 0;
      for (const branch of node.branches) {
        let blo = 0;
        let bhi = 0;
        for (const item of branch) {
          const [a, b] = widthOf(item);
          blo += a;
          bhi += b;
        }
        lo = Math.min(lo, blo);
        hi = Math.max(hi, bhi);
      }
      return [lo === Infinity ? 0 : lo, hi];
    }
    case "lit":
    case "any":
    case "set":
    case "cat":
      return [1, 1];
    case "at":
    case "look":
      return [0, 0];
    case "group":
    case "scoped":
      return widthOf(node.body);
    case "backref":
      // Python refuses group references in look-behinds unless of fixed width; treat as variable.
      return [0, Infinity];
    case "repeat": {
      const [a, b] = widthOf(node.body);
      return [a * node.min, node.max >= MAXREPEAT ? (b === 0 ? 0 : Infinity) : b * node.max];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Emitter

/** Python's `\s` for str patterns: `str.isspace()` characters. */
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029" +
  "\\u202f\\u205f\\u3000";
const PY_WORD = "\\p{L}\\p{N}_";
const PY_DIGIT = "\\p{Nd}";
const ASCII_SPACE = " \\t\\n\\r\\f\\v";
const ASCII_WORD = "a-zA-Z0-9_";
const ASCII_DIGIT = "0-9";

function categoryBody(cat: Category, ascii: boolean): string {
  switch (cat.toLowerCase()) {
    case "d":
      return ascii ? ASCII_DIGIT : PY_DIGIT;
    case "w":
      return ascii ? ASCII_WORD : PY_WORD;
    default:
      return ascii ? ASCII_SPACE : PY_SPACE;
  }
}

function isNegativeCategory(cat: Category): boolean {
  return cat === "D" || cat === "W" || cat === "S";
}

function escapeLiteral(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ("^$\\.*+?()[]{}|/".includes(ch)) return `\\${ch}`;
  if (cp >= 0x20 && cp < 0x7f) return ch;
  return `\\u{${cp.toString(16)}}`;
}

function escapeClassChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ("\\]-^[".includes(ch)) return `\\${ch}`;
  if (cp >= 0x20 && cp < 0x7f) return ch;
  return `\\u{${cp.toString(16)}}`;
}

function emitSet(node: { negated: boolean; items: SetItem[]; ascii: boolean }): string {
  let positive = "";
  const negatives: string[] = [];
  for (const item of node.items) {
    if (item.t === "char") positive += escapeClassChar(item.cp);
    else if (item.t === "range") {
      positive += `${escapeClassChar(item.lo)}-${escapeClassChar(item.hi)}`;
    } else if (isNegativeCategory(item.cat)) negatives.push(categoryBody(item.cat, node.ascii));
    else positive += categoryBody(item.cat, node.ascii);
  }
  if (negatives.length === 0) {
    if (positive === "") return node.negated ? "[\\s\\S]" : "[]";
    return node.negated ? `[^${positive}]` : `[${positive}]`;
  }
  // A negated category inside a class (`[a\W]`) has no u-mode equivalent: build the union of
  // the positive class and each complement, or for `[^...]` the intersection of the complements.
  if (!node.negated) {
    const parts = negatives.map((n) => `[^${n}]`);
    if (positive !== "") parts.unshift(`[${positive}]`);
    return `(?:${parts.join("|")})`;
  }
  const guards = negatives.map((n) => `(?=[${n}])`).join("");
  return `(?:${positive === "" ? "" : `(?![${positive}])`}${guards}[\\s\\S])`;
}

function emitCategory(cat: Category, ascii: boolean): string {
  const body = categoryBody(cat, ascii);
  return isNegativeCategory(cat) ? `[^${body}]` : `[${body}]`;
}

function emitAt(node: Extract<Node, { t: "at" }>): string {
  switch (node.at) {
    case "bol":
      return node.multiline ? "(?<=^|\\n)" : "^";
    case "A":
      return "^";
    case "eol":
      return node.multiline ? "(?=\\n|$)" : "(?=\\n?$)";
    case "Z":
      return "$";
    case "b": {
      const w = `[${node.ascii ? ASCII_WORD : PY_WORD}]`;
      return `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
    }
    case "B": {
      // Python 3.11's \B never matches in an empty string.
      const w = `[${node.ascii ? ASCII_WORD : PY_WORD}]`;
      return `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w})(?:(?<=[\\s\\S])|(?=[\\s\\S])))`;
    }
  }
}

function emitAlt(alt: Alt): string {
  return alt.branches.map((branch) => branch.map(emitNode).join("")).join("|");
}

function emitNode(node: Node): string {
  switch (node.t) {
    case "lit":
      return escapeLiteral(node.cp);
    case "any":
      return node.dotall ? "[\\s\\S]" : "[^\\n]";
    case "set":
      return emitSet(node);
    case "cat":
      return emitCategory(node.cat, node.ascii);
    case "at":
      return emitAt(node);
    case "group":
      if (node.index === undefined) return `(?:${emitAlt(node.body)})`;
      if (node.name !== undefined) return `(?<${node.name}>${emitAlt(node.body)})`;
      return `(${emitAlt(node.body)})`;
    case "look":
      return `(?${node.behind ? "<" : ""}${node.negated ? "!" : "="}${emitAlt(node.body)})`;
    case "backref":
      return `(?:\\${node.index})`;
    case "scoped":
      if (node.ignoreCase === true) return `(?i:${emitAlt(node.body)})`;
      if (node.ignoreCase === false) return `(?-i:${emitAlt(node.body)})`;
      return `(?:${emitAlt(node.body)})`;
    case "repeat": {
      let body = emitNode(node.body);
      const atomic = node.body.t === "lit" || node.body.t === "any" || node.body.t === "set" ||
        node.body.t === "cat" || node.body.t === "group" || node.body.t === "backref" ||
        node.body.t === "scoped";
      if (!atomic || body.startsWith("(?:(?")) body = `(?:${body})`;
      const max = node.max >= MAXREPEAT ? Infinity : node.max;
      let q: string;
      if (node.min === 0 && max === Infinity) q = "*";
      else if (node.min === 1 && max === Infinity) q = "+";
      else if (node.min === 0 && max === 1) q = "?";
      else if (max === Infinity) q = `{${node.min},}`;
      else if (node.min === max) q = `{${node.min}}`;
      else q = `{${node.min},${max}}`;
      return body + q + (node.lazy ? "?" : "");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation

const CACHE = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 512;

/**
 * Compiles a Python pattern with Python flags (`re.I` = 2 …).
 *
 * @throws {RegexError} for anything Python's `re.compile` rejects, with Python's message and
 *   exception class
 * @throws {RegexUnsupportedError} for valid Python that JavaScript cannot run (and `re.DEBUG`)
 */
export function compileRegex(pattern: string, flags = 0): CompiledRegex {
  const key = `${flags}\u0000${pattern}`;
  const cached = CACHE.get(key);
  if (cached !== undefined) return cached;
  if (flags & L) {
    throw new RegexError("cannot use LOCALE flag with a str pattern", undefined, "ValueError");
  }
  if (flags & RE_FLAGS.DEBUG) {
    throw new RegexUnsupportedError("the re.DEBUG flag (it prints the compiled pattern)");
  }
  if ((flags & A) && (flags & U)) {
    throw new RegexError("ASCII and UNICODE flags are incompatible", undefined, "ValueError");
  }
  const { body, state } = parsePattern(pattern, flags);
  const finalFlags = state.flags & A ? state.flags : state.flags | U;
  const source = emitAlt(body);
  const jsFlags = "u" + (finalFlags & I ? "i" : "");
  let compiled: RegExp[];
  try {
    compiled = [
      new RegExp(source, jsFlags + "dg"),
      new RegExp(source, jsFlags + "dy"),
      new RegExp(`(?:${source})$`, jsFlags + "dy"),
    ];
  } catch (error) {
    throw new RegexUnsupportedError(
      `the pattern cannot run on JavaScript's engine (${(error as Error).message})`,
    );
  }
  const groupNames = new Map<number, string>();
  for (const [name, index] of state.groupIndex) groupNames.set(index, name);
  const result: CompiledRegex = {
    pattern,
    flags: finalFlags,
    groups: state.groups,
    groupIndex: state.groupIndex,
    groupNames,
    lastInside: state.lastInside,
    source,
    jsFlags,
    search: compiled[0] as RegExp,
    sticky: compiled[1] as RegExp,
    full: compiled[2] as RegExp,
  };
  if (CACHE.size >= CACHE_LIMIT) CACHE.clear();
  CACHE.set(key, result);
  return result;
}

function toMatch(
  regex: CompiledRegex,
  input: string,
  pos: number,
  endpos: number,
  m: RegExpExecArray,
): RegexMatch {
  const spans: (readonly [number, number] | undefined)[] = [];
  const indices = m.indices as RegExpIndicesArray;
  // Python's lastindex is the group that closed last: the one ending last; on a tie, an
  // enclosing group closes after the groups inside it, otherwise the later group closes last.
  let lastIndex: number | undefined;
  let lastEnd = -1;
  for (let g = 0; g <= regex.groups; g++) {
    const span = indices[g];
    spans.push(span === undefined ? undefined : [span[0], span[1]]);
    if (g === 0 || span === undefined) continue;
    const encloses = lastIndex !== undefined && g <= (regex.lastInside[lastIndex] ?? 0);
    if (span[1] > lastEnd || (span[1] === lastEnd && !encloses)) {
      lastEnd = span[1];
      lastIndex = g;
    }
  }
  return { regex, input, spans, pos, endpos, lastIndex };
}

/** Python's `pattern.search`/`match`/`fullmatch(string, pos, endpos)`, UTF-16 positions. */
export function execRegex(
  regex: CompiledRegex,
  text: string,
  mode: "search" | "match" | "fullmatch",
  pos = 0,
  endpos = text.length,
): RegexMatch | undefined {
  const end = Math.max(0, Math.min(endpos, text.length));
  const start = Math.max(0, Math.min(pos, text.length));
  if (start > end) return undefined;
  const input = end === text.length ? text : text.slice(0, end);
  const re = mode === "search" ? regex.search : mode === "match" ? regex.sticky : regex.full;
  re.lastIndex = start;
  const m = re.exec(input);
  return m === null ? undefined : toMatch(regex, input, start, end, m);
}

/**
 * Every match from `pos` on, with Python 3.7's rule for empty matches: after an empty match the
 * next one may start at the same position provided it is not empty.
 */
export function* iterateRegex(
  regex: CompiledRegex,
  text: string,
  pos = 0,
  endpos = text.length,
): Generator<RegexMatch> {
  const end = Math.max(0, Math.min(endpos, text.length));
  let start = Math.max(0, Math.min(pos, text.length));
  const input = end === text.length ? text : text.slice(0, end);
  let mustAdvance = false;
  while (start <= end) {
    let m: RegExpExecArray | null = null;
    if (mustAdvance) {
      m = nonEmptyAt(regex, input, start);
      if (m === null) {
        if (start >= end) break;
        start = nextUnit(input, start);
      }
    }
    if (m === null) {
      regex.search.lastIndex = start;
      m = regex.search.exec(input);
    }
    if (m === null) break;
    const match = toMatch(regex, input, start, end, m);
    yield match;
    const span = match.spans[0] as readonly [number, number];
    mustAdvance = span[0] === span[1];
    start = span[1];
  }
}

/** An anchored match at `start` that is not empty (sre's `must_advance`). */
function nonEmptyAt(regex: CompiledRegex, input: string, start: number): RegExpExecArray | null {
  const before = toCodePointIndex(input, start);
  const re = new RegExp(
    `(?:${regex.source})(?<!^[\\s\\S]{${before}})`,
    regex.jsFlags + "dy",
  );
  re.lastIndex = start;
  return re.exec(input);
}

/** Text of group `g` of a match, or undefined when it did not take part. */
export function groupText(match: RegexMatch, g: number): string | undefined {
  const span = match.spans[g];
  return span === undefined ? undefined : match.input.slice(span[0], span[1]);
}

// ---------------------------------------------------------------------------------------------
// Replacement templates

/** A parsed `re.sub` template: literal text and group numbers. */
export type Template = readonly (string | number)[];

/**
 * Parses a Python replacement template (`\1`, `\g<name>`, escapes) for `regex`.
 *
 * @throws {RegexError} for bad escapes and invalid group references, as Python does (an
 *   unknown `\g<name>` is Python's IndexError)
 */
export function parseTemplate(regex: CompiledRegex, template: string): Template {
  const chars = Array.from(template);
  const parts: (string | number)[] = [];
  let literal = "";
  const flush = () => {
    if (literal !== "") parts.push(literal);
    literal = "";
  };
  const addGroup = (index: number, pos: number) => {
    if (index > regex.groups) throw new RegexError(`invalid group reference ${index}`, pos);
    flush();
    parts.push(index);
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const here = i;
    const n = chars[++i];
    if (n === undefined) throw new RegexError("bad escape (end of pattern)", here);
    if (n === "g") {
      if (chars[i + 1] !== "<") throw new RegexError("missing <", i + 1);
      let name = "";
      let j = i + 2;
      for (; j < chars.length && chars[j] !== ">"; j++) name += chars[j];
      if (j >= chars.length) throw new RegexError("missing >, unterminated name", i + 2);
      if (name === "") throw new RegexError("missing group name", i + 2);
      let index: number;
      if (/^[0-9]+$/.test(name)) {
        index = Number(name);
        if (index >= MAXREPEAT) throw new RegexError(`invalid group reference ${index}`, i + 2);
      } else if (isIdentifier(name)) {
        const found = regex.groupIndex.get(name);
        if (found === undefined) {
          throw new RegexError(`unknown group name '${name}'`, undefined, "IndexError");
        }
        index = found;
      } else {
        throw new RegexError(`bad character in group name '${name}'`, i + 2);
      }
      addGroup(index, i + 2);
      i = j;
      continue;
    }
    if (n === "0") {
      let digits = "";
      while (digits.length < 2 && chars[i + 1] !== undefined && OCTDIGITS.includes(chars[i + 1]!)) {
        digits += chars[++i];
      }
      literal += String.fromCodePoint(digits === "" ? 0 : parseInt(digits, 8));
      continue;
    }
    if (DIGITS.includes(n)) {
      const d = chars[i + 1];
      if (d !== undefined && DIGITS.includes(d)) {
        const e = chars[i + 2];
        if (
          OCTDIGITS.includes(n) && OCTDIGITS.includes(d) && e !== undefined && OCTDIGITS.includes(e)
        ) {
          const value = parseInt(n + d + e, 8);
          if (value > 0o377) {
            throw new RegexError(
              `octal escape value \\${n}${d}${e} outside of range 0-0o377`,
              here,
            );
          }
          literal += String.fromCodePoint(value);
          i += 2;
          continue;
        }
        addGroup(Number(n + d), here + 1);
        i += 1;
        continue;
      }
      addGroup(Number(n), here + 1);
      continue;
    }
    if (n in SIMPLE_ESCAPES) {
      literal += String.fromCodePoint(SIMPLE_ESCAPES[n] as number);
      continue;
    }
    if (ASCII_LETTERS.includes(n)) throw new RegexError(`bad escape \\${n}`, here);
    literal += "\\" + n;
  }
  flush();
  return parts;
}

/** Expands a parsed template for one match; groups that did not match give "". */
export function expandTemplate(template: Template, match: RegexMatch): string {
  let out = "";
  for (const part of template) {
    out += typeof part === "string" ? part : groupText(match, part) ?? "";
  }
  return out;
}

/**
 * Python's `re.sub`/`subn`: replaces at most `count` matches (0 = all; negative = none, as
 * Python) with `replace(match)`.
 */
export function substituteRegex(
  regex: CompiledRegex,
  text: string,
  replace: (match: RegexMatch) => string,
  count = 0,
): { text: string; count: number } {
  if (count < 0) return { text, count: 0 };
  let out = "";
  let last = 0;
  let n = 0;
  for (const match of iterateRegex(regex, text)) {
    const span = match.spans[0] as readonly [number, number];
    out += text.slice(last, span[0]) + replace(match);
    last = span[1];
    n++;
    if (count > 0 && n >= count) break;
  }
  return { text: out + text.slice(last), count: n };
}

/** Python's `re.split`: groups are included; a group that did not match gives undefined. */
export function splitRegex(
  regex: CompiledRegex,
  text: string,
  maxsplit = 0,
): (string | undefined)[] {
  if (maxsplit < 0) return [text];
  const out: (string | undefined)[] = [];
  let last = 0;
  let n = 0;
  for (const match of iterateRegex(regex, text)) {
    const span = match.spans[0] as readonly [number, number];
    out.push(text.slice(last, span[0]));
    for (let g = 1; g <= regex.groups; g++) out.push(groupText(match, g));
    last = span[1];
    n++;
    if (maxsplit > 0 && n >= maxsplit) break;
  }
  out.push(text.slice(last));
  return out;
}

const ESCAPED_BY_RE_ESCAPE = new Set(Array.from("()[]{}?*+-|^$\\.&~# \t\n\r\v\f"));

/** Python 3.7+'s `re.escape`: backslash before the characters special in patterns. */
export function escapeRegex(text: string): string {
  let out = "";
  for (const ch of text) out += ESCAPED_BY_RE_ESCAPE.has(ch) ? `\\${ch}` : ch;
  return out;
}
