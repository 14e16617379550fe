/**
 * AUTHENTICATE PLAIN (RFC 4616): `authzid NUL user NUL password`, with the authorisation
 * identity from OfflineIMAP's `remote_identity`.
 *
 * @module
 */

import type { Mechanism } from "./mechanism.ts";

const ENCODER = new TextEncoder();

/** The PLAIN message. */
export function plainMessage(user: string, password: string, authzid = ""): Uint8Array {
  return ENCODER.encode(`${authzid}\0${user}\0${password}`);
}

/** PLAIN, when the server offers it and a password is known. */
export const PLAIN: Mechanism = {
  name: "PLAIN",
  usable: (client, c) => client.has("AUTH=PLAIN") && c.password !== undefined,
  run: (client, c) =>
    client.authenticate(
      "PLAIN",
      plainMessage(c.user, c.password ?? "", c.authzid),
      () => new Uint8Array(0),
    ),
};
