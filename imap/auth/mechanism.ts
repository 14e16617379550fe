/**
 * SASL mechanisms and the LOGIN command behind one small interface, tried in the order the
 * caller gives (`authenticate.ts`).
 *
 * @module
 */

import type { ImapClient } from "../client.ts";

/** Credentials a mechanism may use. */
export interface Credentials {
  /** User name (authentication identity). */
  readonly user: string;
  /** Password, for CRAM-MD5, PLAIN and LOGIN. */
  readonly password?: string;
  /** SASL authorisation identity (PLAIN authzid; OfflineIMAP's `remote_identity`). */
  readonly authzid?: string;
  /** OAuth2 access token (XOAUTH2). */
  readonly accessToken?: string;
}

/** One way to authenticate. */
export interface Mechanism {
  /** Name as in `auth_mechanisms`: `CRAM-MD5`, `PLAIN`, `LOGIN`, `XOAUTH2`. */
  readonly name: string;
  /** Whether the server and the credentials allow this mechanism. */
  usable(client: ImapClient, credentials: Credentials): boolean;
  /** Authenticates or throws ImapAuthError. */
  run(client: ImapClient, credentials: Credentials): Promise<void>;
}
