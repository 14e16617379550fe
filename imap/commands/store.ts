/**
 * UID STORE (RFC 3501 6.4.6) with UNCHANGEDSINCE and the MODIFIED response code (RFC 7162
 * 3.1.3).
 *
 * @module
 */

import { ImapCapabilityError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { FetchData, StoreResult } from "../types.ts";
import { serverUids } from "./_values.ts";

/** A flag or keyword: `\Seen`, `$Label1` (printable atom characters after one optional `\`). */
const FLAG = /^\\?[!#$&'+-Z^-z|~]+$/;

/** Throws a TypeError for a flag that is not an atom (it would break the command syntax). */
export function flagArgs(flags: readonly string[]): Arg {
  for (const flag of flags) {
    if (!FLAG.test(flag)) throw new TypeError(`Cannot send flag "${flag}": not an IMAP flag`);
  }
  return { list: flags.map((atom) => ({ atom })) };
}

/** Options of {@link uidStore}. */
export interface StoreOptions {
  /** `.SILENT` (default true): no FETCH response for each message. */
  readonly silent?: boolean;
  /** Only messages not changed since this mod-sequence (needs CONDSTORE). */
  readonly unchangedSince?: bigint;
}

/**
 * UID STORE `set` `+FLAGS` / `-FLAGS` / `FLAGS` (operation `+`, `-`, or `""` to replace).
 * Returns the FETCH responses and the UIDs refused because they changed since
 * `unchangedSince`. Throws ImapCapabilityError for UNCHANGEDSINCE without CONDSTORE.
 */
export async function uidStore(
  conn: Connection,
  set: string,
  operation: "+" | "-" | "",
  flags: readonly string[],
  options: StoreOptions = {},
): Promise<StoreResult> {
  const args: Arg[] = [{ atom: set }];
  if (options.unchangedSince !== undefined) {
    if (!conn.has("CONDSTORE")) throw new ImapCapabilityError("UNCHANGEDSINCE", "CONDSTORE");
    args.push({ atom: `(UNCHANGEDSINCE ${options.unchangedSince})` });
  }
  args.push({ atom: `${operation}FLAGS${options.silent === false ? "" : ".SILENT"}` });
  args.push(flagArgs(flags));
  const fetched: FetchData[] = [];
  // A silent STORE claims nothing, so any number of them pipeline freely; a loud one gets
  // FETCH responses that only order tells apart from another FETCH's.
  const completion = await conn.run(
    "UID STORE",
    args,
    options.silent === false
      ? {
        exclusive: "fetch",
        claim: (r) => {
          if (r.kind !== "fetch") return false;
          fetched.push(r.data);
          return true;
        },
      }
      : {},
  );
  const modified = completion.code?.name === "MODIFIED"
    ? serverUids(completion.code.args[0], "MODIFIED")
    : [];
  return { fetched, modified };
}
