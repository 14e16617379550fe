/**
 * Commands of any state: NOOP, CHECK, ID (RFC 2971), ENABLE (RFC 5161).
 *
 * @module
 */

import { ImapCapabilityError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import type { ImapValue } from "../types.ts";

/** NOOP: gives the server a chance to report changes (to `onUnsolicited`). */
export async function noop(conn: Connection): Promise<void> {
  await conn.run("NOOP", []);
}

/** CHECK (RFC 3501 6.4.1): a checkpoint of the selected mailbox. */
export async function check(conn: Connection): Promise<void> {
  await conn.run("CHECK", []);
}

/** What ID returns: field names (lower case) to values, or null when the server says NIL. */
export type IdFields = Record<string, string | null>;

/**
 * ID (RFC 2971): sends our fields (or NIL) and returns the server's. Throws
 * ImapCapabilityError when the server does not offer ID.
 */
export async function id(
  conn: Connection,
  fields: Readonly<Record<string, string>> | null,
): Promise<IdFields | null> {
  if (!conn.has("ID")) throw new ImapCapabilityError("ID", "ID");
  const args: Arg[] = fields === null ? [{ atom: "NIL" }] : [{
    list: Object.entries(fields).flatMap(([k, v]) => [{ string: k }, { string: v }]),
  }];
  let result: IdFields | null = null;
  await conn.run("ID", args, {
    exclusive: "id",
    claim: (r) => {
      if (r.kind !== "other" || r.keyword !== "ID") return false;
      result = toFields(r.values[0]);
      return true;
    },
  });
  return result;
}

function toFields(value: ImapValue | undefined): IdFields | null {
  if (!Array.isArray(value)) return null;
  const out: IdFields = {};
  for (let i = 0; i + 1 < value.length; i += 2) {
    const key = text(value[i]);
    if (key === undefined) continue;
    out[key.toLowerCase()] = text(value[i + 1]) ?? null;
  }
  return out;
}

function text(value: ImapValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

/**
 * ENABLE (RFC 5161) `capabilities`, e.g. `QRESYNC`, `UTF8=ACCEPT`. Returns those the server
 * enabled by this command. Throws ImapCapabilityError when the server does not offer ENABLE.
 */
export async function enable(
  conn: Connection,
  capabilities: readonly string[],
): Promise<ReadonlySet<string>> {
  if (!conn.has("ENABLE")) throw new ImapCapabilityError("ENABLE", "ENABLE");
  const enabled = new Set<string>();
  await conn.run("ENABLE", capabilities.map((atom) => ({ atom })), {
    exclusive: "enable",
    claim: (r) => {
      if (r.kind !== "enabled") return false;
      for (const c of r.capabilities) enabled.add(c.toUpperCase());
      return true;
    },
  });
  return enabled;
}
