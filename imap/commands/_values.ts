/**
 * Reading numbers and UID sets out of response codes and data, as protocol facts: a server
 * that sends garbage gets an {@link ImapProtocolError}, never a TypeError.
 *
 * @module
 */

import { ImapProtocolError } from "../errors.ts";
import type { ImapValue } from "../types.ts";

/** Most members a server-sent UID set may expand to (COPYUID, VANISHED, MODIFIED). */
const MAX_MEMBERS = 10_000_000;

/** A number32 from a response value, or undefined when absent or malformed. */
export function numberOf(value: ImapValue | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d{1,10}$/.test(value)) return undefined;
  const number = Number(value);
  return number <= 0xffffffff ? number : undefined;
}

/** A mod-sequence from a response value, or undefined when absent or malformed. */
export function bigOf(value: ImapValue | undefined): bigint | undefined {
  if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) return undefined;
  return BigInt(value);
}

/**
 * Expands a UID set the server sent, keeping its order (COPYUID pairs source and destination
 * members by position, RFC 4315 3). Throws {@link ImapProtocolError} when it is malformed or
 * too large.
 */
export function serverUids(value: ImapValue | undefined, what: string): number[] {
  const text = typeof value === "string" ? value : "";
  if (!/^\d+(:\d+)?(,\d+(:\d+)?)*$/.test(text)) {
    throw new ImapProtocolError(`Cannot read ${what}: "${text.slice(0, 80)}" is not a UID set`);
  }
  const out: number[] = [];
  for (const item of text.split(",")) {
    const [first, last = first] = item.split(":").map(Number) as [number, number?];
    const step = last >= first ? 1 : -1;
    if (out.length + Math.abs(last - first) + 1 > MAX_MEMBERS) {
      throw new ImapProtocolError(`Cannot read ${what}: more than ${MAX_MEMBERS} UIDs`);
    }
    for (let uid = first;; uid += step) {
      out.push(uid);
      if (uid === last) break;
    }
  }
  return out;
}
