import assert from "node:assert/strict";
import { cramMd5Response } from "../../../imap/auth/cram_md5.ts";
import { plainMessage } from "../../../imap/auth/plain.ts";
import { xoauth2Message } from "../../../imap/auth/xoauth2.ts";
import { refreshAccessToken } from "../../../imap/auth/oauth2.ts";
import { ImapAuthError } from "../../../imap/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("cramMd5Response() matches the example of RFC 2195", () => {
  const challenge = enc.encode("<1896.697170952@postoffice.reston.mci.net>");
  assert.equal(
    cramMd5Response("tim", "tanstaaftanstaaf", challenge),
    "tim b913a602c7eda7a495b4e6e7334d3890",
  );
});

Deno.test("plainMessage() joins authzid, user and password with NUL (RFC 4616)", () => {
  assert.equal(dec.decode(plainMessage("tim", "tanstaaf")), "\0tim\0tanstaaf");
  assert.equal(dec.decode(plainMessage("tim", "tanstaaf", "Ursel")), "Ursel\0tim\0tanstaaf");
});

Deno.test("xoauth2Message() writes user and bearer token between ^A separators", () => {
  assert.equal(
    dec.decode(
      xoauth2Message("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
    ),
    "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
  );
});

/** A fetch that answers with `status` and `body` and records the request. */
function fakeFetch(status: number, body: string, seen: Request[] = []): typeof fetch {
  return (input, init) => {
    seen.push(new Request(input, init));
    return Promise.resolve(new Response(body, { status }));
  };
}

Deno.test("refreshAccessToken() posts a refresh_token grant and returns the token", async () => {
  const seen: Request[] = [];
  const token = await refreshAccessToken({
    url: "https://oauth2.example.org/token",
    clientId: "id",
    clientSecret: "secret",
    refreshToken: "refresh",
    fetch: fakeFetch(200, '{"access_token":"ya29.new","expires_in":3599}', seen),
  });
  assert.equal(token.accessToken, "ya29.new");
  assert.ok(token.expiresAt!.getTime() > Date.now() + 3_500_000);
  assert.equal(seen[0]?.method, "POST");
  const form = new URLSearchParams(await seen[0]!.text());
  assert.deepEqual(Object.fromEntries(form), {
    grant_type: "refresh_token",
    client_id: "id",
    client_secret: "secret",
    refresh_token: "refresh",
  });
});

Deno.test("refreshAccessToken() reports the endpoint's error without the secrets", async () => {
  const error = await refreshAccessToken({
    url: "https://oauth2.example.org/token",
    clientId: "id",
    clientSecret: "s3cret",
    refreshToken: "r3fresh",
    fetch: fakeFetch(400, '{"error":"invalid_grant","error_description":"Token has been expired"}'),
  }).catch((e) => e);
  assert.ok(error instanceof ImapAuthError);
  assert.match(error.message, /HTTP 400 invalid_grant: Token has been expired/);
  assert.ok(!/s3cret|r3fresh/.test(error.message));
  const garbage = await refreshAccessToken({
    url: "https://oauth2.example.org/token",
    clientId: "id",
    refreshToken: "r",
    fetch: fakeFetch(200, "<html>"),
  }).catch((e) => e);
  assert.match(garbage.message, /no access_token in the reply/);
});

Deno.test("refreshAccessToken() talks to a real HTTP endpoint", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const form = new URLSearchParams(await request.text());
    return Response.json({ access_token: `token-for-${form.get("client_id")}` });
  });
  try {
    const token = await refreshAccessToken({
      url: `http://127.0.0.1:${server.addr.port}/token`,
      clientId: "me",
      refreshToken: "r",
    });
    assert.equal(token.accessToken, "token-for-me");
  } finally {
    await server.shutdown();
  }
});
