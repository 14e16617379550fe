/**
 * Authentication in the caller's order (OfflineIMAP's `auth_mechanisms`): each usable
 * mechanism is tried until one succeeds.
 *
 * @module
 */

import { ImapAuthError } from "../errors.ts";
import type { ImapClient } from "../client.ts";
import { CRAM_MD5 } from "./cram_md5.ts";
import { LOGIN } from "./login.ts";
import type { Credentials, Mechanism } from "./mechanism.ts";
import { PLAIN } from "./plain.ts";
import { XOAUTH2 } from "./xoauth2.ts";

/** Mechanisms by name, strongest first (OfflineIMAP's default order, GSSAPI left out). */
export const MECHANISMS: ReadonlyMap<string, Mechanism> = new Map(
  [XOAUTH2, CRAM_MD5, PLAIN, LOGIN].map((m) => [m.name, m]),
);

/** The default order for `auth_mechanisms`. */
export const DEFAULT_MECHANISMS: readonly string[] = [...MECHANISMS.keys()];

/**
 * Tries `names` in order: each usable mechanism is attempted; the first success wins and its
 * name is returned. GSSAPI is skipped (this client has no Kerberos) and named in the error if
 * nothing else works. Throws ImapAuthError naming what was tried and why it failed, or what
 * the server offered when nothing was usable; an unknown name is an ImapAuthError before
 * anything is sent.
 */
export async function authenticateWith(
  client: ImapClient,
  names: readonly string[],
  credentials: Credentials,
): Promise<string> {
  const wanted = names.map((name) => name.toUpperCase());
  for (const name of wanted) {
    if (name !== "GSSAPI" && !MECHANISMS.has(name)) {
      throw new ImapAuthError(
        `Authentication mechanism "${name}" is not supported (supported: ${
          [...MECHANISMS.keys()].join(", ")
        })`,
      );
    }
  }
  const failures: string[] = [];
  for (const name of wanted) {
    const mechanism = MECHANISMS.get(name);
    if (!mechanism) {
      failures.push("GSSAPI: not supported by this client (no Kerberos)");
      continue;
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
  const offered = [...client.capabilities].filter((c) => c.startsWith("AUTH=")).join(" ");
  const tried = failures.length > 0 ? `; ${failures.join("; ")}` : "";
  throw new ImapAuthError(
    `Cannot authenticate: no mechanism of ${wanted.join(", ")} succeeded (server offers ${
      offered || "no AUTH= mechanism"
    }${client.has("LOGINDISABLED") ? ", LOGINDISABLED" : ""})${tried}`,
  );
}
