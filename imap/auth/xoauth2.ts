/**
 * AUTHENTICATE XOAUTH2 (Google's and Microsoft's OAuth2 SASL mechanism) with an access token.
 *
 * @module
 */

import type { Mechanism } from "./mechanism.ts";

const ENCODER = new TextEncoder();

/** The XOAUTH2 initial response: `user=U ^A auth=Bearer TOKEN ^A ^A`. */
export function xoauth2Message(user: string, accessToken: string): Uint8Array {
  return ENCODER.encode(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`);
}

/** XOAUTH2, when the server offers it and an access token is known. */
export const XOAUTH2: Mechanism = {
  name: "XOAUTH2",
  usable: (client, c) => client.has("AUTH=XOAUTH2") && c.accessToken !== undefined,
  run: (client, c) =>
    client.authenticate(
      "XOAUTH2",
      xoauth2Message(c.user, c.accessToken ?? ""),
      // On failure the server sends a JSON error as a challenge; an empty answer ends it.
      () => new Uint8Array(0),
    ),
};
