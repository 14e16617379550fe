/**
 * STATUS (RFC 3501 6.3.10; HIGHESTMODSEQ from RFC 7162 3.1.6).
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { MailboxStatus } from "../types.ts";

/**
 * STATUS `mailbox` for `items` (default: MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, and
 * HIGHESTMODSEQ when the server offers CONDSTORE). Several STATUS commands may be pipelined:
 * each takes the response naming its mailbox.
 */
export async function status(
  conn: Connection,
  mailbox: string,
  items?: readonly string[],
): Promise<MailboxStatus> {
  const wanted = items ?? [
    "MESSAGES",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    ...(conn.has("CONDSTORE") ? ["HIGHESTMODSEQ"] : []),
  ];
  let found: { mailbox: string; items: Map<string, bigint> } | undefined;
  await conn.run("STATUS", [{ string: mailbox }, { atom: `(${wanted.join(" ")})` }], {
    claim: (r) => {
      if (r.kind !== "mailboxStatus" || found || !sameMailbox(r.mailbox, mailbox)) return false;
      found = r;
      return true;
    },
  });
  const values = found?.items ?? new Map<string, bigint>();
  const small = (name: string) => {
    const value = values.get(name);
    return value === undefined || value > 0xffffffffn ? undefined : Number(value);
  };
  return {
    mailbox: found?.mailbox ?? mailbox,
    messages: small("MESSAGES"),
    recent: small("RECENT"),
    uidNext: small("UIDNEXT"),
    uidValidity: small("UIDVALIDITY"),
    unseen: small("UNSEEN"),
    highestModseq: values.get("HIGHESTMODSEQ"),
    items: values,
  };
}

/** INBOX is case-insensitive (RFC 3501 5.1); other names are compared exactly. */
function sameMailbox(a: string, b: string): boolean {
  return a === b || (a.toUpperCase() === "INBOX" && b.toUpperCase() === "INBOX");
}
