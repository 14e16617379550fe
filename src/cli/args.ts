/**
 * Command-line parsing with the semantics of Python's `optparse` as OfflineIMAP configures it
 * (config-options.md §3), and the application of the flags that rewrite the configuration.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { DEFAULT_SECTION, type IniFile } from "../config/ini.ts";
import { splitAccountList } from "../config/schema.ts";

/** What the command line asked for. Flags OfflineIMAP treats as absent when empty are undefined. */
export interface CliOptions {
  /** `-h`/`--help`: print {@link USAGE} and exit 0. Parsing stopped at this flag. */
  readonly help: boolean;
  /** `--version`: print the bare version and exit 0. Parsing stopped at this flag. */
  readonly version: boolean;
  /** `-V`: print the program and library versions and exit 0. */
  readonly versionInfo: boolean;
  /** `-c FILE`, as written (`~` is expanded by `locateConfig`). */
  readonly configFile?: string;
  /** `-a`, split on `,` with each item left-stripped. */
  readonly accounts?: readonly string[];
  /** Single-threaded: `-1`, or implied by `-P` or by `-d` without the `thread` type. */
  readonly singleThread: boolean;
  /** `-P DIR` (profiling; accepted and ignored, see `warnings`). */
  readonly profileDir?: string;
  /**
   * `-d`: debug types, lower-cased, without unknown names (reported in `warnings`); `all` gives
   * `imap`, `maildir`, `thread`. An empty list still means "debug logging on".
   */
  readonly debug?: readonly string[];
  /** `-l FILE`: additional log file. */
  readonly logFile?: string;
  /** `-s`: also log to syslog. */
  readonly syslog: boolean;
  /** `-f`: remote folder names, split on `,` without stripping. */
  readonly folders?: readonly string[];
  /** `-k` arguments in order, each checked to contain `=`. */
  readonly overrides: readonly string[];
  /** `-o`: run once, ignoring `autorefresh`. */
  readonly runOnce: boolean;
  /** `-q`: quick mode. */
  readonly quick: boolean;
  /** `-u UI` as written (validated by `main.ts`); overrides `[general] ui`. */
  readonly ui?: string;
  /** `--dry-run`. */
  readonly dryRun: boolean;
  /** `--info`. */
  readonly info: boolean;
  /** `--delete-folder NAME`. */
  readonly deleteFolder?: string;
  /** `--migrate-fmd5-using-nametrans`. */
  readonly migrateFmd5: boolean;
  /** `--mbnames-prune`. */
  readonly mbnamesPrune: boolean;
  /** `--ignore-keyring` (OfflineIMAP 8.0.1): accepted; no keyring is ever used. */
  readonly ignoreKeyring: boolean;
  /** Positional arguments, which OfflineIMAP accepts and ignores. */
  readonly positionals: readonly string[];
  /** Things the user should be told (unknown debug types, `-P`). */
  readonly warnings: readonly string[];
}

/** Full `--help` text. */
export const USAGE = `Usage: offlineimap [options]

Synchronizes mailboxes on an IMAP server with local Maildir folders, in both directions.

Options:
  --version             print the version number and exit
  -h, --help            print this help and exit
  -V                    print the versions of the program and its runtime, and exit
  -c FILE               configuration file (default: $XDG_CONFIG_HOME/offlineimap/config if it
                        exists, else ~/.offlineimaprc)
  -a ACCOUNT[,ACCOUNT...]
                        sync only these accounts, instead of [general] accounts
  -1                    single-threaded: one account, one folder, one message at a time
  -P DIR                profiling: not supported; accepted for compatibility, implies -1
  -d TYPE[,TYPE...]     debug output of these types: imap, maildir, thread, or all; passwords
                        are always masked; implies -1 unless thread is given
  -l FILE               also append the log to FILE
  -s                    also log to syslog
  -f FOLDER[,FOLDER...] sync only these remote folders (names as the server lists them, before
                        nametrans); replaces folderfilter and folderincludes of the remote
                        repositories
  -k [SECTION:]OPTION=VALUE
                        override a configuration option; repeatable. SECTION defaults to
                        general; write _ for spaces in it: -k Account_Work:max_delete_ratio=1
  -o                    run only once, ignoring any autorefresh setting
  -q                    quick mode: skip folders whose message counts did not change
  -u UI                 user interface: ttyui (default), basic, quiet, syslog, machineui
  --dry-run             show what would be done without changing anything anywhere
  --info                print information about the accounts and their servers, and exit
  --delete-folder NAME  delete the remote folder NAME (with exactly one account, see -a), exit
  --migrate-fmd5-using-nametrans
                        rename the local messages of Maildirs written by OfflineIMAP before
                        6.3.5 after adding nametrans, and exit
  --mbnames-prune       remove the mbnames data of accounts no longer listed, and exit
  --ignore-keyring      accepted for compatibility (no keyring is ever used)

Configuration options that OfflineIMAP does not have:
  max_delete_ratio = 0.5
                        [Account ...]: stop syncing a folder when one pass would delete more
                        than this fraction of its known messages, or all of them; 1 disables it
  allow_plaintext_auth = no
                        [Repository ...]: allow sending the password unencrypted to a server
                        without TLS; only used with ssl = no and starttls = no
  status_backend = sqlite
                        [Account ...]: sqlite (default) or plain; accepted again
The configuration file is otherwise read as OfflineIMAP reads it.
`;

type Dest =
  | "help"
  | "version"
  | "versionInfo"
  | "configFile"
  | "accounts"
  | "singleThread"
  | "profileDir"
  | "debug"
  | "logFile"
  | "syslog"
  | "folders"
  | "overrides"
  | "runOnce"
  | "quick"
  | "ui"
  | "dryRun"
  | "info"
  | "deleteFolder"
  | "migrateFmd5"
  | "mbnamesPrune"
  | "ignoreKeyring";

interface FlagSpec {
  readonly names: readonly string[];
  readonly dest: Dest;
  readonly takesValue?: boolean;
}

const FLAGS: readonly FlagSpec[] = [
  { names: ["-h", "--help"], dest: "help" },
  { names: ["--version"], dest: "version" },
  { names: ["-V"], dest: "versionInfo" },
  { names: ["-c"], dest: "configFile", takesValue: true },
  { names: ["-a"], dest: "accounts", takesValue: true },
  { names: ["-1"], dest: "singleThread" },
  { names: ["-P"], dest: "profileDir", takesValue: true },
  { names: ["-d"], dest: "debug", takesValue: true },
  { names: ["-l"], dest: "logFile", takesValue: true },
  { names: ["-s"], dest: "syslog" },
  { names: ["-f"], dest: "folders", takesValue: true },
  { names: ["-k"], dest: "overrides", takesValue: true },
  { names: ["-o"], dest: "runOnce" },
  { names: ["-q"], dest: "quick" },
  { names: ["-u"], dest: "ui", takesValue: true },
  { names: ["--dry-run"], dest: "dryRun" },
  { names: ["--info"], dest: "info" },
  { names: ["--delete-folder"], dest: "deleteFolder", takesValue: true },
  { names: ["--migrate-fmd5-using-nametrans"], dest: "migrateFmd5" },
  { names: ["--mbnames-prune"], dest: "mbnamesPrune" },
  { names: ["--ignore-keyring"], dest: "ignoreKeyring" },
];
const DEBUG_TYPES = ["imap", "maildir", "thread"];

/**
 * Parses the arguments (without the program name) as OfflineIMAP's `optparse` does: bundled
 * short flags (`-oq`), attached or separate values (`-fINBOX`, `-f INBOX`), long options
 * abbreviated to any unique prefix (`--dry`), `--opt=value`, `--` ending the options, and
 * positional arguments accepted anywhere and ignored. Later values of a repeated flag win,
 * except `-k`, which accumulates. `-h`/`--help` and `--version` stop parsing at once.
 *
 * Throws {@link ConfigError} with exit code 2 and optparse's wording: `no such option: <opt>`,
 * `ambiguous option: <opt> (<candidates>?)`, `<opt> option requires 1 argument`,
 * `<opt> option does not take a value`; and for a `-k` argument without `=`.
 */
export function parseArgs(argv: readonly string[]): CliOptions {
  const flags = new Set<Dest>();
  const values = new Map<Dest, string>();
  const overrides: string[] = [];
  const positionals: string[] = [];
  const rest = [...argv];

  const apply = (spec: FlagSpec, value: string | undefined): boolean => {
    if (spec.dest === "overrides") overrides.push(value as string);
    else if (spec.takesValue) values.set(spec.dest, value as string);
    else flags.add(spec.dest);
    // optparse runs the help and version actions as soon as it meets them.
    return spec.dest === "help" || spec.dest === "version";
  };

  parsing: while (rest.length > 0) {
    const arg = rest.shift() as string;
    if (arg === "--") {
      positionals.push(...rest);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = matchLong(eq < 0 ? arg : arg.slice(0, eq));
      const spec = FLAGS.find((f) => f.names.includes(name)) as FlagSpec;
      let value: string | undefined;
      if (spec.takesValue) {
        value = eq >= 0 ? arg.slice(eq + 1) : rest.shift();
        if (value === undefined) throw usageError(`${name} option requires 1 argument`);
      } else if (eq >= 0) {
        throw usageError(`${name} option does not take a value`);
      }
      if (apply(spec, value)) break;
    } else if (arg.startsWith("-") && arg.length > 1) {
      for (let i = 1; i < arg.length; i++) {
        const name = `-${arg[i]}`;
        const spec = FLAGS.find((f) => f.names.includes(name));
        if (spec === undefined) throw usageError(`no such option: ${name}`);
        let value: string | undefined;
        if (spec.takesValue) {
          value = i + 1 < arg.length ? arg.slice(i + 1) : rest.shift();
          if (value === undefined) throw usageError(`${name} option requires 1 argument`);
          if (apply(spec, value)) break parsing;
          break;
        }
        if (apply(spec, value)) break parsing;
      }
    } else {
      positionals.push(arg);
    }
  }

  const exiting = flags.has("help") || flags.has("version");
  for (const override of overrides) {
    if (!exiting && !override.includes("=")) {
      throw usageError(`-k option needs [SECTION:]OPTION=VALUE, got "${override}"`);
    }
  }
  const warnings: string[] = [];
  // OfflineIMAP tests these with "if options.x:", so an empty value means "not given".
  const given = (dest: Dest) => values.get(dest) || undefined;
  const debugValue = given("debug");
  let debug: string[] | undefined;
  if (debugValue !== undefined) {
    const asked = debugValue.toLowerCase() === "all"
      ? DEBUG_TYPES
      : debugValue.split(",").map((t) => t.trim().toLowerCase());
    debug = [];
    for (const type of asked) {
      if (DEBUG_TYPES.includes(type)) {
        if (!debug.includes(type)) debug.push(type);
      } else if (type !== "") {
        warnings.push(`Invalid debug type: ${type}`);
      }
    }
  }
  const profileDir = given("profileDir");
  if (profileDir !== undefined) {
    warnings.push("Profiling (-P) is not supported: running single-threaded without profiles");
  }
  const accounts = given("accounts");
  const folders = given("folders");
  return {
    help: flags.has("help"),
    version: flags.has("version"),
    versionInfo: flags.has("versionInfo"),
    configFile: given("configFile"),
    accounts: accounts === undefined ? undefined : splitAccountList(accounts),
    singleThread: flags.has("singleThread") || profileDir !== undefined ||
      (debug !== undefined && !debug.includes("thread")),
    profileDir,
    debug,
    logFile: given("logFile"),
    syslog: flags.has("syslog"),
    folders: folders === undefined ? undefined : folders.split(","),
    overrides,
    runOnce: flags.has("runOnce"),
    quick: flags.has("quick"),
    // Unlike the others, OfflineIMAP tests -u against None: an empty UI name is an error later.
    ui: values.get("ui"),
    dryRun: flags.has("dryRun"),
    info: flags.has("info"),
    deleteFolder: given("deleteFolder"),
    migrateFmd5: flags.has("migrateFmd5"),
    mbnamesPrune: flags.has("mbnamesPrune"),
    ignoreKeyring: flags.has("ignoreKeyring"),
    positionals,
    warnings,
  };
}

/**
 * Applies to the parsed file the flags that OfflineIMAP writes into its configuration, in its
 * order: every `-k`, then `--dry-run`, `-o`, `-q`. (`-a`, `-f` and `-u` are passed to
 * `resolveConfig` or read by `main.ts` instead.)
 *
 * `-k [SECTION:]OPTION=VALUE` splits at the first `=`, then at the first `:` (every `_` of the
 * section becomes a space; no section means `general`, an empty one `DEFAULT`). Throws
 * {@link ConfigError} (exit code 1) when the section does not exist or the value has a lone `%`.
 */
export function applyOverrides(ini: IniFile, cli: CliOptions): void {
  for (const override of cli.overrides) {
    const eq = override.indexOf("=");
    const left = override.slice(0, eq);
    const value = override.slice(eq + 1);
    const colon = left.indexOf(":");
    let section = colon < 0 ? "general" : left.slice(0, colon).replaceAll("_", " ");
    const option = colon < 0 ? left : left.slice(colon + 1);
    // Python's ConfigParser.set treats an empty section name as DEFAULT.
    if (section === "") section = DEFAULT_SECTION;
    if (section !== DEFAULT_SECTION && !ini.hasSection(section)) {
      throw new ConfigError(`Cannot apply -k "${override}": section "${section}" does not exist`, {
        hint: `Existing sections: ${ini.sections().join(", ") || "none"}; write _ for spaces ` +
          "in the section name, e.g. -k Account_Work:autorefresh=5",
      });
    }
    ini.set(section, option, value);
  }
  if (cli.dryRun) {
    ini.addSection("general");
    ini.set("general", "dry-run", "True");
  }
  const accountSections = ini.sections().filter((s) => s.startsWith("Account "));
  if (cli.runOnce) {
    ini.delete(DEFAULT_SECTION, "autorefresh");
    for (const section of accountSections) ini.delete(section, "autorefresh");
  }
  if (cli.quick) {
    for (const section of accountSections) ini.set(section, "quick", "-1");
  }
}

/** Result of {@link normalizeUiName}. */
export interface UiName {
  /** Lower-cased, last dotted component: `ttyui`, `basic`, ... (not validated). */
  readonly name: string;
  /** Set for an old dotted name (`TTY.TTYUI`), as OfflineIMAP warns about them. */
  readonly warning?: string;
}

/**
 * Normalises a UI name from `-u` or `[general] ui` as OfflineIMAP does: a dotted old name
 * (`TTY.TTYUI`, `Noninteractive.Basic`, `Curses.Blinkenlights`, `Machine.MachineUI`) keeps
 * only its last component, with a warning; the result is lower-cased (names are case
 * insensitive). Whether the name exists is for the caller to decide.
 */
export function normalizeUiName(value: string): UiName {
  const parts = value.split(".");
  const name = (parts[parts.length - 1] as string).toLowerCase();
  if (parts.length === 1) return { name };
  return {
    name,
    warning: `UI name "${value}" is an old name: write "${name}" instead`,
  };
}

/** optparse's `_match_abbrev`: exact name, else the only long option it is a prefix of. */
function matchLong(opt: string): string {
  const longs = FLAGS.flatMap((f) => f.names).filter((n) => n.startsWith("--"));
  if (longs.includes(opt)) return opt;
  const candidates = longs.filter((n) => n.startsWith(opt)).sort();
  if (candidates.length === 1) return candidates[0] as string;
  if (candidates.length === 0) throw usageError(`no such option: ${opt}`);
  throw usageError(`ambiguous option: ${opt} (${candidates.join(", ")}?)`);
}

function usageError(message: string): ConfigError {
  return new ConfigError(message, {
    exitCode: 2,
    hint: "Run offlineimap --help for the list of options",
  });
}
