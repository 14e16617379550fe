/**
 * AUTHENTICATE CRAM-MD5 (RFC 2195): the password never crosses the wire, only an HMAC-MD5 of
 * the server's challenge.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import type { Mechanism } from "./mechanism.ts";

const ENCODER = new TextEncoder();

/** The CRAM-MD5 response: `user SP hex(HMAC-MD5(password, challenge))`. */
export function cramMd5Response(user: string, password: string, challenge: Uint8Array): string {
  const digest = createHmac("md5", password).update(challenge).digest("hex");
  return `${user} ${digest}`;
}

/** CRAM-MD5, when the server offers it and a password is known. */
export const CRAM_MD5: Mechanism = {
  name: "CRAM-MD5",
  usable: (client, c) => client.has("AUTH=CRAM-MD5") && c.password !== undefined,
  run: (client, c) =>
    client.authenticate(
      "CRAM-MD5",
      undefined,
      (challenge) => ENCODER.encode(cramMd5Response(c.user, c.password ?? "", challenge)),
    ),
};
