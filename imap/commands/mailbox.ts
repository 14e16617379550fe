/**
 * Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 6.3.3-7).
 * Names are sent as given: modified UTF-7 (see `encodeMailboxName`), or UTF-8 once
 * UTF8=ACCEPT is enabled.
 *
 * @module
 */

import type { Connection } from "../connection.ts";

/** CREATE `mailbox`. A server may answer NO [ALREADYEXISTS] (RFC 5530). */
export async function create(conn: Connection, mailbox: string): Promise<void> {
  await conn.run("CREATE", [{ string: mailbox }]);
}

/** DELETE `mailbox`. */
export async function deleteMailbox(conn: Connection, mailbox: string): Promise<void> {
  await conn.run("DELETE", [{ string: mailbox }]);
  if (conn.selected === mailbox) conn.selected = undefined;
}

/** RENAME `from` to `to`. */
export async function rename(conn: Connection, from: string, to: string): Promise<void> {
  await conn.run("RENAME", [{ string: from }, { string: to }]);
}

/** SUBSCRIBE `mailbox`. */
export async function subscribe(conn: Connection, mailbox: string): Promise<void> {
  await conn.run("SUBSCRIBE", [{ string: mailbox }]);
}

/** UNSUBSCRIBE `mailbox`. */
export async function unsubscribe(conn: Connection, mailbox: string): Promise<void> {
  await conn.run("UNSUBSCRIBE", [{ string: mailbox }]);
}
