/**
 * The LOGIN command (RFC 3501 6.2.3) as a mechanism: usable unless the server says
 * LOGINDISABLED.
 *
 * @module
 */

import type { Mechanism } from "./mechanism.ts";

/** LOGIN, when the server allows it and a password is known. */
export const LOGIN: Mechanism = {
  name: "LOGIN",
  usable: (client, c) => !client.has("LOGINDISABLED") && c.password !== undefined,
  run: (client, c) => client.login(c.user, c.password ?? ""),
};
