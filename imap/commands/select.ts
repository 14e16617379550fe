/**
 * SELECT and EXAMINE (RFC 3501 6.3.1-2) with CONDSTORE and QRESYNC (RFC 7162 3.2.5), CLOSE
 * and UNSELECT (RFC 3691).
 *
 * @module
 */

import { ImapCapabilityError, ImapProtocolError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { FetchData, MailboxInfo } from "../types.ts";
import { bigOf, numberOf, serverUids } from "./_values.ts";
import { enable } from "./session.ts";

/** What a client remembers of a mailbox to resynchronise quickly (RFC 7162 3.2.5). */
export interface QresyncState {
  /** The UIDVALIDITY the state belongs to; a mismatch makes the server report nothing. */
  readonly uidValidity: number;
  /** The HIGHESTMODSEQ seen at the end of the last synchronisation. */
  readonly modseq: bigint;
  /** UIDs known to the client, as a UID set (`1:40,42`); lets the server report less. */
  readonly knownUids?: string;
}

/** Options of {@link select}. */
export interface SelectOptions {
  /** EXAMINE instead of SELECT. */
  readonly readOnly?: boolean;
  /** Ask for HIGHESTMODSEQ (`(CONDSTORE)`) when the server offers CONDSTORE. */
  readonly condstore?: boolean;
  /**
   * Resynchronise with QRESYNC when the server offers it (ENABLEs it first if needed); the
   * result then has `vanished` and `changed`. Without QRESYNC on the server this is a plain
   * (CONDSTORE) select and `vanished` stays undefined.
   */
  readonly qresync?: QresyncState;
}

/**
 * SELECT (or EXAMINE) `mailbox`. Throws ImapCommandError when refused, ImapProtocolError when
 * the server gives no UIDVALIDITY. A failed SELECT leaves no mailbox selected.
 */
export async function select(
  conn: Connection,
  mailbox: string,
  options: SelectOptions = {},
): Promise<MailboxInfo> {
  const qresync = options.qresync && conn.has("QRESYNC") ? options.qresync : undefined;
  if (qresync && !conn.enabled.has("QRESYNC")) await enable(conn, ["QRESYNC"]);
  const args: Arg[] = [{ string: mailbox }];
  if (qresync) {
    const known = qresync.knownUids ? ` ${qresync.knownUids}` : "";
    args.push({ atom: `(QRESYNC (${qresync.uidValidity} ${qresync.modseq}${known}))` });
  } else if (options.condstore && conn.has("CONDSTORE")) {
    args.push({ atom: "(CONDSTORE)" });
  }
  let exists = 0;
  let recent: number | undefined;
  let unseen: number | undefined;
  let uidValidity: number | undefined;
  let uidNext: number | undefined;
  let highestModseq: bigint | undefined;
  let flags: string[] = [];
  let permanentFlags: string[] = [];
  const vanished: number[] = [];
  const changed: FetchData[] = [];
  conn.selected = undefined;
  const completion = await conn.run(options.readOnly ? "EXAMINE" : "SELECT", args, {
    exclusive: "select",
    claim: (r) => {
      switch (r.kind) {
        case "exists":
          exists = r.count;
          return true;
        case "recent":
          recent = r.count;
          return true;
        case "flags":
          flags = r.flags;
          return true;
        case "vanished":
          if (!qresync || !r.earlier) return false;
          vanished.push(...serverUids(r.uids, "VANISHED"));
          return true;
        case "fetch":
          if (!qresync) return false;
          changed.push(r.data);
          return true;
        case "status": {
          if (r.status !== "OK" || !r.code) return false;
          const arg = r.code.args[0];
          switch (r.code.name) {
            case "UIDVALIDITY":
              uidValidity = numberOf(arg);
              return true;
            case "UIDNEXT":
              uidNext = numberOf(arg);
              return true;
            case "UNSEEN":
              unseen = numberOf(arg);
              return true;
            case "HIGHESTMODSEQ":
              highestModseq = bigOf(arg);
              return true;
            case "NOMODSEQ":
              highestModseq = undefined;
              return true;
            case "PERMANENTFLAGS":
              permanentFlags = Array.isArray(arg) ? arg.map(String) : [];
              return true;
            case "CLOSED": // RFC 7162 3.2.11: the previous mailbox is closed
              return true;
          }
          return false;
        }
      }
      return false;
    },
  });
  if (uidValidity === undefined) {
    throw new ImapProtocolError(`SELECT "${mailbox}" returned no valid UIDVALIDITY`);
  }
  conn.selected = mailbox;
  return {
    name: mailbox,
    readOnly: options.readOnly === true || completion.code?.name === "READ-ONLY",
    exists,
    recent,
    uidValidity,
    uidNext,
    unseen,
    flags,
    permanentFlags,
    highestModseq,
    ...(qresync ? { vanished, changed } : {}),
  };
}

/** CLOSE: deselects, silently expunging \Deleted messages (unless read-only). */
export async function closeMailbox(conn: Connection): Promise<void> {
  await conn.run("CLOSE", []);
  conn.selected = undefined;
}

/**
 * UNSELECT (RFC 3691): deselects without expunging. Throws ImapCapabilityError when the
 * server does not offer UNSELECT.
 */
export async function unselect(conn: Connection): Promise<void> {
  if (!conn.has("UNSELECT")) throw new ImapCapabilityError("UNSELECT", "UNSELECT");
  await conn.run("UNSELECT", []);
  conn.selected = undefined;
}
