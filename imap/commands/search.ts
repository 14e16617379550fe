/**
 * UID SEARCH (RFC 3501 6.4.4), criteria given as command arguments.
 *
 * @module
 */

import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";

function nonAscii(arg: Arg): boolean {
  if ("string" in arg) return /[^ -~\t\r\n]/.test(arg.string);
  if ("list" in arg) return arg.list.some(nonAscii);
  if ("secret" in arg) return nonAscii(arg.secret);
  return false;
}

/**
 * UID SEARCH `criteria`, e.g. `[{ atom: "HEADER" }, { string: "X-Id" }, { string: "a b" }]`:
 * strings are sent as atoms, quoted strings or literals as their content needs. A non-ASCII
 * string adds `CHARSET UTF-8` (unless UTF8=ACCEPT is enabled, RFC 6855 3). Returns the UIDs.
 */
export async function uidSearch(conn: Connection, criteria: readonly Arg[]): Promise<number[]> {
  const charset: Arg[] = !conn.enabled.has("UTF8=ACCEPT") && criteria.some(nonAscii)
    ? [{ atom: "CHARSET" }, { atom: "UTF-8" }]
    : [];
  const out: number[] = [];
  await conn.run("UID SEARCH", [...charset, ...criteria], {
    exclusive: "search",
    claim: (r) => {
      if (r.kind !== "search") return false;
      out.push(...r.numbers);
      return true;
    },
  });
  return out;
}
