/**
 * Connection-time credentials of an IMAP repository, in OfflineIMAP's lookup order
 * (config-options.md §9.1): host, port, user and password, with `~/.netrc` and `/etc/netrc`,
 * and the interactive no-echo prompt that only the `ttyui` UI on a terminal may use.
 *
 * Everything here runs when a connection is opened, not when the configuration is read: eval
 * options are evaluated each time (a `gpg` prompt may appear once per connection, as in
 * OfflineIMAP). Failures are {@link AccountError}s: they end the account, not the program.
 *
 * @module
 */

import { AccountError, UserFacingError } from "../errors.ts";
import type { ImapRepositoryConfig } from "./types.ts";
import { pyStrip } from "./ini.ts";
import { type Netrc, type NetrcEntry, netrcEntryFor, parseNetrc } from "./netrc.ts";

/** Where to look for `.netrc` files, and how to report insecure files. */
export interface CredentialOptions {
  /** Home directory for `~/.netrc`; defaults to `$HOME`. */
  readonly home?: string;
  /** Files consulted in order; defaults to `~/.netrc` then `/etc/netrc`. */
  readonly netrcFiles?: readonly string[];
  /**
   * Receives one line for a password file or `~/.netrc` readable by group or others (once per
   * file and process). Without it, nothing is reported.
   */
  readonly warn?: (message: string) => void;
}

/** Options of {@link resolveUser}. */
export interface UserOptions extends CredentialOptions {
  /** The host from {@link resolveHost}; defaults to the static `remotehost`. */
  readonly host?: string;
}

/** Options of {@link resolvePassword}. */
export interface PasswordOptions extends CredentialOptions {
  /**
   * Whether the user may be asked: true only for the `ttyui` UI with a terminal on stdin (see
   * {@link canPrompt}). Basic, Quiet, Syslog and MachineUI never prompt.
   */
  readonly interactive: boolean;
  /** Asks for a line without echo; defaults to {@link promptNoEcho}. */
  readonly prompt?: (message: string) => Promise<string>;
  /** The user from {@link resolveUser} (netrc entries must match it when set). */
  readonly user?: string;
  /** The host from {@link resolveHost}; defaults to the static `remotehost`. */
  readonly host?: string;
  /** UI name for the "cannot prompt" message. */
  readonly uiName?: string;
  /**
   * The previous authentication failure: the stored sources already failed, so ask again
   * (OfflineIMAP repeats the prompt with the error shown). Without `interactive`, ignored.
   */
  readonly previousError?: string;
}

const warnedFiles = new Set<string>();

/**
 * The host to connect to: `remotehosteval` when it gives a non-empty string, else `remotehost`.
 * Throws {@link AccountError} when the evaluation fails or no host results.
 */
export async function resolveHost(repo: ImapRepositoryConfig): Promise<string> {
  if (repo.hostEval !== undefined) {
    const host = await evaluate(repo, "remotehosteval", repo.hostEval);
    if (host !== "") return host;
  }
  if (repo.host === "" && repo.preauthTunnel === undefined) {
    throw new AccountError(`No remote host for repository "${repo.name}" specified`, {
      hint: `Set remotehost in [Repository ${repo.name}]`,
    });
  }
  return repo.host;
}

/**
 * The port: `remoteporteval` when set, else `remoteport` (default 993 with `ssl`, else 143;
 * 993 for Gmail). Throws {@link AccountError} when the evaluation fails or is not a TCP port.
 */
export async function resolvePort(repo: ImapRepositoryConfig): Promise<number> {
  if (repo.portEval === undefined) return repo.port;
  const port = await evaluate(repo, "remoteporteval", repo.portEval);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AccountError(
      `Cannot use option "remoteporteval" in section "Repository ${repo.name}": ${port} is not ` +
        "a TCP port (1-65535)",
    );
  }
  return port;
}

/**
 * The login name: `remoteusereval`, else `remoteuser`, else the `login` of the host's entry (or
 * `default`) in `~/.netrc`, then `/etc/netrc`; undefined when none gives one (and with a
 * `preauthtunnel`, which needs no user).
 */
export async function resolveUser(
  repo: ImapRepositoryConfig,
  options: UserOptions = {},
): Promise<string | undefined> {
  if (repo.password.kind === "none") return undefined;
  if (repo.userEval !== undefined) return await evaluate(repo, "remoteusereval", repo.userEval);
  if (repo.user !== undefined) return repo.user;
  const host = options.host ?? repo.host;
  for (const file of netrcFiles(options)) {
    const entry = await netrcEntry(file, host);
    if (entry !== undefined && entry.login !== "") return entry.login;
  }
  return undefined;
}

/**
 * The password, first hit wins: `remotepasseval`, `remotepass` (an empty value counts as
 * none), `remotepassfile` (first line, stripped), the host's `~/.netrc` entry then
 * `/etc/netrc` (only if its login equals the user, or no user is known), then a prompt when
 * `interactive`. With `previousError`, the prompt is the only source (it is asked again).
 *
 * Throws {@link AccountError}: an unreadable or empty password file, a broken `.netrc`, a
 * failed evaluation, an interrupted prompt, or no password at all without `interactive` (the
 * message names the options that would supply it).
 */
export async function resolvePassword(
  repo: ImapRepositoryConfig,
  options: PasswordOptions,
): Promise<string> {
  const section = `Repository ${repo.name}`;
  const source = repo.password;
  const host = options.host ?? repo.host;
  if (options.previousError === undefined || !options.interactive) {
    switch (source.kind) {
      case "none":
        return "";
      case "eval":
        return await evaluate(repo, "remotepasseval", source.evaluate);
      case "plain":
        if (source.value !== "") return source.value;
        break;
      case "file":
        return await readPasswordFile(source.path, section, options);
      case "netrc":
        for (const file of netrcFiles(options)) {
          const entry = await netrcEntry(file, host, options);
          if (entry === undefined || entry.password === "") continue;
          if (options.user === undefined || options.user === entry.login) return entry.password;
        }
    }
  }
  const who = `${options.user === undefined ? "" : `user "${options.user}" on `}"${host}"`;
  if (!options.interactive) {
    const ui = options.uiName === undefined ? "this UI" : `the ${options.uiName} UI`;
    const why = options.uiName === "ttyui" ? "ttyui only asks on a terminal" : `${ui} never asks`;
    throw new AccountError(`No password for ${who} (repository "${repo.name}")`, {
      hint: `Set remotepass, remotepassfile or remotepasseval in [${section}], or add ` +
        `"machine ${host || "HOST"} login USER password SECRET" to ~/.netrc (${why})`,
    });
  }
  const prompt = options.prompt ?? promptNoEcho;
  const again = options.previousError === undefined ? "" : `${options.previousError}\n`;
  return await prompt(`${again}Enter password for ${who} (repository "${repo.name}"): `);
}

/**
 * True when a password prompt is allowed: the `ttyui` UI (any case, dotted old names reduced)
 * with stdin on a terminal.
 */
export function canPrompt(uiName: string, isTerminal: boolean = Deno.stdin.isTerminal()): boolean {
  const parts = pyStrip(uiName).split(".");
  return (parts[parts.length - 1] ?? "").toLowerCase() === "ttyui" && isTerminal;
}

/**
 * Writes `message` to stderr and reads one line from the terminal without echo (raw mode:
 * backspace and Ctrl-U edit, Enter ends, Ctrl-C or Ctrl-D on an empty line aborts). Throws
 * {@link AccountError} when aborted.
 */
export async function promptNoEcho(message: string): Promise<string> {
  const encoder = new TextEncoder();
  await writeAll(Deno.stderr, encoder.encode(message));
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  let aborted = false;
  Deno.stdin.setRaw(true);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      const byte = buffer[0] as number;
      if (n === null || byte === 3 || (byte === 4 && bytes.length === 0)) {
        aborted = true;
        break;
      }
      if (byte === 13 || byte === 10) break;
      if (byte === 127 || byte === 8) {
        // Drop one UTF-8 character: its continuation bytes, then its lead byte.
        while (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & 0xc0) === 0x80) {
          bytes.pop();
        }
        bytes.pop();
      } else if (byte === 21) {
        bytes.length = 0;
      } else {
        bytes.push(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await writeAll(Deno.stderr, encoder.encode("\n"));
  }
  if (aborted) throw new AccountError("Password prompt interrupted");
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * One warning line when `mode` lets group or others read the file, else undefined. `what`
 * names the file's role (`Password file`, `Config file`, `Netrc file`).
 */
export function insecureFileWarning(
  path: string,
  mode: number | null,
  what: string,
): string | undefined {
  if (mode === null || (mode & 0o044) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `${what} "${path}" is readable by group or others (mode ${octal}): ` +
    `run chmod 600 "${path}"`;
}

async function readPasswordFile(
  path: string,
  section: string,
  options: CredentialOptions,
): Promise<string> {
  let text: string;
  try {
    const bytes = await Deno.readFile(path);
    warnOnce(path, (await Deno.stat(path)).mode, "Password file", options);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AccountError(`Cannot read password file "${path}": ${errorText(error)}`, {
      cause: error,
      hint: `Fix remotepassfile in [${section}]`,
    });
  }
  const newline = text.indexOf("\n");
  const password = pyStrip(newline < 0 ? text : text.slice(0, newline));
  if (password === "") {
    throw new AccountError(`Password file "${path}" is empty`, {
      hint: `Write the password on its first line, or fix remotepassfile in [${section}]`,
    });
  }
  return password;
}

async function netrcEntry(
  path: string,
  host: string,
  options?: CredentialOptions,
): Promise<NetrcEntry | undefined> {
  let text: string;
  let mode: number | null;
  try {
    text = new TextDecoder().decode(await Deno.readFile(path));
    mode = (await Deno.stat(path)).mode;
  } catch (error) {
    // Python's netrc: a missing file is "no entry"; any other failure is an error.
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new AccountError(`Cannot read netrc file "${path}": ${errorText(error)}`, {
      cause: error,
    });
  }
  let netrc: Netrc;
  try {
    netrc = parseNetrc(text, path);
  } catch (error) {
    if (!(error instanceof UserFacingError)) throw error;
    throw new AccountError(error.message, { cause: error, hint: error.hint });
  }
  const entry = netrcEntryFor(netrc, host);
  // Only the user's own file holds the user's secrets; /etc/netrc is shared by design.
  if (options !== undefined && entry?.password && path !== "/etc/netrc") {
    warnOnce(path, mode, "Netrc file", options);
  }
  return entry;
}

function netrcFiles(options: CredentialOptions): readonly string[] {
  if (options.netrcFiles !== undefined) return options.netrcFiles;
  const home = options.home ?? Deno.env.get("HOME");
  return home === undefined ? ["/etc/netrc"] : [`${home.replace(/\/+$/, "")}/.netrc`, "/etc/netrc"];
}

function warnOnce(
  path: string,
  mode: number | null,
  what: string,
  options: CredentialOptions,
): void {
  const warning = insecureFileWarning(path, mode, what);
  if (warning === undefined || options.warn === undefined || warnedFiles.has(path)) return;
  warnedFiles.add(path);
  options.warn(warning);
}

async function evaluate<T>(
  repo: ImapRepositoryConfig,
  option: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof AccountError) throw error;
    throw new AccountError(
      `Cannot evaluate option "${option}" in section "Repository ${repo.name}": ${
        errorText(error)
      }`,
      { cause: error, hint: error instanceof UserFacingError ? error.hint : undefined },
    );
  }
}

async function writeAll(writer: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  let done = 0;
  while (done < data.length) done += await writer.write(data.subarray(done));
}

function errorText(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}
