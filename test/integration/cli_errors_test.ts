/**
 * Bad input ends with one clear error line (plus a hint), OfflineIMAP's exit status, and no
 * stack trace.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, message } from "../_helpers/account.ts";

function assertCleanError(stderr: string, pattern: RegExp): void {
  const errorLines = stderr.split("\n").filter((l) => l.startsWith("ERROR"));
  assert.equal(errorLines.length, 1, stderr);
  assert.match(errorLines[0]!, pattern);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(stderr, /internal error/);
}

Deno.test("a missing config file exits 1 naming the file", async () => {
  const result = await runCli(["-c", "/nonexistent/offlineimaprc"]);
  assert.equal(result.code, 1);
  assertCleanError(result.stderr, /Config file "\/nonexistent\/offlineimaprc" does not exist/);
});

Deno.test("an unknown account in -a exits 1 listing the valid ones", async () => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("unknown"));
  try {
    const result = await runCli(["-c", account.config, "-a", "Nope"]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, /The account "Nope" does not exist/);
    assert.match(result.stderr, /Test/);
  } finally {
    await account.remove();
  }
});

Deno.test("an unknown command-line flag exits 2", async () => {
  const result = await runCli(["--no-such-flag"]);
  assert.equal(result.code, 2);
  assertCleanError(result.stderr, /no such option/);
});

Deno.test("an unreachable server exits 1 with the address and a hint", async () => {
  const server = await dovecot();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const account = await makeAccount(server, server.newUser("unreachable"), {
    tls: `remoteport = ${port}\nssl = yes\nsslcacertfile = ${server.caFile}`,
  });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, new RegExp(`Cannot connect to "localhost:${port}"`));
    assert.match(result.stderr, /hint: check remotehost, remoteport and ssl/);
  } finally {
    await account.remove();
  }
});

Deno.test("a wrong password exits 1 and never prints the password", async () => {
  const server = await dovecot();
  const user = server.newUser("badpass");
  await server.seed(user, "INBOX", message("bp"));
  const account = await makeAccount(server, user, { remote: "" });
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace(`remotepass = ${server.password}`, "remotepass = Wr0ngSecret"),
    );
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, /Cannot log in to "localhost:\d+" as "badpass-\d+"/);
    // With -d imap the whole protocol is logged (and the stack, as -d asks), never the secret.
    const traced = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(traced.code, 1);
    assert.match(traced.stderr, /C: A\d+ (LOGIN|AUTHENTICATE)/);
    assert.ok(!traced.stderr.includes("Wr0ngSecret"), "password not in the log");
    assert.ok(!traced.stdout.includes("Wr0ngSecret"));
  } finally {
    await account.remove();
  }
});

Deno.test("a certificate that does not verify is refused with exit 1", async () => {
  const server = await dovecot();
  // No sslcacertfile: the system store, which does not know the test CA.
  const account = await makeAccount(server, server.newUser("untrusted"), {
    tls: `remoteport = ${server.tlsPort}\nssl = yes`,
  });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, /Cannot verify certificate of "localhost:\d+"/);
    assert.match(result.stderr, /hint: .*sslcacertfile/);
  } finally {
    await account.remove();
  }
});

Deno.test("a certificate presented under another host name is refused", async () => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("hostname"));
  try {
    const text = await Deno.readTextFile(account.config);
    // The certificate names localhost and 127.0.0.1; 127.0.0.2 reaches the same server.
    await Deno.writeTextFile(
      account.config,
      text.replace("remotehost = localhost", "remotehost = 127.0.0.2"),
    );
    const result = await runCli(["-c", account.config]);
    if (result.stderr.includes("Cannot connect")) return; // 127.0.0.2 not routable here
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, /Cannot verify certificate of "127\.0\.0\.2:\d+"/);
  } finally {
    await account.remove();
  }
});

Deno.test("a pinned fingerprint accepts the self-signed certificate", async () => {
  const server = await dovecot();
  const user = server.newUser("pinned");
  await server.seed(user, "INBOX", message("pin"));
  const pinned = server.fingerprintSha1.toUpperCase().match(/../g)!.join(":");
  const account = await makeAccount(server, user, {
    tls: `remoteport = ${server.tlsPort}\nssl = yes\ncert_fingerprint = ${pinned}`,
  });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
  } finally {
    await account.remove();
  }
});

Deno.test("a fingerprint mismatch exits 1 showing the server's SHA-256 fingerprint", async () => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("mismatch"), {
    tls: `remoteport = ${server.tlsPort}\nssl = yes\ncert_fingerprint = ${"ab".repeat(32)}`,
  });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, /fingerprint does not match/);
    assert.ok(result.stderr.includes(server.fingerprintSha256), result.stderr);
  } finally {
    await account.remove();
  }
});
