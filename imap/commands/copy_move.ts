/**
 * UID COPY (RFC 3501 6.4.7) and UID MOVE (RFC 6851), with COPYUID (RFC 4315). Without MOVE,
 * a move is COPY, then STORE \Deleted and UID EXPUNGE of exactly those messages.
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { CopyResult, MoveResult, ResponseCode } from "../types.ts";
import { numberOf, serverUids } from "./_values.ts";
import { uidExpunge } from "./expunge.ts";
import { uidStore } from "./store.ts";

/** COPYUID `uidvalidity source dest`, or undefined if absent or inconsistent. */
function copyUid(code: ResponseCode | undefined): CopyResult | undefined {
  if (code?.name !== "COPYUID") return undefined;
  const uidValidity = numberOf(code.args[0]);
  const sourceUids = serverUids(code.args[1], "COPYUID");
  const destinationUids = serverUids(code.args[2], "COPYUID");
  if (uidValidity === undefined || sourceUids.length !== destinationUids.length) return undefined;
  return { uidValidity, sourceUids, destinationUids };
}

/**
 * UID COPY `set` to `mailbox`. Returns COPYUID when the server sends it. Throws
 * ImapCommandError when refused (`TRYCREATE` when the mailbox is missing).
 */
export async function uidCopy(
  conn: Connection,
  set: string,
  mailbox: string,
): Promise<CopyResult | undefined> {
  const completion = await conn.run("UID COPY", [{ atom: set }, { string: mailbox }]);
  return copyUid(completion.code);
}

/**
 * UID MOVE `set` to `mailbox`. With MOVE, one command (COPYUID comes in an untagged OK).
 * Without it: UID COPY, and only once that succeeded, UID STORE +FLAGS.SILENT (\Deleted) and,
 * with UIDPLUS, UID EXPUNGE of the same set; without UIDPLUS the originals stay marked
 * \Deleted (`expunged: false`), because a plain EXPUNGE would also remove messages others
 * marked.
 */
export async function uidMove(
  conn: Connection,
  set: string,
  mailbox: string,
): Promise<MoveResult> {
  if (conn.has("MOVE")) {
    let copy: CopyResult | undefined;
    const completion = await conn.run("UID MOVE", [{ atom: set }, { string: mailbox }], {
      exclusive: "expunge",
      claim: (r) => {
        if (r.kind === "status" && r.status === "OK" && r.code?.name === "COPYUID") {
          copy = copyUid(r.code);
          return true;
        }
        return r.kind === "expunge" || r.kind === "vanished";
      },
    });
    return { copy: copy ?? copyUid(completion.code), expunged: true };
  }
  const copy = await uidCopy(conn, set, mailbox);
  const stored = uidStore(conn, set, "+", ["\\Deleted"]);
  if (!conn.has("UIDPLUS")) {
    await stored;
    return { copy, expunged: false };
  }
  // Pipelined: the EXPUNGE travels with the STORE.
  await Promise.all([stored, uidExpunge(conn, set)]);
  return { copy, expunged: true };
}
