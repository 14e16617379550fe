/**
 * The mechanisms: CRAM-MD5 (RFC 2195), PLAIN (RFC 4616), XOAUTH2, and the LOGIN command.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { ImapAuthError } from "../errors.ts";
import type { Credentials, Mechanism } from "./mechanism.ts";
import type { ImapClient } from "../client.ts";

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** CRAM-MD5: the password never crosses the wire. */
export const CRAM_MD5: Mechanism = {
  name: "CRAM-MD5",
  usable: (client, c) => client.has("AUTH=CRAM-MD5") && c.password !== undefined,
  run: (client, c) =>
    client.authenticate("CRAM-MD5", undefined, (challenge) => {
      const digest = createHmac("md5", c.password ?? "").update(DECODER.decode(challenge)).digest(
        "hex",
      );
      return ENCODER.encode(`${c.user} ${digest}`);
    }),
};

/** PLAIN: authzid NUL user NUL password. */
export const PLAIN: Mechanism = {
  name: "PLAIN",
  usable: (client, c) => client.has("AUTH=PLAIN") && c.password !== undefined,
  run: (client, c) =>
    client.authenticate(
      "PLAIN",
      ENCODER.encode(`${c.authzid ?? ""}\0${c.user}\0${c.password ?? ""}`),
      () => new Uint8Array(0),
    ),
};

/** XOAUTH2 with an access token. */
export const XOAUTH2: Mechanism = {
  name: "XOAUTH2",
  usable: (client, c) => client.has("AUTH=XOAUTH2") && c.accessToken !== undefined,
  run: (client, c) =>
    client.authenticate(
      "XOAUTH2",
      ENCODER.encode(`user=${c.user}\x01auth=Bearer ${c.accessToken ?? ""}\x01\x01`),
      // On failure the server sends a JSON error as a challenge; an empty answer ends it.
      () => new Uint8Array(0),
    ),
};

/** The IMAP LOGIN command (unless the server says LOGINDISABLED). */
export const LOGIN: Mechanism = {
  name: "LOGIN",
  usable: (client, c) => !client.has("LOGINDISABLED") && c.password !== undefined,
  run: (client, c) => client.login(c.user, c.password ?? ""),
};

/** Mechanisms by name, strongest first (OfflineIMAP's default order minus GSSAPI). */
export const MECHANISMS: ReadonlyMap<string, Mechanism> = new Map(
  [XOAUTH2, CRAM_MD5, PLAIN, LOGIN].map((m) => [m.name, m]),
);

/**
 * Tries `names` in order: each usable mechanism is attempted; the first success wins. Throws
 * ImapAuthError naming what was tried, or what the server offered when nothing was usable.
 */
export async function authenticateWith(
  client: ImapClient,
  names: readonly string[],
  credentials: Credentials,
): Promise<string> {
  const failures: string[] = [];
  for (const name of names) {
    const mechanism = MECHANISMS.get(name.toUpperCase());
    if (!mechanism) {
      throw new ImapAuthError(`Authentication mechanism "${name}" is not supported`);
    }
    if (!mechanism.usable(client, credentials)) continue;
    try {
      await mechanism.run(client, credentials);
      return mechanism.name;
    } catch (error) {
      if (!(error instanceof ImapAuthError)) throw error;
      failures.push(`${mechanism.name}: ${error.message}`);
    }
  }
  if (failures.length > 0) {
    throw new ImapAuthError(`All authentication types failed: ${failures.join("; ")}`);
  }
  const offered = [...client.capabilities].filter((c) => c.startsWith("AUTH=")).join(" ");
  throw new ImapAuthError(
    `No usable authentication mechanism: configured ${names.join(", ")}; server offers ${
      offered || "none"
    }${client.has("LOGINDISABLED") ? " (LOGINDISABLED)" : ""}`,
  );
}
