/**
 * Reader for `~/.offlineimaprc` with the semantics of Python 3's `configparser.ConfigParser`
 * (basic `%` interpolation), which is what OfflineIMAP 8.x uses. See config-options.md §2.
 *
 * Parsing is eager and strict (duplicate sections or keys, a key before any section and a line
 * with no delimiter reject the whole file); `%` interpolation is lazy, so a bad `%` only fails
 * when that option is read, as in Python.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** One stored option: the raw (uninterpolated) value and the line it came from. */
export interface IniEntry {
  /** Raw value, continuation lines joined with "\n". */
  readonly value: string;
  /** 1-based line of the key, or undefined when the value was set by {@link IniFile.set}. */
  readonly line?: number;
}

/** Parsed content handed to the {@link IniFile} constructor. */
export interface IniData {
  /** `[DEFAULT]` keys. */
  readonly defaults: Map<string, IniEntry>;
  /** Every other section, in file order, keys in file order. */
  readonly sections: Map<string, Map<string, IniEntry>>;
  /** Line of each section header (first one for DEFAULT). */
  readonly sectionLines?: Map<string, number>;
}

/** Options of {@link IniFile.get}. */
export interface GetOptions {
  /** Return the value without `%` interpolation (Python's `raw=True`). */
  raw?: boolean;
}

/** Python's name of the section whose keys every other section inherits. */
export const DEFAULT_SECTION = "DEFAULT";

const MAX_INTERPOLATION_DEPTH = 10;
/** Python's `str.isspace()` characters (JS `\s` differs: it has U+FEFF and lacks U+001C–U+001F). */
const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029" +
  "\\u202f\\u205f\\u3000";
const STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
const RSTRIP_RE = new RegExp(`[${PY_SPACE}]+$`);
const NON_SPACE_RE = new RegExp(`[^${PY_SPACE}]`);
/** configparser's SECTCRE: greedy, so the name runs to the last `]`; trailing text is ignored. */
const SECTION_RE = /^\[(.+)\]/s;
/** configparser's OPTCRE: the first `=` or `:` is the delimiter. */
const OPTION_RE = new RegExp(`^(.*?)[${PY_SPACE}]*([=:])[${PY_SPACE}]*(.*)$`, "s");
const KEY_RE = /%\(([^)]+)\)s/y;
const KEY_GLOBAL_RE = /%\(([^)]+)\)s/g;
const BOOLEANS: Readonly<Record<string, boolean | undefined>> = {
  "1": true,
  yes: true,
  true: true,
  on: true,
  "0": false,
  no: false,
  false: false,
  off: false,
};
const DIGITS = "\\d(?:_?\\d)*";
const INT_RE = new RegExp(`^[+-]?${DIGITS}$`);
const FLOAT_RE = new RegExp(
  `^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?` +
    `|inf|infinity|nan)$`,
  "i",
);

/**
 * Python's `ConfigParser` boolean: `1 yes true on` / `0 no false off`, any case, not stripped
 * (as in Python); undefined for anything else.
 */
export function parsePyBoolean(value: string): boolean | undefined {
  return BOOLEANS[value.toLowerCase()];
}

/** Python's `int(value)` in base 10 (spaces, sign, `1_000`); undefined when Python would raise. */
export function parsePyInt(value: string): number | undefined {
  const text = pyStrip(value);
  return INT_RE.test(text) ? Number(text.replaceAll("_", "")) : undefined;
}

/** Python's `float(value)` (`0.5`, `1e1`, `inf`, `nan`); undefined when Python would raise. */
export function parsePyFloat(value: string): number | undefined {
  const text = pyStrip(value);
  if (!FLOAT_RE.test(text)) return undefined;
  const lower = text.toLowerCase().replaceAll("_", "");
  if (lower.endsWith("nan")) return NaN;
  if (lower.endsWith("inf") || lower.endsWith("infinity")) {
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  return Number(lower);
}

/** Python's `str.strip()`. */
export function pyStrip(text: string): string {
  return text.replace(STRIP_RE, "");
}

/**
 * Parses the text of a configuration file.
 *
 * `path` is only used in error messages. Throws {@link ConfigError} (exit code 1) with message
 * `Cannot read config "<path>" line <n>: <problem>` for a key before any section, a duplicate
 * section or key (raised at once, as Python does), or lines that are neither a header nor a
 * `key = value` line (collected, the first one named, the others listed).
 */
export function parseIni(text: string, path: string): IniFile {
  const defaults = new Map<string, IniEntry>();
  const sections = new Map<string, Map<string, IniEntry>>();
  const sectionLines = new Map<string, number>();
  // Values are collected as lists of lines and joined at the end, as configparser does.
  const pending: { target: Map<string, IniEntry>; key: string; lines: string[]; line: number }[] =
    [];
  const seen = new Map<string, number>();
  const badLines: { line: number; problem: string }[] = [];
  const fail = (line: number, problem: string, hint?: string): never => {
    throw new ConfigError(`Cannot read config "${path}" line ${line}: ${problem}`, { hint });
  };

  let current: Map<string, IniEntry> | undefined;
  let sectionName = "";
  let option: (typeof pending)[number] | undefined;
  let indentLevel = 0;
  const lines = text.split(/\r\n|\r|\n/);
  // A final newline does not start another line (Python iterates lines, not separators).
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();

  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1;
    const stripped = pyStrip(line);
    const isComment = stripped.startsWith("#") || stripped.startsWith(";");
    if (stripped === "" || isComment) {
      // A blank line inside a value is kept; a comment line is skipped without ending it.
      if (!isComment && option !== undefined) option.lines.push("");
      continue;
    }
    const indent = line.search(NON_SPACE_RE);
    if (current !== undefined && option !== undefined && indent > indentLevel) {
      option.lines.push(stripped);
      continue;
    }
    indentLevel = indent;
    const header = SECTION_RE.exec(stripped);
    if (header) {
      const name = header[1] as string;
      option = undefined;
      sectionName = name;
      if (name === DEFAULT_SECTION) {
        current = defaults;
        if (!sectionLines.has(name)) sectionLines.set(name, lineNo);
        continue;
      }
      if (sections.has(name)) {
        fail(
          lineNo,
          `section "${name}" is defined twice (first on line ${sectionLines.get(name)})`,
          "Merge the two sections into one",
        );
      }
      current = new Map();
      sections.set(name, current);
      sectionLines.set(name, lineNo);
      continue;
    }
    // Python reports these as a key before any section or as a line without delimiter.
    if (stripped.startsWith("[") && !stripped.includes("]") && !OPTION_RE.test(stripped)) {
      fail(
        lineNo,
        `section header "${shorten(stripped)}" has no closing "]"`,
        `Write the header as ${shorten(stripped)}]`,
      );
    }
    if (current === undefined) {
      fail(
        lineNo,
        `"${shorten(stripped)}" comes before any [section] header`,
        "Put every option under a section header such as [general]",
      );
    }
    const target = current as Map<string, IniEntry>;
    const match = OPTION_RE.exec(stripped);
    if (!match) {
      badLines.push({
        line: lineNo,
        problem: `"${shorten(stripped)}" is neither a [section] header nor a "key = value" line`,
      });
      continue;
    }
    const key = pyRstrip(match[1] as string).toLowerCase();
    if (key === "") {
      badLines.push({ line: lineNo, problem: `"${shorten(stripped)}" has no option name` });
      option = undefined;
      continue;
    }
    const previous = seen.get(`${sectionName}\n${key}`);
    if (previous !== undefined) {
      fail(
        lineNo,
        `option "${key}" is set twice in section "${sectionName}" (first on line ${previous})`,
        "Option names are case insensitive; keep only one of the lines",
      );
    }
    option = { target, key, lines: [pyStrip(match[3] as string)], line: lineNo };
    pending.push(option);
    seen.set(`${sectionName}\n${key}`, lineNo);
    // Keep file order in the map even though the value is only known at the end.
    target.set(key, { value: "", line: lineNo });
  }

  for (const p of pending) {
    p.target.set(p.key, { value: pyRstrip(p.lines.join("\n")), line: p.line });
  }
  const [first, ...others] = badLines;
  if (first) {
    const also = others.length === 0
      ? ""
      : ` (also line${others.length > 1 ? "s" : ""} ${others.map((b) => b.line).join(", ")})`;
    fail(
      first.line,
      first.problem + also,
      'Write options as "key = value"; continuation lines must be indented',
    );
  }
  return new IniFile(path, { defaults, sections, sectionLines });
}

/**
 * A parsed configuration file. Section names are case sensitive, option names are not (they are
 * lower-cased). Keys of `[DEFAULT]` are visible in every section. Interpolation happens in
 * {@link IniFile.get} and the typed getters.
 */
export class IniFile {
  /** Path of the file, for messages. */
  readonly path: string;
  #defaults: Map<string, IniEntry>;
  #sections: Map<string, Map<string, IniEntry>>;
  #sectionLines: Map<string, number>;

  /** Wraps parsed data (see {@link parseIni}); with no data, an empty file. */
  constructor(path: string, data?: IniData) {
    this.path = path;
    this.#defaults = data?.defaults ?? new Map();
    this.#sections = data?.sections ?? new Map();
    this.#sectionLines = data?.sectionLines ?? new Map();
  }

  /** Section names in file order, without `DEFAULT`. */
  sections(): string[] {
    return [...this.#sections.keys()];
  }

  /** True if the section exists; false for `DEFAULT`, as Python's `has_section`. */
  hasSection(section: string): boolean {
    return this.#sections.has(section);
  }

  /** Line of a section's header, or undefined. */
  sectionLine(section: string): number | undefined {
    return this.#sectionLines.get(section);
  }

  /** Adds an empty section (no-op if it exists). `DEFAULT` always exists. */
  addSection(section: string): void {
    if (section !== DEFAULT_SECTION && !this.#sections.has(section)) {
      this.#sections.set(section, new Map());
    }
  }

  /** True if the option is set in the section or in `[DEFAULT]` (Python's `has_option`). */
  has(section: string, key: string): boolean {
    return this.#entry(section, key) !== undefined;
  }

  /**
   * Keys visible in a section: its own in file order, then those of `[DEFAULT]` it does not
   * override (Python's `options()`). For `DEFAULT`, its own keys; for a missing section, none.
   */
  keys(section: string): string[] {
    const own = this.ownKeys(section);
    if (section === DEFAULT_SECTION || !this.#sections.has(section)) return own;
    return [...own, ...[...this.#defaults.keys()].filter((k) => !own.includes(k))];
  }

  /** Keys written in the section itself (not inherited from `[DEFAULT]`). */
  ownKeys(section: string): string[] {
    const map = section === DEFAULT_SECTION ? this.#defaults : this.#sections.get(section);
    return map ? [...map.keys()] : [];
  }

  /** Line of the option (in the section, else in `[DEFAULT]`); undefined if absent or set later. */
  line(section: string, key: string): number | undefined {
    return this.#entry(section, key)?.line;
  }

  /**
   * The option's value, `%`-interpolated unless `raw`; undefined when the section or the option
   * does not exist. Throws {@link ConfigError} `Cannot read option "<key>" in section
   * "<section>": <problem>` for a bad `%`, a missing referenced option or nesting deeper than 10.
   */
  get(section: string, key: string, opts: GetOptions = {}): string | undefined {
    const name = key.toLowerCase();
    const entry = this.#entry(section, name);
    if (entry === undefined) return undefined;
    if (opts.raw) return entry.value;
    const out: string[] = [];
    this.#interpolate(section, name, name, entry.value, out, 1);
    return out.join("");
  }

  /** Like {@link IniFile.get}, converted as Python's `getboolean` (`1 yes true on`, `0 no false off`). */
  getBoolean(section: string, key: string): boolean | undefined;
  getBoolean(section: string, key: string, fallback: boolean): boolean;
  getBoolean(section: string, key: string, fallback?: boolean): boolean | undefined {
    const value = this.get(section, key);
    if (value === undefined) return fallback;
    const result = parsePyBoolean(value);
    if (result === undefined) {
      throw this.#typeError(section, key, `Not a boolean: "${value}"`, "Use yes or no");
    }
    return result;
  }

  /** Like {@link IniFile.get}, converted as Python's `int()` (spaces, sign, `1_000`). */
  getInt(section: string, key: string): number | undefined;
  getInt(section: string, key: string, fallback: number): number;
  getInt(section: string, key: string, fallback?: number): number | undefined {
    const value = this.get(section, key);
    if (value === undefined) return fallback;
    const result = parsePyInt(value);
    if (result === undefined) {
      throw this.#typeError(
        section,
        key,
        `Not an integer: "${value}"`,
        "Write a whole number such as 30 (comments cannot follow a value on the same line)",
      );
    }
    return result;
  }

  /** Like {@link IniFile.get}, converted as Python's `float()` (`0.5`, `1e1`, `inf`, `nan`). */
  getFloat(section: string, key: string): number | undefined;
  getFloat(section: string, key: string, fallback: number): number;
  getFloat(section: string, key: string, fallback?: number): number | undefined {
    const value = this.get(section, key);
    if (value === undefined) return fallback;
    const result = parsePyFloat(value);
    if (result === undefined) {
      throw this.#typeError(section, key, `Not a number: "${value}"`, "Write a number such as 0.5");
    }
    return result;
  }

  /**
   * Sets an option as Python's `ConfigParser.set` does for `-k`: the key is lower-cased, the
   * value is checked for valid `%` syntax at once, and the section (`DEFAULT` included) must
   * exist. Throws {@link ConfigError} otherwise.
   */
  set(section: string, key: string, value: string): void {
    const name = key.toLowerCase();
    const problem = interpolationSyntaxProblem(value);
    if (problem !== undefined) {
      throw new ConfigError(
        `Cannot set option "${name}" in section "${section}": ${problem}`,
        { hint: "Write %% for a literal %" },
      );
    }
    const map = section === DEFAULT_SECTION ? this.#defaults : this.#sections.get(section);
    if (map === undefined) {
      throw new ConfigError(
        `Cannot set option "${name}" in section "${section}": the section does not exist`,
        { hint: `Valid sections are: ${[DEFAULT_SECTION, ...this.sections()].join(", ")}` },
      );
    }
    map.set(name, { value });
  }

  /** Removes an option from one section (not from `[DEFAULT]` unless asked); true if it was there. */
  delete(section: string, key: string): boolean {
    const map = section === DEFAULT_SECTION ? this.#defaults : this.#sections.get(section);
    return map?.delete(key.toLowerCase()) ?? false;
  }

  #entry(section: string, key: string): IniEntry | undefined {
    const name = key.toLowerCase();
    if (section === DEFAULT_SECTION) return this.#defaults.get(name);
    const map = this.#sections.get(section);
    if (map === undefined) return undefined;
    return map.get(name) ?? this.#defaults.get(name);
  }

  // Mirrors BasicInterpolation._interpolate_some: references are looked up in the section being
  // read (then DEFAULT) at every depth, and values without "%" are copied verbatim.
  #interpolate(
    section: string,
    top: string,
    option: string,
    value: string,
    out: string[],
    depth: number,
  ): void {
    const fail = (problem: string, hint?: string): never => {
      const via = option === top ? "" : ` (in option "${option}")`;
      throw new ConfigError(
        `Cannot read option "${top}" in section "${section}": ${problem}${via}`,
        { hint: hint ?? this.#where(section, top) },
      );
    };
    if (depth > MAX_INTERPOLATION_DEPTH) {
      fail(
        `"%(...)s" references are nested more than ${MAX_INTERPOLATION_DEPTH} deep`,
        "Check for options that refer to each other in a cycle",
      );
    }
    let rest = value;
    while (rest !== "") {
      const p = rest.indexOf("%");
      if (p < 0) {
        out.push(rest);
        return;
      }
      out.push(rest.slice(0, p));
      rest = rest.slice(p);
      const next = rest.charAt(1);
      if (next === "%") {
        out.push("%");
        rest = rest.slice(2);
      } else if (next === "(") {
        KEY_RE.lastIndex = 0;
        const m = KEY_RE.exec(rest);
        if (m === null) {
          fail(
            `bad interpolation variable reference "${shorten(rest)}"`,
            "Write references as %(name)s, and %% for a literal %",
          );
        }
        const match = m as RegExpExecArray;
        const name = (match[1] as string).toLowerCase();
        rest = rest.slice(match[0].length);
        const entry = this.#entry(section, name);
        if (entry === undefined) {
          fail(
            `"%(${match[1]})s" refers to option "${name}", which is not set`,
            `Set "${name}" in [${section}] or [DEFAULT], or write %% for a literal %`,
          );
        }
        const v = (entry as IniEntry).value;
        if (v.includes("%")) this.#interpolate(section, top, name, v, out, depth + 1);
        else out.push(v);
      } else {
        fail(
          `"%" must be followed by "%" or "(", found: "${shorten(rest)}"`,
          "Write %% for a literal % (passwords too)",
        );
      }
    }
  }

  #typeError(section: string, key: string, problem: string, fix: string): ConfigError {
    return new ConfigError(
      `Cannot read option "${key.toLowerCase()}" in section "${section}": ${problem}`,
      { hint: `${fix} (${this.#where(section, key)})` },
    );
  }

  #where(section: string, key: string): string {
    const line = this.line(section, key);
    return line === undefined ? `set on the command line` : `line ${line} of "${this.path}"`;
  }
}

/**
 * Names referenced as `%(name)s` anywhere in the file's raw values, lower-cased. Used to avoid
 * warning about helper options that only exist to be interpolated.
 */
export function referencedNames(ini: IniFile): Set<string> {
  const names = new Set<string>();
  for (const section of [DEFAULT_SECTION, ...ini.sections()]) {
    for (const key of ini.ownKeys(section)) {
      const value = ini.get(section, key, { raw: true }) ?? "";
      for (const m of value.matchAll(KEY_GLOBAL_RE)) names.add((m[1] as string).toLowerCase());
    }
  }
  return names;
}

/** Python's `BasicInterpolation.before_set` check; undefined when the syntax is valid. */
function interpolationSyntaxProblem(value: string): string | undefined {
  const rest = value.replaceAll("%%", "").replace(KEY_GLOBAL_RE, "");
  const at = rest.indexOf("%");
  return at < 0 ? undefined : `invalid interpolation syntax in "${value}" at position ${at}`;
}

function pyRstrip(text: string): string {
  return text.replace(RSTRIP_RE, "");
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
