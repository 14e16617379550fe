/**
 * LOGIN (RFC 3501 6.2.3) and AUTHENTICATE (RFC 3501 6.2.2, SASL-IR RFC 4959). Credentials are
 * refused on an unencrypted connection unless the caller allowed it, and never reach the log.
 *
 * @module
 */

import { ImapAuthError, ImapCommandError } from "../errors.ts";
import type { Arg } from "../encoder.ts";
import type { Connection } from "../connection.ts";
import { replyText } from "../options.ts";

/** Throws unless credentials may be sent on this connection. */
function assertMayAuthenticate(conn: Connection, what: string): void {
  if (conn.secure || conn.options.allowInsecureAuth) return;
  throw new ImapAuthError(
    `Refusing ${what} to "${conn.options.host}:${conn.options.port}": the connection is not encrypted`,
  );
}

function authError(what: string, error: unknown): Error {
  if (error instanceof ImapCommandError) {
    return new ImapAuthError(
      `${what} refused by the server: ${error.code ? `[${error.code}] ` : ""}${error.text}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Servers often send the new capabilities in the OK code; ask only when they did not. */
async function refreshCapabilities(conn: Connection, before: number): Promise<void> {
  if (conn.capabilityUpdates === before) await conn.capability();
}

/** LOGIN; both arguments are secrets. Throws ImapAuthError when refused. */
export async function login(conn: Connection, user: string, password: string): Promise<void> {
  assertMayAuthenticate(conn, "LOGIN");
  const before = conn.capabilityUpdates;
  try {
    await conn.run("LOGIN", [{ secret: { string: user } }, { secret: { string: password } }]);
  } catch (error) {
    throw authError("LOGIN", error);
  }
  await refreshCapabilities(conn, before);
}

/**
 * AUTHENTICATE `mechanism`. `initial` is the client's first response (sent on the command line
 * with SASL-IR, else after the first empty challenge); `respond` answers each further challenge
 * (decoded) with raw bytes. Everything sent is masked in the log. Throws ImapAuthError when the
 * server refuses.
 */
export async function authenticate(
  conn: Connection,
  mechanism: string,
  initial: Uint8Array | undefined,
  respond: (challenge: Uint8Array) => Promise<Uint8Array> | Uint8Array,
): Promise<void> {
  assertMayAuthenticate(conn, `AUTHENTICATE ${mechanism}`);
  const args: Arg[] = [{ atom: mechanism }];
  let initialPending = initial;
  if (initial !== undefined && conn.has("SASL-IR")) {
    // RFC 4959: an empty initial response is written "=".
    args.push({ secret: { atom: initial.length === 0 ? "=" : base64(initial) } });
    initialPending = undefined;
  }
  const before = conn.capabilityUpdates;
  try {
    await conn.run(`AUTHENTICATE`, args, {
      onContinuation: async (text) => {
        let answer: Uint8Array;
        if (initialPending !== undefined) {
          answer = initialPending;
          initialPending = undefined;
        } else {
          const challenge = unbase64(text.trim());
          if (challenge === undefined) return replyText("*", "*"); // RFC 3501: cancels
          answer = await respond(challenge);
        }
        return replyText(base64(answer), "***");
      },
    });
  } catch (error) {
    throw authError(`AUTHENTICATE ${mechanism}`, error);
  }
  await refreshCapabilities(conn, before);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function unbase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
