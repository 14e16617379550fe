/**
 * Authentication against the real Dovecot: CRAM-MD5, PLAIN (with and without SASL-IR, with an
 * authzid), LOGIN, XOAUTH2 (Dovecot checks the bearer token like a password against its static
 * passdb), the caller's order, GSSAPI refused, and a `-d imap` log that never shows a secret.
 */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotOptions, DovecotServer } from "../_helpers/dovecot.ts";
import { authenticateWith, ImapAuthError, ImapClient } from "../../imap/mod.ts";
import type { Credentials } from "../../imap/mod.ts";

const ALL_MECHANISMS: DovecotOptions = {
  extraConfig: "auth_mechanisms = plain login cram-md5 xoauth2\n",
};
const NO_SASL_IR: DovecotOptions = {
  extraConfig: "auth_mechanisms = plain login cram-md5 xoauth2\n" +
    "protocol imap {\n  imap_capability = IMAP4rev1 ID ENABLE IDLE UIDPLUS\n}\n",
};

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** Connects, authenticates with `names`, runs a command, logs out; returns mechanism and log. */
async function signIn(
  server: DovecotServer,
  names: readonly string[],
  credentials: (user: string) => Credentials,
): Promise<{ mechanism: string; log: string[]; user: string }> {
  const log: string[] = [];
  const user = server.newUser("auth");
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
    log: (line) => log.push(line),
  });
  try {
    const mechanism = await authenticateWith(client, names, credentials(user));
    await client.select("INBOX");
    return { mechanism, log, user };
  } finally {
    await client.logout();
  }
}

Deno.test("authenticateWith() logs in with each mechanism, with and without SASL-IR", async () => {
  for (const options of [ALL_MECHANISMS, NO_SASL_IR]) {
    const server = await dovecot(options);
    for (const name of ["CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2"]) {
      const { mechanism, log } = await signIn(server, [name], (user) => ({
        user,
        password: server.password,
        accessToken: server.password,
      }));
      assert.equal(mechanism, name);
      const command = name === "LOGIN" ? "LOGIN" : `AUTHENTICATE ${name}`;
      assert.ok(log.some((l) => new RegExp(`^C: A\\d+ ${command}`).test(l)), log.join("\n"));
    }
  }
});

Deno.test("authenticateWith() sends PLAIN's authzid: its own name is accepted, another refused", async () => {
  const server = await dovecot(ALL_MECHANISMS);
  await signIn(server, ["PLAIN"], (user) => ({ user, password: server.password, authzid: user }));
  const error = await signIn(
    server,
    ["PLAIN"],
    (user) => ({ user, password: server.password, authzid: "somebody-else" }),
  ).catch((e) => e);
  assert.ok(error instanceof ImapAuthError);
  assert.match(error.message, /PLAIN: AUTHENTICATE PLAIN refused by the server/);
});

Deno.test("authenticateWith() follows the caller's order and skips what cannot be used", async () => {
  const server = await dovecot({ extraConfig: "auth_mechanisms = plain login\n" });
  // No token: XOAUTH2 is skipped; the server has no CRAM-MD5: skipped too.
  const first = await signIn(
    server,
    ["XOAUTH2", "CRAM-MD5", "LOGIN", "PLAIN"],
    (user) => ({ user, password: server.password }),
  );
  assert.equal(first.mechanism, "LOGIN");
  const second = await signIn(server, ["plain", "login"], (user) => ({
    user,
    password: server.password,
  }));
  assert.equal(second.mechanism, "PLAIN");
});

Deno.test("authenticateWith() tries the next mechanism after a refusal and reports each", async () => {
  const server = await dovecot(ALL_MECHANISMS);
  const error = await signIn(server, ["CRAM-MD5", "PLAIN", "LOGIN"], (user) => ({
    user,
    password: "wrong-password",
  })).catch((e) => e);
  assert.ok(error instanceof ImapAuthError);
  for (const name of ["CRAM-MD5", "PLAIN", "LOGIN"]) {
    assert.match(error.message, new RegExp(`${name}: [^;]*AUTHENTICATIONFAILED`));
  }
  assert.ok(!error.message.includes("wrong-password"));
});

Deno.test("authenticateWith() refuses GSSAPI clearly and unknown names before sending anything", async () => {
  const server = await dovecot(ALL_MECHANISMS);
  const only = await signIn(server, ["GSSAPI"], (user) => ({ user, password: server.password }))
    .catch((e) => e);
  assert.ok(only instanceof ImapAuthError);
  assert.match(only.message, /GSSAPI: not supported by this client/);
  const fallback = await signIn(
    server,
    ["GSSAPI", "CRAM-MD5"],
    (user) => ({ user, password: server.password }),
  );
  assert.equal(fallback.mechanism, "CRAM-MD5");
  const unknown = await signIn(server, ["SCRAM-SHA-1"], (user) => ({ user, password: "x" }))
    .catch((e) => e);
  assert.ok(unknown instanceof ImapAuthError);
  assert.match(unknown.message, /"SCRAM-SHA-1" is not supported/);
  const nothing = await signIn(server, ["XOAUTH2"], (user) => ({ user, password: "x" }))
    .catch((e) => e);
  assert.match(nothing.message, /server offers AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=XOAUTH2/);
});

Deno.test("the -d imap log never shows a password, token or SASL response, in success or failure", async () => {
  for (const options of [ALL_MECHANISMS, NO_SASL_IR]) {
    const server = await dovecot(options);
    for (const name of ["CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2"]) {
      for (const password of [server.password, 'wr0ng "pass" wörd']) {
        const log: string[] = [];
        const user = server.newUser("log");
        const client = await ImapClient.connect({
          host: server.host,
          port: server.tlsPort,
          security: "tls",
          tls: { ca: server.certPem },
          log: (line) => log.push(line),
        });
        try {
          await authenticateWith(client, [name], {
            user,
            password,
            accessToken: password,
            authzid: user,
          }).catch((e) => {
            if (password === server.password) throw e;
          });
        } finally {
          await client.logout();
        }
        const text = log.join("\n");
        assert.ok(text.includes("***"), `${name}: the secret was masked, not dropped`);
        const challenges = log.filter((l) => l.startsWith("S: + ")).map((l) => l.slice(5));
        const secrets = [
          password,
          base64(password),
          base64(`${user}\0${user}\0${password}`),
          base64(`${user}\0${password}`).slice(4, 20),
          base64(`user=${user}\x01auth=Bearer ${password}\x01\x01`),
          `auth=Bearer ${password}`,
          ...challenges.flatMap((c) => {
            const challenge = atob(c.trim());
            const digest = createHmac("md5", password).update(challenge).digest("hex");
            return [digest, base64(`${user} ${digest}`)];
          }),
        ];
        for (const secret of secrets) {
          assert.ok(!text.includes(secret), `${name}: "${secret}" appears in the log:\n${text}`);
        }
      }
    }
  }
});
