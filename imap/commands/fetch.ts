/**
 * UID FETCH of metadata and small sections, every response collected (RFC 3501 6.4.5), with
 * CHANGEDSINCE (RFC 7162 3.1.4) and VANISHED (RFC 7162 3.2.6). Bodies are streamed by
 * `fetch_bodies.ts` instead.
 *
 * @module
 */

import { ImapCapabilityError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { FetchChanges, FetchData } from "../types.ts";
import { serverUids } from "./_values.ts";
import { enable } from "./session.ts";

/** Options of {@link uidFetch}. */
export interface FetchOptions {
  /** Only messages whose mod-sequence is higher (CHANGEDSINCE; needs CONDSTORE). */
  readonly changedSince?: bigint;
}

/**
 * UID FETCH `set` `items` (e.g. `["UID", "FLAGS", "RFC822.SIZE"]`), one command, every
 * response collected. Literals in the responses are buffered, within the connection's limits.
 * Throws ImapCapabilityError for CHANGEDSINCE without CONDSTORE.
 */
export async function uidFetch(
  conn: Connection,
  set: string,
  items: readonly string[],
  options: FetchOptions = {},
): Promise<FetchData[]> {
  const args: Arg[] = [{ atom: set }, { atom: `(${items.join(" ")})` }];
  if (options.changedSince !== undefined) {
    if (!conn.has("CONDSTORE")) throw new ImapCapabilityError("CHANGEDSINCE", "CONDSTORE");
    args.push({ atom: `(CHANGEDSINCE ${options.changedSince})` });
  }
  const out: FetchData[] = [];
  await conn.run("UID FETCH", args, {
    exclusive: "fetch",
    claim: (r) => {
      if (r.kind !== "fetch") return false;
      out.push(r.data);
      return true;
    },
  });
  return out;
}

/**
 * UID FETCH `set` `items` (CHANGEDSINCE `changedSince` VANISHED): what changed and what was
 * expunged since a mod-sequence. Needs QRESYNC (ENABLEd here if needed); throws
 * ImapCapabilityError without it.
 */
export async function uidFetchChanges(
  conn: Connection,
  set: string,
  items: readonly string[],
  changedSince: bigint,
): Promise<FetchChanges> {
  if (!conn.has("QRESYNC")) throw new ImapCapabilityError("VANISHED", "QRESYNC");
  if (!conn.enabled.has("QRESYNC")) await enable(conn, ["QRESYNC"]);
  const messages: FetchData[] = [];
  const vanished: number[] = [];
  await conn.run("UID FETCH", [
    { atom: set },
    { atom: `(${items.join(" ")})` },
    { atom: `(CHANGEDSINCE ${changedSince} VANISHED)` },
  ], {
    exclusive: "fetch",
    claim: (r) => {
      if (r.kind === "fetch") {
        messages.push(r.data);
        return true;
      }
      if (r.kind === "vanished" && r.earlier) {
        vanished.push(...serverUids(r.uids, "VANISHED"));
        return true;
      }
      return false;
    },
  });
  return { messages, vanished };
}
