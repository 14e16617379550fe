/**
 * `.netrc` files as Python 3's `netrc` module reads them (OfflineIMAP looks up the IMAP host in
 * `~/.netrc`, then `/etc/netrc`, for the user and the password).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** One `machine` (or `default`) entry. Absent fields are "" as in Python. */
export interface NetrcEntry {
  readonly login: string;
  readonly account: string;
  readonly password: string;
}

/** A parsed `.netrc`: entries by machine name (`default` under the key "default"). */
export interface Netrc {
  readonly hosts: ReadonlyMap<string, NetrcEntry>;
}

/** The characters Python's netrc lexer treats as whitespace. */
const WHITESPACE = "\n\t\r ";

/**
 * Parses `.netrc` text with the rules of Python 3.11's `netrc` module: whitespace-separated
 * tokens, `"..."` quoting and `\` escapes, `machine NAME` / `default` entries with `login`
 * (or `user`), `account` and `password`, `macdef NAME` bodies up to an empty line (skipped), and
 * `#` comments to the end of the line. A later entry for the same machine replaces an earlier
 * one, as in Python.
 *
 * Throws {@link ConfigError} `Cannot read netrc "<path>" line <n>: <problem>` on a token Python
 * rejects (`bad toplevel token`, `bad follower token`, a missing machine name, an unterminated
 * `macdef`).
 */
export function parseNetrc(text: string, path: string): Netrc {
  const hosts = new Map<string, NetrcEntry>();
  let pos = 0;
  let line = 1;
  const fail = (problem: string): never => {
    throw new ConfigError(`Cannot read netrc "${path}" line ${line}: ${problem}`, {
      hint: 'Write entries as "machine HOST login USER password SECRET"',
    });
  };
  const readChar = (): string => {
    if (pos >= text.length) return "";
    const ch = text[pos++] as string;
    if (ch === "\n") line++;
    return ch;
  };
  const skipLine = (): void => {
    while (pos < text.length && readChar() !== "\n") { /* skip */ }
  };
  const pushback: string[] = [];
  const nextToken = (): string => {
    const pushed = pushback.shift();
    if (pushed !== undefined) return pushed;
    let token = "";
    for (let ch = readChar(); ch !== ""; ch = readChar()) {
      if (WHITESPACE.includes(ch)) continue;
      if (ch === '"') {
        for (ch = readChar(); ch !== ""; ch = readChar()) {
          if (ch === '"') return token;
          if (ch === "\\") ch = readChar();
          token += ch;
        }
        return token;
      }
      if (ch === "\\") ch = readChar();
      token += ch;
      for (ch = readChar(); ch !== ""; ch = readChar()) {
        if (WHITESPACE.includes(ch)) return token;
        if (ch === "\\") ch = readChar();
        token += ch;
      }
      return token;
    }
    return token;
  };

  for (;;) {
    const startLine = line;
    const top = nextToken();
    if (top === "") break;
    if (top.startsWith("#")) {
      if (line === startLine) skipLine();
      continue;
    }
    let name: string;
    if (top === "machine") name = nextToken();
    else if (top === "default") name = "default";
    else if (top === "macdef") {
      nextToken();
      // The body runs to the first empty line; the rest of the macdef line belongs to it.
      for (;;) {
        if (pos >= text.length) fail("macro definition missing null line terminator");
        const end = text.indexOf("\n", pos);
        const body = end < 0 ? text.slice(pos) : text.slice(pos, end + 1);
        pos += body.length;
        if (body.endsWith("\n")) line++;
        if (body === "\n") break;
      }
      continue;
    } else {
      return fail(`bad toplevel token "${top}"`);
    }
    if (name === "") fail(`missing "${top}" name`);
    let login = "";
    let account = "";
    let password = "";
    for (;;) {
      const before = line;
      const token = nextToken();
      if (token.startsWith("#")) {
        if (line === before) skipLine();
        continue;
      }
      if (token === "" || token === "machine" || token === "default" || token === "macdef") {
        if (token !== "") pushback.push(token);
        break;
      }
      if (token === "login" || token === "user") login = nextToken();
      else if (token === "account") account = nextToken();
      else if (token === "password") password = nextToken();
      else fail(`bad follower token "${token}"`);
    }
    hosts.set(name, { login, account, password });
  }
  return { hosts };
}

/** Python's `netrc.authenticators(host)`: the host's entry, else `default`, else undefined. */
export function netrcEntryFor(netrc: Netrc, host: string): NetrcEntry | undefined {
  return netrc.hosts.get(host) ?? netrc.hosts.get("default");
}
