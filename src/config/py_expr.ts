/**
 * A safe interpreter for the Python expressions found in `~/.offlineimaprc` (`nametrans`,
 * `folderfilter`, `foldersort`, `folderincludes`, `remotepasseval`, `[mbnames]` …), with
 * Python 3 semantics: see ../shared/reference/python-expressions.md for the subset and
 * config-options.md §11 for when each option is evaluated.
 *
 * Nothing here runs JavaScript `eval` or touches the outside world directly. Text is tokenized
 * and parsed into a small syntax tree, then interpreted. The outside world (environment, files,
 * commands, a `pythonfile` evaluated by a real `python3`) is reached only through
 * {@link ExpressionHooks}; `pythonfile.ts` provides the real hooks.
 *
 * Two evaluation modes share one interpreter. Sync mode serves options the engine calls
 * synchronously (`nametrans`, `folderfilter`, …): hooks are called synchronously. Async mode
 * serves the `*eval` options: when the interpreter needs an asynchronous effect (a command, a
 * call into the `pythonfile`), it stops, the driver awaits the effect, records its result, and
 * evaluates again from the start, replaying recorded results in order. Expressions have no
 * other side effects, so the replay is exact.
 *
 * Entry points: {@link compileExpression} (parse and evaluate now) and the per-option
 * converters (`compileNametrans`, `compileFolderFilter`, `compileEvalString`, …) that return
 * plain JavaScript functions with the types of `types.ts`. Errors are {@link ConfigError} when the
 * option is compiled and {@link AccountError} when a compiled function fails later; both carry
 * the underlying {@link PythonError} as `cause`.
 *
 * @module
 */

import { AccountError, ConfigError } from "../errors.ts";
import {
  type CompiledRegex,
  compileRegex,
  escapeRegex,
  execRegex,
  expandTemplate,
  groupText,
  iterateRegex,
  parseTemplate,
  RE_FLAGS,
  RegexError,
  type RegexMatch,
  RegexUnsupportedError,
  splitRegex,
  substituteRegex,
  toCodePointIndex,
  toUnitIndex,
} from "./py_regex.ts";

// =============================================================================================
// Public types

/**
 * Which extra names an option sees besides Python's builtins and the `pythonfile` globals
 * (python-expressions.md §1.2, §3.6):
 * - `filter`: `re` (nametrans, folderfilter, folderincludes, foldersort, mbnames callables);
 * - `plain`: nothing (idlefolders, copy_ignore_eval, mbnames header/sep/footer);
 * - `eval`: `os`, `subprocess`, `open` as a superset of OfflineIMAP (remote*eval, oauth2_*_eval);
 * - `hook`: like `eval` plus `os.system` (newmail_hook).
 */
export type ExpressionNamespace = "filter" | "plain" | "eval" | "hook";

/** Where an expression comes from; used for the namespace and in every error message. */
export interface ExpressionSite {
  /** Option name, lower case as OfflineIMAP reads it (`nametrans`, `remotepasseval`). */
  readonly option: string;
  /** Section name as written (`Repository Remote`, `mbnames`). */
  readonly section: string;
  /** Extra names; derived from {@link option} and {@link section} when omitted. */
  readonly namespace?: ExpressionNamespace;
  /** Optional location for hints, e.g. `line 42 of "/home/me/.offlineimaprc"`. */
  readonly where?: string;
}

/** A command for {@link ExpressionHooks.runCommand}: never a shell unless `argv` says so. */
export interface CommandRequest {
  /** Program and arguments; shell strings arrive as `["/bin/sh", "-c", text]`. */
  readonly argv: readonly string[];
  /** Capture stdout (else it goes to the parent's stdout). */
  readonly captureStdout: boolean;
  /** Capture stderr; `"stdout"` merges it into the captured stdout (`stderr=STDOUT`). */
  readonly captureStderr: boolean | "stdout";
  /** Data for stdin; when undefined stdin is inherited. */
  readonly input?: Uint8Array;
}

/** What a command did; `notFound`/`permissionDenied` when the program could not start. */
export interface CommandResult {
  readonly status: number;
  /** Signal name when the command was killed by one. */
  readonly signal?: string;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly notFound?: boolean;
  readonly permissionDenied?: boolean;
}

/** Result of {@link ExpressionHooks.readFile}. */
export type FileResult =
  | { readonly data: Uint8Array }
  | { readonly error: "ENOENT" | "EACCES" | "EISDIR" | string };

/** A value crossing the JSON wire to the `pythonfile` child (see pythonfile.ts). */
export type WireValue =
  | null
  | boolean
  | string
  | WireValue[]
  | { readonly $int: string }
  | { readonly $float: number | string }
  | { readonly $bytes: string }
  | { readonly $tuple: WireValue[] }
  | { readonly $set: WireValue[] }
  | { readonly $dict: [WireValue, WireValue][] }
  | {
    readonly $ref: number;
    readonly type?: string;
    readonly callable?: boolean;
    readonly repr?: string;
    readonly module?: string;
  };

/** One request to the `pythonfile` child. */
export type PythonRequest =
  | { readonly op: "get"; readonly name: string }
  | { readonly op: "getattr"; readonly ref: number; readonly name: string }
  | {
    readonly op: "call";
    readonly ref: number;
    readonly args: WireValue[];
    readonly kwargs: [string, WireValue][];
  }
  | {
    readonly op: "callimport";
    readonly module: string;
    readonly name: string;
    readonly args: WireValue[];
    readonly kwargs: [string, WireValue][];
  };

/** The child's answer: a value, or the Python exception it raised. */
export type PythonReply =
  | { readonly ok: WireValue }
  | {
    readonly error: {
      readonly type: string;
      readonly message: string;
      readonly traceback?: string;
    };
  };

/**
 * Access to the user's `pythonfile`, evaluated once by a `python3` child (pythonfile.ts).
 * Implementations memoise replies per distinct request.
 */
export interface PythonBridge {
  /** The `pythonfile` path, for messages. */
  readonly path: string;
  /**
   * Starts the child if needed and returns the global names the file defines, or why Python
   * cannot be used (`python3` missing, the file raised). Never throws.
   */
  globals(): { readonly names: ReadonlySet<string> } | { readonly unavailable: string };
  /** Blocking request (sync mode). */
  requestSync(request: PythonRequest): PythonReply;
  /** Non-blocking request (async mode). */
  request(request: PythonRequest): Promise<PythonReply>;
}

/** The outside world, injected. Every member is optional; missing ones make their feature fail. */
export interface ExpressionHooks {
  /** Environment variable lookup (`os.environ`, `os.getenv`, `~` via `HOME`). */
  readonly env?: (name: string) => string | undefined;
  /** Home directory when `HOME` is unset (`os.path.expanduser`). */
  readonly homeDir?: () => string | undefined;
  /** Whole-file read for `open(path).read()` (`*eval` options only). */
  readonly readFile?: (path: string) => FileResult;
  /** Runs a command (async mode). */
  readonly runCommand?: (request: CommandRequest) => Promise<CommandResult>;
  /** Runs a command synchronously (sync mode); optional. */
  readonly runCommandSync?: (request: CommandRequest) => CommandResult;
  /** The `pythonfile`, when one is configured. */
  readonly python?: PythonBridge;
  /** Non-fatal notes (the `cmp` shim, a superset name used): shown once per option. */
  readonly warn?: (message: string) => void;
}

/** A Python exception raised while parsing or evaluating an expression. */
export class PythonError extends Error {
  /** Python class name: `SyntaxError`, `NameError`, `TypeError`, `re.error`, … */
  readonly type: string;
  /** Offset (UTF-16) in the expression text, when known. */
  offset?: number;
  /** One line with the fix, when we know one. */
  readonly hint?: string;
  /** True for valid Python this interpreter refuses (as opposed to a Python error). */
  readonly unsupported: boolean;
  constructor(
    type: string,
    message: string,
    options: { offset?: number; hint?: string; unsupported?: boolean } = {},
  ) {
    super(message);
    this.name = "PythonError";
    this.type = type;
    this.offset = options.offset;
    this.hint = options.hint;
    this.unsupported = options.unsupported ?? false;
  }
}

function pyErr(type: string, message: string, hint?: string): PythonError {
  return new PythonError(type, message, { hint });
}

function unsupported(message: string, hint?: string): PythonError {
  return new PythonError("NotSupported", message, { hint, unsupported: true });
}

// =============================================================================================
// Values

/**
 * A Python value: `null` is None, `boolean` bool, `bigint` int, `number` float, `string` str,
 * a JavaScript array a list, and {@link PyObject} subclasses everything else.
 */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyObject;

type Kwargs = Map<string, PyValue>;
const NO_KWARGS: Kwargs = new Map();

/** Base of every Python object that is not a primitive or a list. */
export abstract class PyObject {
  abstract readonly typeName: string;
  /** Attribute lookup; undefined when there is no such attribute. */
  getAttr(_name: string, _it: Interp): PyValue | undefined {
    return undefined;
  }
  repr(_it: Interp): string {
    return `<${this.typeName} object>`;
  }
  /** Iteration protocol: the items, when the object is iterable. */
  iterItems?(it: Interp): PyValue[];
  /** `in` protocol. */
  containsItem?(item: PyValue, it: Interp): boolean;
  /** `obj[key]` protocol. */
  getItemOf?(key: PyValue, it: Interp): PyValue;
  /** `len()` protocol. */
  lengthOf?(): number;
}

/** A Python `tuple`. */
export class PyTuple extends PyObject {
  readonly typeName = "tuple";
  constructor(readonly items: readonly PyValue[]) {
    super();
  }
}

/** A Python `bytes`. */
export class PyBytes extends PyObject {
  readonly typeName = "bytes";
  constructor(readonly data: Uint8Array) {
    super();
  }
}

/** A Python `dict` (insertion ordered). */
export class PyDict extends PyObject {
  readonly typeName = "dict";
  readonly map = new Map<string, [PyValue, PyValue]>();
  static from(entries: Iterable<[PyValue, PyValue]>): PyDict {
    const d = new PyDict();
    for (const [k, v] of entries) d.set(k, v);
    return d;
  }
  set(key: PyValue, value: PyValue): void {
    const h = hashKey(key);
    const old = this.map.get(h);
    // Python keeps the first key object and the last value.
    this.map.set(h, [old === undefined ? key : old[0], value]);
  }
  get(key: PyValue): PyValue | undefined {
    return this.map.get(hashKey(key))?.[1];
  }
  has(key: PyValue): boolean {
    return this.map.has(hashKey(key));
  }
  keys(): PyValue[] {
    return [...this.map.values()].map((e) => e[0]);
  }
}

/** A Python `set` or `frozenset`. */
export class PySet extends PyObject {
  readonly map = new Map<string, PyValue>();
  constructor(readonly typeName: "set" | "frozenset" = "set") {
    super();
  }
  add(value: PyValue): void {
    const h = hashKey(value);
    if (!this.map.has(h)) this.map.set(h, value);
  }
  has(value: PyValue): boolean {
    return this.map.has(hashKey(value));
  }
}

type NativeFn = (args: PyValue[], kwargs: Kwargs, it: Interp) => PyValue;

/** A function or type implemented here (builtins, methods, module functions). */
class PyBuiltin extends PyObject {
  readonly typeName: string;
  /** True for type objects (`str`, `int`, …), which are also `isinstance` arguments. */
  readonly isType: boolean;
  constructor(
    readonly name: string,
    readonly fn: NativeFn,
    options: { method?: boolean; type?: boolean; params?: number } = {},
  ) {
    super();
    this.typeName = options.type ? "type" : "builtin_function_or_method";
    this.isType = options.type ?? false;
    this.params = options.params;
  }
  /** Number of positional parameters when fixed (for foldersort arity detection). */
  readonly params?: number;
  override repr(): string {
    return this.isType ? `<class '${this.name}'>` : `<built-in function ${this.name}>`;
  }
}

interface Param {
  readonly name: string;
  readonly kind: "pos" | "var" | "kwonly" | "kw";
  readonly default?: Expr;
}

/** A `lambda`. */
class PyFunction extends PyObject {
  readonly typeName = "function";
  constructor(
    readonly params: readonly Param[],
    readonly defaults: ReadonlyMap<string, PyValue>,
    readonly body: Expr,
    readonly closure: Scope,
    /** The expression text the lambda comes from, to place errors raised inside it. */
    readonly source: string,
  ) {
    super();
  }
  override repr(): string {
    return "<function <lambda>>";
  }
}

/** A module (`re`, `os`, `os.path`, `subprocess`) implemented here. */
class PyModule extends PyObject {
  readonly typeName = "module";
  constructor(readonly name: string, readonly attrs: ReadonlyMap<string, PyValue>) {
    super();
  }
  override getAttr(name: string): PyValue | undefined {
    return this.attrs.get(name);
  }
  override repr(): string {
    return `<module '${this.name}'>`;
  }
}

/** A lazy iterator (generator expression, map, filter, zip, enumerate, reversed, iter). */
class PyIterator extends PyObject {
  constructor(readonly typeName: string, readonly iterator: Iterator<PyValue>) {
    super();
  }
  next(): IteratorResult<PyValue> {
    return this.iterator.next();
  }
  override repr(): string {
    return this.typeName === "generator"
      ? "<generator object <genexpr>>"
      : `<${this.typeName} object>`;
  }
}

/** `range(...)`. */
class PyRange extends PyObject {
  readonly typeName = "range";
  constructor(readonly start: bigint, readonly stop: bigint, readonly step: bigint) {
    super();
  }
  get length(): bigint {
    const { start, stop, step } = this;
    if (step > 0n) return stop > start ? (stop - start + step - 1n) / step : 0n;
    return start > stop ? (start - stop - step - 1n) / -step : 0n;
  }
  at(i: bigint): bigint {
    return this.start + i * this.step;
  }
  override repr(): string {
    return this.step === 1n
      ? `range(${this.start}, ${this.stop})`
      : `range(${this.start}, ${this.stop}, ${this.step})`;
  }
  override getAttr(name: string): PyValue | undefined {
    if (name === "start") return this.start;
    if (name === "stop") return this.stop;
    if (name === "step") return this.step;
    return undefined;
  }
}

/** An object defined in the user's `pythonfile`, living in the `python3` child. */
class PyRemote extends PyObject {
  readonly typeName: string;
  constructor(
    readonly ref: number,
    typeName: string,
    readonly callable: boolean,
    readonly text: string,
    readonly module?: string,
  ) {
    super();
    this.typeName = typeName;
  }
  override getAttr(name: string, it: Interp): PyValue | undefined {
    return it.python({ op: "getattr", ref: this.ref, name });
  }
  override repr(): string {
    return this.text;
  }
}

// =============================================================================================
// Lexer

type TokenKind = "name" | "kw" | "num" | "str" | "op" | "end";

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: number;
  /** Literal value for `num` and `str` tokens. */
  readonly value?: PyValue;
  /** For `str`: true when the literal is bytes. */
  readonly bytes?: boolean;
}

const KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while " +
    "with yield").split(" "),
);

const STATEMENT_KEYWORDS = new Set(
  "assert async break class continue def del elif except finally from global import nonlocal pass raise return try while with"
    .split(" "),
);

const OPERATORS = [
  "**=",
  "//=",
  ">>=",
  "<<=",
  "...",
  "->",
  ":=",
  "**",
  "//",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "<>",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "@=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "@",
  "&",
  "|",
  "^",
  "~",
  "<",
  ">",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  ".",
  ";",
  "=",
];

const ID_START = /[\p{L}\p{Nl}_\u1885\u1886\u2118\u212E\u309B\u309C]/u;
const ID_CONTINUE = /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_\u00B7\u0387\u1369-\u1371\u19DA]/u;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const brackets: { ch: string; pos: number }[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i] as string;
    if (c === " " || c === "\t" || c === "\f" || c === "\r" || c === "\n") {
      // DECISIONS.md #12: a newline outside brackets is a space, so multi-line lambdas from
      // Python 2 era files keep working.
      i++;
      continue;
    }
    if (c === "#") {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (c === "\\") {
      if (src[i + 1] === "\n") {
        i += 2;
        continue;
      }
      if (src[i + 1] === "\r" && src[i + 2] === "\n") {
        i += 3;
        continue;
      }
      throw new PythonError(
        "SyntaxError",
        "unexpected character after line continuation character",
        {
          offset: i,
        },
      );
    }
    const start = i;
    // String prefixes.
    const prefixMatch = /^([rRbBuUfF]{1,2})?(['"])/.exec(src.slice(i, i + 4));
    if (prefixMatch !== null) {
      const prefix = (prefixMatch[1] ?? "").toLowerCase();
      if (isValidPrefix(prefix)) {
        const lit = readString(src, i, prefix);
        tokens.push({
          kind: "str",
          text: src.slice(start, lit.end),
          pos: start,
          value: lit.value,
          bytes: lit.bytes,
        });
        i = lit.end;
        continue;
      }
    }
    const cp = src.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    if (ID_START.test(ch)) {
      let j = i + ch.length;
      while (j < n) {
        const d = String.fromCodePoint(src.codePointAt(j) as number);
        if (!ID_CONTINUE.test(d)) break;
        j += d.length;
      }
      const word = src.slice(i, j);
      tokens.push({ kind: KEYWORDS.has(word) ? "kw" : "name", text: word, pos: start });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const num = readNumber(src, i);
      tokens.push({ kind: "num", text: src.slice(i, num.end), pos: start, value: num.value });
      i = num.end;
      continue;
    }
    if (c === "`") {
      throw new PythonError("SyntaxError", "invalid syntax", {
        offset: i,
        hint: "Backquotes were removed in Python 3: write repr(x)",
      });
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) {
      throw new PythonError("SyntaxError", `invalid character "${ch}"`, { offset: i });
    }
    if (op === "(" || op === "[" || op === "{") brackets.push({ ch: op, pos: i });
    if (op === ")" || op === "]" || op === "}") {
      const open = brackets.pop();
      const expected = open === undefined ? undefined : { "(": ")", "[": "]", "{": "}" }[open.ch];
      if (open === undefined) {
        throw new PythonError("SyntaxError", `unmatched "${op}"`, { offset: i });
      }
      if (expected !== op) {
        throw new PythonError(
          "SyntaxError",
          `closing parenthesis "${op}" does not match opening parenthesis "${open.ch}"`,
          { offset: i },
        );
      }
    }
    tokens.push({ kind: "op", text: op, pos: i });
    i += op.length;
  }
  const open = brackets.pop();
  if (open !== undefined) {
    throw new PythonError("SyntaxError", `"${open.ch}" was never closed`, { offset: open.pos });
  }
  tokens.push({ kind: "end", text: "", pos: n });
  return tokens;
}

function isValidPrefix(prefix: string): boolean {
  return ["", "r", "u", "b", "br", "rb", "f", "fr", "rf"].includes(prefix);
}

function readString(
  src: string,
  start: number,
  prefix: string,
): { value: PyValue; end: number; bytes: boolean } {
  if (prefix.includes("f")) {
    throw new PythonError("SyntaxError", "f-strings are not supported", {
      offset: start,
      unsupported: true,
      hint: "Use '...' + x or '...{}'.format(x) instead",
    });
  }
  const raw = prefix.includes("r");
  const bytes = prefix.includes("b");
  let i = start + prefix.length;
  const quote = src[i] as string;
  const triple = src.startsWith(quote.repeat(3), i);
  const delim = triple ? quote.repeat(3) : quote;
  i += delim.length;
  const bodyStart = i;
  for (;;) {
    if (i >= src.length) {
      throw new PythonError(
        "SyntaxError",
        triple ? "unterminated triple-quoted string literal" : "unterminated string literal",
        { offset: start },
      );
    }
    const c = src[i];
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (!triple && c === "\n") {
      throw new PythonError("SyntaxError", "unterminated string literal", { offset: start });
    }
    if (src.startsWith(delim, i)) break;
    i++;
  }
  const body = src.slice(bodyStart, i);
  const end = i + delim.length;
  if (bytes) {
    for (let k = 0; k < body.length; k++) {
      if (body.charCodeAt(k) > 0x7f) {
        throw new PythonError("SyntaxError", "bytes can only contain ASCII literal characters", {
          offset: start,
        });
      }
    }
  }
  const text = raw ? body : unescape(body, bytes, start);
  if (bytes) {
    const data = new Uint8Array(text.length);
    for (let k = 0; k < text.length; k++) data[k] = text.charCodeAt(k) & 0xff;
    return { value: new PyBytes(data), end, bytes: true };
  }
  return { value: text, end, bytes: false };
}

const STRING_ESCAPES: Readonly<Record<string, string>> = {
  "\n": "",
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function unescape(body: string, bytes: boolean, offset: number): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) {
      out += "\\";
      break;
    }
    if (e in STRING_ESCAPES) {
      out += STRING_ESCAPES[e];
      i++;
      continue;
    }
    if (/[0-7]/.test(e)) {
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(body[i + 1 + digits.length] ?? "")) {
        digits += body[i + 1 + digits.length];
      }
      const value = parseInt(digits, 8);
      out += String.fromCodePoint(bytes ? value & 0xff : value);
      i += digits.length;
      continue;
    }
    if (e === "x" || (!bytes && (e === "u" || e === "U"))) {
      const width = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + width);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) {
        throw new PythonError(
          "SyntaxError",
          `(unicode error) truncated \\${e}${"X".repeat(width)} escape`,
          { offset },
        );
      }
      const value = parseInt(hex, 16);
      if (value > 0x10ffff) {
        throw new PythonError("SyntaxError", "(unicode error) illegal Unicode character", {
          offset,
        });
      }
      out += String.fromCodePoint(value);
      i += 1 + width;
      continue;
    }
    if (e === "N" && !bytes) {
      throw new PythonError("SyntaxError", "named Unicode escapes (\\N{...}) are not supported", {
        offset,
        unsupported: true,
        hint: "Write the character itself, or \\uXXXX",
      });
    }
    // Python keeps unknown escapes as they are (`'\.'` is backslash + dot).
    out += "\\";
  }
  return out;
}

function readNumber(src: string, start: number): { value: PyValue; end: number } {
  const rest = src.slice(start);
  const radix = /^0([xXoObB])((?:_?[0-9a-zA-Z])+)/.exec(rest);
  if (radix !== null) {
    const base = { x: 16, o: 8, b: 2 }[(radix[1] as string).toLowerCase() as "x" | "o" | "b"];
    const digits = (radix[2] as string).replaceAll("_", "");
    const valid = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[01]+$/;
    if (!valid.test(digits)) {
      throw new PythonError(
        "SyntaxError",
        `invalid ${{ 16: "hexadecimal", 8: "octal", 2: "binary" }[base]} literal`,
        {
          offset: start,
        },
      );
    }
    const prefix = { 16: "0x", 8: "0o", 2: "0b" }[base];
    return { value: BigInt(prefix + digits), end: start + radix[0].length };
  }
  const m = /^(?:[0-9](?:_?[0-9])*)?(?:\.(?:[0-9](?:_?[0-9])*)?)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?/
    .exec(
      rest,
    );
  let text = m === null ? "" : m[0];
  if (text === "" || text === ".") {
    throw new PythonError("SyntaxError", "invalid decimal literal", { offset: start });
  }
  const end = start + text.length;
  const next = src[end] ?? "";
  if (next === "j" || next === "J") {
    throw new PythonError("SyntaxError", "complex numbers are not supported", {
      offset: start,
      unsupported: true,
    });
  }
  // `1if x else y` is valid Python; `1abc` and `1_` are not.
  if (
    /[0-9_]/.test(next) ||
    (next !== "" && ID_CONTINUE.test(next) &&
      !/^(?:and|else|for|if|in|is|not|or)\b/.test(src.slice(end)))
  ) {
    throw new PythonError("SyntaxError", "invalid decimal literal", { offset: start });
  }
  text = text.replaceAll("_", "");
  if (/[.eE]/.test(text)) return { value: Number(text), end };
  if (/^0+[1-9]/.test(text)) {
    throw new PythonError(
      "SyntaxError",
      "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
      { offset: start },
    );
  }
  return { value: BigInt(text), end };
}

// =============================================================================================
// Parser

type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "is" | "is not";
type BinOp = "+" | "-" | "*" | "/" | "//" | "%" | "**" | "@" | "|" | "^" | "&" | "<<" | ">>";

type Arg =
  | { readonly kind: "pos"; readonly value: Expr }
  | { readonly kind: "star"; readonly value: Expr }
  | { readonly kind: "kw"; readonly name: string; readonly value: Expr }
  | { readonly kind: "dstar"; readonly value: Expr };

type Target =
  | { readonly k: "name"; readonly id: string }
  | { readonly k: "tuple"; readonly elts: readonly Target[] };

type Clause =
  | { readonly k: "for"; readonly target: Target; readonly iter: Expr }
  | { readonly k: "if"; readonly test: Expr };

type DictItem =
  | { readonly key: Expr; readonly value: Expr }
  | { readonly dstar: Expr };

type Expr =
  | { readonly k: "const"; readonly pos: number; readonly value: PyValue }
  | { readonly k: "name"; readonly pos: number; readonly id: string }
  | {
    readonly k: "lambda";
    readonly pos: number;
    readonly params: readonly Param[];
    readonly body: Expr;
  }
  | {
    readonly k: "if";
    readonly pos: number;
    readonly test: Expr;
    readonly body: Expr;
    readonly orelse: Expr;
  }
  | { readonly k: "bool"; readonly pos: number; readonly op: "and" | "or"; readonly values: Expr[] }
  | { readonly k: "not"; readonly pos: number; readonly operand: Expr }
  | {
    readonly k: "cmp";
    readonly pos: number;
    readonly left: Expr;
    readonly ops: CmpOp[];
    readonly rights: Expr[];
  }
  | {
    readonly k: "bin";
    readonly pos: number;
    readonly op: BinOp;
    readonly left: Expr;
    readonly right: Expr;
  }
  | {
    readonly k: "unary";
    readonly pos: number;
    readonly op: "-" | "+" | "~";
    readonly operand: Expr;
  }
  | { readonly k: "call"; readonly pos: number; readonly func: Expr; readonly args: Arg[] }
  | { readonly k: "attr"; readonly pos: number; readonly value: Expr; readonly name: string }
  | { readonly k: "index"; readonly pos: number; readonly value: Expr; readonly index: Expr }
  | {
    readonly k: "slice";
    readonly pos: number;
    readonly lower?: Expr;
    readonly upper?: Expr;
    readonly step?: Expr;
  }
  | { readonly k: "tuple" | "list" | "set"; readonly pos: number; readonly elts: Expr[] }
  | { readonly k: "dict"; readonly pos: number; readonly items: DictItem[] }
  | {
    readonly k: "comp";
    readonly pos: number;
    readonly kind: "list" | "gen" | "set" | "dict";
    readonly elt: Expr;
    readonly value?: Expr;
    readonly clauses: Clause[];
  }
  | { readonly k: "star"; readonly pos: number; readonly value: Expr };

const COMPARISON_OPS = new Set(["==", "!=", "<", "<=", ">", ">=", "<>"]);

const PY2_HINTS: Readonly<Record<string, string>> = {
  print: "Missing parentheses in call to 'print': Python 3 needs print(...)",
  exec: "Missing parentheses in call to 'exec'",
};

class Parser {
  #i = 0;
  constructor(readonly src: string, readonly tokens: Token[]) {}

  get tok(): Token {
    return this.tokens[this.#i] as Token;
  }
  peek(offset = 1): Token {
    return this.tokens[Math.min(this.#i + offset, this.tokens.length - 1)] as Token;
  }
  advance(): Token {
    const t = this.tok;
    if (t.kind !== "end") this.#i++;
    return t;
  }
  isOp(text: string): boolean {
    return this.tok.kind === "op" && this.tok.text === text;
  }
  isKw(text: string): boolean {
    return this.tok.kind === "kw" && this.tok.text === text;
  }
  eatOp(text: string): boolean {
    if (this.isOp(text)) {
      this.#i++;
      return true;
    }
    return false;
  }
  expectOp(text: string): Token {
    if (!this.isOp(text)) throw this.unexpected(`"${text}" expected`);
    return this.advance();
  }

  unexpected(expected?: string): PythonError {
    const t = this.tok;
    const prev = this.tokens[this.#i - 1];
    if (t.kind === "kw" && (t.text === "yield" || t.text === "await")) {
      return new PythonError("SyntaxError", `"${t.text}" is not supported`, {
        offset: t.pos,
        unsupported: true,
      });
    }
    if (t.kind === "op" && t.text === ":=") {
      return new PythonError("SyntaxError", '":=" (assignment expression) is not supported', {
        offset: t.pos,
        unsupported: true,
      });
    }
    if (t.kind === "op" && t.text === "<>") {
      return new PythonError("SyntaxError", 'invalid syntax: "<>"', {
        offset: t.pos,
        hint: 'Python 3 has no "<>": write "!="',
      });
    }
    if (t.kind === "op" && /^(?:[-+*/%&|^@]|\*\*|\/\/|<<|>>)?=$/.test(t.text)) {
      return new PythonError("SyntaxError", `"${t.text}" (assignment) is not supported`, {
        offset: t.pos,
        unsupported: true,
        hint: "The value must be a single expression, such as a lambda",
      });
    }
    if (t.kind === "kw" && STATEMENT_KEYWORDS.has(t.text)) {
      return new PythonError("SyntaxError", `"${t.text}" is not supported`, {
        offset: t.pos,
        unsupported: true,
        hint: "Only a single Python expression is allowed; put statements in a pythonfile function",
      });
    }
    const hint = prev?.kind === "name" && prev.text in PY2_HINTS ? PY2_HINTS[prev.text] : undefined;
    if (t.kind === "end") {
      return new PythonError(
        "SyntaxError",
        `unexpected end of the expression${expected ? ` (${expected})` : ""}`,
        { offset: t.pos, hint },
      );
    }
    return new PythonError(
      "SyntaxError",
      `invalid syntax: unexpected "${t.text}"${expected ? ` (${expected})` : ""}`,
      { offset: t.pos, hint },
    );
  }

  atEnd(): boolean {
    return this.tok.kind === "end";
  }

  parseTop(): Expr {
    if (this.atEnd()) throw this.unexpected("an expression");
    const e = this.parseTestListStar();
    if (!this.atEnd()) throw this.unexpected();
    return e;
  }

  parseTestListStar(): Expr {
    const pos = this.tok.pos;
    const first = this.parseStarOrTest();
    if (!this.isOp(",")) {
      if (first.k === "star") throw this.error("can't use starred expression here", first.pos);
      return first;
    }
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.atExprEnd()) break;
      elts.push(this.parseStarOrTest());
    }
    return { k: "tuple", pos, elts };
  }

  atExprEnd(): boolean {
    const t = this.tok;
    return t.kind === "end" || (t.kind === "op" && [")", "]", "}", ":", "="].includes(t.text)) ||
      (t.kind === "kw" && (t.text === "for" || t.text === "async"));
  }

  error(message: string, offset: number): PythonError {
    return new PythonError("SyntaxError", message, { offset });
  }

  parseStarOrTest(): Expr {
    if (this.isOp("*")) {
      const pos = this.advance().pos;
      return { k: "star", pos, value: this.parseBitOr() };
    }
    return this.parseTest();
  }

  parseTest(): Expr {
    if (this.isKw("lambda")) return this.parseLambda();
    const pos = this.tok.pos;
    const body = this.parseOr();
    if (this.isKw("if")) {
      this.advance();
      const test = this.parseOr();
      if (!this.isKw("else")) throw this.unexpected('"else" expected');
      this.advance();
      const orelse = this.parseTest();
      return { k: "if", pos, test, body, orelse };
    }
    return body;
  }

  parseTestNoCond(): Expr {
    if (this.isKw("lambda")) return this.parseLambda(true);
    return this.parseOr();
  }

  parseLambda(noCond = false): Expr {
    const pos = this.advance().pos;
    const params: Param[] = [];
    const seen = new Set<string>();
    let kind: Param["kind"] = "pos";
    let sawDefault = false;
    while (!this.isOp(":")) {
      if (this.isOp("(")) {
        throw new PythonError("SyntaxError", "invalid syntax: lambda parameters in parentheses", {
          offset: this.tok.pos,
          hint: "Python 3 removed tuple parameters: write lambda x: ... and use x[0], x[1]",
        });
      }
      if (this.eatOp("**")) {
        const name = this.expectName();
        this.addParam(params, seen, { name, kind: "kw" });
        this.eatOp(",");
        if (!this.isOp(":")) throw this.unexpected('":" expected');
        break;
      }
      if (this.eatOp("*")) {
        if (this.tok.kind === "name") {
          const name = this.expectName();
          this.addParam(params, seen, { name, kind: "var" });
        }
        kind = "kwonly";
        if (!this.eatOp(",")) break;
        continue;
      }
      if (this.eatOp("/")) {
        if (!this.eatOp(",")) break;
        continue;
      }
      const name = this.expectName();
      let def: Expr | undefined;
      if (this.eatOp("=")) {
        def = this.parseTest();
        sawDefault = true;
      } else if (sawDefault && kind === "pos") {
        throw this.error("non-default argument follows default argument", this.tok.pos);
      }
      this.addParam(params, seen, { name, kind, default: def });
      if (!this.eatOp(",")) break;
    }
    this.expectOp(":");
    const body = noCond ? this.parseTestNoCond() : this.parseTest();
    return { k: "lambda", pos, params, body };
  }

  addParam(params: Param[], seen: Set<string>, param: Param): void {
    if (seen.has(param.name)) {
      throw this.error(`duplicate argument '${param.name}' in function definition`, this.tok.pos);
    }
    seen.add(param.name);
    params.push(param);
  }

  expectName(): string {
    if (this.tok.kind !== "name") throw this.unexpected("a name expected");
    const t = this.advance();
    checkName(t.text, t.pos);
    return t.text;
  }

  parseOr(): Expr {
    const pos = this.tok.pos;
    const first = this.parseAnd();
    if (!this.isKw("or")) return first;
    const values = [first];
    while (this.isKw("or")) {
      this.advance();
      values.push(this.parseAnd());
    }
    return { k: "bool", pos, op: "or", values };
  }

  parseAnd(): Expr {
    const pos = this.tok.pos;
    const first = this.parseNot();
    if (!this.isKw("and")) return first;
    const values = [first];
    while (this.isKw("and")) {
      this.advance();
      values.push(this.parseNot());
    }
    return { k: "bool", pos, op: "and", values };
  }

  parseNot(): Expr {
    if (this.isKw("not")) {
      const pos = this.advance().pos;
      return { k: "not", pos, operand: this.parseNot() };
    }
    return this.parseComparison();
  }

  parseComparison(): Expr {
    const pos = this.tok.pos;
    const left = this.parseBitOr();
    const ops: CmpOp[] = [];
    const rights: Expr[] = [];
    for (;;) {
      const t = this.tok;
      let op: CmpOp | undefined;
      if (t.kind === "op" && COMPARISON_OPS.has(t.text)) {
        if (t.text === "<>") throw this.unexpected();
        op = t.text as CmpOp;
        this.advance();
      } else if (t.kind === "kw" && t.text === "in") {
        op = "in";
        this.advance();
      } else if (
        t.kind === "kw" && t.text === "not" && this.peek().kind === "kw" &&
        this.peek().text === "in"
      ) {
        op = "not in";
        this.advance();
        this.advance();
      } else if (t.kind === "kw" && t.text === "is") {
        this.advance();
        if (this.isKw("not")) {
          this.advance();
          op = "is not";
        } else op = "is";
      }
      if (op === undefined) break;
      ops.push(op);
      rights.push(this.parseBitOr());
    }
    return ops.length === 0 ? left : { k: "cmp", pos, left, ops, rights };
  }

  parseBinary(ops: readonly string[], next: () => Expr): Expr {
    const pos = this.tok.pos;
    let left = next();
    while (this.tok.kind === "op" && ops.includes(this.tok.text)) {
      const op = this.advance().text as BinOp;
      left = { k: "bin", pos, op, left, right: next() };
    }
    return left;
  }

  parseBitOr = (): Expr => this.parseBinary(["|"], this.parseXor);
  parseXor = (): Expr => this.parseBinary(["^"], this.parseBitAnd);
  parseBitAnd = (): Expr => this.parseBinary(["&"], this.parseShift);
  parseShift = (): Expr => this.parseBinary(["<<", ">>"], this.parseArith);
  parseArith = (): Expr => this.parseBinary(["+", "-"], this.parseTerm);
  parseTerm = (): Expr => this.parseBinary(["*", "/", "//", "%", "@"], this.parseFactor);

  parseFactor = (): Expr => {
    if (this.tok.kind === "op" && ["-", "+", "~"].includes(this.tok.text)) {
      const t = this.advance();
      return { k: "unary", pos: t.pos, op: t.text as "-" | "+" | "~", operand: this.parseFactor() };
    }
    return this.parsePower();
  };

  parsePower(): Expr {
    const pos = this.tok.pos;
    if (this.isKw("await")) throw this.unexpected();
    const base = this.parsePostfix();
    if (this.isOp("**")) {
      this.advance();
      return { k: "bin", pos, op: "**", left: base, right: this.parseFactor() };
    }
    return base;
  }

  parsePostfix(): Expr {
    let e = this.parseAtom();
    for (;;) {
      if (this.isOp("(")) {
        const pos = this.advance().pos;
        e = { k: "call", pos, func: e, args: this.parseArgs() };
      } else if (this.isOp("[")) {
        const pos = this.advance().pos;
        const index = this.parseSubscript();
        this.expectOp("]");
        e = { k: "index", pos, value: e, index };
      } else if (this.isOp(".")) {
        this.advance();
        const t = this.tok;
        if (t.kind !== "name" && t.kind !== "kw") throw this.unexpected("an attribute name");
        if (t.kind === "kw") throw this.unexpected("an attribute name");
        this.advance();
        checkName(t.text, t.pos);
        e = { k: "attr", pos: t.pos, value: e, name: t.text };
      } else return e;
    }
  }

  parseArgs(): Arg[] {
    const args: Arg[] = [];
    let sawKeyword = false;
    while (!this.isOp(")")) {
      if (this.eatOp("**")) {
        args.push({ kind: "dstar", value: this.parseTest() });
        sawKeyword = true;
      } else if (this.eatOp("*")) {
        args.push({ kind: "star", value: this.parseTest() });
      } else if (
        this.tok.kind === "name" && this.peek().kind === "op" && this.peek().text === "="
      ) {
        const name = this.advance();
        checkName(name.text, name.pos);
        this.advance();
        args.push({ kind: "kw", name: name.text, value: this.parseTest() });
        sawKeyword = true;
      } else {
        const pos = this.tok.pos;
        const value = this.parseTest();
        if (this.isKw("for") || this.isKw("async")) {
          const comp: Expr = {
            k: "comp",
            pos,
            kind: "gen",
            elt: value,
            clauses: this.parseClauses(),
          };
          if (args.length > 0 || !this.isOp(")")) {
            throw this.error("Generator expression must be parenthesized", pos);
          }
          args.push({ kind: "pos", value: comp });
          break;
        }
        if (sawKeyword) {
          throw this.error("positional argument follows keyword argument", pos);
        }
        args.push({ kind: "pos", value });
      }
      if (!this.eatOp(",")) break;
    }
    this.expectOp(")");
    return args;
  }

  parseSubscript(): Expr {
    const pos = this.tok.pos;
    const first = this.parseSliceItem();
    if (!this.isOp(",")) return first;
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.isOp("]")) break;
      elts.push(this.parseSliceItem());
    }
    return { k: "tuple", pos, elts };
  }

  parseSliceItem(): Expr {
    const pos = this.tok.pos;
    let lower: Expr | undefined;
    if (!this.isOp(":")) {
      lower = this.parseTest();
      if (!this.isOp(":")) return lower;
    }
    this.expectOp(":");
    let upper: Expr | undefined;
    let step: Expr | undefined;
    if (!this.isOp(":") && !this.isOp("]") && !this.isOp(",")) upper = this.parseTest();
    if (this.eatOp(":")) {
      if (!this.isOp("]") && !this.isOp(",")) step = this.parseTest();
    }
    return { k: "slice", pos, lower, upper, step };
  }

  parseClauses(): Clause[] {
    const clauses: Clause[] = [];
    while (this.isKw("for") || this.isKw("async")) {
      if (this.isKw("async")) throw this.unexpected();
      this.advance();
      const target = this.parseTarget();
      if (!this.isKw("in")) throw this.unexpected('"in" expected');
      this.advance();
      clauses.push({ k: "for", target, iter: this.parseOr() });
      while (this.isKw("if")) {
        this.advance();
        clauses.push({ k: "if", test: this.parseTestNoCond() });
      }
    }
    return clauses;
  }

  parseTarget(): Target {
    const first = this.parseTargetAtom();
    if (!this.isOp(",")) return first;
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.isKw("in")) break;
      elts.push(this.parseTargetAtom());
    }
    return { k: "tuple", elts };
  }

  parseTargetAtom(): Target {
    if (this.eatOp("(") || this.isOp("[")) {
      const closing = this.tokens[this.#i - 1]?.text === "(" ? ")" : "]";
      if (closing === "]") this.advance();
      const inner = this.parseTarget();
      this.expectOp(closing);
      return inner.k === "tuple" ? inner : { k: "tuple", elts: [inner] };
    }
    return { k: "name", id: this.expectName() };
  }

  parseAtom(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case "num":
        this.advance();
        return { k: "const", pos: t.pos, value: t.value as PyValue };
      case "str": {
        this.advance();
        let value = t.value as PyValue;
        let isBytes = t.bytes === true;
        while (this.tok.kind === "str") {
          const next = this.advance();
          if ((next.bytes === true) !== isBytes) {
            throw this.error("cannot mix bytes and nonbytes literals", t.pos);
          }
          if (isBytes) {
            const a = (value as PyBytes).data;
            const b = (next.value as PyBytes).data;
            const joined = new Uint8Array(a.length + b.length);
            joined.set(a);
            joined.set(b, a.length);
            value = new PyBytes(joined);
          } else value = (value as string) + (next.value as string);
          isBytes = next.bytes === true;
        }
        return { k: "const", pos: t.pos, value };
      }
      case "name":
        this.advance();
        checkName(t.text, t.pos);
        return { k: "name", pos: t.pos, id: t.text };
      case "kw":
        if (t.text === "None" || t.text === "True" || t.text === "False") {
          this.advance();
          return {
            k: "const",
            pos: t.pos,
            value: t.text === "None" ? null : t.text === "True",
          };
        }
        if (t.text === "lambda") return this.parseLambda();
        throw this.unexpected();
      case "op":
        if (t.text === "(") return this.parseParen();
        if (t.text === "[") return this.parseList();
        if (t.text === "{") return this.parseBrace();
        if (t.text === "...") {
          throw new PythonError("SyntaxError", '"..." (Ellipsis) is not supported', {
            offset: t.pos,
            unsupported: true,
          });
        }
        throw this.unexpected();
      default:
        throw this.unexpected();
    }
  }

  parseParen(): Expr {
    const pos = this.advance().pos;
    if (this.eatOp(")")) return { k: "tuple", pos, elts: [] };
    if (this.isKw("yield")) throw this.unexpected();
    const first = this.parseStarOrTest();
    if (this.isKw("for") || this.isKw("async")) {
      const comp: Expr = { k: "comp", pos, kind: "gen", elt: first, clauses: this.parseClauses() };
      this.expectOp(")");
      return comp;
    }
    if (this.eatOp(")")) {
      if (first.k === "star") throw this.error("can't use starred expression here", first.pos);
      return first;
    }
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.isOp(")")) break;
      elts.push(this.parseStarOrTest());
    }
    this.expectOp(")");
    return { k: "tuple", pos, elts };
  }

  parseList(): Expr {
    const pos = this.advance().pos;
    if (this.eatOp("]")) return { k: "list", pos, elts: [] };
    const first = this.parseStarOrTest();
    if (this.isKw("for") || this.isKw("async")) {
      const comp: Expr = { k: "comp", pos, kind: "list", elt: first, clauses: this.parseClauses() };
      this.expectOp("]");
      return comp;
    }
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.isOp("]")) break;
      elts.push(this.parseStarOrTest());
    }
    this.expectOp("]");
    return { k: "list", pos, elts };
  }

  parseBrace(): Expr {
    const pos = this.advance().pos;
    if (this.eatOp("}")) return { k: "dict", pos, items: [] };
    if (this.eatOp("**")) {
      const items: DictItem[] = [{ dstar: this.parseBitOr() }];
      return this.parseDictRest(pos, items);
    }
    const first = this.parseStarOrTest();
    if (this.eatOp(":")) {
      const value = this.parseTest();
      if (this.isKw("for") || this.isKw("async")) {
        const comp: Expr = {
          k: "comp",
          pos,
          kind: "dict",
          elt: first,
          value,
          clauses: this.parseClauses(),
        };
        this.expectOp("}");
        return comp;
      }
      return this.parseDictRest(pos, [{ key: first, value }]);
    }
    if (this.isKw("for") || this.isKw("async")) {
      const comp: Expr = { k: "comp", pos, kind: "set", elt: first, clauses: this.parseClauses() };
      this.expectOp("}");
      return comp;
    }
    const elts = [first];
    while (this.eatOp(",")) {
      if (this.isOp("}")) break;
      elts.push(this.parseStarOrTest());
    }
    this.expectOp("}");
    return { k: "set", pos, elts };
  }

  parseDictRest(pos: number, items: DictItem[]): Expr {
    while (this.eatOp(",")) {
      if (this.isOp("}")) break;
      if (this.eatOp("**")) {
        items.push({ dstar: this.parseBitOr() });
        continue;
      }
      const key = this.parseTest();
      this.expectOp(":");
      items.push({ key, value: this.parseTest() });
    }
    this.expectOp("}");
    return { k: "dict", pos, items };
  }
}

function checkName(name: string, offset: number): void {
  if (name.startsWith("__") && name.endsWith("__") && name.length > 4) {
    throw new PythonError("SyntaxError", `"${name}" is not supported (double-underscore name)`, {
      offset,
      unsupported: true,
    });
  }
}

/** Parses expression text into a tree; throws {@link PythonError} (SyntaxError). */
function parse(src: string): Expr {
  return new Parser(src, tokenize(src)).parseTop();
}

// =============================================================================================
// Value helpers: type names, hashing, truthiness, equality, ordering, repr

/** Python's `type(value).__name__`. */
export function pyTypeName(value: PyValue): string {
  if (value === null) return "NoneType";
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "str";
  }
  if (Array.isArray(value)) return "list";
  return value.typeName;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

function objectId(value: object): number {
  let id = objectIds.get(value);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value, id);
  }
  return id;
}

function hashKey(value: PyValue): string {
  if (value === null) return "N";
  switch (typeof value) {
    case "boolean":
      return value ? "n1" : "n0";
    case "bigint":
      return `n${value}`;
    case "number":
      if (Number.isInteger(value)) return `n${BigInt(value)}`;
      return `f${value}`;
    case "string":
      return `s${value}`;
  }
  if (Array.isArray(value)) throw pyErr("TypeError", "unhashable type: 'list'");
  if (value instanceof PyTuple) return `t(${value.items.map(hashKey).join(",")})`;
  if (value instanceof PyBytes) return `b${latin1(value.data)}`;
  if (value instanceof PyDict) throw pyErr("TypeError", "unhashable type: 'dict'");
  if (value instanceof PySet && value.typeName === "set") {
    throw pyErr("TypeError", "unhashable type: 'set'");
  }
  if (value instanceof PySet) return `F(${[...value.map.keys()].sort().join(",")})`;
  if (value instanceof PyRemote) return `r${value.ref}`;
  return `o${objectId(value)}`;
}

function latin1(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return s;
}

/** Python truthiness. */
export function pyTruthy(value: PyValue): boolean {
  if (value === null) return false;
  switch (typeof value) {
    case "boolean":
      return value;
    case "bigint":
      return value !== 0n;
    case "number":
      return value !== 0;
    case "string":
      return value.length > 0;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof PyTuple) return value.items.length > 0;
  if (value instanceof PyBytes) return value.data.length > 0;
  if (value instanceof PyDict) return value.map.size > 0;
  if (value instanceof PySet) return value.map.size > 0;
  if (value instanceof PyRange) return value.length > 0n;
  return true;
}

function isNumber(value: PyValue): value is boolean | bigint | number {
  const t = typeof value;
  return t === "boolean" || t === "bigint" || t === "number";
}

function toBig(value: boolean | bigint): bigint {
  return typeof value === "boolean" ? (value ? 1n : 0n) : value;
}

function numEq(a: boolean | bigint | number, b: boolean | bigint | number): boolean {
  const x = typeof a === "boolean" ? (a ? 1n : 0n) : a;
  const y = typeof b === "boolean" ? (b ? 1n : 0n) : b;
  if (typeof x === "bigint" && typeof y === "bigint") return x === y;
  if (typeof x === "number" && typeof y === "number") return x === y;
  const f = (typeof x === "number" ? x : y) as number;
  const i = (typeof x === "bigint" ? x : y) as bigint;
  return Number.isInteger(f) && BigInt(f) === i;
}

/** Python `==`. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (a === b) return !(typeof a === "number" && Number.isNaN(a));
  if (a === null || b === null) return false;
  if (isNumber(a)) return isNumber(b) && numEq(a, b);
  if (typeof a === "string" || typeof b === "string") return false;
  if (Array.isArray(a)) return Array.isArray(b) && seqEq(a, b);
  if (Array.isArray(b)) return false;
  if (a instanceof PyTuple) return b instanceof PyTuple && seqEq(a.items, b.items);
  if (a instanceof PyBytes) {
    return b instanceof PyBytes && a.data.length === b.data.length &&
      a.data.every((x, i) => x === b.data[i]);
  }
  if (a instanceof PyDict) {
    if (!(b instanceof PyDict) || a.map.size !== b.map.size) return false;
    for (const [h, [, v]] of a.map) {
      const other = b.map.get(h);
      if (other === undefined || !pyEquals(v, other[1])) return false;
    }
    return true;
  }
  if (a instanceof PySet) {
    if (!(b instanceof PySet) || a.map.size !== b.map.size) return false;
    for (const h of a.map.keys()) if (!b.map.has(h)) return false;
    return true;
  }
  if (a instanceof PyRange && b instanceof PyRange) {
    return a.length === b.length &&
      (a.length === 0n || (a.start === b.start && (a.length === 1n || a.step === b.step)));
  }
  if (a instanceof PyRemote && b instanceof PyRemote) return a.ref === b.ref;
  return false;
}

function seqEq(a: readonly PyValue[], b: readonly PyValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!pyEquals(a[i] as PyValue, b[i] as PyValue)) return false;
  return true;
}

const HAS_SURROGATE = /[\uD800-\uDFFF]/;

/** Code-point order of two strings (JavaScript's `<` compares UTF-16 units). */
function compareStrings(a: string, b: string): number {
  if (!HAS_SURROGATE.test(a) && !HAS_SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = (x[i] as string).codePointAt(0) as number;
    const d = (y[i] as string).codePointAt(0) as number;
    if (c !== d) return c < d ? -1 : 1;
  }
  return x.length - y.length < 0 ? -1 : x.length === y.length ? 0 : 1;
}

/**
 * Python ordering for `<`, `<=`, `>`, `>=`: returns negative, zero or positive.
 *
 * @throws {PythonError} TypeError for values Python cannot order
 */
export function pyCompare(a: PyValue, b: PyValue, op = "<"): number {
  if (isNumber(a) && isNumber(b)) {
    const x = typeof a === "boolean" ? (a ? 1n : 0n) : a;
    const y = typeof b === "boolean" ? (b ? 1n : 0n) : b;
    if (typeof x === "number" && Number.isNaN(x)) return NaN;
    if (typeof y === "number" && Number.isNaN(y)) return NaN;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return compareSeq(a, b, op);
  if (a instanceof PyTuple && b instanceof PyTuple) return compareSeq(a.items, b.items, op);
  if (a instanceof PyBytes && b instanceof PyBytes) {
    return compareStrings(latin1(a.data), latin1(b.data));
  }
  if (a instanceof PySet && b instanceof PySet) {
    const sub = [...a.map.keys()].every((h) => b.map.has(h));
    const sup = [...b.map.keys()].every((h) => a.map.has(h));
    if (sub && sup) return 0;
    if (sub) return -1;
    if (sup) return 1;
    return NaN;
  }
  throw pyErr(
    "TypeError",
    `'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`,
  );
}

function compareSeq(a: readonly PyValue[], b: readonly PyValue[], op: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (!pyEquals(a[i] as PyValue, b[i] as PyValue)) {
      return pyCompare(a[i] as PyValue, b[i] as PyValue, op);
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr()` of a str. */
function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x7f || ch === " ") out += ch;
    else if (NON_PRINTABLE.test(ch)) {
      if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
      else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
      else out += "\\U" + cp.toString(16).padStart(8, "0");
    } else out += ch;
  }
  return out + quote;
}

function bytesRepr(data: Uint8Array): string {
  const s = latin1(data);
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "b" + quote;
  for (const b of data) {
    const ch = String.fromCharCode(b);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (b < 0x20 || b >= 0x7f) out += "\\x" + b.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}

/** Python's `repr(float)`: shortest round-trip digits, Python's switch to exponent notation. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) out = "0." + "0".repeat(-exp - 1) + digits;
    else if (digits.length <= exp + 1) out = digits + "0".repeat(exp + 1 - digits.length) + ".0";
    else out = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  } else {
    const m = digits.length === 1 ? digits : digits[0] + "." + digits.slice(1);
    out = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return negative ? "-" + out : out;
}

/** Python's `repr()`. */
export function pyRepr(value: PyValue, it?: Interp, seen = new Set<object>()): string {
  if (value === null) return "None";
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False";
    case "bigint":
      return value.toString();
    case "number":
      return floatRepr(value);
    case "string":
      return strRepr(value);
  }
  if (seen.has(value)) return Array.isArray(value) ? "[...]" : "{...}";
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, it, seen)).join(", ")}]`;
    if (value instanceof PyTuple) {
      const inner = value.items.map((v) => pyRepr(v, it, seen));
      return inner.length === 1 ? `(${inner[0]},)` : `(${inner.join(", ")})`;
    }
    if (value instanceof PyBytes) return bytesRepr(value.data);
    if (value instanceof PyDict) {
      return `{${
        [...value.map.values()].map(([k, v]) => `${pyRepr(k, it, seen)}: ${pyRepr(v, it, seen)}`)
          .join(", ")
      }}`;
    }
    if (value instanceof PySet) {
      const inner = [...value.map.values()].map((v) => pyRepr(v, it, seen)).join(", ");
      if (value.typeName === "frozenset") return `frozenset({${inner}})`;
      return inner === "" ? "set()" : `{${inner}}`;
    }
    return value.repr(it as Interp);
  } finally {
    seen.delete(value);
  }
}

/** Python's `str()`. */
export function pyStr(value: PyValue, it?: Interp): string {
  if (typeof value === "string") return value;
  return pyRepr(value, it);
}

// =============================================================================================
// Strings as code points

function cpLength(s: string): number {
  if (!HAS_SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function cpArray(s: string): string[] {
  return HAS_SURROGATE.test(s) ? Array.from(s) : s.split("");
}

/** `s[start:end]` in code points, with already-normalised non-negative indices. */
function cpSlice(s: string, start: number, end: number): string {
  if (!HAS_SURROGATE.test(s)) return s.slice(start, end);
  return Array.from(s).slice(start, end).join("");
}

/** Python's `str.isspace()` characters. */
const PY_WHITESPACE = new Set(
  Array.from(
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" +
      "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
  ),
);

const LINE_BREAKS = new Set(Array.from("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"));

// =============================================================================================
// Float formatting (exact decimal expansion, round-half-even like Python)

/** Exact decimal digits of a finite double: value = 0.DIGITS × 10^exp (digits without zeros). */
function exactDecimal(x: number): { digits: string; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  if (mant === 0n) return { digits: "", exp: 0 };
  let intText: string;
  let scale: number;
  if (e2 >= 0) {
    intText = (mant << BigInt(e2)).toString();
    scale = 0;
  } else {
    // mant / 2^k = mant * 5^k / 10^k
    intText = (mant * 5n ** BigInt(-e2)).toString();
    scale = -e2;
  }
  const exp = intText.length - scale;
  return { digits: intText.replace(/0+$/, ""), exp };
}

/** Rounds 0.DIGITS×10^exp to `keep` significant digits, half to even. */
function roundDigits(
  d: { digits: string; exp: number },
  keep: number,
): { digits: string; exp: number } {
  if (keep < 0) return { digits: "", exp: d.exp };
  if (d.digits.length <= keep) return d;
  const head = d.digits.slice(0, keep);
  const rest = d.digits.slice(keep);
  const first = rest.charCodeAt(0) - 48;
  const roundUp = first > 5 || (first === 5 && (rest.length > 1 ||
    (head.length > 0 && (head.charCodeAt(head.length - 1) - 48) % 2 === 1)));
  if (!roundUp) return { digits: head.replace(/0+$/, ""), exp: d.exp };
  if (head === "") return { digits: "1", exp: d.exp + 1 };
  const bumped = (BigInt(head) + 1n).toString();
  if (bumped.length > head.length) return { digits: "1", exp: d.exp + 1 };
  return { digits: bumped.replace(/0+$/, ""), exp: d.exp };
}

/** `%.{prec}f` without sign. */
function fixedDigits(x: number, prec: number): string {
  const d = roundDigits(exactDecimal(x), exactDecimal(x).exp + prec);
  let intPart: string;
  let frac: string;
  if (d.exp <= 0) {
    intPart = "0";
    frac = "0".repeat(-d.exp) + d.digits;
  } else {
    intPart = (d.digits + "0".repeat(Math.max(0, d.exp - d.digits.length))).slice(0, d.exp);
    frac = d.digits.slice(d.exp);
  }
  intPart = intPart.replace(/^0+(?=\d)/, "") || "0";
  frac = (frac + "0".repeat(prec)).slice(0, prec);
  return prec > 0 ? `${intPart}.${frac}` : intPart;
}

/** `%.{prec}e` without sign: mantissa digits and decimal exponent. */
function expParts(x: number, prec: number): { mant: string; exp: number } {
  if (x === 0) return { mant: prec > 0 ? "0." + "0".repeat(prec) : "0", exp: 0 };
  const d = roundDigits(exactDecimal(x), prec + 1);
  const digits = (d.digits + "0".repeat(prec + 1)).slice(0, prec + 1);
  return { mant: prec > 0 ? `${digits[0]}.${digits.slice(1)}` : digits, exp: d.exp - 1 };
}

function expText(x: number, prec: number, upper: boolean): string {
  const { mant, exp } = expParts(x, prec);
  const e = `${upper ? "E" : "e"}${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return mant + e;
}

/** `%g`-style formatting without sign. */
function generalText(
  x: number,
  prec: number,
  upper: boolean,
  alt: boolean,
  noneType: boolean,
): string {
  const p = prec === 0 ? 1 : prec;
  if (x === 0) {
    if (alt) return "0." + "0".repeat(p - 1);
    return noneType ? "0.0" : "0";
  }
  const { exp } = expParts(x, p - 1);
  let out: string;
  // The no-type format (`format(x, ".3")`) switches to exponent notation one digit earlier.
  if (exp >= -4 && exp < (noneType ? p - 1 : p)) {
    out = fixedDigits(x, p - 1 - exp);
    if (!alt && out.includes(".")) {
      out = out.replace(/0+$/, "").replace(/\.$/, noneType ? ".0" : "");
    } else if (noneType && !out.includes(".")) out += ".0";
  } else {
    out = expText(x, p - 1, upper);
    if (!alt) out = out.replace(/\.?0+(?=[eE])/, "");
  }
  return out;
}

function specialFloat(x: number, upper: boolean): string | undefined {
  if (Number.isNaN(x)) return upper ? "NAN" : "nan";
  if (!Number.isFinite(x)) return upper ? "INF" : "inf";
  return undefined;
}

// =============================================================================================
// Interpreter

interface Scope {
  readonly vars: Map<string, PyValue>;
  readonly parent?: Scope;
}

/** Thrown in async mode when an effect must be awaited before evaluation can go on. */
class Suspend {
  constructor(readonly key: string, readonly run: () => Promise<unknown>) {}
}

type LogEntry = { readonly key: string; readonly value: unknown } | {
  readonly key: string;
  readonly error: unknown;
};

interface EvalContext {
  /** The expression text (for error positions). */
  readonly source: string;
  readonly site: ExpressionSite;
  readonly namespace: ExpressionNamespace;
  readonly hooks: ExpressionHooks;
  /** Warnings already given for this option. */
  readonly warned: Set<string>;
}

const MAX_STEPS = 2_000_000;
const MAX_DEPTH = 300;
const MAX_STRING = 100_000_000;

/** The evaluator for one run (a replay in async mode starts a new one). */
class Interp {
  #cursor = 0;
  #steps = 0;
  #depth = 0;
  constructor(
    readonly ctx: EvalContext,
    readonly mode: "sync" | "async",
    readonly log: LogEntry[] = [],
  ) {}

  /** Runs an effect once per evaluation; async mode suspends, then replays the logged result. */
  effect<T>(key: string, sync: () => T, run: () => Promise<T>): T {
    const index = this.#cursor++;
    const logged = this.log[index];
    if (logged !== undefined) {
      if (logged.key !== key) throw new Error(`Replay of expression effects diverged at "${key}"`);
      if ("error" in logged) throw logged.error;
      return logged.value as T;
    }
    if (this.mode === "sync") return sync();
    throw new Suspend(key, run);
  }

  warnOnce(key: string, message: string): void {
    if (this.ctx.warned.has(key)) return;
    this.ctx.warned.add(key);
    this.ctx.hooks.warn?.(
      `Option "${this.ctx.site.option}" in section "${this.ctx.site.section}": ${message}`,
    );
  }

  /** Sends a request to the `pythonfile` child and decodes the answer. */
  python(request: PythonRequest): PyValue {
    const bridge = this.ctx.hooks.python;
    if (bridge === undefined) throw new Error("Python request without a pythonfile bridge");
    const reply = this.effect(
      JSON.stringify(request),
      () => bridge.requestSync(request),
      () => bridge.request(request),
    );
    if ("error" in reply) {
      const { type, message, traceback } = reply.error;
      throw new PythonError(type, message, {
        hint: traceback !== undefined && traceback !== ""
          ? `Raised in pythonfile "${bridge.path}":\n${traceback.trimEnd()}`
          : `Raised in pythonfile "${bridge.path}"`,
      });
    }
    return fromWire(reply.ok);
  }

  runCommand(request: CommandRequest): CommandResult {
    const { runCommand, runCommandSync } = this.ctx.hooks;
    return this.effect(
      `command:${JSON.stringify({ ...request, input: request.input && latin1(request.input) })}`,
      () => {
        if (runCommandSync === undefined) {
          throw unsupported(`running commands is not possible in option "${this.ctx.site.option}"`);
        }
        return runCommandSync(request);
      },
      () => {
        if (runCommand === undefined) {
          throw unsupported(`running commands is not possible in option "${this.ctx.site.option}"`);
        }
        return runCommand(request);
      },
    );
  }

  step(): void {
    if (++this.#steps > MAX_STEPS) {
      throw pyErr("RuntimeError", "the expression takes too long (too many evaluation steps)");
    }
  }

  eval(e: Expr, scope: Scope): PyValue {
    this.step();
    try {
      return this.#eval(e, scope);
    } catch (error) {
      if (error instanceof PythonError && error.offset === undefined) error.offset = e.pos;
      throw error;
    }
  }

  #eval(e: Expr, scope: Scope): PyValue {
    switch (e.k) {
      case "const":
        return e.value;
      case "name":
        return this.lookup(e.id, scope);
      case "lambda": {
        const defaults = new Map<string, PyValue>();
        for (const p of e.params) {
          if (p.default !== undefined) defaults.set(p.name, this.eval(p.default, scope));
        }
        return new PyFunction(e.params, defaults, e.body, scope, this.ctx.source);
      }
      case "if":
        return pyTruthy(this.eval(e.test, scope))
          ? this.eval(e.body, scope)
          : this.eval(e.orelse, scope);
      case "bool": {
        let value: PyValue = null;
        for (const operand of e.values) {
          value = this.eval(operand, scope);
          if (pyTruthy(value) === (e.op === "or")) return value;
        }
        return value;
      }
      case "not":
        return !pyTruthy(this.eval(e.operand, scope));
      case "cmp": {
        let left = this.eval(e.left, scope);
        let result: PyValue = true;
        for (let i = 0; i < e.ops.length; i++) {
          const right = this.eval(e.rights[i] as Expr, scope);
          result = this.compare(e.ops[i] as CmpOp, left, right);
          if (!pyTruthy(result)) return result;
          left = right;
        }
        return result;
      }
      case "bin":
        return this.binary(e.op, this.eval(e.left, scope), this.eval(e.right, scope));
      case "unary":
        return unary(e.op, this.eval(e.operand, scope));
      case "call": {
        const func = this.eval(e.func, scope);
        const args: PyValue[] = [];
        const kwargs: Kwargs = new Map();
        for (const arg of e.args) {
          if (arg.kind === "pos") args.push(this.eval(arg.value, scope));
          else if (arg.kind === "star") args.push(...this.toArray(this.eval(arg.value, scope)));
          else if (arg.kind === "kw") {
            if (kwargs.has(arg.name)) {
              throw pyErr("SyntaxError", `keyword argument repeated: ${arg.name}`);
            }
            kwargs.set(arg.name, this.eval(arg.value, scope));
          } else {
            const mapping = this.eval(arg.value, scope);
            if (!(mapping instanceof PyDict)) {
              throw pyErr(
                "TypeError",
                `argument after ** must be a mapping, not ${pyTypeName(mapping)}`,
              );
            }
            for (const [k, v] of mapping.map.values()) {
              if (typeof k !== "string") throw pyErr("TypeError", "keywords must be strings");
              if (kwargs.has(k)) {
                throw pyErr("TypeError", `got multiple values for keyword argument '${k}'`);
              }
              kwargs.set(k, v);
            }
          }
        }
        return this.call(func, args, kwargs);
      }
      case "attr":
        return this.getAttr(this.eval(e.value, scope), e.name);
      case "index": {
        const value = this.eval(e.value, scope);
        if (e.index.k === "slice") {
          const s = e.index;
          return this.slice(
            value,
            s.lower === undefined ? null : this.eval(s.lower, scope),
            s.upper === undefined ? null : this.eval(s.upper, scope),
            s.step === undefined ? null : this.eval(s.step, scope),
          );
        }
        return this.getItem(value, this.eval(e.index, scope));
      }
      case "slice":
        throw unsupported("slice objects outside brackets are not supported");
      case "tuple":
      case "list":
      case "set": {
        const items: PyValue[] = [];
        for (const elt of e.elts) {
          if (elt.k === "star") items.push(...this.toArray(this.eval(elt.value, scope)));
          else items.push(this.eval(elt, scope));
        }
        if (e.k === "list") return items;
        if (e.k === "tuple") return new PyTuple(items);
        const set = new PySet();
        for (const item of items) set.add(item);
        return set;
      }
      case "dict": {
        const dict = new PyDict();
        for (const item of e.items) {
          if ("dstar" in item) {
            const other = this.eval(item.dstar, scope);
            if (!(other instanceof PyDict)) {
              throw pyErr("TypeError", `'${pyTypeName(other)}' object is not a mapping`);
            }
            for (const [k, v] of other.map.values()) dict.set(k, v);
          } else dict.set(this.eval(item.key, scope), this.eval(item.value, scope));
        }
        return dict;
      }
      case "comp":
        return this.comprehension(e, scope);
      case "star":
        throw pyErr("SyntaxError", "can't use starred expression here");
    }
  }

  lookup(name: string, scope: Scope): PyValue {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      const v = s.vars.get(name);
      if (v !== undefined || s.vars.has(name)) return v as PyValue;
    }
    const { namespace, site } = this.ctx;
    // OfflineIMAP's extra namespace ({'re': re}) overrides the pythonfile's globals.
    if (name === "re" && namespace === "filter") return RE_MODULE;
    const globals = this.pythonGlobals();
    if (globals !== undefined && "names" in globals && globals.names.has(name)) {
      return this.python({ op: "get", name });
    }
    if (namespace === "eval" || namespace === "hook") {
      const superset = name === "os"
        ? (namespace === "hook" ? OS_HOOK_MODULE : OS_MODULE)
        : name === "subprocess"
        ? SUBPROCESS_MODULE
        : undefined;
      if (superset !== undefined) {
        this.warnOnce(
          name,
          `"${name}" is provided by offlineimap-ts; OfflineIMAP needs "import ${name}" in the ` +
            "pythonfile for this",
        );
        return superset;
      }
      if (name === "open") return OPEN_BUILTIN;
    }
    const builtin = BUILTINS.get(name);
    if (builtin !== undefined) {
      if (name === "cmp") {
        this.warnOnce(
          "cmp",
          "cmp() does not exist in Python 3 (OfflineIMAP 8 fails with NameError); offlineimap-ts " +
            "provides it, but (a > b) - (a < b) works everywhere",
        );
      }
      return builtin;
    }
    if (REFUSED_BUILTINS.has(name)) {
      throw unsupported(`"${name}" is not supported`);
    }
    if (globals !== undefined && "unavailable" in globals) {
      throw new PythonError(
        "NameError",
        `name '${name}' is not defined: it would come from pythonfile "${this.ctx.hooks.python?.path}", but ${globals.unavailable}`,
        {
          hint: globals.unavailable.includes("python3")
            ? `Install python3 to call "${name}", or replace it by a plain expression`
            : `Fix the pythonfile so that it defines "${name}"`,
        },
      );
    }
    let hint: string | undefined;
    if ((name === "os" || name === "subprocess") && namespace !== "eval" && namespace !== "hook") {
      hint =
        `OfflineIMAP does not provide "${name}" in "${site.option}"; import it in a pythonfile`;
    } else if (name === "re") {
      hint = `OfflineIMAP does not provide "re" in "${site.option}"; import it in a pythonfile`;
    } else if (name === "unicode" || name === "basestring" || name === "long") {
      hint = `"${name}" is Python 2 only; use "str" (or "int")`;
    }
    throw pyErr("NameError", `name '${name}' is not defined`, hint);
  }

  pythonGlobals(): ReturnType<PythonBridge["globals"]> | undefined {
    return this.ctx.hooks.python?.globals();
  }

  call(func: PyValue, args: PyValue[], kwargs: Kwargs = NO_KWARGS): PyValue {
    if (++this.#depth > MAX_DEPTH) {
      this.#depth = 0;
      throw pyErr("RecursionError", "maximum recursion depth exceeded");
    }
    try {
      if (func instanceof PyFunction) return this.callLambda(func, args, kwargs);
      if (func instanceof PyBuiltin) return func.fn(args, kwargs, this);
      if (func instanceof PyRemote && func.callable) {
        return this.python({
          op: "call",
          ref: func.ref,
          args: args.map(toWire),
          kwargs: [...kwargs].map(([k, v]) => [k, toWire(v)]),
        });
      }
      throw pyErr("TypeError", `'${pyTypeName(func)}' object is not callable`);
    } finally {
      if (this.#depth > 0) this.#depth--;
    }
  }

  callLambda(func: PyFunction, args: PyValue[], kwargs: Kwargs): PyValue {
    const vars = new Map<string, PyValue>();
    const positional = func.params.filter((p) => p.kind === "pos");
    const varParam = func.params.find((p) => p.kind === "var");
    const kwParam = func.params.find((p) => p.kind === "kw");
    if (args.length > positional.length && varParam === undefined) {
      const n = positional.length;
      throw pyErr(
        "TypeError",
        `<lambda>() takes ${n} positional argument${n === 1 ? "" : "s"} but ${args.length} ${
          args.length === 1 ? "was" : "were"
        } given`,
      );
    }
    positional.forEach((p, i) => {
      if (i < args.length) vars.set(p.name, args[i] as PyValue);
    });
    if (varParam !== undefined) vars.set(varParam.name, new PyTuple(args.slice(positional.length)));
    const extra = new PyDict();
    for (const [k, v] of kwargs) {
      const p = func.params.find((q) => q.name === k && (q.kind === "pos" || q.kind === "kwonly"));
      if (p === undefined) {
        if (kwParam === undefined) {
          throw pyErr("TypeError", `<lambda>() got an unexpected keyword argument '${k}'`);
        }
        extra.set(k, v);
        continue;
      }
      if (vars.has(k)) {
        throw pyErr("TypeError", `<lambda>() got multiple values for argument '${k}'`);
      }
      vars.set(k, v);
    }
    if (kwParam !== undefined) vars.set(kwParam.name, extra);
    const missing: string[] = [];
    for (const p of func.params) {
      if ((p.kind === "pos" || p.kind === "kwonly") && !vars.has(p.name)) {
        if (func.defaults.has(p.name)) vars.set(p.name, func.defaults.get(p.name) as PyValue);
        else missing.push(p.name);
      }
    }
    if (missing.length > 0) {
      const names = missing.map((m) => `'${m}'`);
      const list = names.length === 1
        ? names[0]
        : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
      throw pyErr(
        "TypeError",
        `<lambda>() missing ${missing.length} required positional argument${
          missing.length === 1 ? "" : "s"
        }: ${list}`,
      );
    }
    return this.eval(func.body, { vars, parent: func.closure });
  }

  // -- iteration ---------------------------------------------------------------------------

  /** Python `iter(value)` as a JavaScript iterator. */
  iterate(value: PyValue): Iterator<PyValue> {
    if (typeof value === "string") return cpArray(value)[Symbol.iterator]();
    if (Array.isArray(value)) return value.slice()[Symbol.iterator]();
    if (value instanceof PyTuple) return value.items[Symbol.iterator]();
    if (value instanceof PyDict) return value.keys()[Symbol.iterator]();
    if (value instanceof PySet) return [...value.map.values()][Symbol.iterator]();
    if (value instanceof PyBytes) {
      return Array.from(value.data, (b) => BigInt(b) as PyValue)[Symbol.iterator]();
    }
    if (value instanceof PyIterator) return value.iterator;
    if (value instanceof PyRange) {
      const r = value;
      return (function* () {
        for (let i = 0n; i < r.length; i++) yield r.at(i);
      })();
    }
    if (value instanceof PyObject && value.iterItems !== undefined) {
      return value.iterItems(this)[Symbol.iterator]();
    }
    throw pyErr("TypeError", `'${pyTypeName(value)}' object is not iterable`);
  }

  toArray(value: PyValue): PyValue[] {
    if (Array.isArray(value)) return value.slice();
    const out: PyValue[] = [];
    const iterator = this.iterate(value);
    for (let r = iterator.next(); !r.done; r = iterator.next()) {
      this.step();
      out.push(r.value);
    }
    return out;
  }

  comprehension(e: Extract<Expr, { k: "comp" }>, scope: Scope): PyValue {
    const first = e.clauses[0] as Extract<Clause, { k: "for" }>;
    // Python evaluates the first iterable at once, in the enclosing scope.
    const firstIter = this.iterate(this.eval(first.iter, scope));
    const compScope: Scope = { vars: new Map(), parent: scope };
    const walk = (index: number, iterator?: Iterator<PyValue>) =>
      this.walkClauses(e.clauses, index, compScope, iterator);
    if (e.kind === "gen") {
      const items = walk(0, firstIter);
      const elt = e.elt;
      const evalElt = () => this.eval(elt, compScope);
      return new PyIterator(
        "generator",
        (function* () {
          for (const _ of items) yield evalElt();
        })(),
      );
    }
    if (e.kind === "dict") {
      const dict = new PyDict();
      for (const _ of walk(0, firstIter)) {
        dict.set(this.eval(e.elt, compScope), this.eval(e.value as Expr, compScope));
      }
      return dict;
    }
    const items: PyValue[] = [];
    for (const _ of walk(0, firstIter)) items.push(this.eval(e.elt, compScope));
    if (e.kind === "list") return items;
    const set = new PySet();
    for (const item of items) set.add(item);
    return set;
  }

  /** Runs the `for`/`if` clauses of a comprehension, yielding once per produced element. */
  *walkClauses(
    clauses: readonly Clause[],
    index: number,
    scope: Scope,
    iterator?: Iterator<PyValue>,
  ): Generator<void> {
    if (index >= clauses.length) {
      yield;
      return;
    }
    const clause = clauses[index] as Clause;
    if (clause.k === "if") {
      if (pyTruthy(this.eval(clause.test, scope))) {
        yield* this.walkClauses(clauses, index + 1, scope);
      }
      return;
    }
    const it = iterator ?? this.iterate(this.eval(clause.iter, scope));
    for (let r = it.next(); !r.done; r = it.next()) {
      this.step();
      this.assign(clause.target, r.value, scope);
      yield* this.walkClauses(clauses, index + 1, scope);
    }
  }

  assign(target: Target, value: PyValue, scope: Scope): void {
    if (target.k === "name") {
      scope.vars.set(target.id, value);
      return;
    }
    const items = this.toArray(value);
    const n = target.elts.length;
    if (items.length > n) {
      throw pyErr("ValueError", `too many values to unpack (expected ${n})`);
    }
    if (items.length < n) {
      throw pyErr("ValueError", `not enough values to unpack (expected ${n}, got ${items.length})`);
    }
    target.elts.forEach((t, i) => this.assign(t, items[i] as PyValue, scope));
  }

  // -- operators ---------------------------------------------------------------------------

  compare(op: CmpOp, a: PyValue, b: PyValue): PyValue {
    switch (op) {
      case "==":
        return pyEquals(a, b);
      case "!=":
        return !pyEquals(a, b);
      case "in":
        return this.contains(b, a);
      case "not in":
        return !this.contains(b, a);
      case "is":
        return isSame(a, b);
      case "is not":
        return !isSame(a, b);
      default: {
        const c = pyCompare(a, b, op);
        if (Number.isNaN(c)) return false;
        return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
      }
    }
  }

  contains(container: PyValue, item: PyValue): boolean {
    if (typeof container === "string") {
      if (typeof item !== "string") {
        throw pyErr(
          "TypeError",
          `'in <string>' requires string as left operand, not ${pyTypeName(item)}`,
        );
      }
      return container.includes(item);
    }
    if (Array.isArray(container)) return container.some((x) => x === item || pyEquals(x, item));
    if (container instanceof PyTuple) return container.items.some((x) => pyEquals(x, item));
    if (container instanceof PyDict) return container.has(item);
    if (container instanceof PySet) return container.has(item);
    if (container instanceof PyBytes) {
      if (typeof item === "bigint" || typeof item === "boolean") {
        const b = Number(toBig(item));
        if (b < 0 || b > 255) throw pyErr("ValueError", "byte must be in range(0, 256)");
        return container.data.includes(b);
      }
      if (!(item instanceof PyBytes)) {
        throw pyErr(
          "TypeError",
          `a bytes-like object is required, not '${pyTypeName(item)}'`,
        );
      }
      return latin1(container.data).includes(latin1(item.data));
    }
    if (container instanceof PyRange) {
      if (typeof item !== "bigint" && typeof item !== "boolean") {
        return this.toArray(container).some((x) => pyEquals(x, item));
      }
      const v = toBig(item);
      const { start, step } = container;
      const offset = v - start;
      if (offset % step !== 0n) return false;
      const index = offset / step;
      return index >= 0n && index < container.length;
    }
    if (container instanceof PyObject && container.containsItem !== undefined) {
      return container.containsItem(item, this);
    }
    if (container instanceof PyIterator) {
      for (let r = container.next(); !r.done; r = container.next()) {
        if (pyEquals(r.value, item)) return true;
      }
      return false;
    }
    throw pyErr("TypeError", `argument of type '${pyTypeName(container)}' is not iterable`);
  }

  binary(op: BinOp, a: PyValue, b: PyValue): PyValue {
    if (isNumber(a) && isNumber(b)) return numericBinary(op, a, b);
    switch (op) {
      case "+":
        if (typeof a === "string" && typeof b === "string") {
          return checkSize(a.length + b.length, a + b);
        }
        if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
        if (a instanceof PyTuple && b instanceof PyTuple) {
          return new PyTuple([...a.items, ...b.items]);
        }
        if (a instanceof PyBytes && b instanceof PyBytes) {
          const out = new Uint8Array(a.data.length + b.data.length);
          out.set(a.data);
          out.set(b.data, a.data.length);
          return new PyBytes(out);
        }
        if (typeof a === "string" || Array.isArray(a) || a instanceof PyTuple) {
          const name = pyTypeName(a);
          throw pyErr(
            "TypeError",
            `can only concatenate ${name} (not "${pyTypeName(b)}") to ${name}`,
          );
        }
        break;
      case "*": {
        const [seq, n] = isNumber(a) ? [b, a] : [a, b];
        if (isNumber(n) && typeof n !== "number") {
          const count = Math.max(0, Number(toBig(n)));
          if (typeof seq === "string") {
            return checkSize(seq.length * count, () => seq.repeat(count));
          }
          if (Array.isArray(seq)) {
            checkSize(seq.length * count, "");
            return Array.from({ length: count }, () => seq).flat(1) as PyValue[];
          }
          if (seq instanceof PyTuple) {
            checkSize(seq.items.length * count, "");
            return new PyTuple(Array.from({ length: count }, () => seq.items).flat(1) as PyValue[]);
          }
        }
        if (typeof seq === "string" || Array.isArray(seq) || seq instanceof PyTuple) {
          throw pyErr(
            "TypeError",
            `can't multiply sequence by non-int of type '${pyTypeName(n)}'`,
          );
        }
        break;
      }
      case "%":
        if (typeof a === "string") return percentFormat(a, b, this);
        break;
      case "|":
      case "&":
      case "^":
      case "-":
        if (a instanceof PySet && b instanceof PySet) return setOp(op, a, b);
        if (op === "|" && a instanceof PyDict && b instanceof PyDict) {
          const out = PyDict.from(a.map.values());
          for (const [k, v] of b.map.values()) out.set(k, v);
          return out;
        }
        break;
    }
    throw pyErr(
      "TypeError",
      `unsupported operand type(s) for ${op === "**" ? "** or pow()" : op}: '${
        pyTypeName(a)
      }' and '${pyTypeName(b)}'`,
    );
  }

  // -- attributes and items ----------------------------------------------------------------

  getAttr(value: PyValue, name: string): PyValue {
    let table: Readonly<Record<string, Method>> | undefined;
    if (typeof value === "string") table = STR_METHODS;
    else if (value instanceof PyBytes) table = BYTES_METHODS;
    else if (Array.isArray(value)) table = LIST_METHODS;
    else if (value instanceof PyTuple) table = TUPLE_METHODS;
    else if (value instanceof PyDict) table = DICT_METHODS;
    else if (value instanceof PySet) table = SET_METHODS;
    else if (
      value instanceof PyBuiltin && value.isType && Object.hasOwn(TYPE_METHODS, value.name)
    ) {
      // `str.lower` and friends: the method with its object as first argument.
      const methods = TYPE_METHODS[value.name] as Readonly<Record<string, Method>>;
      const method = Object.hasOwn(methods, name) ? methods[name] : undefined;
      if (method !== undefined && !method.property) {
        const typeName = value.name;
        return new PyBuiltin(name, (args, kwargs, it) => {
          const self = args[0];
          if (self === undefined || pyTypeName(self) !== typeName) {
            throw pyErr(
              "TypeError",
              `descriptor '${name}' for '${typeName}' objects doesn't apply to a '${
                pyTypeName(self ?? null)
              }' object`,
            );
          }
          return method.fn(self, args.slice(1), kwargs, it);
        }, { method: true });
      }
    } else if (value instanceof PyObject) {
      const attr = value.getAttr(name, this);
      if (attr !== undefined) return attr;
      if (value instanceof PyModule) {
        throw pyErr("AttributeError", `module '${value.name}' has no attribute '${name}'`);
      }
    } else if (typeof value === "bigint" || typeof value === "boolean") table = INT_METHODS;
    else if (typeof value === "number") table = FLOAT_METHODS;
    const method = table === undefined || !Object.hasOwn(table, name) ? undefined : table[name];
    if (method !== undefined) {
      if (method.property) return method.fn(value, [], NO_KWARGS, this);
      return new PyBuiltin(name, (args, kwargs, it) => method.fn(value, args, kwargs, it), {
        method: true,
      });
    }
    let hint: string | undefined;
    if (typeof value === "string" && name === "decode") {
      hint = "Python 3 strings are already text: remove .decode(...) (OfflineIMAP 8 fails too)";
    } else if (value instanceof PyDict && name === "has_key") {
      hint = "dict.has_key() is Python 2 only: write key in d";
    } else if (value === null) {
      hint = "The value is None (for example re.match() found nothing)";
    }
    throw pyErr(
      "AttributeError",
      `'${pyTypeName(value)}' object has no attribute '${name}'`,
      hint,
    );
  }

  getItem(value: PyValue, key: PyValue): PyValue {
    if (typeof value === "string") {
      const chars = cpArray(value);
      return chars[this.index(key, chars.length, "string", "str")] as string;
    }
    if (Array.isArray(value)) {
      return value[this.index(key, value.length, "list", "list")] as PyValue;
    }
    if (value instanceof PyTuple) {
      return value.items[this.index(key, value.items.length, "tuple", "tuple")] as PyValue;
    }
    if (value instanceof PyBytes) {
      return BigInt(value.data[this.index(key, value.data.length, "index", "byte")] as number);
    }
    if (value instanceof PyRange) {
      return value.at(BigInt(this.index(key, Number(value.length), "range object", "range")));
    }
    if (value instanceof PyDict) {
      const found = value.get(key);
      if (found === undefined && !value.has(key)) throw pyErr("KeyError", pyRepr(key, this));
      return found as PyValue;
    }
    if (value instanceof PyObject && value.getItemOf !== undefined) {
      return value.getItemOf(key, this);
    }
    if (value instanceof PyBuiltin && value.isType) {
      throw unsupported(`type parameters such as ${value.name}[...] are not supported`);
    }
    throw pyErr("TypeError", `'${pyTypeName(value)}' object is not subscriptable`);
  }

  index(key: PyValue, length: number, what: string, typeName: string): number {
    if (typeof key !== "bigint" && typeof key !== "boolean") {
      throw pyErr(
        "TypeError",
        typeName === "str"
          ? `string indices must be integers, not '${pyTypeName(key)}'`
          : typeName === "byte"
          ? `byte indices must be integers or slices, not ${pyTypeName(key)}`
          : `${typeName} indices must be integers or slices, not ${pyTypeName(key)}`,
      );
    }
    let i = Number(toBig(key));
    if (i < 0) i += length;
    if (i < 0 || i >= length) throw pyErr("IndexError", `${what} index out of range`);
    return i;
  }

  slice(value: PyValue, lower: PyValue, upper: PyValue, step: PyValue): PyValue {
    let items: readonly PyValue[] | string[] | Uint8Array;
    if (typeof value === "string") items = cpArray(value);
    else if (Array.isArray(value)) items = value;
    else if (value instanceof PyTuple) items = value.items;
    else if (value instanceof PyBytes) items = value.data;
    else if (value instanceof PyRange) items = this.toArray(value);
    else throw pyErr("TypeError", `'${pyTypeName(value)}' object is not subscriptable`);
    const indices = sliceIndices(items.length, lower, upper, step);
    const picked: number[] = [];
    for (
      let i = indices.start;
      indices.step > 0 ? i < indices.stop : i > indices.stop;
      i += indices.step
    ) {
      picked.push(i);
    }
    if (typeof value === "string") return picked.map((i) => (items as string[])[i]).join("");
    if (Array.isArray(value)) return picked.map((i) => value[i] as PyValue);
    if (value instanceof PyTuple) return new PyTuple(picked.map((i) => value.items[i] as PyValue));
    if (value instanceof PyBytes) {
      return new PyBytes(Uint8Array.from(picked.map((i) => value.data[i] as number)));
    }
    return picked.map((i) => (items as PyValue[])[i] as PyValue);
  }
}

function checkSize<T>(length: number, value: T | (() => T)): T {
  if (length > MAX_STRING) throw pyErr("MemoryError", "the result would be too large");
  return typeof value === "function" ? (value as () => T)() : value;
}

/** Python's slice.indices(). */
function sliceIndices(
  length: number,
  lower: PyValue,
  upper: PyValue,
  stepValue: PyValue,
): { start: number; stop: number; step: number } {
  const toIndex = (v: PyValue): number | undefined => {
    if (v === null) return undefined;
    if (typeof v === "bigint" || typeof v === "boolean") return Number(toBig(v));
    throw pyErr(
      "TypeError",
      "slice indices must be integers or None or have an __index__ method",
    );
  };
  const step = toIndex(stepValue) ?? 1;
  if (step === 0) throw pyErr("ValueError", "slice step cannot be zero");
  const lo = step < 0 ? -1 : 0;
  const hi = step < 0 ? length - 1 : length;
  const adjust = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (v < 0) {
      v += length;
      return v < lo ? lo : v;
    }
    return v > hi ? hi : v;
  };
  return {
    start: adjust(toIndex(lower), step < 0 ? hi : lo),
    stop: adjust(toIndex(upper), step < 0 ? lo : hi),
    step,
  };
}

function isSame(a: PyValue, b: PyValue): boolean {
  if (a === null || b === null || typeof a === "boolean" || typeof b === "boolean") return a === b;
  // CPython caches small ints and one-character strings; other equal values are distinct
  // objects when one of them was computed at run time (the usual `name is 'INBOX'` bug).
  if (typeof a === "bigint") return a === b && a >= -5n && a <= 256n;
  if (typeof a === "string") return a === b && cpLength(a) <= 1;
  if (typeof a === "number") return false;
  if (a instanceof PyTuple && b instanceof PyTuple) {
    return a.items.length === 0 && b.items.length === 0;
  }
  return a === b;
}

function unary(op: "-" | "+" | "~", v: PyValue): PyValue {
  if (typeof v === "boolean" || typeof v === "bigint") {
    const x = toBig(v);
    return op === "-" ? -x : op === "+" ? x : ~x;
  }
  if (typeof v === "number" && op !== "~") return op === "-" ? -v : v;
  throw pyErr("TypeError", `bad operand type for unary ${op}: '${pyTypeName(v)}'`);
}

function numericBinary(
  op: BinOp,
  a: boolean | bigint | number,
  b: boolean | bigint | number,
): PyValue {
  const bothBool = typeof a === "boolean" && typeof b === "boolean";
  if (bothBool && (op === "|" || op === "&" || op === "^")) {
    return op === "|" ? (a || b) as boolean : op === "&" ? (a && b) as boolean : a !== b;
  }
  if (typeof a !== "number" && typeof b !== "number") {
    const x = toBig(a);
    const y = toBig(b);
    switch (op) {
      case "+":
        return x + y;
      case "-":
        return x - y;
      case "*":
        return x * y;
      case "/":
        if (y === 0n) throw pyErr("ZeroDivisionError", "division by zero");
        return Number(x) / Number(y);
      case "//": {
        if (y === 0n) throw pyErr("ZeroDivisionError", "integer division or modulo by zero");
        const q = x / y;
        return (x % y !== 0n && (x < 0n) !== (y < 0n)) ? q - 1n : q;
      }
      case "%": {
        if (y === 0n) throw pyErr("ZeroDivisionError", "integer division or modulo by zero");
        const r = x % y;
        return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r;
      }
      case "**":
        if (y < 0n) {
          if (x === 0n) {
            throw pyErr("ZeroDivisionError", "0.0 cannot be raised to a negative power");
          }
          return Number(x) ** Number(y);
        }
        if (y > 100_000n) throw pyErr("MemoryError", "the result would be too large");
        return x ** y;
      case "|":
        return x | y;
      case "&":
        return x & y;
      case "^":
        return x ^ y;
      case "<<":
        if (y < 0n) throw pyErr("ValueError", "negative shift count");
        if (y > 100_000n) throw pyErr("MemoryError", "the result would be too large");
        return x << y;
      case ">>":
        if (y < 0n) throw pyErr("ValueError", "negative shift count");
        return x >> y;
      case "@":
        break;
    }
  } else {
    const x = typeof a === "number" ? a : Number(toBig(a));
    const y = typeof b === "number" ? b : Number(toBig(b));
    switch (op) {
      case "+":
        return x + y;
      case "-":
        return x - y;
      case "*":
        return x * y;
      case "/":
        if (y === 0) throw pyErr("ZeroDivisionError", "float division by zero");
        return x / y;
      case "//":
        if (y === 0) throw pyErr("ZeroDivisionError", "float floor division by zero");
        return Math.floor(x / y);
      case "%": {
        if (y === 0) throw pyErr("ZeroDivisionError", "float modulo");
        const r = x % y;
        return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
      }
      case "**":
        if (x === 0 && y < 0) {
          throw pyErr("ZeroDivisionError", "0.0 cannot be raised to a negative power");
        }
        return x ** y;
      default:
        break;
    }
  }
  throw pyErr(
    "TypeError",
    `unsupported operand type(s) for ${op}: '${pyTypeName(a)}' and '${pyTypeName(b)}'`,
  );
}

function setOp(op: string, a: PySet, b: PySet): PySet {
  const out = new PySet(a.typeName);
  if (op === "|") {
    for (const v of a.map.values()) out.add(v);
    for (const v of b.map.values()) out.add(v);
  } else if (op === "&") {
    for (const [h, v] of a.map) if (b.map.has(h)) out.add(v);
  } else if (op === "-") {
    for (const [h, v] of a.map) if (!b.map.has(h)) out.add(v);
  } else {
    for (const [h, v] of a.map) if (!b.map.has(h)) out.add(v);
    for (const [h, v] of b.map) if (!a.map.has(h)) out.add(v);
  }
  return out;
}

// =============================================================================================
// Wire values (pythonfile child)

function fromWire(w: WireValue): PyValue {
  if (w === null || typeof w === "boolean" || typeof w === "string") return w;
  if (Array.isArray(w)) return w.map(fromWire);
  if ("$int" in w) return BigInt(w.$int);
  if ("$float" in w) {
    const f = w.$float;
    return typeof f === "number" ? f : f === "inf" ? Infinity : f === "-inf" ? -Infinity : NaN;
  }
  if ("$bytes" in w) {
    const bin = atob(w.$bytes);
    return new PyBytes(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }
  if ("$tuple" in w) return new PyTuple(w.$tuple.map(fromWire));
  if ("$set" in w) {
    const s = new PySet();
    for (const v of w.$set) s.add(fromWire(v));
    return s;
  }
  if ("$dict" in w) return PyDict.from(w.$dict.map(([k, v]) => [fromWire(k), fromWire(v)]));
  return new PyRemote(
    w.$ref,
    w.type ?? "object",
    w.callable ?? false,
    w.repr ?? "<object>",
    w.module,
  );
}

function toWire(v: PyValue): WireValue {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "bigint") return { $int: v.toString() };
  if (typeof v === "number") {
    return { $float: Number.isFinite(v) ? v : Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf" };
  }
  if (Array.isArray(v)) return v.map(toWire);
  if (v instanceof PyTuple) return { $tuple: v.items.map(toWire) };
  if (v instanceof PyBytes) return { $bytes: btoa(latin1(v.data)) };
  if (v instanceof PySet) return { $set: [...v.map.values()].map(toWire) };
  if (v instanceof PyDict) {
    return { $dict: [...v.map.values()].map(([k, x]) => [toWire(k), toWire(x)]) };
  }
  if (v instanceof PyRemote) return { $ref: v.ref };
  throw unsupported(
    `a value of type '${pyTypeName(v)}' cannot be passed to a pythonfile function`,
  );
}

// =============================================================================================
// Argument helpers

interface Method {
  // deno-lint-ignore no-explicit-any
  readonly fn: (self: any, args: PyValue[], kwargs: Kwargs, it: Interp) => PyValue;
  /** Read as an attribute, not called (`m.string`, `p.pattern`). */
  readonly property?: boolean;
}

/**
 * Binds positional and keyword arguments to `params`; undefined marks a missing optional one.
 */
function bind(
  name: string,
  args: readonly PyValue[],
  kwargs: Kwargs,
  params: readonly string[],
  required: number,
  keywords = true,
): (PyValue | undefined)[] {
  if (args.length > params.length) {
    const most = params.length;
    throw pyErr(
      "TypeError",
      most === 0
        ? `${name}() takes no arguments (${args.length} given)`
        : `${name}() takes ${required === most ? "exactly" : "at most"} ${most} argument${
          most === 1 ? "" : "s"
        } (${args.length} given)`,
    );
  }
  const out: (PyValue | undefined)[] = params.map((_, i) => args[i]);
  for (const [k, v] of kwargs) {
    if (!keywords) throw pyErr("TypeError", `${name}() takes no keyword arguments`);
    const i = params.indexOf(k);
    if (i < 0) throw pyErr("TypeError", `${name}() got an unexpected keyword argument '${k}'`);
    if (out[i] !== undefined) {
      throw pyErr(
        "TypeError",
        `argument for ${name}() given by name ('${k}') and position (${i + 1})`,
      );
    }
    out[i] = v;
  }
  for (let i = 0; i < required; i++) {
    if (out[i] === undefined) {
      throw pyErr(
        "TypeError",
        `${name}() missing required argument '${params[i]}' (pos ${i + 1})`,
      );
    }
  }
  return out;
}

function needStr(v: PyValue | undefined, what: string): string {
  if (typeof v !== "string") {
    throw pyErr("TypeError", `${what} must be str, not ${pyTypeName(v ?? null)}`);
  }
  return v;
}

function optStr(v: PyValue | undefined, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw pyErr("TypeError", `${what} must be str or None, not ${pyTypeName(v)}`);
  }
  return v;
}

function needInt(v: PyValue | undefined, what: string): number {
  if (typeof v === "bigint" || typeof v === "boolean") return Number(toBig(v));
  throw pyErr(
    "TypeError",
    `${what}: '${pyTypeName(v ?? null)}' object cannot be interpreted as an integer`,
  );
}

function optIndex(v: PyValue | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "bigint" || typeof v === "boolean") return Number(toBig(v));
  throw pyErr(
    "TypeError",
    "slice indices must be integers or None or have an __index__ method",
  );
}

/** Python's ADJUST_INDICES for `start`/`end` arguments of str methods. */
function adjustIndices(length: number, start?: number, end?: number): [number, number] {
  let s = start ?? 0;
  let e = end ?? length;
  if (e > length) e = length;
  else if (e < 0) {
    e += length;
    if (e < 0) e = 0;
  }
  if (s < 0) {
    s += length;
    if (s < 0) s = 0;
  }
  return [s, e];
}

/** The UTF-16 window of `s[start:end]` given code-point bounds. */
function unitWindow(s: string, start: number, end: number): [number, number] {
  return [toUnitIndex(s, start), toUnitIndex(s, Math.max(start, end))];
}

// =============================================================================================
// str methods

const CASED = /[\p{Lowercase}\p{Uppercase}\p{Lt}]/u;
const UPPER = /[\p{Uppercase}]/u;
const LOWER = /[\p{Lowercase}]/u;
const TITLE = /\p{Lt}/u;

const TITLE_SPECIAL: Readonly<Record<string, string>> = {
  "Ǆ": "ǅ",
  "ǅ": "ǅ",
  "ǆ": "ǅ",
  "Ǉ": "ǈ",
  "ǈ": "ǈ",
  "ǉ": "ǈ",
  "Ǌ": "ǋ",
  "ǋ": "ǋ",
  "ǌ": "ǋ",
  "Ǳ": "ǲ",
  "ǲ": "ǲ",
  "ǳ": "ǲ",
};

function titleChar(c: string): string {
  const special = TITLE_SPECIAL[c];
  if (special !== undefined) return special;
  const upper = c.toUpperCase();
  const chars = Array.from(upper);
  return chars.length > 1 ? (chars[0] as string) + chars.slice(1).join("").toLowerCase() : upper;
}

function stripChars(s: string, chars: string | undefined, left: boolean, right: boolean): string {
  const set = chars === undefined ? PY_WHITESPACE : new Set(Array.from(chars));
  const a = cpArray(s);
  let i = 0;
  let j = a.length;
  if (left) { while (i < j && set.has(a[i] as string)) i++; }
  if (right) { while (j > i && set.has(a[j - 1] as string)) j--; }
  return a.slice(i, j).join("");
}

function splitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  for (;;) {
    while (i < n && PY_WHITESPACE.has(s[i] as string)) i++;
    if (i >= n) break;
    if (maxsplit >= 0 && out.length >= maxsplit) {
      out.push(s.slice(i));
      break;
    }
    let j = i;
    while (j < n && !PY_WHITESPACE.has(s[j] as string)) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

function rsplitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let j = s.length;
  for (;;) {
    while (j > 0 && PY_WHITESPACE.has(s[j - 1] as string)) j--;
    if (j <= 0) break;
    if (maxsplit >= 0 && out.length >= maxsplit) {
      out.push(s.slice(0, j));
      break;
    }
    let i = j;
    while (i > 0 && !PY_WHITESPACE.has(s[i - 1] as string)) i--;
    out.push(s.slice(i, j));
    j = i;
  }
  return out.reverse();
}

function splitSep(s: string, sep: string, maxsplit: number): string[] {
  if (sep === "") throw pyErr("ValueError", "empty separator");
  const out: string[] = [];
  let pos = 0;
  while (maxsplit < 0 || out.length < maxsplit) {
    const idx = s.indexOf(sep, pos);
    if (idx < 0) break;
    out.push(s.slice(pos, idx));
    pos = idx + sep.length;
  }
  out.push(s.slice(pos));
  return out;
}

function rsplitSep(s: string, sep: string, maxsplit: number): string[] {
  if (sep === "") throw pyErr("ValueError", "empty separator");
  const out: string[] = [];
  let end = s.length;
  while (maxsplit < 0 || out.length < maxsplit) {
    if (end < sep.length) break;
    const idx = s.lastIndexOf(sep, end - sep.length);
    if (idx < 0) break;
    out.push(s.slice(idx + sep.length, end));
    end = idx;
  }
  out.push(s.slice(0, end));
  return out.reverse();
}

function splitLines(s: string, keepends: boolean): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (!LINE_BREAKS.has(c)) continue;
    let end = i + 1;
    if (c === "\r" && s[i + 1] === "\n") end = i + 2;
    out.push(s.slice(start, keepends ? end : i));
    start = end;
    i = end - 1;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

function findIn(
  s: string,
  sub: string,
  start: PyValue | undefined,
  end: PyValue | undefined,
  last: boolean,
): number {
  const length = cpLength(s);
  const [b, e] = adjustIndices(length, optIndex(start), optIndex(end));
  if (e - b < cpLength(sub)) return -1;
  const [ub, ue] = unitWindow(s, b, e);
  const window = s.slice(ub, ue);
  const idx = last ? window.lastIndexOf(sub) : window.indexOf(sub);
  return idx < 0 ? -1 : b + toCodePointIndex(window, idx);
}

function countIn(s: string, sub: string, start?: PyValue, end?: PyValue): number {
  const length = cpLength(s);
  const [b, e] = adjustIndices(length, optIndex(start), optIndex(end));
  if (e < b) return 0;
  if (sub === "") return e - b + 1;
  const [ub, ue] = unitWindow(s, b, e);
  const window = s.slice(ub, ue);
  let n = 0;
  for (let i = window.indexOf(sub); i >= 0; i = window.indexOf(sub, i + sub.length)) n++;
  return n;
}

function affix(
  s: string,
  args: PyValue[],
  name: "startswith" | "endswith",
): boolean {
  const [prefix, start, end] = bind(name, args, NO_KWARGS, ["prefix", "start", "end"], 1, false);
  const length = cpLength(s);
  const [b, e] = adjustIndices(length, optIndex(start), optIndex(end));
  if (b > length) return false;
  const [ub, ue] = unitWindow(s, b, e);
  const window = s.slice(ub, ue);
  const test = (p: PyValue): boolean => {
    if (typeof p !== "string") {
      throw pyErr(
        "TypeError",
        `tuple for ${name} must only contain str, not ${pyTypeName(p)}`,
      );
    }
    if (e < b) return false;
    return name === "startswith" ? window.startsWith(p) : window.endsWith(p);
  };
  if (prefix instanceof PyTuple) return prefix.items.some(test);
  if (typeof prefix !== "string") {
    throw pyErr(
      "TypeError",
      `${name} first arg must be str or a tuple of str, not ${pyTypeName(prefix ?? null)}`,
    );
  }
  return test(prefix);
}

function replaceStr(s: string, old: string, repl: string, count: number): string {
  if (count < 0) count = Infinity;
  if (old === "") {
    const chars = cpArray(s);
    let out = "";
    let n = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < count) {
        out += repl;
        n++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  let out = "";
  let pos = 0;
  let n = 0;
  while (n < count) {
    const idx = s.indexOf(old, pos);
    if (idx < 0) break;
    out += s.slice(pos, idx) + repl;
    pos = idx + old.length;
    n++;
  }
  return checkSize(out.length + s.length - pos, out + s.slice(pos));
}

function padTo(
  s: string,
  width: number,
  fill: string,
  align: "<" | ">" | "^",
  strCenter = false,
): string {
  const length = cpLength(s);
  if (width <= length) return s;
  const marg = width - length;
  if (align === "<") return s + fill.repeat(marg);
  if (align === ">") return fill.repeat(marg) + s;
  // format() puts the odd fill character on the right; str.center() puts it on the left when
  // both the margin and the width are odd.
  const left = Math.floor(marg / 2) + (strCenter ? marg & width & 1 : 0);
  return fill.repeat(left) + s + fill.repeat(marg - left);
}

function fillChar(v: PyValue | undefined, name: string): string {
  if (v === undefined) return " ";
  if (typeof v !== "string" || cpLength(v) !== 1) {
    throw pyErr(
      "TypeError",
      `${name}() argument 2 must be a unicode character, not ${pyTypeName(v)}`,
    );
  }
  return v;
}

const STR_METHODS: Readonly<Record<string, Method>> = {
  lower: { fn: (s: string, a, k) => (bind("lower", a, k, [], 0), s.toLowerCase()) },
  upper: { fn: (s: string, a, k) => (bind("upper", a, k, [], 0), s.toUpperCase()) },
  casefold: {
    fn: (
      s: string,
      a,
      k,
    ) => (bind("casefold", a, k, [], 0), s.toUpperCase().toLowerCase().replaceAll("ς", "σ")),
  },
  swapcase: {
    fn: (s: string, a, k) => {
      bind("swapcase", a, k, [], 0);
      let out = "";
      for (const c of s) {
        out += UPPER.test(c) ? c.toLowerCase() : LOWER.test(c) ? c.toUpperCase() : c;
      }
      return out;
    },
  },
  capitalize: {
    fn: (s: string, a, k) => {
      bind("capitalize", a, k, [], 0);
      const chars = cpArray(s);
      if (chars.length === 0) return "";
      return titleChar(chars[0] as string) + chars.slice(1).join("").toLowerCase();
    },
  },
  title: {
    fn: (s: string, a, k) => {
      bind("title", a, k, [], 0);
      let out = "";
      let previousCased = false;
      for (const c of s) {
        out += previousCased ? c.toLowerCase() : titleChar(c);
        previousCased = CASED.test(c);
      }
      return out;
    },
  },
  strip: {
    fn: (s: string, a, k) =>
      stripChars(s, optStr(bind("strip", a, k, ["chars"], 0, false)[0], "strip arg"), true, true),
  },
  lstrip: {
    fn: (s: string, a, k) =>
      stripChars(
        s,
        optStr(bind("lstrip", a, k, ["chars"], 0, false)[0], "lstrip arg"),
        true,
        false,
      ),
  },
  rstrip: {
    fn: (s: string, a, k) =>
      stripChars(
        s,
        optStr(bind("rstrip", a, k, ["chars"], 0, false)[0], "rstrip arg"),
        false,
        true,
      ),
  },
  split: {
    fn: (s: string, a, k) => {
      const [sep, max] = bind("split", a, k, ["sep", "maxsplit"], 0);
      const maxsplit = max === undefined ? -1 : needInt(max, "maxsplit");
      const separator = optStr(sep, "must be str or None");
      return separator === undefined
        ? splitWhitespace(s, maxsplit)
        : splitSep(s, separator, maxsplit);
    },
  },
  rsplit: {
    fn: (s: string, a, k) => {
      const [sep, max] = bind("rsplit", a, k, ["sep", "maxsplit"], 0);
      const maxsplit = max === undefined ? -1 : needInt(max, "maxsplit");
      const separator = optStr(sep, "must be str or None");
      return separator === undefined
        ? rsplitWhitespace(s, maxsplit)
        : rsplitSep(s, separator, maxsplit);
    },
  },
  splitlines: {
    fn: (s: string, a, k) => {
      const [keep] = bind("splitlines", a, k, ["keepends"], 0);
      return splitLines(s, keep !== undefined && pyTruthy(keep));
    },
  },
  join: {
    fn: (s: string, a, k, it) => {
      const [iterable] = bind("join", a, k, ["iterable"], 1, false);
      const items = it.toArray(iterable as PyValue);
      return checkSize(
        items.reduce((n: number, x) => n + (typeof x === "string" ? x.length : 0), 0),
        () =>
          items.map((x, i) => {
            if (typeof x !== "string") {
              throw pyErr(
                "TypeError",
                `sequence item ${i}: expected str instance, ${pyTypeName(x)} found`,
              );
            }
            return x;
          }).join(s),
      );
    },
  },
  replace: {
    fn: (s: string, a, k) => {
      const [old, repl, count] = bind("replace", a, k, ["old", "new", "count"], 2, false);
      return replaceStr(
        s,
        needStr(old, "replace() argument 1"),
        needStr(repl, "replace() argument 2"),
        count === undefined ? -1 : needInt(count, "replace() argument 3"),
      );
    },
  },
  find: {
    fn: (s: string, a, k) => {
      const [sub, start, end] = bind("find", a, k, ["sub", "start", "end"], 1, false);
      return BigInt(findIn(s, needStr(sub, "find() argument 1"), start, end, false));
    },
  },
  rfind: {
    fn: (s: string, a, k) => {
      const [sub, start, end] = bind("rfind", a, k, ["sub", "start", "end"], 1, false);
      return BigInt(findIn(s, needStr(sub, "rfind() argument 1"), start, end, true));
    },
  },
  index: {
    fn: (s: string, a, k) => {
      const [sub, start, end] = bind("index", a, k, ["sub", "start", "end"], 1, false);
      const i = findIn(s, needStr(sub, "index() argument 1"), start, end, false);
      if (i < 0) throw pyErr("ValueError", "substring not found");
      return BigInt(i);
    },
  },
  rindex: {
    fn: (s: string, a, k) => {
      const [sub, start, end] = bind("rindex", a, k, ["sub", "start", "end"], 1, false);
      const i = findIn(s, needStr(sub, "rindex() argument 1"), start, end, true);
      if (i < 0) throw pyErr("ValueError", "substring not found");
      return BigInt(i);
    },
  },
  count: {
    fn: (s: string, a, k) => {
      const [sub, start, end] = bind("count", a, k, ["sub", "start", "end"], 1, false);
      return BigInt(countIn(s, needStr(sub, "count() argument 1"), start, end));
    },
  },
  startswith: {
    fn: (s: string, a, k) => (bind("startswith", [], k, [], 0, false), affix(s, a, "startswith")),
  },
  endswith: {
    fn: (s: string, a, k) => (bind("endswith", [], k, [], 0, false), affix(s, a, "endswith")),
  },
  partition: {
    fn: (s: string, a, k) => {
      const sep = needStr(bind("partition", a, k, ["sep"], 1, false)[0], "partition() argument");
      if (sep === "") throw pyErr("ValueError", "empty separator");
      const i = s.indexOf(sep);
      return i < 0
        ? new PyTuple([s, "", ""])
        : new PyTuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
    },
  },
  rpartition: {
    fn: (s: string, a, k) => {
      const sep = needStr(bind("rpartition", a, k, ["sep"], 1, false)[0], "rpartition() argument");
      if (sep === "") throw pyErr("ValueError", "empty separator");
      const i = s.lastIndexOf(sep);
      return i < 0
        ? new PyTuple(["", "", s])
        : new PyTuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
    },
  },
  format: { fn: (s: string, a, k, it) => formatString(s, a, k, it) },
  "format_map": {
    fn: (s: string, a, k, it) => {
      const [mapping] = bind("format_map", a, k, ["mapping"], 1, false);
      if (!(mapping instanceof PyDict)) {
        throw pyErr("TypeError", `'${pyTypeName(mapping ?? null)}' object is not a mapping`);
      }
      return formatString(
        s,
        [],
        new Map([...mapping.map.values()].map(([key, v]) => [pyStr(key), v])),
        it,
      );
    },
  },
  encode: {
    fn: (s: string, a, k) => {
      const [encoding, errors] = bind("encode", a, k, ["encoding", "errors"], 0);
      return encodeStr(
        s,
        optStr(encoding, "encode() argument 'encoding'") ?? "utf-8",
        optStr(errors, "encode() argument 'errors'") ?? "strict",
      );
    },
  },
  zfill: {
    fn: (s: string, a, k) => {
      const width = needInt(bind("zfill", a, k, ["width"], 1, false)[0], "zfill");
      const length = cpLength(s);
      if (width <= length) return s;
      const sign = s[0] === "+" || s[0] === "-" ? s[0] : "";
      return sign + "0".repeat(width - length) + s.slice(sign.length);
    },
  },
  center: {
    fn: (s: string, a, k) => {
      const [w, f] = bind("center", a, k, ["width", "fillchar"], 1, false);
      return padTo(s, needInt(w, "center"), fillChar(f, "center"), "^", true);
    },
  },
  ljust: {
    fn: (s: string, a, k) => {
      const [w, f] = bind("ljust", a, k, ["width", "fillchar"], 1, false);
      return padTo(s, needInt(w, "ljust"), fillChar(f, "ljust"), "<");
    },
  },
  rjust: {
    fn: (s: string, a, k) => {
      const [w, f] = bind("rjust", a, k, ["width", "fillchar"], 1, false);
      return padTo(s, needInt(w, "rjust"), fillChar(f, "rjust"), ">");
    },
  },
  expandtabs: {
    fn: (s: string, a, k) => {
      const [t] = bind("expandtabs", a, k, ["tabsize"], 0);
      const size = t === undefined ? 8 : needInt(t, "expandtabs");
      let out = "";
      let column = 0;
      for (const c of s) {
        if (c === "\t") {
          const n = size > 0 ? size - (column % size) : 0;
          out += " ".repeat(n);
          column += n;
        } else {
          out += c;
          column = c === "\n" || c === "\r" ? 0 : column + 1;
        }
      }
      return out;
    },
  },
  removeprefix: {
    fn: (s: string, a, k) => {
      const p = needStr(
        bind("removeprefix", a, k, ["prefix"], 1, false)[0],
        "removeprefix() argument",
      );
      return p !== "" && s.startsWith(p) ? s.slice(p.length) : s;
    },
  },
  removesuffix: {
    fn: (s: string, a, k) => {
      const p = needStr(
        bind("removesuffix", a, k, ["suffix"], 1, false)[0],
        "removesuffix() argument",
      );
      return p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
    },
  },
  isdigit: {
    fn: (s: string) =>
      /^[\p{Nd}\u00B2\u00B3\u00B9\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247C\u2488-\u2490\u24EA\u24F5-\u24FD\u24FF\u2776-\u277E\u2780-\u2788\u278A-\u2792]+$/u
        .test(s),
  },
  isdecimal: { fn: (s: string) => /^\p{Nd}+$/u.test(s) },
  isnumeric: { fn: (s: string) => /^\p{N}+$/u.test(s) },
  isalpha: { fn: (s: string) => /^\p{L}+$/u.test(s) },
  isalnum: { fn: (s: string) => /^[\p{L}\p{N}]+$/u.test(s) },
  isspace: { fn: (s: string) => s.length > 0 && Array.from(s).every((c) => PY_WHITESPACE.has(c)) },
  isascii: { fn: (s: string) => Array.from(s).every((c) => c.charCodeAt(0) < 0x80) },
  isidentifier: {
    fn: (s: string) => /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u.test(s),
  },
  isprintable: {
    fn: (s: string) => Array.from(s).every((c) => c === " " || !NON_PRINTABLE.test(c)),
  },
  isupper: {
    fn: (s: string) => {
      let cased = false;
      for (const c of s) {
        if (LOWER.test(c) || TITLE.test(c)) return false;
        if (UPPER.test(c)) cased = true;
      }
      return cased;
    },
  },
  islower: {
    fn: (s: string) => {
      let cased = false;
      for (const c of s) {
        if (UPPER.test(c) || TITLE.test(c)) return false;
        if (LOWER.test(c)) cased = true;
      }
      return cased;
    },
  },
  istitle: {
    fn: (s: string) => {
      let cased = false;
      let previousCased = false;
      for (const c of s) {
        if (UPPER.test(c) || TITLE.test(c)) {
          if (previousCased) return false;
          previousCased = true;
          cased = true;
        } else if (LOWER.test(c)) {
          if (!previousCased) return false;
          previousCased = true;
          cased = true;
        } else previousCased = false;
      }
      return cased;
    },
  },
};

// =============================================================================================
// bytes, codecs

function normEncoding(name: string): string {
  const n = name.toLowerCase().replaceAll("_", "-");
  if (n === "utf-8" || n === "utf8" || n === "u8" || n === "utf") return "utf-8";
  if (n === "ascii" || n === "us-ascii" || n === "646") return "ascii";
  if (["latin-1", "latin1", "iso-8859-1", "iso8859-1", "8859", "l1", "cp819"].includes(n)) {
    return "latin-1";
  }
  const hint = n.includes("imap4") || n.includes("utf-7")
    ? "IMAP folder names are already decoded in Python 3 (see utf8foldernames); remove the .encode/.decode call"
    : undefined;
  throw pyErr("LookupError", `unknown encoding: ${name}`, hint);
}

function encodeStr(s: string, encoding: string, errors: string): PyBytes {
  const enc = normEncoding(encoding);
  const out: number[] = [];
  let position = 0;
  for (const c of s) {
    const cp = c.codePointAt(0) as number;
    const limit = enc === "ascii" ? 0x80 : enc === "latin-1" ? 0x100 : 0x110000;
    const surrogate = cp >= 0xd800 && cp <= 0xdfff;
    if (cp >= limit || (enc === "utf-8" && surrogate)) {
      if (errors === "ignore") {
        position++;
        continue;
      }
      if (errors === "replace") {
        out.push(63);
        position++;
        continue;
      }
      throw pyErr(
        "UnicodeEncodeError",
        `'${enc === "latin-1" ? "latin-1" : enc}' codec can't encode character ${
          strRepr(c)
        } in position ${position}: ${
          surrogate ? "surrogates not allowed" : `ordinal not in range(${limit})`
        }`,
      );
    }
    if (enc === "utf-8") out.push(...new TextEncoder().encode(c));
    else out.push(cp);
    position++;
  }
  return new PyBytes(Uint8Array.from(out));
}

/** Decodes UTF-8 exactly as Python's strict codec, naming the first bad byte. */
function decodeUtf8(data: Uint8Array, errors: string): string {
  let out = "";
  let i = 0;
  while (i < data.length) {
    const b = data[i] as number;
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      min = 0x10000;
    } else {
      out += badByte(data, i, i + 1, "invalid start byte", errors);
      i++;
      continue;
    }
    let j = 1;
    let bad = false;
    for (; j <= need; j++) {
      const c = data[i + j];
      if (c === undefined) {
        out += badByte(data, i, i + j, "unexpected end of data", errors);
        i += j;
        bad = true;
        break;
      }
      let lo = 0x80;
      let hi = 0xbf;
      if (j === 1) {
        if (b === 0xe0) lo = 0xa0;
        if (b === 0xed) hi = 0x9f;
        if (b === 0xf0) lo = 0x90;
        if (b === 0xf4) hi = 0x8f;
      }
      if (c < lo || c > hi) {
        out += badByte(data, i, i + j, "invalid continuation byte", errors);
        i += j;
        bad = true;
        break;
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    if (bad) continue;
    if (cp < min) {
      out += badByte(data, i, i + 1, "invalid start byte", errors);
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

function badByte(
  data: Uint8Array,
  start: number,
  end: number,
  reason: string,
  errors: string,
): string {
  if (errors === "ignore") return "";
  if (errors === "replace") return "\ufffd";
  const position = end - start > 1 ? `position ${start}-${end - 1}` : `position ${start}`;
  const what = end - start > 1
    ? "bytes"
    : `byte 0x${(data[start] as number).toString(16).padStart(2, "0")}`;
  throw pyErr("UnicodeDecodeError", `'utf-8' codec can't decode ${what} in ${position}: ${reason}`);
}

function decodeBytes(data: Uint8Array, encoding: string, errors: string): string {
  const enc = normEncoding(encoding);
  if (!["strict", "ignore", "replace"].includes(errors)) {
    throw unsupported(`the "${errors}" error handler is not supported`);
  }
  if (enc === "utf-8") return decodeUtf8(data, errors);
  let out = "";
  for (let i = 0; i < data.length; i++) {
    const b = data[i] as number;
    if (enc === "ascii" && b >= 0x80) {
      if (errors === "ignore") continue;
      if (errors === "replace") {
        out += "\ufffd";
        continue;
      }
      throw pyErr(
        "UnicodeDecodeError",
        `'ascii' codec can't decode byte 0x${
          b.toString(16)
        } in position ${i}: ordinal not in range(128)`,
      );
    }
    out += String.fromCharCode(b);
  }
  return out;
}

const ASCII_SPACE_BYTES = " \t\n\r\v\f";

function bytesArg(v: PyValue | undefined, what: string): string {
  if (v instanceof PyBytes) return latin1(v.data);
  throw pyErr(
    "TypeError",
    `${what}: a bytes-like object is required, not '${pyTypeName(v ?? null)}'`,
  );
}

function toBytes(s: string): PyBytes {
  return new PyBytes(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

function bytesStrip(
  b: PyBytes,
  a: PyValue[],
  k: Kwargs,
  name: string,
  l: boolean,
  r: boolean,
): PyBytes {
  const [chars] = bind(name, a, k, ["bytes"], 0, false);
  const set = new Set(
    chars === undefined || chars === null ? ASCII_SPACE_BYTES : bytesArg(chars, name),
  );
  const s = latin1(b.data);
  let i = 0;
  let j = s.length;
  if (l) { while (i < j && set.has(s[i] as string)) i++; }
  if (r) { while (j > i && set.has(s[j - 1] as string)) j--; }
  return toBytes(s.slice(i, j));
}

const BYTES_METHODS: Readonly<Record<string, Method>> = {
  decode: {
    fn: (b: PyBytes, a, k) => {
      const [encoding, errors] = bind("decode", a, k, ["encoding", "errors"], 0);
      return decodeBytes(
        b.data,
        optStr(encoding, "decode() argument 'encoding'") ?? "utf-8",
        optStr(errors, "decode() argument 'errors'") ?? "strict",
      );
    },
  },
  strip: { fn: (b: PyBytes, a, k) => bytesStrip(b, a, k, "strip", true, true) },
  lstrip: { fn: (b: PyBytes, a, k) => bytesStrip(b, a, k, "lstrip", true, false) },
  rstrip: { fn: (b: PyBytes, a, k) => bytesStrip(b, a, k, "rstrip", false, true) },
  split: {
    fn: (b: PyBytes, a, k) => {
      const [sep, max] = bind("split", a, k, ["sep", "maxsplit"], 0);
      const maxsplit = max === undefined ? -1 : needInt(max, "maxsplit");
      const s = latin1(b.data);
      const parts = sep === undefined || sep === null
        ? splitAsciiWhitespace(s, maxsplit)
        : splitSep(s, bytesArg(sep, "split"), maxsplit);
      return parts.map(toBytes);
    },
  },
  splitlines: {
    fn: (b: PyBytes, a, k) => {
      const [keep] = bind("splitlines", a, k, ["keepends"], 0);
      const out: PyBytes[] = [];
      const text = latin1(b.data);
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c !== "\n" && c !== "\r") continue;
        let end = i + 1;
        if (c === "\r" && text[i + 1] === "\n") end = i + 2;
        out.push(toBytes(text.slice(start, keep !== undefined && pyTruthy(keep) ? end : i)));
        start = end;
        i = end - 1;
      }
      if (start < text.length) out.push(toBytes(text.slice(start)));
      return out;
    },
  },
  startswith: {
    fn: (b: PyBytes, a) => {
      const [p] = bind("startswith", a, NO_KWARGS, ["prefix"], 1, false);
      const s = latin1(b.data);
      if (p instanceof PyTuple) return p.items.some((x) => s.startsWith(bytesArg(x, "startswith")));
      return s.startsWith(bytesArg(p, "startswith"));
    },
  },
  endswith: {
    fn: (b: PyBytes, a) => {
      const [p] = bind("endswith", a, NO_KWARGS, ["suffix"], 1, false);
      const s = latin1(b.data);
      if (p instanceof PyTuple) return p.items.some((x) => s.endsWith(bytesArg(x, "endswith")));
      return s.endsWith(bytesArg(p, "endswith"));
    },
  },
  replace: {
    fn: (b: PyBytes, a, k) => {
      const [old, repl, count] = bind("replace", a, k, ["old", "new", "count"], 2, false);
      return toBytes(
        replaceStr(
          latin1(b.data),
          bytesArg(old, "replace"),
          bytesArg(repl, "replace"),
          count === undefined ? -1 : needInt(count, "replace"),
        ),
      );
    },
  },
  lower: { fn: (b: PyBytes) => toBytes(latin1(b.data).replace(/[A-Z]/g, (c) => c.toLowerCase())) },
  upper: { fn: (b: PyBytes) => toBytes(latin1(b.data).replace(/[a-z]/g, (c) => c.toUpperCase())) },
  find: {
    fn: (b: PyBytes, a) => {
      const [sub] = bind("find", a, NO_KWARGS, ["sub"], 1, false);
      return BigInt(latin1(b.data).indexOf(bytesArg(sub, "find")));
    },
  },
  count: {
    fn: (b: PyBytes, a) => {
      const [sub] = bind("count", a, NO_KWARGS, ["sub"], 1, false);
      return BigInt(countIn(latin1(b.data), bytesArg(sub, "count")));
    },
  },
  join: {
    fn: (b: PyBytes, a, k, it) => {
      const [iterable] = bind("join", a, k, ["iterable_of_bytes"], 1, false);
      return toBytes(
        it.toArray(iterable as PyValue).map((x, i) => {
          if (!(x instanceof PyBytes)) {
            throw pyErr(
              "TypeError",
              `sequence item ${i}: expected a bytes-like object, ${pyTypeName(x)} found`,
            );
          }
          return latin1(x.data);
        }).join(latin1(b.data)),
      );
    },
  },
  hex: {
    fn: (b: PyBytes) => Array.from(b.data, (x) => x.toString(16).padStart(2, "0")).join(""),
  },
  isdigit: { fn: (b: PyBytes) => /^[0-9]+$/.test(latin1(b.data)) },
};

function splitAsciiWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && ASCII_SPACE_BYTES.includes(s[i] as string)) i++;
    if (i >= s.length) break;
    if (maxsplit >= 0 && out.length >= maxsplit) {
      out.push(s.slice(i));
      break;
    }
    let j = i;
    while (j < s.length && !ASCII_SPACE_BYTES.includes(s[j] as string)) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

// =============================================================================================
// list, tuple, dict, set, number methods

function seqIndex(items: readonly PyValue[], a: PyValue[], typeName: string): PyValue {
  const [x, start, end] = bind("index", a, NO_KWARGS, ["value", "start", "stop"], 1, false);
  const [b, e] = adjustIndices(items.length, optIndex(start), optIndex(end));
  for (let i = b; i < e; i++) if (pyEquals(items[i] as PyValue, x as PyValue)) return BigInt(i);
  throw pyErr(
    "ValueError",
    typeName === "list"
      ? `${pyRepr(x as PyValue)} is not in list`
      : "tuple.index(x): x not in tuple",
  );
}

const LIST_METHODS: Readonly<Record<string, Method>> = {
  index: { fn: (l: PyValue[], a) => seqIndex(l, a, "list") },
  count: {
    fn: (l: PyValue[], a) => {
      const [x] = bind("count", a, NO_KWARGS, ["value"], 1, false);
      return BigInt(l.filter((y) => pyEquals(y, x as PyValue)).length);
    },
  },
  copy: { fn: (l: PyValue[], a) => (bind("copy", a, NO_KWARGS, [], 0), l.slice()) },
};

const TUPLE_METHODS: Readonly<Record<string, Method>> = {
  index: { fn: (t: PyTuple, a) => seqIndex(t.items, a, "tuple") },
  count: {
    fn: (t: PyTuple, a) => {
      const [x] = bind("count", a, NO_KWARGS, ["value"], 1, false);
      return BigInt(t.items.filter((y) => pyEquals(y, x as PyValue)).length);
    },
  },
};

/** `dict.keys()`, `values()`, `items()`. */
class PyDictView extends PyObject {
  readonly typeName: string;
  constructor(readonly dict: PyDict, readonly kind: "keys" | "values" | "items") {
    super();
    this.typeName = `dict_${kind}`;
  }
  override iterItems(): PyValue[] {
    const entries = [...this.dict.map.values()];
    if (this.kind === "keys") return entries.map((e) => e[0]);
    if (this.kind === "values") return entries.map((e) => e[1]);
    return entries.map(([k, v]) => new PyTuple([k, v]));
  }
  override containsItem(item: PyValue): boolean {
    if (this.kind === "keys") return this.dict.has(item);
    return this.iterItems().some((x) => pyEquals(x, item));
  }
  override lengthOf(): number {
    return this.dict.map.size;
  }
  override repr(it: Interp): string {
    return `${this.typeName}(${pyRepr(this.iterItems(), it)})`;
  }
}

const DICT_METHODS: Readonly<Record<string, Method>> = {
  get: {
    fn: (d: PyDict, a) => {
      const [key, dflt] = bind("get", a, NO_KWARGS, ["key", "default"], 1, false);
      const found = d.get(key as PyValue);
      return found === undefined && !d.has(key as PyValue) ? dflt ?? null : found as PyValue;
    },
  },
  keys: { fn: (d: PyDict, a) => (bind("keys", a, NO_KWARGS, [], 0), new PyDictView(d, "keys")) },
  values: {
    fn: (d: PyDict, a) => (bind("values", a, NO_KWARGS, [], 0), new PyDictView(d, "values")),
  },
  items: { fn: (d: PyDict, a) => (bind("items", a, NO_KWARGS, [], 0), new PyDictView(d, "items")) },
  copy: { fn: (d: PyDict, a) => (bind("copy", a, NO_KWARGS, [], 0), PyDict.from(d.map.values())) },
};

function setArg(v: PyValue | undefined, it: Interp): PySet {
  if (v instanceof PySet) return v;
  const s = new PySet();
  for (const x of it.toArray(v as PyValue)) s.add(x);
  return s;
}

const SET_METHODS: Readonly<Record<string, Method>> = {
  union: {
    fn: (s: PySet, a, _k, it) => a.reduce((acc: PySet, x) => setOp("|", acc, setArg(x, it)), s),
  },
  intersection: {
    fn: (s: PySet, a, _k, it) => a.reduce((acc: PySet, x) => setOp("&", acc, setArg(x, it)), s),
  },
  difference: {
    fn: (s: PySet, a, _k, it) => a.reduce((acc: PySet, x) => setOp("-", acc, setArg(x, it)), s),
  },
  issubset: {
    fn: (s: PySet, a, _k, it) => {
      const other = setArg(bind("issubset", a, NO_KWARGS, ["other"], 1, false)[0], it);
      return [...s.map.keys()].every((h) => other.map.has(h));
    },
  },
  issuperset: {
    fn: (s: PySet, a, _k, it) => {
      const other = setArg(bind("issuperset", a, NO_KWARGS, ["other"], 1, false)[0], it);
      return [...other.map.keys()].every((h) => s.map.has(h));
    },
  },
  copy: { fn: (s: PySet) => setOp("|", s, new PySet()) },
};

const INT_METHODS: Readonly<Record<string, Method>> = {
  "bit_length": {
    fn: (n: bigint | boolean) => {
      const x = toBig(n);
      return BigInt((x < 0n ? -x : x).toString(2).replace(/^0$/, "").length);
    },
  },
  real: { fn: (n: bigint | boolean) => toBig(n), property: true },
};

const FLOAT_METHODS: Readonly<Record<string, Method>> = {
  "is_integer": { fn: (x: number) => Number.isInteger(x) },
  real: { fn: (x: number) => x, property: true },
};

/** Methods reachable through the type, as in `str.lower` or `dict.get`. */
const TYPE_METHODS: Readonly<Record<string, Readonly<Record<string, Method>>>> = {
  str: STR_METHODS,
  bytes: BYTES_METHODS,
  list: LIST_METHODS,
  tuple: TUPLE_METHODS,
  dict: DICT_METHODS,
};

// =============================================================================================
// Formatting: str.format, format(), %

interface NumberFormat {
  readonly type: string;
  readonly sign: string;
  readonly alt: boolean;
  readonly precision?: number;
  readonly grouping?: string;
}

function groupDigits(digits: string, sep: string, every: number): string {
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % every === 0) out += sep;
    out += digits[i];
  }
  return out;
}

/** Formats a number; returns the sign/prefix part and the digits part separately. */
function formatNumber(value: boolean | bigint | number, f: NumberFormat): [string, string] {
  let type = f.type;
  if (type === "n") type = typeof value === "number" ? "g" : "d";
  if ("bcdoxX".includes(type) && type !== "") {
    if (typeof value === "number") {
      throw pyErr("ValueError", `Unknown format code '${type}' for object of type 'float'`);
    }
    const x = toBig(value);
    if (type === "c") return ["", String.fromCodePoint(Number(x))];
    const negative = x < 0n;
    const abs = negative ? -x : x;
    const radix = { b: 2, o: 8, x: 16, X: 16, d: 10 }[type] as number;
    let digits = abs.toString(radix);
    if (type === "X") digits = digits.toUpperCase();
    if (f.grouping !== undefined) digits = groupDigits(digits, f.grouping, radix === 10 ? 3 : 4);
    const prefix = f.alt && radix !== 10 ? { b: "0b", o: "0o", x: "0x", X: "0X" }[type] ?? "" : "";
    return [(negative ? "-" : f.sign === "-" ? "" : f.sign) + prefix, digits];
  }
  const x = typeof value === "number" ? value : Number(toBig(value));
  const negative = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  const upper = type === "E" || type === "F" || type === "G";
  const special = specialFloat(abs, upper);
  let body: string;
  if (special !== undefined) body = special;
  else if (type === "f" || type === "F") body = fixedDigits(abs, f.precision ?? 6);
  else if (type === "e" || type === "E") body = expText(abs, f.precision ?? 6, upper);
  else if (type === "%") body = fixedDigits(abs * 100, f.precision ?? 6) + "%";
  else if (type === "g" || type === "G") {
    body = generalText(abs, f.precision ?? 6, upper, f.alt, false);
  } else if (f.precision !== undefined) body = generalText(abs, f.precision, false, f.alt, true);
  else {body = typeof value === "number"
      ? floatRepr(abs)
      : toBig(value as bigint | boolean).toString().replace("-", "");}
  if (
    f.alt && (type === "f" || type === "F" || type === "e" || type === "E") && !body.includes(".")
  ) {
    body = body.replace(/^(\d+)/, "$1.");
  }
  if (f.grouping !== undefined && special === undefined) {
    const m = /^(\d+)(.*)$/s.exec(body);
    if (m !== null) body = groupDigits(m[1] as string, f.grouping, 3) + m[2];
  }
  return [negative ? "-" : f.sign === "-" ? "" : f.sign, body];
}

const SPEC =
  /^(?:([\s\S])?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/u;

/** Python's `format(value, spec)`. */
function formatValue(value: PyValue, spec: string, it: Interp): string {
  if (spec === "") return pyStr(value, it);
  const m = SPEC.exec(spec);
  if (m === null) throw pyErr("ValueError", "Invalid format specifier");
  const [, fillOpt, alignOpt, signOpt, , alt, zero, widthText, grouping, precText, typeOpt] = m;
  let fill = fillOpt ?? " ";
  let align = alignOpt;
  const width = widthText === undefined ? 0 : Number(widthText);
  const precision = precText === undefined ? undefined : Number(precText);
  const type = typeOpt ?? "";
  if (typeof value === "string") {
    if (type !== "" && type !== "s") {
      throw pyErr("ValueError", `Unknown format code '${type}' for object of type 'str'`);
    }
    if (signOpt !== undefined) {
      throw pyErr("ValueError", "Sign not allowed in string format specifier");
    }
    if (alt !== undefined) {
      throw pyErr("ValueError", "Alternate form (#) not allowed in string format specifier");
    }
    if (align === "=") {
      throw pyErr("ValueError", "'=' alignment not allowed in string format specifier");
    }
    let s = value;
    if (precision !== undefined) s = cpSlice(s, 0, precision);
    if (zero !== undefined && alignOpt === undefined) fill = "0";
    return padTo(s, width, fill, (align ?? "<") as "<" | ">" | "^");
  }
  if (isNumber(value)) {
    if (
      precision !== undefined && typeof value !== "number" && "bcdoxXn".includes(type) &&
      type !== ""
    ) {
      throw pyErr("ValueError", "Precision not allowed in integer format specifier");
    }
    const [sign, body] = formatNumber(value, {
      type,
      sign: signOpt ?? "-",
      alt: alt !== undefined,
      precision,
      grouping,
    });
    if (zero !== undefined && alignOpt === undefined) {
      fill = "0";
      align = "=";
    }
    align ??= ">";
    if (align === "=") {
      const pad = width - cpLength(sign) - cpLength(body);
      return sign + (pad > 0 ? fill.repeat(pad) : "") + body;
    }
    return padTo(sign + body, width, fill, align as "<" | ">" | "^");
  }
  throw pyErr("TypeError", `unsupported format string passed to ${pyTypeName(value)}.__format__`);
}

function asciiRepr(value: PyValue, it: Interp): string {
  let out = "";
  for (const c of pyRepr(value, it)) {
    const cp = c.codePointAt(0) as number;
    if (cp < 0x80) out += c;
    else if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out;
}

interface FormatState {
  auto: number;
  mode?: "auto" | "manual";
}

/** Python's `str.format`. */
function formatString(
  template: string,
  args: readonly PyValue[],
  kwargs: Kwargs,
  it: Interp,
  state: FormatState = { auto: 0 },
  depth = 2,
): string {
  if (depth < 0) throw pyErr("ValueError", "Max string recursion exceeded");
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c === "}") {
      if (template[i + 1] === "}") {
        out += "}";
        i += 2;
        continue;
      }
      throw pyErr("ValueError", "Single '}' encountered in format string");
    }
    if (c !== "{") {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === "{") {
      out += "{";
      i += 2;
      continue;
    }
    let j = i + 1;
    let nest = 1;
    let bracket = false;
    for (; j < template.length; j++) {
      const d = template[j];
      if (bracket) {
        if (d === "]") bracket = false;
        continue;
      }
      if (d === "[") bracket = true;
      else if (d === "{") nest++;
      else if (d === "}" && --nest === 0) break;
    }
    if (j >= template.length) {
      throw pyErr(
        "ValueError",
        nest > 1 ? "unmatched '{' in format spec" : "expected '}' before end of string",
      );
    }
    out += formatField(template.slice(i + 1, j), args, kwargs, it, state, depth);
    i = j + 1;
  }
  return out;
}

function formatField(
  field: string,
  args: readonly PyValue[],
  kwargs: Kwargs,
  it: Interp,
  state: FormatState,
  depth: number,
): string {
  let k = 0;
  let inBracket = false;
  for (; k < field.length; k++) {
    const d = field[k];
    if (inBracket) {
      if (d === "]") inBracket = false;
      continue;
    }
    if (d === "[") inBracket = true;
    else if (d === "!" || d === ":") break;
  }
  const name = field.slice(0, k);
  let conversion: string | undefined;
  let spec = "";
  if (field[k] === "!") {
    conversion = field[k + 1];
    if (conversion === undefined || (field[k + 2] !== undefined && field[k + 2] !== ":")) {
      throw pyErr("ValueError", "expected ':' after conversion specifier");
    }
    k += 2;
  }
  if (field[k] === ":") spec = field.slice(k + 1);
  const first = /^[^.[]*/.exec(name)?.[0] ?? "";
  let value: PyValue;
  if (first === "") {
    if (state.mode === "manual") {
      throw pyErr(
        "ValueError",
        "cannot switch from manual field specification to automatic field numbering",
      );
    }
    state.mode = "auto";
    const index = state.auto++;
    if (index >= args.length) {
      throw pyErr(
        "IndexError",
        `Replacement index ${index} out of range for positional args tuple`,
      );
    }
    value = args[index] as PyValue;
  } else if (/^\d+$/.test(first)) {
    if (state.mode === "auto") {
      throw pyErr(
        "ValueError",
        "cannot switch from automatic field numbering to manual field specification",
      );
    }
    state.mode = "manual";
    const index = Number(first);
    if (index >= args.length) {
      throw pyErr(
        "IndexError",
        `Replacement index ${index} out of range for positional args tuple`,
      );
    }
    value = args[index] as PyValue;
  } else {
    if (!kwargs.has(first)) throw pyErr("KeyError", strRepr(first));
    value = kwargs.get(first) as PyValue;
  }
  const accessors = /\.([^.[]+)|\[([^\]]*)\]/gy;
  accessors.lastIndex = first.length;
  while (accessors.lastIndex < name.length) {
    const m = accessors.exec(name);
    if (m === null) {
      throw pyErr("ValueError", "Only '.' or '[' may follow ']' in format field specifier");
    }
    if (m[1] !== undefined) value = it.getAttr(value, m[1]);
    else {
      const key = m[2] as string;
      value = it.getItem(value, /^\d+$/.test(key) ? BigInt(key) : key);
    }
  }
  if (conversion === "r") value = pyRepr(value, it);
  else if (conversion === "s") value = pyStr(value, it);
  else if (conversion === "a") value = asciiRepr(value, it);
  else if (conversion !== undefined) {
    throw pyErr("ValueError", `Unknown conversion specifier ${conversion}`);
  }
  if (spec.includes("{")) spec = formatString(spec, args, kwargs, it, state, depth - 1);
  return formatValue(value, spec, it);
}

/** Python's `str % values`. */
function percentFormat(fmt: string, values: PyValue, it: Interp): string {
  const mapping = values instanceof PyDict ? values : undefined;
  const args = values instanceof PyTuple ? values.items : [values];
  let argIndex = 0;
  let usedMapping = false;
  const nextArg = (): PyValue => {
    if (argIndex >= args.length) throw pyErr("TypeError", "not enough arguments for format string");
    return args[argIndex++] as PyValue;
  };
  let out = "";
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i] as string;
    if (c !== "%") {
      out += c;
      i++;
      continue;
    }
    i++;
    let value: PyValue | undefined;
    if (fmt[i] === "(") {
      if (mapping === undefined) throw pyErr("TypeError", "format requires a mapping");
      let depth = 1;
      let j = i + 1;
      for (; j < fmt.length && depth > 0; j++) {
        if (fmt[j] === "(") depth++;
        else if (fmt[j] === ")") depth--;
      }
      if (depth > 0) throw pyErr("ValueError", "incomplete format key");
      const key = fmt.slice(i + 1, j - 1);
      usedMapping = true;
      value = it.getItem(mapping, key);
      i = j;
    }
    let flags = "";
    while (i < fmt.length && "-+ #0".includes(fmt[i] as string)) flags += fmt[i++];
    let width = 0;
    if (fmt[i] === "*") {
      width = needInt(nextArg(), "* wants int");
      i++;
    } else {
      let digits = "";
      while (/[0-9]/.test(fmt[i] ?? "")) digits += fmt[i++];
      if (digits !== "") width = Number(digits);
    }
    let precision: number | undefined;
    if (fmt[i] === ".") {
      i++;
      if (fmt[i] === "*") {
        precision = needInt(nextArg(), "* wants int");
        i++;
      } else {
        let digits = "";
        while (/[0-9]/.test(fmt[i] ?? "")) digits += fmt[i++];
        precision = digits === "" ? 0 : Number(digits);
      }
    }
    while ("hlL".includes(fmt[i] ?? "x")) i++;
    const type = fmt[i];
    if (type === undefined) throw pyErr("ValueError", "incomplete format");
    i++;
    if (type === "%") {
      out += "%";
      continue;
    }
    if (width < 0) {
      flags += "-";
      width = -width;
    }
    value ??= nextArg();
    const left = flags.includes("-");
    let text: string;
    if (type === "s" || type === "r" || type === "a") {
      text = type === "s"
        ? pyStr(value, it)
        : type === "r"
        ? pyRepr(value, it)
        : asciiRepr(value, it);
      if (precision !== undefined) text = cpSlice(text, 0, precision);
      out += padTo(text, width, " ", left ? "<" : ">");
      continue;
    }
    if (type === "c") {
      if (typeof value === "string" && cpLength(value) === 1) text = value;
      else if (typeof value === "bigint" || typeof value === "boolean") {
        text = String.fromCodePoint(Number(toBig(value)));
      } else throw pyErr("TypeError", "%c requires int or char");
      out += padTo(text, width, " ", left ? "<" : ">");
      continue;
    }
    if (!"diouxXeEfFgG".includes(type)) {
      throw pyErr(
        "ValueError",
        `unsupported format character '${type}' (0x${type.charCodeAt(0).toString(16)}) at index ${
          i - 1
        }`,
      );
    }
    let numeric: boolean | bigint | number;
    if ("diu".includes(type)) {
      if (!isNumber(value)) {
        throw pyErr(
          "TypeError",
          `%${type} format: a real number is required, not ${pyTypeName(value)}`,
        );
      }
      numeric = typeof value === "number" ? truncToBig(value) : value;
    } else if ("oxX".includes(type)) {
      if (typeof value !== "bigint" && typeof value !== "boolean") {
        throw pyErr(
          "TypeError",
          `%${type} format: an integer is required, not ${pyTypeName(value)}`,
        );
      }
      numeric = value;
    } else {
      if (!isNumber(value)) {
        throw pyErr("TypeError", `must be real number, not ${pyTypeName(value)}`);
      }
      numeric = typeof value === "number" ? value : Number(toBig(value));
    }
    const sign = flags.includes("+") ? "+" : flags.includes(" ") ? " " : "-";
    const [signText, body] = formatNumber(numeric, {
      type: "diu".includes(type) ? "d" : type,
      sign,
      alt: flags.includes("#"),
      precision: "diuoxX".includes(type) ? undefined : precision ?? 6,
    });
    let digits = body;
    if ("diuoxX".includes(type) && precision !== undefined && digits.length < precision) {
      digits = "0".repeat(precision - digits.length) + digits;
    }
    if (left) out += padTo(signText + digits, width, " ", "<");
    else if (flags.includes("0")) {
      const pad = width - signText.length - digits.length;
      out += signText + (pad > 0 ? "0".repeat(pad) : "") + digits;
    } else out += padTo(signText + digits, width, " ", ">");
  }
  if (!usedMapping && mapping === undefined && argIndex < args.length) {
    throw pyErr("TypeError", "not all arguments converted during string formatting");
  }
  return out;
}

function truncToBig(x: number): bigint {
  if (!Number.isFinite(x)) {
    throw pyErr(
      Number.isNaN(x) ? "ValueError" : "OverflowError",
      Number.isNaN(x)
        ? "cannot convert float NaN to integer"
        : "cannot convert float infinity to integer",
    );
  }
  return BigInt(Math.trunc(x));
}

/**
 * Python's `template % mapping` for string values, as `[mbnames] peritem` needs
 * (`"+%(accountname)s/%(foldername)s"`).
 *
 * @throws {PythonError} KeyError, ValueError or TypeError as Python raises them
 */
export function percentFormatMapping(
  template: string,
  mapping: Readonly<Record<string, string>>,
): string {
  const it = new Interp(contextOf(template, { option: "peritem", section: "mbnames" }, {}), "sync");
  return percentFormat(template, PyDict.from(Object.entries(mapping)), it);
}

// =============================================================================================
// Builtins

function builtin(name: string, fn: NativeFn, params?: number): PyBuiltin {
  return new PyBuiltin(name, fn, { params });
}

function pyLen(v: PyValue): number {
  if (typeof v === "string") return cpLength(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof PyTuple) return v.items.length;
  if (v instanceof PyBytes) return v.data.length;
  if (v instanceof PyDict || v instanceof PySet) return v.map.size;
  if (v instanceof PyRange) return Number(v.length);
  if (v instanceof PyObject && v.lengthOf !== undefined) return v.lengthOf();
  throw pyErr("TypeError", `object of type '${pyTypeName(v)}' has no len()`);
}

function parseIntText(text: string, base: number): bigint {
  const original = text;
  let s = stripChars(text, undefined, true, true);
  let negative = false;
  if (s.startsWith("+") || s.startsWith("-")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  let b = base;
  const prefix = /^0([xXoObB])/.exec(s);
  if (prefix !== null) {
    const pb = { x: 16, o: 8, b: 2 }[(prefix[1] as string).toLowerCase() as "x" | "o" | "b"];
    if (b === 0 || b === pb) {
      b = pb;
      s = s.slice(2);
      if (s.startsWith("_")) s = s.slice(1);
    }
  }
  if (b === 0) {
    if (/^0+(?:_?0)*$/.test(s)) return 0n;
    if (/^0/.test(s)) s = "x";
    b = 10;
  }
  // Python's int() also accepts the other Unicode decimal digits; each block of them starts
  // at a digit zero and runs in groups of ten.
  s = s.replace(/\p{Nd}/gu, (d) => {
    const cp = d.codePointAt(0) as number;
    if (cp < 0x80) return d;
    let zero = cp;
    while (/\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--;
    return String((cp - zero) % 10);
  });
  const digitRe = new RegExp(
    `^[${"0123456789abcdefghijklmnopqrstuvwxyz".slice(0, b)}]+(?:_[${
      "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, b)
    }]+)*$`,
    "i",
  );
  if (!digitRe.test(s)) {
    throw pyErr("ValueError", `invalid literal for int() with base ${base}: ${strRepr(original)}`);
  }
  let value = 0n;
  for (const d of s.replaceAll("_", "").toLowerCase()) {
    value = value * BigInt(b) + BigInt(parseInt(d, 36));
  }
  return negative ? -value : value;
}

function parseFloatText(text: string): number {
  const s = stripChars(text, undefined, true, true).replaceAll(/(?<=\d)_(?=\d)/g, "");
  const m = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i.exec(s);
  if (m === null) {
    throw pyErr("ValueError", `could not convert string to float: ${strRepr(text)}`);
  }
  const lower = s.toLowerCase();
  if (lower.endsWith("inf") || lower.endsWith("infinity")) {
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  if (lower.endsWith("nan")) return NaN;
  return Number(s);
}

function sortValues(
  it: Interp,
  items: PyValue[],
  key: PyValue | undefined,
  reverse: boolean,
): PyValue[] {
  const keys = key === undefined || key === null ? items : items.map((x) => it.call(key, [x]));
  const order = items.map((_, i) => i);
  order.sort((a, b) => {
    // Python's sort only asks "<"; equal elements keep their order, also when reversed.
    const ka = keys[a] as PyValue;
    const kb = keys[b] as PyValue;
    const c = reverse
      ? pyLess(kb, ka) ? -1 : pyLess(ka, kb) ? 1 : 0
      : pyLess(ka, kb)
      ? -1
      : pyLess(kb, ka)
      ? 1
      : 0;
    return c;
  });
  return order.map((i) => items[i] as PyValue);
}

function pyLess(a: PyValue, b: PyValue): boolean {
  const c = pyCompare(a, b);
  return !Number.isNaN(c) && c < 0;
}

function minMax(name: "min" | "max", args: PyValue[], kwargs: Kwargs, it: Interp): PyValue {
  const key = kwargs.get("key");
  const hasDefault = kwargs.has("default");
  for (const k of kwargs.keys()) {
    if (k !== "key" && k !== "default") {
      throw pyErr("TypeError", `${name}() got an unexpected keyword argument '${k}'`);
    }
  }
  if (args.length === 0) throw pyErr("TypeError", `${name} expected at least 1 argument, got 0`);
  const items = args.length === 1 ? it.toArray(args[0] as PyValue) : args;
  if (args.length > 1 && hasDefault) {
    throw pyErr(
      "TypeError",
      `Cannot specify a default for ${name}() with multiple positional arguments`,
    );
  }
  if (items.length === 0) {
    if (hasDefault) return kwargs.get("default") as PyValue;
    throw pyErr("ValueError", `${name}() arg is an empty sequence`);
  }
  let best = items[0] as PyValue;
  let bestKey = key === undefined || key === null ? best : it.call(key, [best]);
  for (const item of items.slice(1)) {
    const k = key === undefined || key === null ? item : it.call(key, [item]);
    if (name === "min" ? pyLess(k, bestKey) : pyLess(bestKey, k)) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}

function isInstance(value: PyValue, cls: PyValue): boolean {
  if (cls instanceof PyTuple) return cls.items.some((c) => isInstance(value, c));
  if (!(cls instanceof PyBuiltin) || !cls.isType) {
    throw pyErr(
      "TypeError",
      "isinstance() arg 2 must be a type, a tuple of types, or a union",
    );
  }
  const t = pyTypeName(value);
  if (cls.name === "int") return t === "int" || t === "bool";
  return t === cls.name;
}

function toTypeObject(value: PyValue): PyValue {
  const t = pyTypeName(value);
  const found = BUILTINS.get(t);
  if (found instanceof PyBuiltin && found.isType) return found;
  throw unsupported(`type() of a '${t}' value is not supported`);
}

function makeRange(args: PyValue[]): PyRange {
  const n = args.map((a) => {
    if (typeof a !== "bigint" && typeof a !== "boolean") {
      throw pyErr("TypeError", `'${pyTypeName(a)}' object cannot be interpreted as an integer`);
    }
    return toBig(a);
  });
  if (n.length === 0) throw pyErr("TypeError", "range expected at least 1 argument, got 0");
  if (n.length > 3) throw pyErr("TypeError", `range expected at most 3 arguments, got ${n.length}`);
  const [start, stop, step] = n.length === 1
    ? [0n, n[0] as bigint, 1n]
    : [n[0] as bigint, n[1] as bigint, n[2] ?? 1n];
  if (step === 0n) throw pyErr("ValueError", "range() arg 3 must not be zero");
  return new PyRange(start, stop, step);
}

function typeBuiltin(name: string, fn: NativeFn): PyBuiltin {
  return new PyBuiltin(name, fn, { type: true });
}

const BUILTINS = new Map<string, PyValue>([
  [
    "len",
    builtin("len", (a, k) => BigInt(pyLen(bind("len", a, k, ["obj"], 1, false)[0] as PyValue)), 1),
  ],
  [
    "str",
    typeBuiltin("str", (a, k, it) => {
      const [value, encoding, errors] = bind("str", a, k, ["object", "encoding", "errors"], 0);
      if (value === undefined) return "";
      if (encoding !== undefined || errors !== undefined) {
        if (!(value instanceof PyBytes)) throw pyErr("TypeError", "decoding str is not supported");
        return decodeBytes(
          value.data,
          optStr(encoding, "str() argument 'encoding'") ?? "utf-8",
          optStr(errors, "str() argument 'errors'") ?? "strict",
        );
      }
      return pyStr(value, it);
    }),
  ],
  [
    "int",
    typeBuiltin("int", (a, k) => {
      const [value, base] = bind("int", a, k, ["x", "base"], 0);
      if (value === undefined) return 0n;
      if (base !== undefined) {
        const b = needInt(base, "int() base");
        if (b !== 0 && (b < 2 || b > 36)) {
          throw pyErr("ValueError", "int() base must be >= 2 and <= 36, or 0");
        }
        if (typeof value === "string") {
          return parseIntText(value, b);
        }
        if (value instanceof PyBytes) return parseIntText(latin1(value.data), b);
        throw pyErr("TypeError", "int() can't convert non-string with explicit base");
      }
      if (typeof value === "boolean" || typeof value === "bigint") return toBig(value);
      if (typeof value === "number") return truncToBig(value);
      if (typeof value === "string") return parseIntText(value, 10);
      if (value instanceof PyBytes) return parseIntText(latin1(value.data), 10);
      throw pyErr(
        "TypeError",
        `int() argument must be a string, a bytes-like object or a real number, not '${
          pyTypeName(value)
        }'`,
      );
    }),
  ],
  [
    "float",
    typeBuiltin("float", (a, k) => {
      const [value] = bind("float", a, k, ["x"], 0, false);
      if (value === undefined) return 0;
      if (typeof value === "number") return value;
      if (typeof value === "boolean" || typeof value === "bigint") return Number(toBig(value));
      if (typeof value === "string") return parseFloatText(value);
      throw pyErr(
        "TypeError",
        `float() argument must be a string or a real number, not '${pyTypeName(value)}'`,
      );
    }),
  ],
  [
    "bool",
    typeBuiltin("bool", (a, k) => {
      const [value] = bind("bool", a, k, ["x"], 0, false);
      return value === undefined ? false : pyTruthy(value);
    }),
  ],
  [
    "list",
    typeBuiltin("list", (a, k, it) => {
      const [value] = bind("list", a, k, ["iterable"], 0, false);
      return value === undefined ? [] : it.toArray(value);
    }),
  ],
  [
    "tuple",
    typeBuiltin("tuple", (a, k, it) => {
      const [value] = bind("tuple", a, k, ["iterable"], 0, false);
      return new PyTuple(value === undefined ? [] : it.toArray(value));
    }),
  ],
  [
    "set",
    typeBuiltin("set", (a, k, it) => {
      const [value] = bind("set", a, k, ["iterable"], 0, false);
      const s = new PySet();
      if (value !== undefined) { for (const x of it.toArray(value)) s.add(x); }
      return s;
    }),
  ],
  [
    "frozenset",
    typeBuiltin("frozenset", (a, k, it) => {
      const [value] = bind("frozenset", a, k, ["iterable"], 0, false);
      const s = new PySet("frozenset");
      if (value !== undefined) { for (const x of it.toArray(value)) s.add(x); }
      return s;
    }),
  ],
  [
    "dict",
    typeBuiltin("dict", (a, k, it) => {
      if (a.length > 1) {
        throw pyErr("TypeError", `dict expected at most 1 argument, got ${a.length}`);
      }
      const d = new PyDict();
      const source = a[0];
      if (source instanceof PyDict) { for (const [key, v] of source.map.values()) d.set(key, v); }
      else if (source !== undefined) {
        it.toArray(source).forEach((pair, i) => {
          const kv = it.toArray(pair);
          if (kv.length !== 2) {
            throw pyErr(
              "ValueError",
              `dictionary update sequence element #${i} has length ${kv.length}; 2 is required`,
            );
          }
          d.set(kv[0] as PyValue, kv[1] as PyValue);
        });
      }
      for (const [key, v] of k) d.set(key, v);
      return d;
    }),
  ],
  [
    "bytes",
    typeBuiltin("bytes", (a, k, it) => {
      const [value, encoding, errors] = bind("bytes", a, k, ["source", "encoding", "errors"], 0);
      if (value === undefined) return new PyBytes(new Uint8Array());
      if (typeof value === "string") {
        if (encoding === undefined) throw pyErr("TypeError", "string argument without an encoding");
        return encodeStr(
          value,
          needStr(encoding, "bytes() argument 'encoding'"),
          optStr(errors, "errors") ?? "strict",
        );
      }
      if (typeof value === "bigint") return new PyBytes(new Uint8Array(Number(value)));
      return new PyBytes(Uint8Array.from(it.toArray(value), (x) => {
        const n = needInt(x, "bytes");
        if (n < 0 || n > 255) throw pyErr("ValueError", "bytes must be in range(0, 256)");
        return n;
      }));
    }),
  ],
  ["range", typeBuiltin("range", (a, k) => (bind("range", [], k, [], 0, false), makeRange(a)))],
  [
    "repr",
    builtin(
      "repr",
      (a, k, it) => pyRepr(bind("repr", a, k, ["obj"], 1, false)[0] as PyValue, it),
      1,
    ),
  ],
  [
    "ascii",
    builtin(
      "ascii",
      (a, k, it) => asciiRepr(bind("ascii", a, k, ["obj"], 1, false)[0] as PyValue, it),
      1,
    ),
  ],
  [
    "format",
    builtin("format", (a, k, it) => {
      const [value, spec] = bind("format", a, k, ["value", "format_spec"], 1, false);
      return formatValue(
        value as PyValue,
        spec === undefined ? "" : needStr(spec, "format() argument 2"),
        it,
      );
    }),
  ],
  [
    "abs",
    builtin("abs", (a, k) => {
      const [v] = bind("abs", a, k, ["x"], 1, false);
      if (typeof v === "number") return Math.abs(v);
      if (typeof v === "bigint" || typeof v === "boolean") {
        const x = toBig(v);
        return x < 0n ? -x : x;
      }
      throw pyErr("TypeError", `bad operand type for abs(): '${pyTypeName(v ?? null)}'`);
    }, 1),
  ],
  [
    "any",
    builtin("any", (a, k, it) => {
      const iterator = it.iterate(bind("any", a, k, ["iterable"], 1, false)[0] as PyValue);
      for (let r = iterator.next(); !r.done; r = iterator.next()) {
        it.step();
        if (pyTruthy(r.value)) return true;
      }
      return false;
    }, 1),
  ],
  [
    "all",
    builtin("all", (a, k, it) => {
      const iterator = it.iterate(bind("all", a, k, ["iterable"], 1, false)[0] as PyValue);
      for (let r = iterator.next(); !r.done; r = iterator.next()) {
        it.step();
        if (!pyTruthy(r.value)) return false;
      }
      return true;
    }, 1),
  ],
  [
    "sorted",
    builtin("sorted", (a, k, it) => {
      if (a.length !== 1) throw pyErr("TypeError", `sorted expected 1 argument, got ${a.length}`);
      const [key, reverse] = bind("sorted", [], k, ["key", "reverse"], 0);
      return sortValues(
        it,
        it.toArray(a[0] as PyValue),
        key,
        reverse !== undefined && pyTruthy(reverse),
      );
    }),
  ],
  ["min", builtin("min", (a, k, it) => minMax("min", a, k, it))],
  ["max", builtin("max", (a, k, it) => minMax("max", a, k, it))],
  [
    "sum",
    builtin("sum", (a, k, it) => {
      const [iterable, start] = bind("sum", a, k, ["iterable", "start"], 1);
      let total: PyValue = start ?? 0n;
      if (typeof total === "string") {
        throw pyErr("TypeError", "sum() can't sum strings [use ''.join(seq) instead]");
      }
      for (const x of it.toArray(iterable as PyValue)) total = it.binary("+", total, x);
      return total;
    }),
  ],
  [
    "isinstance",
    builtin("isinstance", (a, k) => {
      const [value, cls] = bind("isinstance", a, k, ["obj", "class_or_tuple"], 2, false);
      return isInstance(value as PyValue, cls as PyValue);
    }, 2),
  ],
  [
    "callable",
    builtin("callable", (a, k) => {
      const [v] = bind("callable", a, k, ["obj"], 1, false);
      return v instanceof PyFunction || v instanceof PyBuiltin ||
        (v instanceof PyRemote && v.callable);
    }, 1),
  ],
  [
    "hasattr",
    builtin("hasattr", (a, k, it) => {
      const [v, name] = bind("hasattr", a, k, ["obj", "name"], 2, false);
      const attr = needStr(name, "hasattr(): attribute name");
      if (attr.startsWith("__")) {
        throw unsupported(`"${attr}" is not supported (double-underscore name)`);
      }
      try {
        it.getAttr(v as PyValue, attr);
        return true;
      } catch (error) {
        if (error instanceof PythonError && error.type === "AttributeError") return false;
        throw error;
      }
    }, 2),
  ],
  [
    "type",
    builtin(
      "type",
      (a, k) => toTypeObject(bind("type", a, k, ["object"], 1, false)[0] as PyValue),
      1,
    ),
  ],
  [
    "ord",
    builtin("ord", (a, k) => {
      const [v] = bind("ord", a, k, ["c"], 1, false);
      if (typeof v === "string" && cpLength(v) === 1) return BigInt(v.codePointAt(0) as number);
      if (v instanceof PyBytes && v.data.length === 1) return BigInt(v.data[0] as number);
      if (typeof v === "string") {
        throw pyErr(
          "TypeError",
          `ord() expected a character, but string of length ${cpLength(v)} found`,
        );
      }
      throw pyErr(
        "TypeError",
        `ord() expected string of length 1, but ${pyTypeName(v ?? null)} found`,
      );
    }, 1),
  ],
  [
    "chr",
    builtin("chr", (a, k) => {
      const n = needInt(bind("chr", a, k, ["i"], 1, false)[0], "chr()");
      if (n < 0 || n > 0x10ffff) throw pyErr("ValueError", "chr() arg not in range(0x110000)");
      return String.fromCodePoint(n);
    }, 1),
  ],
  [
    "hex",
    builtin("hex", (a, k) => radixText(bind("hex", a, k, ["number"], 1, false)[0], 16, "0x"), 1),
  ],
  [
    "oct",
    builtin("oct", (a, k) => radixText(bind("oct", a, k, ["number"], 1, false)[0], 8, "0o"), 1),
  ],
  [
    "bin",
    builtin("bin", (a, k) => radixText(bind("bin", a, k, ["number"], 1, false)[0], 2, "0b"), 1),
  ],
  [
    "round",
    builtin("round", (a, k) => {
      const [v, nd] = bind("round", a, k, ["number", "ndigits"], 1);
      if (typeof v === "bigint" || typeof v === "boolean") return toBig(v);
      if (typeof v !== "number") {
        throw pyErr("TypeError", `type ${pyTypeName(v ?? null)} doesn't define __round__ method`);
      }
      if (nd === undefined || nd === null) {
        const f = Math.floor(v);
        const diff = v - f;
        return truncToBig(diff > 0.5 || (diff === 0.5 && f % 2 !== 0) ? f + 1 : f);
      }
      const digits = needInt(nd, "round()");
      if (!Number.isFinite(v)) {
        return v;
      }
      return Number((v < 0 ? "-" : "") + fixedDigits(Math.abs(v), Math.max(0, digits)));
    }),
  ],
  [
    "divmod",
    builtin("divmod", (a, k, it) => {
      const [x, y] = bind("divmod", a, k, ["x", "y"], 2, false);
      return new PyTuple([
        it.binary("//", x as PyValue, y as PyValue),
        it.binary("%", x as PyValue, y as PyValue),
      ]);
    }, 2),
  ],
  [
    "pow",
    builtin("pow", (a, k, it) => {
      const [x, y] = bind("pow", a, k, ["base", "exp"], 2);
      return it.binary("**", x as PyValue, y as PyValue);
    }, 2),
  ],
  [
    "enumerate",
    typeBuiltin("enumerate", (a, k, it) => {
      const [iterable, start] = bind("enumerate", a, k, ["iterable", "start"], 1);
      const iterator = it.iterate(iterable as PyValue);
      let n = start === undefined ? 0n : BigInt(needInt(start, "enumerate"));
      return new PyIterator(
        "enumerate",
        (function* () {
          for (let r = iterator.next(); !r.done; r = iterator.next()) {
            yield new PyTuple([n++, r.value]);
          }
        })(),
      );
    }),
  ],
  [
    "zip",
    typeBuiltin("zip", (a, k, it) => {
      bind("zip", [], k, [], 0, false);
      const iterators = a.map((x) => it.iterate(x));
      return new PyIterator(
        "zip",
        (function* () {
          if (iterators.length === 0) return;
          for (;;) {
            const row: PyValue[] = [];
            for (const i of iterators) {
              const r = i.next();
              if (r.done) return;
              row.push(r.value);
            }
            yield new PyTuple(row);
          }
        })(),
      );
    }),
  ],
  [
    "reversed",
    typeBuiltin("reversed", (a, k, it) => {
      const [seq] = bind("reversed", a, k, ["sequence"], 1, false);
      if (seq instanceof PyIterator || seq instanceof PySet) {
        throw pyErr("TypeError", `'${pyTypeName(seq)}' object is not reversible`);
      }
      return new PyIterator(
        "list_reverseiterator",
        it.toArray(seq as PyValue).reverse()[Symbol.iterator](),
      );
    }),
  ],
  [
    "map",
    typeBuiltin("map", (a, k, it) => {
      bind("map", [], k, [], 0, false);
      if (a.length < 2) throw pyErr("TypeError", "map() must have at least two arguments.");
      const fn = a[0] as PyValue;
      const iterators = a.slice(1).map((x) => it.iterate(x));
      return new PyIterator(
        "map",
        (function* () {
          for (;;) {
            const row: PyValue[] = [];
            for (const i of iterators) {
              const r = i.next();
              if (r.done) return;
              row.push(r.value);
            }
            yield it.call(fn, row);
          }
        })(),
      );
    }),
  ],
  [
    "filter",
    typeBuiltin("filter", (a, k, it) => {
      const [fn, iterable] = bind("filter", a, k, ["function", "iterable"], 2, false);
      const iterator = it.iterate(iterable as PyValue);
      return new PyIterator(
        "filter",
        (function* () {
          for (let r = iterator.next(); !r.done; r = iterator.next()) {
            const keep = fn === null
              ? pyTruthy(r.value)
              : pyTruthy(it.call(fn as PyValue, [r.value]));
            if (keep) yield r.value;
          }
        })(),
      );
    }),
  ],
  [
    "iter",
    builtin("iter", (a, k, it) => {
      const [v] = bind("iter", a, k, ["object"], 1, false);
      return v instanceof PyIterator ? v : new PyIterator("iterator", it.iterate(v as PyValue));
    }),
  ],
  [
    "next",
    builtin("next", (a, k) => {
      const [v, dflt] = bind("next", a, k, ["iterator", "default"], 1, false);
      if (!(v instanceof PyIterator)) {
        throw pyErr("TypeError", `'${pyTypeName(v ?? null)}' object is not an iterator`);
      }
      const r = v.next();
      if (r.done) {
        if (dflt !== undefined) return dflt;
        throw pyErr("StopIteration", "");
      }
      return r.value;
    }),
  ],
  [
    "cmp",
    builtin("cmp", (a, k) => {
      const [x, y] = bind("cmp", a, k, ["x", "y"], 2, false);
      const c = pyCompare(x as PyValue, y as PyValue);
      return Number.isNaN(c) ? 0n : BigInt(Math.sign(c));
    }, 2),
  ],
]);

function radixText(v: PyValue | undefined, radix: number, prefix: string): string {
  if (typeof v !== "bigint" && typeof v !== "boolean") {
    throw pyErr(
      "TypeError",
      `'${pyTypeName(v ?? null)}' object cannot be interpreted as an integer`,
    );
  }
  const x = toBig(v);
  return (x < 0n ? "-" : "") + prefix + (x < 0n ? -x : x).toString(radix);
}

/** Python builtins refused on purpose (python-expressions.md §3.7). */
const REFUSED_BUILTINS = new Set(
  ("eval exec compile getattr setattr delattr globals locals vars dir input breakpoint exit quit " +
    "help memoryview object super classmethod staticmethod property id hash issubclass bytearray " +
    "complex print open slice aiter anext license credits copyright").split(" "),
);

// =============================================================================================
// The `re` module

function regexError(error: unknown): unknown {
  if (error instanceof RegexError) return pyErr(error.pythonType, error.message);
  if (error instanceof RegexUnsupportedError) {
    return unsupported(`${error.message}`, "Rewrite the pattern without this construct");
  }
  return error;
}

function flagsArg(v: PyValue | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "bigint" || typeof v === "boolean") return Number(toBig(v));
  throw pyErr("TypeError", `unsupported operand type(s) for &: '${pyTypeName(v)}' and 'int'`);
}

function compilePattern(pattern: PyValue | undefined, flags: PyValue | undefined): CompiledRegex {
  if (pattern instanceof PyPattern) {
    if (flagsArg(flags) !== 0) {
      throw pyErr("ValueError", "cannot process flags argument with a compiled pattern");
    }
    return pattern.regex;
  }
  if (pattern instanceof PyBytes) throw unsupported("bytes patterns are not supported");
  if (typeof pattern !== "string") {
    throw pyErr("TypeError", "first argument must be string or compiled pattern");
  }
  try {
    return compileRegex(pattern, flagsArg(flags));
  } catch (error) {
    throw regexError(error);
  }
}

function subject(v: PyValue | undefined): string {
  if (typeof v === "string") return v;
  if (v instanceof PyBytes) {
    throw pyErr("TypeError", "cannot use a string pattern on a bytes-like object");
  }
  throw pyErr("TypeError", `expected string or bytes-like object, got '${pyTypeName(v ?? null)}'`);
}

/** A match object (`re.Match`). */
class PyMatch extends PyObject {
  readonly typeName = "Match";
  constructor(readonly match: RegexMatch, readonly pattern: PyPattern, readonly string: string) {
    super();
  }
  groupIndex(g: PyValue): number {
    if (typeof g === "bigint" || typeof g === "boolean") {
      const n = Number(toBig(g));
      if (n < 0 || n > this.match.regex.groups) throw pyErr("IndexError", "no such group");
      return n;
    }
    if (typeof g === "string") {
      const n = this.match.regex.groupIndex.get(g);
      if (n === undefined) throw pyErr("IndexError", "no such group");
      return n;
    }
    throw pyErr("IndexError", "no such group");
  }
  group(g: PyValue, dflt: PyValue = null): PyValue {
    return groupText(this.match, this.groupIndex(g)) ?? dflt;
  }
  span(g: PyValue): [number, number] {
    const s = this.match.spans[this.groupIndex(g)];
    if (s === undefined) return [-1, -1];
    return [toCodePointIndex(this.string, s[0]), toCodePointIndex(this.string, s[1])];
  }
  override getItemOf(key: PyValue): PyValue {
    return this.group(key);
  }
  override getAttr(name: string, it: Interp): PyValue | undefined {
    const m = MATCH_METHODS[name];
    if (m === undefined) return undefined;
    if (m.property) return m.fn(this, [], NO_KWARGS, it);
    return new PyBuiltin(name, (a, k, i) => m.fn(this, a, k, i), { method: true });
  }
  override repr(it: Interp): string {
    const [s, e] = this.span(0n);
    return `<re.Match object; span=(${s}, ${e}), match=${pyRepr(this.group(0n), it)}>`;
  }
}

const MATCH_METHODS: Readonly<Record<string, Method>> = {
  group: {
    fn: (m: PyMatch, a, k) => {
      bind("group", [], k, [], 0, false);
      if (a.length === 0) return m.group(0n);
      if (a.length === 1) return m.group(a[0] as PyValue);
      return new PyTuple(a.map((g) => m.group(g)));
    },
  },
  groups: {
    fn: (m: PyMatch, a, k) => {
      const [dflt] = bind("groups", a, k, ["default"], 0);
      const out: PyValue[] = [];
      for (let g = 1; g <= m.match.regex.groups; g++) out.push(m.group(BigInt(g), dflt ?? null));
      return new PyTuple(out);
    },
  },
  groupdict: {
    fn: (m: PyMatch, a, k) => {
      const [dflt] = bind("groupdict", a, k, ["default"], 0);
      const d = new PyDict();
      for (const [name, g] of m.match.regex.groupIndex) {
        d.set(name, m.group(BigInt(g), dflt ?? null));
      }
      return d;
    },
  },
  start: {
    fn: (m: PyMatch, a, k) => BigInt(m.span(bind("start", a, k, ["group"], 0, false)[0] ?? 0n)[0]),
  },
  end: {
    fn: (m: PyMatch, a, k) => BigInt(m.span(bind("end", a, k, ["group"], 0, false)[0] ?? 0n)[1]),
  },
  span: {
    fn: (m: PyMatch, a, k) => {
      const [s, e] = m.span(bind("span", a, k, ["group"], 0, false)[0] ?? 0n);
      return new PyTuple([BigInt(s), BigInt(e)]);
    },
  },
  expand: {
    fn: (m: PyMatch, a, k) => {
      const template = needStr(
        bind("expand", a, k, ["template"], 1, false)[0],
        "expand() argument",
      );
      try {
        return expandTemplate(parseTemplate(m.match.regex, template), m.match);
      } catch (error) {
        throw regexError(error);
      }
    },
  },
  string: { fn: (m: PyMatch) => m.string, property: true },
  re: { fn: (m: PyMatch) => m.pattern, property: true },
  pos: { fn: (m: PyMatch) => BigInt(toCodePointIndex(m.string, m.match.pos)), property: true },
  endpos: {
    fn: (m: PyMatch) => BigInt(toCodePointIndex(m.string, m.match.endpos)),
    property: true,
  },
  lastindex: {
    fn: (m: PyMatch) => m.match.lastIndex === undefined ? null : BigInt(m.match.lastIndex),
    property: true,
  },
  lastgroup: {
    fn: (m: PyMatch) =>
      m.match.lastIndex === undefined
        ? null
        : m.match.regex.groupNames.get(m.match.lastIndex) ?? null,
    property: true,
  },
};

/** A compiled pattern (`re.Pattern`). */
class PyPattern extends PyObject {
  readonly typeName = "Pattern";
  constructor(readonly regex: CompiledRegex) {
    super();
  }
  override getAttr(name: string, it: Interp): PyValue | undefined {
    const m = PATTERN_METHODS[name];
    if (m === undefined) return undefined;
    if (m.property) return m.fn(this, [], NO_KWARGS, it);
    return new PyBuiltin(name, (a, k, i) => m.fn(this, a, k, i), { method: true });
  }
  override repr(): string {
    const names: [number, string][] = [
      [RE_FLAGS.TEMPLATE, "TEMPLATE"],
      [RE_FLAGS.IGNORECASE, "IGNORECASE"],
      [RE_FLAGS.LOCALE, "LOCALE"],
      [RE_FLAGS.MULTILINE, "MULTILINE"],
      [RE_FLAGS.DOTALL, "DOTALL"],
      [RE_FLAGS.VERBOSE, "VERBOSE"],
      [RE_FLAGS.ASCII, "ASCII"],
    ];
    const flags = names.filter(([f]) => this.regex.flags & f).map(([, n]) => `re.${n}`);
    const text = strRepr(this.regex.pattern);
    return flags.length === 0 ? `re.compile(${text})` : `re.compile(${text}, ${flags.join("|")})`;
  }
}

function positions(
  text: string,
  pos: PyValue | undefined,
  endpos: PyValue | undefined,
): [number, number] {
  const length = cpLength(text);
  const clamp = (v: number) => Math.max(0, Math.min(v, length));
  let p = pos === undefined || pos === null ? 0 : needInt(pos, "pos");
  let e = endpos === undefined || endpos === null ? length : needInt(endpos, "endpos");
  if (p < 0) p += length;
  if (e < 0) e += length;
  p = clamp(p);
  e = clamp(e);
  return [toUnitIndex(text, p), toUnitIndex(text, e)];
}

function doMatch(
  pattern: PyPattern,
  text: string,
  mode: "search" | "match" | "fullmatch",
  pos?: PyValue,
  endpos?: PyValue,
): PyValue {
  const [p, e] = positions(text, pos, endpos);
  const m = execRegex(pattern.regex, text, mode, p, e);
  return m === undefined ? null : new PyMatch(m, pattern, text);
}

function doSub(
  it: Interp,
  pattern: PyPattern,
  repl: PyValue | undefined,
  text: string,
  count: PyValue | undefined,
  withCount: boolean,
): PyValue {
  const n = count === undefined ? 0 : needInt(count, "count");
  if (repl instanceof PyRemote) {
    // A replacement function from the pythonfile needs real match objects: let Python do it.
    return it.python({
      op: "callimport",
      module: "re",
      name: withCount ? "subn" : "sub",
      args: [pattern.regex.pattern, toWire(repl), text, { $int: String(n) }, {
        $int: String(pattern.regex.flags),
      }],
      kwargs: [],
    });
  }
  let replace: (m: RegexMatch) => string;
  if (typeof repl === "string") {
    let template;
    try {
      template = parseTemplate(pattern.regex, repl);
    } catch (error) {
      throw regexError(error);
    }
    replace = (m) => expandTemplate(template, m);
  } else if (repl instanceof PyFunction || repl instanceof PyBuiltin) {
    replace = (m) => {
      const out = it.call(repl, [new PyMatch(m, pattern, text)]);
      if (typeof out !== "string") {
        throw pyErr("TypeError", `expected str instance, ${pyTypeName(out)} found`);
      }
      return out;
    };
  } else if (repl instanceof PyBytes) {
    throw pyErr("TypeError", "expected str instance, bytes found");
  } else {
    throw pyErr("TypeError", `expected str instance, ${pyTypeName(repl ?? null)} found`);
  }
  const result = substituteRegex(pattern.regex, text, (m) => {
    it.step();
    return replace(m);
  }, n);
  return withCount ? new PyTuple([result.text, BigInt(result.count)]) : result.text;
}

function doSplit(pattern: PyPattern, text: string, maxsplit: PyValue | undefined): PyValue {
  const n = maxsplit === undefined ? 0 : needInt(maxsplit, "maxsplit");
  return splitRegex(pattern.regex, text, n).map((x) => x ?? null);
}

function doFindall(pattern: PyPattern, text: string, pos?: PyValue, endpos?: PyValue): PyValue {
  const [p, e] = positions(text, pos, endpos);
  const groups = pattern.regex.groups;
  const out: PyValue[] = [];
  for (const m of iterateRegex(pattern.regex, text, p, e)) {
    if (groups === 0) out.push(groupText(m, 0) ?? "");
    else if (groups === 1) out.push(groupText(m, 1) ?? "");
    else {
      const row: PyValue[] = [];
      for (let g = 1; g <= groups; g++) row.push(groupText(m, g) ?? "");
      out.push(new PyTuple(row));
    }
  }
  return out;
}

function doFinditer(pattern: PyPattern, text: string, pos?: PyValue, endpos?: PyValue): PyValue {
  const [p, e] = positions(text, pos, endpos);
  const matches = iterateRegex(pattern.regex, text, p, e);
  return new PyIterator(
    "callable_iterator",
    (function* () {
      for (const m of matches) yield new PyMatch(m, pattern, text);
    })(),
  );
}

const PATTERN_METHODS: Readonly<Record<string, Method>> = {
  search: {
    fn: (p: PyPattern, a, k) => {
      const [s, pos, endpos] = bind("search", a, k, ["string", "pos", "endpos"], 1);
      return doMatch(p, subject(s), "search", pos, endpos);
    },
  },
  match: {
    fn: (p: PyPattern, a, k) => {
      const [s, pos, endpos] = bind("match", a, k, ["string", "pos", "endpos"], 1);
      return doMatch(p, subject(s), "match", pos, endpos);
    },
  },
  fullmatch: {
    fn: (p: PyPattern, a, k) => {
      const [s, pos, endpos] = bind("fullmatch", a, k, ["string", "pos", "endpos"], 1);
      return doMatch(p, subject(s), "fullmatch", pos, endpos);
    },
  },
  sub: {
    fn: (p: PyPattern, a, k, it) => {
      const [repl, s, count] = bind("sub", a, k, ["repl", "string", "count"], 2);
      return doSub(it, p, repl, subject(s), count, false);
    },
  },
  subn: {
    fn: (p: PyPattern, a, k, it) => {
      const [repl, s, count] = bind("subn", a, k, ["repl", "string", "count"], 2);
      return doSub(it, p, repl, subject(s), count, true);
    },
  },
  split: {
    fn: (p: PyPattern, a, k) => {
      const [s, maxsplit] = bind("split", a, k, ["string", "maxsplit"], 1);
      return doSplit(p, subject(s), maxsplit);
    },
  },
  findall: {
    fn: (p: PyPattern, a, k) => {
      const [s, pos, endpos] = bind("findall", a, k, ["string", "pos", "endpos"], 1);
      return doFindall(p, subject(s), pos, endpos);
    },
  },
  finditer: {
    fn: (p: PyPattern, a, k) => {
      const [s, pos, endpos] = bind("finditer", a, k, ["string", "pos", "endpos"], 1);
      return doFinditer(p, subject(s), pos, endpos);
    },
  },
  pattern: { fn: (p: PyPattern) => p.regex.pattern, property: true },
  flags: { fn: (p: PyPattern) => BigInt(p.regex.flags), property: true },
  groups: { fn: (p: PyPattern) => BigInt(p.regex.groups), property: true },
  groupindex: {
    fn: (p: PyPattern) => PyDict.from([...p.regex.groupIndex].map(([n, g]) => [n, BigInt(g)])),
    property: true,
  },
};

function patternOf(pattern: PyValue | undefined, flags: PyValue | undefined): PyPattern {
  if (pattern instanceof PyPattern && flagsArg(flags) === 0) return pattern;
  return new PyPattern(compilePattern(pattern, flags));
}

function reFunction(name: string, fn: NativeFn): [string, PyValue] {
  return [name, builtin(name, fn)];
}

const RE_MODULE = new PyModule(
  "re",
  new Map<string, PyValue>([
    reFunction("compile", (a, k) => {
      const [p, flags] = bind("compile", a, k, ["pattern", "flags"], 1);
      return patternOf(p, flags);
    }),
    reFunction("search", (a, k) => {
      const [p, s, flags] = bind("search", a, k, ["pattern", "string", "flags"], 2);
      return doMatch(patternOf(p, flags), subject(s), "search");
    }),
    reFunction("match", (a, k) => {
      const [p, s, flags] = bind("match", a, k, ["pattern", "string", "flags"], 2);
      return doMatch(patternOf(p, flags), subject(s), "match");
    }),
    reFunction("fullmatch", (a, k) => {
      const [p, s, flags] = bind("fullmatch", a, k, ["pattern", "string", "flags"], 2);
      return doMatch(patternOf(p, flags), subject(s), "fullmatch");
    }),
    reFunction("sub", (a, k, it) => {
      // `count` comes before `flags`: re.sub(p, r, s, re.I) replaces at most 2 matches.
      const [p, repl, s, count, flags] = bind("sub", a, k, [
        "pattern",
        "repl",
        "string",
        "count",
        "flags",
      ], 3);
      return doSub(it, patternOf(p, flags), repl, subject(s), count, false);
    }),
    reFunction("subn", (a, k, it) => {
      const [p, repl, s, count, flags] = bind("subn", a, k, [
        "pattern",
        "repl",
        "string",
        "count",
        "flags",
      ], 3);
      return doSub(it, patternOf(p, flags), repl, subject(s), count, true);
    }),
    reFunction("split", (a, k) => {
      const [p, s, maxsplit, flags] = bind("split", a, k, [
        "pattern",
        "string",
        "maxsplit",
        "flags",
      ], 2);
      return doSplit(patternOf(p, flags), subject(s), maxsplit);
    }),
    reFunction("findall", (a, k) => {
      const [p, s, flags] = bind("findall", a, k, ["pattern", "string", "flags"], 2);
      return doFindall(patternOf(p, flags), subject(s));
    }),
    reFunction("finditer", (a, k) => {
      const [p, s, flags] = bind("finditer", a, k, ["pattern", "string", "flags"], 2);
      return doFinditer(patternOf(p, flags), subject(s));
    }),
    reFunction("escape", (a, k) => {
      const [p] = bind("escape", a, k, ["pattern"], 1);
      if (typeof p !== "string") throw unsupported("re.escape() of bytes is not supported");
      return escapeRegex(p);
    }),
    reFunction("purge", () => null),
    [
      "error",
      typeBuiltin("error", () => {
        throw unsupported("creating re.error objects is not supported");
      }),
    ],
    ["I", BigInt(RE_FLAGS.IGNORECASE)],
    ["IGNORECASE", BigInt(RE_FLAGS.IGNORECASE)],
    ["M", BigInt(RE_FLAGS.MULTILINE)],
    ["MULTILINE", BigInt(RE_FLAGS.MULTILINE)],
    ["S", BigInt(RE_FLAGS.DOTALL)],
    ["DOTALL", BigInt(RE_FLAGS.DOTALL)],
    ["X", BigInt(RE_FLAGS.VERBOSE)],
    ["VERBOSE", BigInt(RE_FLAGS.VERBOSE)],
    ["A", BigInt(RE_FLAGS.ASCII)],
    ["ASCII", BigInt(RE_FLAGS.ASCII)],
    ["U", BigInt(RE_FLAGS.UNICODE)],
    ["UNICODE", BigInt(RE_FLAGS.UNICODE)],
    ["L", BigInt(RE_FLAGS.LOCALE)],
    ["LOCALE", BigInt(RE_FLAGS.LOCALE)],
    ["T", BigInt(RE_FLAGS.TEMPLATE)],
    ["TEMPLATE", BigInt(RE_FLAGS.TEMPLATE)],
    ["DEBUG", BigInt(RE_FLAGS.DEBUG)],
    ["NOFLAG", 0n],
  ]),
);

// =============================================================================================
// `os`, `subprocess`, `open` (only in the `*eval` options and newmail_hook)

function hookEnv(it: Interp, name: string): string | undefined {
  return it.ctx.hooks.env?.(name);
}

/** `os.environ`. */
class PyEnviron extends PyObject {
  readonly typeName = "os._Environ";
  override getItemOf(key: PyValue, it: Interp): PyValue {
    const name = needStr(key, "str expected, not");
    const value = hookEnv(it, name);
    if (value === undefined) throw pyErr("KeyError", strRepr(name));
    return value;
  }
  override containsItem(key: PyValue, it: Interp): boolean {
    return typeof key === "string" && hookEnv(it, key) !== undefined;
  }
  override getAttr(name: string, it: Interp): PyValue | undefined {
    if (name === "get") {
      return new PyBuiltin("get", (a, k) => {
        const [key, dflt] = bind("get", a, k, ["key", "default"], 1);
        const value = typeof key === "string" ? hookEnv(it, key) : undefined;
        return value ?? dflt ?? null;
      }, { method: true });
    }
    return undefined;
  }
  override repr(): string {
    return "environ({...})";
  }
}

function expandUser(path: string, it: Interp): string {
  if (!path.startsWith("~")) return path;
  const slash = path.indexOf("/", 1);
  const end = slash < 0 ? path.length : slash;
  if (end !== 1) return path; // ~user: no password database here
  const home = hookEnv(it, "HOME") ?? it.ctx.hooks.homeDir?.();
  if (home === undefined) return path;
  const trimmed = home.replace(/\/+$/, "") || "/";
  return trimmed + path.slice(end);
}

function expandVars(path: string, it: Interp): string {
  if (!path.includes("$")) return path;
  return path.replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    const key = name.startsWith("{") ? name.slice(1, -1) : name;
    return hookEnv(it, key) ?? whole;
  });
}

function joinPath(parts: string[]): string {
  let out = parts[0] as string;
  for (const p of parts.slice(1)) {
    if (p.startsWith("/")) out = p;
    else if (out === "" || out.endsWith("/")) out += p;
    else out += "/" + p;
  }
  return out;
}

const OS_PATH_MODULE = new PyModule(
  "posixpath",
  new Map<string, PyValue>([
    [
      "expanduser",
      builtin("expanduser", (a, k, it) =>
        expandUser(
          needStr(bind("expanduser", a, k, ["path"], 1, false)[0], "expanduser() argument"),
          it,
        )),
    ],
    [
      "expandvars",
      builtin("expandvars", (a, k, it) =>
        expandVars(
          needStr(bind("expandvars", a, k, ["path"], 1, false)[0], "expandvars() argument"),
          it,
        )),
    ],
    [
      "join",
      builtin("join", (a, k) => {
        bind("join", [], k, [], 0, false);
        if (a.length === 0) {
          throw pyErr("TypeError", "join() missing 1 required positional argument: 'a'");
        }
        return joinPath(a.map((p) => needStr(p, "join() argument")));
      }),
    ],
    [
      "basename",
      builtin("basename", (a, k) => {
        const p = needStr(bind("basename", a, k, ["p"], 1, false)[0], "basename() argument");
        return p.slice(p.lastIndexOf("/") + 1);
      }),
    ],
    [
      "dirname",
      builtin("dirname", (a, k) => {
        const p = needStr(bind("dirname", a, k, ["p"], 1, false)[0], "dirname() argument");
        const head = p.slice(0, p.lastIndexOf("/") + 1);
        return head !== "" && head !== "/".repeat(head.length) ? head.replace(/\/+$/, "") : head;
      }),
    ],
    [
      "isabs",
      builtin(
        "isabs",
        (a, k) =>
          needStr(bind("isabs", a, k, ["s"], 1, false)[0], "isabs() argument").startsWith("/"),
      ),
    ],
    ["sep", "/"],
  ]),
);

function commandArgs(args: PyValue | undefined, shell: boolean, it: Interp): string[] {
  if (typeof args === "string") return shell ? ["/bin/sh", "-c", args] : [args];
  if (Array.isArray(args) || args instanceof PyTuple) {
    const items = it.toArray(args).map((x) => {
      if (typeof x === "string") return x;
      if (x instanceof PyBytes) return decodeUtf8(x.data, "strict");
      throw pyErr(
        "TypeError",
        `expected str, bytes or os.PathLike object, not ${pyTypeName(x)}`,
      );
    });
    if (items.length === 0) throw pyErr("IndexError", "list index out of range");
    return shell ? ["/bin/sh", "-c", ...items] : items;
  }
  throw pyErr(
    "TypeError",
    `expected str, bytes or os.PathLike object, not ${pyTypeName(args ?? null)}`,
  );
}

function runChecked(it: Interp, request: CommandRequest): CommandResult {
  const result = it.runCommand(request);
  if (result.notFound) {
    throw pyErr(
      "FileNotFoundError",
      `[Errno 2] No such file or directory: ${strRepr(request.argv[0] as string)}`,
    );
  }
  if (result.permissionDenied) {
    throw pyErr(
      "PermissionError",
      `[Errno 13] Permission denied: ${strRepr(request.argv[0] as string)}`,
    );
  }
  return result;
}

function outputValue(data: Uint8Array, text: boolean): PyValue {
  if (!text) return new PyBytes(data);
  return decodeUtf8(data, "strict").replaceAll("\r\n", "\n").replaceAll("\r", "\n");
}

const PIPE = -1n;
const STDOUT = -2n;
const DEVNULL = -3n;

function refuseOptions(name: string, kwargs: Kwargs, allowed: readonly string[]): void {
  for (const [k, v] of kwargs) {
    if (allowed.includes(k)) continue;
    if (v === null && ["cwd", "env", "timeout", "stdin", "bufsize", "executable"].includes(k)) {
      continue;
    }
    throw unsupported(`subprocess.${name}() argument "${k}" is not supported`);
  }
}

function stderrMode(v: PyValue | undefined): boolean | "stdout" {
  if (v === undefined || v === null) return false;
  if (v === STDOUT) return "stdout";
  if (v === PIPE || v === DEVNULL) return true;
  throw unsupported("subprocess stderr= must be None, PIPE, STDOUT or DEVNULL");
}

/** `subprocess.CompletedProcess`. */
class PyCompleted extends PyObject {
  readonly typeName = "CompletedProcess";
  constructor(readonly attrs: ReadonlyMap<string, PyValue>) {
    super();
  }
  override getAttr(name: string): PyValue | undefined {
    return this.attrs.get(name);
  }
  override repr(it: Interp): string {
    return `CompletedProcess(args=${pyRepr(this.attrs.get("args") ?? null, it)}, returncode=${
      pyRepr(this.attrs.get("returncode") ?? null, it)
    })`;
  }
}

function calledProcessError(
  args: PyValue,
  status: number,
  signal: string | undefined,
): PythonError {
  // CalledProcessError formats the command with %s: a list shows as a list, a string bare.
  const cmd = pyStr(args);
  return pyErr(
    "subprocess.CalledProcessError",
    signal !== undefined
      ? `Command '${cmd}' died with signal ${signal}.`
      : `Command '${cmd}' returned non-zero exit status ${status}.`,
  );
}

const SUBPROCESS_MODULE = new PyModule(
  "subprocess",
  new Map<string, PyValue>([
    [
      "check_output",
      builtin("check_output", (a, k, it) => {
        const [args] = bind("check_output", a, NO_KWARGS, ["args"], 1);
        refuseOptions("check_output", k, [
          "shell",
          "stderr",
          "text",
          "universal_newlines",
          "encoding",
          "errors",
          "input",
        ]);
        const text = pyTruthy(k.get("text") ?? null) ||
          pyTruthy(k.get("universal_newlines") ?? null) ||
          (k.get("encoding") ?? null) !== null;
        const input = k.get("input");
        const result = runChecked(it, {
          argv: commandArgs(args, pyTruthy(k.get("shell") ?? false), it),
          captureStdout: true,
          captureStderr: stderrMode(k.get("stderr")),
          input: input === undefined || input === null
            ? undefined
            : typeof input === "string"
            ? encodeStr(input, "utf-8", "strict").data
            : input instanceof PyBytes
            ? input.data
            : undefined,
        });
        if (result.status !== 0 || result.signal !== undefined) {
          throw calledProcessError(args as PyValue, result.status, result.signal);
        }
        return outputValue(result.stdout, text);
      }),
    ],
    [
      "run",
      builtin("run", (a, k, it) => {
        const [args] = bind("run", a, NO_KWARGS, ["args"], 1);
        refuseOptions("run", k, [
          "shell",
          "stdout",
          "stderr",
          "capture_output",
          "text",
          "universal_newlines",
          "encoding",
          "check",
          "input",
        ]);
        const capture = pyTruthy(k.get("capture_output") ?? false);
        const text = pyTruthy(k.get("text") ?? null) ||
          pyTruthy(k.get("universal_newlines") ?? null) ||
          (k.get("encoding") ?? null) !== null;
        const stdout = k.get("stdout");
        const captureStdout = capture || stdout === PIPE || stdout === DEVNULL;
        const captureStderr = capture ? true : stderrMode(k.get("stderr"));
        const input = k.get("input");
        const result = runChecked(it, {
          argv: commandArgs(args, pyTruthy(k.get("shell") ?? false), it),
          captureStdout,
          captureStderr,
          input: typeof input === "string"
            ? encodeStr(input, "utf-8", "strict").data
            : input instanceof PyBytes
            ? input.data
            : undefined,
        });
        if (pyTruthy(k.get("check") ?? false) && result.status !== 0) {
          throw calledProcessError(args as PyValue, result.status, result.signal);
        }
        return new PyCompleted(
          new Map<string, PyValue>([
            ["args", args as PyValue],
            ["returncode", BigInt(result.status)],
            [
              "stdout",
              captureStdout && stdout !== DEVNULL ? outputValue(result.stdout, text) : null,
            ],
            [
              "stderr",
              captureStderr === true && k.get("stderr") !== DEVNULL
                ? outputValue(result.stderr, text)
                : null,
            ],
          ]),
        );
      }),
    ],
    [
      "call",
      builtin("call", (a, k, it) => {
        const [args] = bind("call", a, NO_KWARGS, ["args"], 1);
        refuseOptions("call", k, ["shell", "stderr", "stdout"]);
        const stdout = k.get("stdout");
        const result = runChecked(it, {
          argv: commandArgs(args, pyTruthy(k.get("shell") ?? false), it),
          captureStdout: stdout === PIPE || stdout === DEVNULL,
          captureStderr: stderrMode(k.get("stderr")),
        });
        return BigInt(result.status);
      }),
    ],
    [
      "check_call",
      builtin("check_call", (a, k, it) => {
        const [args] = bind("check_call", a, NO_KWARGS, ["args"], 1);
        refuseOptions("check_call", k, ["shell", "stderr", "stdout"]);
        const stdout = k.get("stdout");
        const result = runChecked(it, {
          argv: commandArgs(args, pyTruthy(k.get("shell") ?? false), it),
          captureStdout: stdout === PIPE || stdout === DEVNULL,
          captureStderr: stderrMode(k.get("stderr")),
        });
        if (result.status !== 0) {
          throw calledProcessError(args as PyValue, result.status, result.signal);
        }
        return 0n;
      }),
    ],
    [
      "getoutput",
      builtin("getoutput", (a, k, it) => {
        const cmd = needStr(bind("getoutput", a, k, ["cmd"], 1)[0], "getoutput() argument");
        const result = runChecked(it, {
          argv: ["/bin/sh", "-c", cmd],
          captureStdout: true,
          captureStderr: "stdout",
        });
        return (outputValue(result.stdout, true) as string).replace(/\n$/, "");
      }),
    ],
    [
      "getstatusoutput",
      builtin("getstatusoutput", (a, k, it) => {
        const cmd = needStr(
          bind("getstatusoutput", a, k, ["cmd"], 1)[0],
          "getstatusoutput() argument",
        );
        const result = runChecked(it, {
          argv: ["/bin/sh", "-c", cmd],
          captureStdout: true,
          captureStderr: "stdout",
        });
        return new PyTuple([
          BigInt(result.status),
          (outputValue(result.stdout, true) as string).replace(/\n$/, ""),
        ]);
      }),
    ],
    ["PIPE", PIPE],
    ["STDOUT", STDOUT],
    ["DEVNULL", DEVNULL],
    [
      "CalledProcessError",
      typeBuiltin("CalledProcessError", () => {
        throw unsupported("creating CalledProcessError objects is not supported");
      }),
    ],
  ]),
);

/** A file-like object: `os.popen(...)` or `open(...)`, fully read at creation. */
class PyFile extends PyObject {
  readonly typeName: string;
  #position = 0;
  constructor(typeName: string, readonly content: string | Uint8Array, readonly status?: number) {
    super();
    this.typeName = typeName;
  }
  #rest(): string | Uint8Array {
    const rest = this.content.slice(this.#position);
    this.#position = this.content.length;
    return rest;
  }
  #line(): string | Uint8Array {
    const c = this.content;
    let end = typeof c === "string"
      ? c.indexOf("\n", this.#position)
      : c.indexOf(10, this.#position);
    end = end < 0 ? c.length : end + 1;
    const line = c.slice(this.#position, end);
    this.#position = end;
    return line;
  }
  #wrap(v: string | Uint8Array): PyValue {
    return typeof v === "string" ? v : new PyBytes(v);
  }
  override iterItems(): PyValue[] {
    const out: PyValue[] = [];
    while (this.#position < this.content.length) out.push(this.#wrap(this.#line()));
    return out;
  }
  override getAttr(name: string): PyValue | undefined {
    switch (name) {
      case "read":
        return new PyBuiltin("read", (a, k) => {
          const [size] = bind("read", a, k, ["size"], 0, false);
          const n = size === undefined || size === null ? -1 : needInt(size, "read");
          if (n < 0) return this.#wrap(this.#rest());
          const chunk = this.content.slice(this.#position, this.#position + n);
          this.#position += chunk.length;
          return this.#wrap(chunk);
        }, { method: true });
      case "readline":
        return new PyBuiltin("readline", () => this.#wrap(this.#line()), { method: true });
      case "readlines":
        return new PyBuiltin("readlines", () => this.iterItems(), { method: true });
      case "close":
        return new PyBuiltin(
          "close",
          () => this.status === undefined || this.status === 0 ? null : BigInt(this.status * 256),
          {
            method: true,
          },
        );
    }
    return undefined;
  }
}

function openFile(a: PyValue[], k: Kwargs, it: Interp): PyValue {
  const [file, mode, , encoding, errors] = bind("open", a, k, [
    "file",
    "mode",
    "buffering",
    "encoding",
    "errors",
  ], 1);
  const path = needStr(file, "open() argument 'file'");
  const m = mode === undefined ? "r" : needStr(mode, "open() argument 'mode'");
  if (!/^(?:r|rt|tr|rb|br)$/.test(m)) {
    throw unsupported(`open() with mode ${strRepr(m)}: only reading is supported`);
  }
  const hook = it.ctx.hooks.readFile;
  if (hook === undefined) throw unsupported("reading files is not possible here");
  const result = hook(path);
  if ("error" in result) {
    const [type, errno, text] = result.error === "ENOENT"
      ? ["FileNotFoundError", 2, "No such file or directory"]
      : result.error === "EACCES"
      ? ["PermissionError", 13, "Permission denied"]
      : result.error === "EISDIR"
      ? ["IsADirectoryError", 21, "Is a directory"]
      : ["OSError", 5, result.error];
    throw pyErr(type as string, `[Errno ${errno}] ${text}: ${strRepr(path)}`);
  }
  if (m.includes("b")) return new PyFile("_io.BufferedReader", result.data);
  const text = decodeBytes(
    result.data,
    optStr(encoding, "open() argument 'encoding'") ?? "utf-8",
    optStr(errors, "open() argument 'errors'") ?? "strict",
  ).replaceAll("\r\n", "\n").replaceAll("\r", "\n");
  return new PyFile("_io.TextIOWrapper", text);
}

const OPEN_BUILTIN = builtin("open", openFile);

function osModule(withSystem: boolean): PyModule {
  const attrs = new Map<string, PyValue>([
    ["environ", new PyEnviron()],
    ["path", OS_PATH_MODULE],
    [
      "getenv",
      builtin("getenv", (a, k, it) => {
        const [key, dflt] = bind("getenv", a, k, ["key", "default"], 1);
        const name = needStr(key, "str expected, not");
        return hookEnv(it, name) ?? dflt ?? null;
      }),
    ],
    [
      "popen",
      builtin("popen", (a, k, it) => {
        const [cmd, mode] = bind("popen", a, k, ["cmd", "mode", "buffering"], 1);
        const m = mode === undefined ? "r" : needStr(mode, "popen() argument 'mode'");
        if (m !== "r") {
          throw unsupported(`os.popen() with mode ${strRepr(m)}: only "r" is supported`);
        }
        if (typeof cmd !== "string") {
          throw pyErr(
            "TypeError",
            `popen() argument 1 must be str, not ${pyTypeName(cmd ?? null)}`,
          );
        }
        const result = runChecked(it, {
          argv: ["/bin/sh", "-c", cmd],
          captureStdout: true,
          captureStderr: false,
        });
        return new PyFile(
          "os._wrap_close",
          outputValue(result.stdout, true) as string,
          result.status,
        );
      }),
    ],
    ["sep", "/"],
    ["linesep", "\n"],
    ["pathsep", ":"],
    ["curdir", "."],
    ["pardir", ".."],
    ["name", "posix"],
  ]);
  if (!withSystem) {
    attrs.set(
      "system",
      builtin("system", () => {
        throw unsupported(
          "os.system() is only available in newmail_hook",
          "Use subprocess.check_output([...]) to get a command's output",
        );
      }),
    );
  } else {
    attrs.set(
      "system",
      builtin("system", (a, k, it) => {
        const cmd = needStr(bind("system", a, k, ["command"], 1)[0], "system() argument");
        const result = runChecked(it, {
          argv: ["/bin/sh", "-c", cmd],
          captureStdout: false,
          captureStderr: false,
        });
        return BigInt(result.status * 256);
      }),
    );
  }
  return new PyModule("os", attrs);
}

const OS_MODULE = osModule(false);
const OS_HOOK_MODULE = osModule(true);

// =============================================================================================
// Public API

const NAMESPACE_BY_OPTION: Readonly<Record<string, ExpressionNamespace>> = {
  nametrans: "filter",
  folderfilter: "filter",
  folderincludes: "filter",
  foldersort: "filter",
  "sort_keyfunc": "filter",
  idlefolders: "plain",
  "copy_ignore_eval": "plain",
  header: "plain",
  sep: "plain",
  footer: "plain",
  remotehosteval: "eval",
  remoteusereval: "eval",
  remotepasseval: "eval",
  remoteporteval: "eval",
  "oauth2_client_id_eval": "eval",
  "oauth2_client_secret_eval": "eval",
  "oauth2_access_token_eval": "eval",
  "oauth2_refresh_token_eval": "eval",
  "newmail_hook": "hook",
};

/**
 * The names an option sees besides builtins and the `pythonfile` (python-expressions.md §1.2):
 * `re` for nametrans/folderfilter/folderincludes/foldersort and the two mbnames callables;
 * `os`/`subprocess`/`open` (a superset of OfflineIMAP, with a warning) for the `*eval` options;
 * plus `os.system` for newmail_hook; nothing extra for the others.
 */
export function namespaceOf(option: string): ExpressionNamespace {
  return NAMESPACE_BY_OPTION[option.toLowerCase()] ?? "plain";
}

/** Line and column (1-based, code points) of a UTF-16 offset, as shown in messages. */
function positionText(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  const column = cpLength(before.slice(before.lastIndexOf("\n") + 1)) + 1;
  return source.includes("\n") ? `line ${line}, column ${column}` : `column ${column}`;
}

function describe(error: PythonError, source: string): string {
  const where = error.offset === undefined ? "" : `${positionText(source, error.offset)}: `;
  const body = error.type === "SyntaxError" || error.unsupported
    ? error.message
    : error.message === ""
    ? error.type
    : `${error.type}: ${error.message}`;
  return where + body;
}

interface Prepared {
  readonly source: string;
  readonly tree: Expr;
  readonly ctx: EvalContext;
}

function globalScope(): Scope {
  return { vars: new Map() };
}

function userError(
  error: unknown,
  prepared: { source: string; ctx: EvalContext },
  kind: "config" | "account",
  input = "",
): unknown {
  let pyError: PythonError;
  if (error instanceof PythonError) pyError = error;
  else if (error instanceof RangeError && /call stack/i.test(error.message)) {
    pyError = pyErr("RecursionError", "maximum recursion depth exceeded");
  } else return error;
  const { site } = prepared.ctx;
  const message = `Cannot evaluate option "${site.option}" in section "${site.section}"${input}: ${
    describe(pyError, prepared.source)
  }`;
  const hint = pyError.hint ?? (site.where === undefined ? undefined : `See ${site.where}`);
  return kind === "config"
    ? new ConfigError(message, { hint, cause: pyError })
    : new AccountError(message, { hint, cause: pyError });
}

function contextOf(source: string, site: ExpressionSite, hooks: ExpressionHooks): EvalContext {
  return {
    source,
    site,
    namespace: site.namespace ?? namespaceOf(site.option),
    hooks,
    warned: new Set(),
  };
}

/** For calls of already evaluated values: errors are placed in the lambda's own text. */
function prepareCall(func: PyValue, site: ExpressionSite, hooks: ExpressionHooks): Prepared {
  const source = func instanceof PyFunction ? func.source : "";
  return { source, tree: { k: "const", pos: 0, value: null }, ctx: contextOf(source, site, hooks) };
}

function prepare(source: string, site: ExpressionSite, hooks: ExpressionHooks): Prepared {
  const ctx = contextOf(source, site, hooks);
  try {
    return { source, tree: parse(source), ctx };
  } catch (error) {
    throw userError(error, { source, ctx }, "config");
  }
}

function runSync<T>(
  prepared: Prepared,
  kind: "config" | "account",
  body: (it: Interp) => T,
  input?: string,
): T {
  try {
    return body(new Interp(prepared.ctx, "sync"));
  } catch (error) {
    throw userError(error, prepared, kind, input);
  }
}

async function runAsync<T>(
  prepared: Prepared,
  kind: "config" | "account",
  body: (it: Interp) => T,
  input?: string,
): Promise<T> {
  const log: LogEntry[] = [];
  for (;;) {
    try {
      return body(new Interp(prepared.ctx, "async", log));
    } catch (error) {
      if (!(error instanceof Suspend)) throw userError(error, prepared, kind, input);
      try {
        log.push({ key: error.key, value: await error.run() });
      } catch (failure) {
        log.push({ key: error.key, error: failure });
      }
    }
  }
}

/**
 * Converts a JavaScript value to a Python value: strings, booleans, null, bigint (int), numbers
 * (int when integral, else float), arrays (list) and plain objects (dict with str keys).
 */
export function toPyValue(value: unknown): PyValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean" || typeof value === "bigint") {
    return value;
  }
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toPyValue);
  if (value instanceof PyObject) return value;
  if (typeof value === "object") {
    return PyDict.from(Object.entries(value).map(([k, v]) => [k, toPyValue(v)]));
  }
  throw new TypeError(`Cannot convert a ${typeof value} to a Python value`);
}

/**
 * Parses and evaluates `source` now, synchronously, as OfflineIMAP's `eval` does when it reads
 * the option. Effects (pythonfile calls) run synchronously; commands need
 * {@link ExpressionHooks.runCommandSync}.
 *
 * @throws {ConfigError} with the option, section, column and construct; `cause` is the
 *   {@link PythonError}
 */
export function compileExpression(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): PyValue {
  const prepared = prepare(source, site, hooks);
  return runSync(prepared, "config", (it) => it.eval(prepared.tree, globalScope()));
}

/**
 * Like {@link compileExpression} but evaluates in async mode: commands and pythonfile calls are
 * awaited without blocking. Syntax errors are {@link ConfigError}, evaluation errors
 * {@link AccountError}.
 */
export function evaluateExpression(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): Promise<PyValue> {
  const prepared = prepare(source, site, hooks);
  return runAsync(prepared, "account", (it) => it.eval(prepared.tree, globalScope()));
}

/**
 * Calls a Python callable (a value from {@link compileExpression}) with JavaScript arguments
 * (see {@link toPyValue}), synchronously.
 *
 * @throws {AccountError} when the call raises; `cause` is the {@link PythonError}
 */
export function callPython(
  func: PyValue,
  args: readonly unknown[],
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): PyValue {
  const prepared = prepareCall(func, site, hooks);
  return runSync(prepared, "account", (it) => it.call(func, args.map(toPyValue)), inputText(args));
}

/** Async-mode twin of {@link callPython} (commands and pythonfile calls are awaited). */
export function callPythonAsync(
  func: PyValue,
  args: readonly unknown[],
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): Promise<PyValue> {
  const prepared = prepareCall(func, site, hooks);
  return runAsync(prepared, "account", (it) => it.call(func, args.map(toPyValue)), inputText(args));
}

function inputText(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  const shown = args.map((a) => typeof a === "string" ? JSON.stringify(a) : pyRepr(toPyValue(a)));
  return args.length === 1 ? ` for ${shown[0]}` : ` for (${shown.join(", ")})`;
}

function expectCallable(value: PyValue, prepared: Prepared, what: string): void {
  const ok = value instanceof PyFunction || value instanceof PyBuiltin ||
    (value instanceof PyRemote && value.callable);
  if (!ok) {
    const { site } = prepared.ctx;
    throw new ConfigError(
      `Cannot use option "${site.option}" in section "${site.section}": it must be ${what}, ` +
        `not a ${pyTypeName(value)} (${truncate(pyRepr(value))})`,
      { hint: site.where === undefined ? undefined : `See ${site.where}` },
    );
  }
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function resultError(
  prepared: Prepared,
  input: string,
  what: string,
  value: PyValue,
): AccountError {
  const { site } = prepared.ctx;
  return new AccountError(
    `Cannot use option "${site.option}" in section "${site.section}"${input}: it must give ${what}, ` +
      `not a ${pyTypeName(value)} (${truncate(pyRepr(value))})`,
    { hint: site.where === undefined ? undefined : `See ${site.where}` },
  );
}

function compileCallable(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks,
  what: string,
): { prepared: Prepared; func: PyValue } {
  const prepared = prepare(source, site, hooks);
  const func = runSync(prepared, "config", (it) => it.eval(prepared.tree, globalScope()));
  expectCallable(func, prepared, what);
  return { prepared, func };
}

/**
 * `nametrans` (Repository): evaluates the option now and returns the translation function.
 * Each call runs synchronously (a pythonfile function goes through the blocking bridge).
 *
 * @throws {ConfigError} when the value does not parse, fails, or is not callable
 * @returns a function that throws {@link AccountError} when the expression fails for a name or
 *   does not return a str
 */
export function compileNametrans(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (name: string) => string {
  const { prepared, func } = compileCallable(source, site, hooks, "a function of a folder name");
  return (name) => {
    const input = ` for folder ${JSON.stringify(name)}`;
    const out = runSync(prepared, "account", (it) => it.call(func, [name]), input);
    if (typeof out !== "string") throw resultError(prepared, input, "a str", out);
    return out;
  };
}

/**
 * `folderfilter` (Repository): returns a predicate over untranslated folder names (Python
 * truthiness of the result).
 *
 * @throws {ConfigError} when the value does not parse, fails, or is not callable
 */
export function compileFolderFilter(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (name: string) => boolean {
  const { prepared, func } = compileCallable(source, site, hooks, "a function of a folder name");
  return (name) =>
    pyTruthy(
      runSync(prepared, "account", (it) =>
        it.call(func, [name]), ` for folder ${JSON.stringify(name)}`),
    );
}

/**
 * `foldersort`: a two-argument comparison function (OfflineIMAP's protocol) becomes a JavaScript
 * comparator over translated names. A one-argument function is accepted as a sort key (a
 * superset of OfflineIMAP, which rejects it), with a warning.
 */
export function compileFolderSort(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (a: string, b: string) => number {
  const { prepared, func } = compileCallable(
    source,
    site,
    hooks,
    "a comparison function of two folder names",
  );
  let arity: number | undefined;
  if (func instanceof PyFunction) {
    if (!func.params.some((p) => p.kind === "var")) {
      arity = func.params.filter((p) => p.kind === "pos" && !func.defaults.has(p.name)).length;
    }
  } else if (func instanceof PyBuiltin) arity = func.params;
  if (arity === 1) {
    hooks.warn?.(
      `Option "foldersort" in section "${site.section}": a one-argument key function is used ` +
        "as a sort key; OfflineIMAP only accepts a comparison function lambda a, b: ...",
    );
    return (a, b) => {
      const input = ` for (${JSON.stringify(a)}, ${JSON.stringify(b)})`;
      return runSync(prepared, "account", (it) => {
        const c = pyCompare(it.call(func, [a]), it.call(func, [b]));
        return Number.isNaN(c) ? 0 : Math.sign(c);
      }, input);
    };
  }
  return (a, b) => {
    const input = ` for (${JSON.stringify(a)}, ${JSON.stringify(b)})`;
    const out = runSync(prepared, "account", (it) => it.call(func, [a, b]), input);
    if (typeof out === "bigint" || typeof out === "boolean") {
      return Number(toBig(out) > 0n) - Number(toBig(out) < 0n);
    }
    if (typeof out === "number") return Number.isNaN(out) ? 0 : Math.sign(out);
    throw resultError(prepared, input, "a number (negative, zero or positive)", out);
  };
}

function stringList(value: PyValue, prepared: Prepared): string[] {
  let items: readonly PyValue[] | undefined;
  if (Array.isArray(value)) items = value;
  else if (value instanceof PyTuple) items = value.items;
  else if (value instanceof PySet) items = [...value.map.values()];
  if (items === undefined || items.some((x) => typeof x !== "string")) {
    const { site } = prepared.ctx;
    throw new ConfigError(
      `Cannot use option "${site.option}" in section "${site.section}": it must be a list of ` +
        `folder names such as ['INBOX', 'Sent'], not ${truncate(pyRepr(value))}`,
      { hint: site.where === undefined ? undefined : `See ${site.where}` },
    );
  }
  return items as string[];
}

/**
 * `folderincludes` and `idlefolders`: evaluates now; the value must be a list (or tuple, or set)
 * of str.
 *
 * @throws {ConfigError} otherwise
 */
export function evaluateStringList(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): string[] {
  const prepared = prepare(source, site, hooks);
  const value = runSync(prepared, "config", (it) => it.eval(prepared.tree, globalScope()));
  return stringList(value, prepared);
}

/**
 * `copy_ignore_eval`: returns UIDs never copied out of a folder (translated name); `None` gives
 * an empty list.
 */
export function compileCopyIgnore(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (folder: string) => readonly number[] {
  const { prepared, func } = compileCallable(source, site, hooks, "a function of a folder name");
  return (folder) => {
    const input = ` for folder ${JSON.stringify(folder)}`;
    const out = runSync(prepared, "account", (it) => it.call(func, [folder]), input);
    if (out === null) return [];
    let items: readonly PyValue[] | undefined;
    if (Array.isArray(out)) items = out;
    else if (out instanceof PyTuple) items = out.items;
    else if (out instanceof PySet) items = [...out.map.values()];
    if (items === undefined || items.some((x) => typeof x !== "bigint" || x <= 0n)) {
      throw resultError(prepared, input, "a list of UIDs (positive ints) or None", out);
    }
    return items.map((x) => Number(x));
  };
}

/**
 * `[mbnames] header`, `sep`, `footer`: evaluates now; the value must be a str.
 *
 * @throws {ConfigError} otherwise
 */
export function evaluateString(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): string {
  const prepared = prepare(source, site, hooks);
  const value = runSync(prepared, "config", (it) => it.eval(prepared.tree, globalScope()));
  if (typeof value !== "string") {
    throw new ConfigError(
      `Cannot use option "${site.option}" in section "${site.section}": it must be a str ` +
        `such as "mailboxes ", not ${truncate(pyRepr(value))}`,
      { hint: 'Python strings need quotes: header = "mailboxes "' },
    );
  }
  return value;
}

/** `[mbnames] folderfilter`: a predicate of (account name, local folder name). */
export function compileMbnamesFilter(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (account: string, folder: string) => boolean {
  const { prepared, func } = compileCallable(
    source,
    site,
    hooks,
    "a function of an account name and a folder name",
  );
  return (account, folder) =>
    pyTruthy(
      runSync(
        prepared,
        "account",
        (it) => it.call(func, [account, folder]),
        ` for (${JSON.stringify(account)}, ${JSON.stringify(folder)})`,
      ),
    );
}

/** One `[mbnames]` item, as OfflineIMAP passes it to `sort_keyfunc` and `peritem`. */
export interface MbnamesItem {
  readonly accountname: string;
  readonly foldername: string;
  readonly localfolders: string;
}

/**
 * `[mbnames] sort_keyfunc`: returns a comparison of two items that orders them as Python's
 * `list.sort(key=...)` does (keys compared with Python ordering: tuples element by element,
 * str by code point). Use it with a stable sort (`Array.prototype.sort` is). Keys are computed
 * once per item object.
 *
 * @returns a comparator that throws {@link AccountError} when the key function fails or keys
 *   cannot be compared
 */
export function compileMbnamesSortKey(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): (a: MbnamesItem, b: MbnamesItem) => number {
  const { prepared, func } = compileCallable(source, site, hooks, "a function of one item dict");
  const keys = new WeakMap<MbnamesItem, PyValue>();
  const keyOf = (it: Interp, item: MbnamesItem): PyValue => {
    let key = keys.get(item);
    if (key === undefined) {
      key = it.call(func, [
        toPyValue({
          accountname: item.accountname,
          foldername: item.foldername,
          localfolders: item.localfolders,
        }),
      ]);
      keys.set(item, key);
    }
    return key;
  };
  return (a, b) =>
    runSync(prepared, "account", (it) => {
      const ka = keyOf(it, a);
      const kb = keyOf(it, b);
      return pyLess(ka, kb) ? -1 : pyLess(kb, ka) ? 1 : 0;
    }, ` for ${JSON.stringify(a.foldername)} and ${JSON.stringify(b.foldername)}`);
}

/**
 * `newmail_hook`: evaluates now (must be callable); each call of the result runs it in async
 * mode (`os.system` and pythonfile calls are awaited); the return value is ignored.
 */
export function compileNewmailHook(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): () => Promise<void> {
  const { prepared, func } = compileCallable(source, site, hooks, "a function without arguments");
  return async () => {
    await runAsync(prepared, "account", (it) => it.call(func, []));
  };
}

function decodeResult(value: PyValue, prepared: Prepared): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof PyBytes) {
    return runSync(prepared, "account", () => decodeUtf8(value.data, "strict"));
  }
  return undefined;
}

/**
 * `remotehosteval`, `remoteusereval`, `remotepasseval`: parses now (syntax errors are
 * {@link ConfigError}); each call evaluates in async mode. `bytes` are decoded as UTF-8
 * (OfflineIMAP 8); any other type is an {@link AccountError}.
 */
export function compileStringEval(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): () => Promise<string> {
  const prepared = prepare(source, site, hooks);
  return async () => {
    const value = await runAsync(
      prepared,
      "account",
      (it) => it.eval(prepared.tree, globalScope()),
    );
    const text = decodeResult(value, prepared);
    if (text === undefined) throw resultError(prepared, "", "a str (or bytes)", value);
    return text;
  };
}

/** `remoteporteval`: like {@link compileStringEval}, but the value must be an int port. */
export function compileIntEval(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): () => Promise<number> {
  const prepared = prepare(source, site, hooks);
  return async () => {
    const value = await runAsync(
      prepared,
      "account",
      (it) => it.eval(prepared.tree, globalScope()),
    );
    if (typeof value !== "bigint" || value < 1n || value > 65535n) {
      throw resultError(prepared, "", "an int port number (1-65535)", value);
    }
    return Number(value);
  };
}

/**
 * `oauth2_*_eval`: like {@link compileStringEval}; `None` gives undefined and newlines around the
 * value are stripped (OfflineIMAP's `.strip("\n")`).
 */
export function compileEvalOAuth2(
  source: string,
  site: ExpressionSite,
  hooks: ExpressionHooks = {},
): () => Promise<string | undefined> {
  const prepared = prepare(source, site, hooks);
  return async () => {
    const value = await runAsync(
      prepared,
      "account",
      (it) => it.eval(prepared.tree, globalScope()),
    );
    if (value === null) return undefined;
    const text = decodeResult(value, prepared);
    if (text === undefined) throw resultError(prepared, "", "a str, bytes or None", value);
    return text.replace(/^\n+|\n+$/g, "");
  };
}
