/**
 * LIST (RFC 3501 6.3.8, with SPECIAL-USE RFC 6154 via LIST-EXTENDED RFC 5258) and LSUB.
 *
 * @module
 */

import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { ListEntry } from "../types.ts";

/** Options of {@link list}. */
export interface ListOptions {
  /**
   * Ask for special-use attributes with `RETURN (SPECIAL-USE)` when the server offers
   * SPECIAL-USE and LIST-EXTENDED; other servers may still send them unasked.
   */
  readonly specialUse?: boolean;
}

/**
 * LIST `reference` `pattern` (`*` and `%` are wildcards). Names come back as the server sent
 * them (see {@link ListEntry.name}).
 */
export async function list(
  conn: Connection,
  reference: string,
  pattern: string,
  options: ListOptions = {},
): Promise<ListEntry[]> {
  const args: Arg[] = [{ string: reference }, { string: pattern }];
  if (options.specialUse && conn.has("SPECIAL-USE") && conn.has("LIST-EXTENDED")) {
    args.push({ atom: "RETURN (SPECIAL-USE)" });
  }
  return await collect(conn, "LIST", args);
}

/** LSUB `reference` `pattern`: the subscribed mailboxes. */
export async function lsub(
  conn: Connection,
  reference: string,
  pattern: string,
): Promise<ListEntry[]> {
  return await collect(conn, "LSUB", [{ string: reference }, { string: pattern }]);
}

async function collect(
  conn: Connection,
  command: "LIST" | "LSUB",
  args: readonly Arg[],
): Promise<ListEntry[]> {
  const entries: ListEntry[] = [];
  await conn.run(command, args, {
    exclusive: command,
    claim: (r) => {
      if (r.kind !== "list" || r.command !== command) return false;
      entries.push(r.entry);
      return true;
    },
  });
  return entries;
}
