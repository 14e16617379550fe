/**
 * EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 2.1).
 *
 * @module
 */

import { ImapCapabilityError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { ExpungeResult } from "../types.ts";
import { serverUids } from "./_values.ts";

async function run(conn: Connection, name: string, args: readonly Arg[]): Promise<ExpungeResult> {
  const seqs: number[] = [];
  const uids: number[] = [];
  await conn.run(name, args, {
    exclusive: "expunge",
    claim: (r) => {
      if (r.kind === "expunge") {
        seqs.push(r.seq);
        return true;
      }
      if (r.kind === "vanished" && !r.earlier) {
        uids.push(...serverUids(r.uids, "VANISHED"));
        return true;
      }
      return false;
    },
  });
  return { seqs, uids };
}

/** EXPUNGE: removes every \Deleted message of the selected mailbox. */
export function expunge(conn: Connection): Promise<ExpungeResult> {
  return run(conn, "EXPUNGE", []);
}

/**
 * UID EXPUNGE `set`: removes only those \Deleted messages. Throws ImapCapabilityError when the
 * server does not offer UIDPLUS.
 */
export function uidExpunge(conn: Connection, set: string): Promise<ExpungeResult> {
  if (!conn.has("UIDPLUS")) {
    return Promise.reject(new ImapCapabilityError("UID EXPUNGE", "UIDPLUS"));
  }
  return run(conn, "UID EXPUNGE", [{ atom: set }]);
}
