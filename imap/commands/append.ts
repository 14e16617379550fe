/**
 * APPEND (RFC 3501 6.3.11) with a streamed literal: synchronising, or LITERAL+/LITERAL-
 * (RFC 7888) when offered; APPENDUID (RFC 4315) in the result.
 *
 * @module
 */

import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import { flagArgs } from "./store.ts";
import { numberOf } from "./_values.ts";

/** A message to upload. */
export interface AppendMessage {
  /** Exact byte count `open()` yields (the literal announces it before the bytes). */
  readonly size: number;
  /** Opens the message (CRLF line endings); called once, when the bytes are due. */
  readonly open: () => ReadableStream<Uint8Array>;
  /** Flags and keywords to set, e.g. `\Seen`. */
  readonly flags?: readonly string[];
  /** INTERNALDATE; sent in UTC to the second. */
  readonly date?: Date;
}

/** Where the server put an appended message (APPENDUID). */
export interface AppendResult {
  /** UIDVALIDITY of the mailbox the message went to. */
  readonly uidValidity: number;
  /** The new message's UID. */
  readonly uid: number;
}

const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Formats a date as an IMAP date-time in UTC: `17-Jul-1996 09:44:25 +0000`. */
export function formatInternalDate(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(date.getUTCDate())}-${MONTH_NAMES[date.getUTCMonth()]}-${date.getUTCFullYear()} ${
    p(date.getUTCHours())
  }:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

/**
 * APPEND `message` to `mailbox`. Returns APPENDUID's values when the server sends them
 * (with UIDPLUS), else undefined. If `open()` yields a different byte count, the connection is
 * closed (the literal's length was promised) and the command fails. Throws ImapCommandError
 * when refused (`TRYCREATE` when the mailbox is missing).
 */
export async function append(
  conn: Connection,
  mailbox: string,
  message: AppendMessage,
): Promise<AppendResult | undefined> {
  if (!Number.isSafeInteger(message.size) || message.size < 0) {
    throw new RangeError(`Cannot append a message of size "${message.size}"`);
  }
  const args: Arg[] = [{ string: mailbox }];
  if (message.flags && message.flags.length > 0) args.push(flagArgs(message.flags));
  if (message.date) args.push({ atom: `"${formatInternalDate(message.date)}"` });
  args.push({ stream: { size: message.size, open: message.open } });
  const completion = await conn.run("APPEND", args);
  const code = completion.code;
  if (code?.name !== "APPENDUID") return undefined;
  const uidValidity = numberOf(code.args[0]);
  const uid = numberOf(code.args[1]);
  return uidValidity !== undefined && uid !== undefined && uid > 0
    ? { uidValidity, uid }
    : undefined;
}
