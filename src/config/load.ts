/**
 * Finding and reading the configuration file, and OfflineIMAP's path expansions
 * (config-options.md §1 and §2.9).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type IniFile, parseIni } from "./ini.ts";

/** The environment variables that decide where the configuration lives. */
export interface ConfigLocationEnv {
  readonly HOME?: string;
  readonly XDG_CONFIG_HOME?: string;
}

/** Environment for {@link expandPath}; defaults to the process environment and directory. */
export interface PathEnv {
  /** Variables for `~` (`HOME`) and `$VAR`. */
  readonly vars: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths are made absolute against. */
  readonly cwd: string;
}

/** Options of {@link expandPath}. */
export interface ExpandOptions {
  /** Also expand `$VAR` and `${VAR}` (unknown variables are left as written). */
  vars: boolean;
  /** Make the result absolute (relative to `env.cwd`) and normalised, as `os.path.abspath`. */
  absolute?: boolean;
  /** Defaults to `Deno.env` and `Deno.cwd()`. */
  env?: PathEnv;
}

const VAR_RE = /\$(\w+|\{[^}]*\})/g;

/**
 * Chooses the configuration file as OfflineIMAP does: `-c` (with `~` expanded) if given and
 * non-empty, else `$XDG_CONFIG_HOME/offlineimap/config` (default `~/.config`) if it exists, else
 * `~/.offlineimaprc`. Does not check that the result exists; {@link readConfig} does.
 */
export function locateConfig(
  cliPath: string | undefined,
  env: ConfigLocationEnv,
  exists: (path: string) => boolean = pathExists,
): string {
  const vars = { HOME: env.HOME };
  if (cliPath) return expandUser(cliPath, vars);
  const xdgHome = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : expandUser("~/.config", vars);
  const xdg = joinPath(xdgHome, "offlineimap/config");
  return exists(xdg) ? xdg : expandUser("~/.offlineimaprc", vars);
}

/**
 * Reads and parses the configuration file at `path` (UTF-8; a leading BOM is ignored).
 *
 * Throws {@link ConfigError} (exit code 1): `Config file "<path>" does not exist` when it is
 * missing, `Cannot read config "<path>": ...` when it cannot be read or is not UTF-8, and the
 * parse errors of {@link parseIni}.
 */
export async function readConfig(path: string): Promise<IniFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ConfigError(`Config file "${path}" does not exist`, {
        hint: "Create it (see README.md for a minimal example) or pass another file with -c",
        cause: error,
      });
    }
    throw new ConfigError(`Cannot read config "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseIni(decodeUtf8(bytes, path), path);
}

/**
 * Expands a path option as OfflineIMAP does (config-options.md §2.9): `~` and `~/...` from
 * `HOME`, then with `vars` `$NAME` and `${NAME}` (unknown names left as written), then with
 * `absolute` made absolute and normalised. `~user` is left as written.
 */
export function expandPath(value: string, opts: ExpandOptions): string {
  const env = opts.env ?? processEnv();
  let path = expandUser(value, env.vars);
  if (opts.vars) path = expandVars(path, env.vars);
  if (opts.absolute) path = absolutePath(path, env.cwd);
  return path;
}

/** Python's `os.path.expanduser` for the current user (`~user` is left unchanged). */
export function expandUser(
  path: string,
  vars: Readonly<Record<string, string | undefined>>,
): string {
  if (!path.startsWith("~")) return path;
  const slash = path.indexOf("/");
  const end = slash < 0 ? path.length : slash;
  const home = vars.HOME;
  if (end !== 1 || home === undefined) return path;
  return (home.replace(/\/+$/, "") + path.slice(end)) || "/";
}

/** Python's `os.path.expandvars` (POSIX): `$NAME` with NAME in `[A-Za-z0-9_]`, or `${NAME}`. */
export function expandVars(
  path: string,
  vars: Readonly<Record<string, string | undefined>>,
): string {
  return path.replace(VAR_RE, (whole, name: string) => {
    const key = name.startsWith("{") ? name.slice(1, -1) : name;
    return vars[key] ?? whole;
  });
}

/** Python's `os.path.abspath` (POSIX): join to `cwd` if relative, then `normpath`. */
export function absolutePath(path: string, cwd: string): string {
  return normalizePath(path.startsWith("/") ? path : joinPath(cwd, path));
}

/** Python's `posixpath.normpath`: removes `.`, empty and resolvable `..` components. */
function normalizePath(path: string): string {
  if (path === "") return ".";
  // POSIX keeps exactly two leading slashes but collapses three or more.
  const lead = path.startsWith("//") && !path.startsWith("///")
    ? "//"
    : path.startsWith("/")
    ? "/"
    : "";
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== ".." || (lead === "" && parts.length === 0) || parts.at(-1) === "..") {
      parts.push(part);
    } else if (parts.length > 0) {
      parts.pop();
    }
  }
  return lead + parts.join("/") || ".";
}

function joinPath(dir: string, rest: string): string {
  return dir === "" || dir.endsWith("/") ? dir + rest : `${dir}/${rest}`;
}

function processEnv(): PathEnv {
  return { vars: Deno.env.toObject(), cwd: Deno.cwd() };
}

function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    // TextDecoder drops a leading BOM, which Python would keep and then reject.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, i));
      } catch {
        break;
      }
      line++;
      start = i + 1;
    }
    throw new ConfigError(`Cannot read config "${path}" line ${line}: the file is not UTF-8`, {
      hint: "Save the file as UTF-8",
      cause: error,
    });
  }
}
