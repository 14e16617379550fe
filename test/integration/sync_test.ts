/**
 * End-to-end sync through the CLI against a real Dovecot: what users see on disk and on the
 * server after `offlineimap` runs. The server side is checked through doveadm, never through
 * the client under test.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { flagsOf, makeAccount, message, readFolder, toLf, uidOf } from "../_helpers/account.ts";

const NAME = /^\d+_\d+\.\d+\.[^,/]+,U=(\d+),FMD5=([0-9a-f]{32}):2,([A-Z]*)$/;
const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const enc = new TextEncoder();

Deno.test("sync downloads nested and non-ASCII folders byte-exact with flags and OfflineIMAP names", async () => {
  const server = await dovecot();
  const user = server.newUser("initial");
  const seeded: Record<string, Array<{ body: string; flags: string[] }>> = {
    "INBOX": [
      { body: message("inbox-1"), flags: [] },
      { body: message("inbox-2"), flags: ["\\Seen"] },
      {
        body: message("inbox-3", "8-bit body: Gr\u00fc\u00dfe\r\nline two"),
        flags: ["\\Seen", "\\Flagged"],
      },
    ],
    "Archive.2020": [{ body: message("arch-1"), flags: ["\\Seen", "\\Answered"] }],
    "G&AOQ-ste": [{ body: message("guest-1"), flags: ["\\Draft"] }],
  };
  for (const [box, messages] of Object.entries(seeded)) {
    for (const m of messages) await server.seed(user, box, m.body, { flags: m.flags });
  }
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    for (const [box, messages] of Object.entries(seeded)) {
      const files = await readFolder(`${account.mail}/${box}`);
      assert.equal(files.length, messages.length, box);
      const onServer = await server.listMessages(user, box);
      for (const file of files) {
        const m = NAME.exec(file.name);
        assert.ok(m, `OfflineIMAP-style name: ${file.name}`);
        assert.equal(m[2], md5(box), "FMD5 is the MD5 of the local folder name");
        const serverMessage = onServer.find((s) => s.uid === Number(m[1]));
        assert.ok(serverMessage, `UID ${m[1]} exists on the server`);
        assert.deepEqual(file.body, toLf(serverMessage.body), "body is the server's, with LF");
        const expected = serverMessage.flags.map((f) =>
          ({ "\\Seen": "S", "\\Flagged": "F", "\\Answered": "R", "\\Draft": "D" })[f] ?? ""
        ).sort().join("");
        assert.equal(flagsOf(file.name), expected);
        assert.equal(file.sub, expected.includes("S") ? "cur" : "new");
      }
    }
  } finally {
    await account.remove();
  }
});

Deno.test("a second sync transfers no message body and changes nothing", async () => {
  const server = await dovecot();
  const user = server.newUser("idempotent");
  for (let i = 0; i < 5; i++) {
    await server.seed(user, "INBOX", message(`idem-${i}`), { flags: i % 2 ? ["\\Seen"] : [] });
  }
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const before = await readFolder(`${account.mail}/INBOX`);
    const serverBefore = await server.listMessages(user, "INBOX");
    const second = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /BODY\.PEEK\[\]/, "no body was fetched");
    assert.doesNotMatch(
      second.stderr,
      /C: A\d+ (APPEND|UID STORE|EXPUNGE|UID EXPUNGE|CREATE)/,
      "nothing was written on the server",
    );
    assert.match(second.stderr, /C: A\d+ SELECT "?INBOX"? \(CONDSTORE\)/, "the log is complete");
    assert.deepEqual(
      (await readFolder(`${account.mail}/INBOX`)).map((f) => f.name),
      before.map((f) => f.name),
    );
    assert.deepEqual(await server.listMessages(user, "INBOX"), serverBefore);
  } finally {
    await account.remove();
  }
});

Deno.test("a message added locally is uploaded and its file name gains the new UID", async () => {
  const server = await dovecot();
  const user = server.newUser("upload");
  await server.seed(user, "INBOX", message("up-existing"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const text =
      "From: me@example.org\nSubject: written locally\nMessage-ID: <local-1@example.org>\n\nhello from mutt\n";
    await Deno.writeTextFile(`${account.mail}/INBOX/cur/1700000001.M2P2.host:2,S`, text);
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    const onServer = await server.listMessages(user, "INBOX");
    assert.equal(onServer.length, 2);
    const uploaded = onServer.find((m) => new TextDecoder().decode(m.body).includes("local-1"));
    assert.ok(uploaded, "the local message is on the server");
    assert.deepEqual(uploaded.body, enc.encode(text.replaceAll("\n", "\r\n")), "sent with CRLF");
    assert.deepEqual(uploaded.flags, ["\\Seen"]);
    const files = await readFolder(`${account.mail}/INBOX`);
    assert.equal(files.length, 2, "no duplicate locally");
    const renamed = files.find((f) => uidOf(f.name) === uploaded.uid);
    assert.ok(renamed, `a local file carries U=${uploaded.uid}: ${files.map((f) => f.name)}`);
    assert.match(renamed.name, NAME);
    assert.equal(new TextDecoder().decode(renamed.body), text);
    const third = await runCli(["-c", account.config]);
    assert.equal(third.code, 0);
    assert.equal((await server.listMessages(user, "INBOX")).length, 2, "not uploaded twice");
  } finally {
    await account.remove();
  }
});

Deno.test("flag changes travel both ways", async () => {
  const server = await dovecot();
  const user = server.newUser("flags");
  await server.seed(user, "INBOX", message("flag-1"));
  await server.seed(user, "INBOX", message("flag-2"), { flags: ["\\Seen"] });
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    // On the server: flag message 1. Locally: mark message 2 as answered.
    await server.setFlags(user, "INBOX", 1, ["\\Flagged"]);
    const local2 = (await readFolder(`${account.mail}/INBOX`)).find((f) => uidOf(f.name) === 2)!;
    await Deno.rename(local2.path, local2.path.replace(/:2,S$/, ":2,RS"));
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    const onServer = await server.listMessages(user, "INBOX");
    assert.deepEqual(onServer.find((m) => m.uid === 2)?.flags.sort(), ["\\Answered", "\\Seen"]);
    const files = await readFolder(`${account.mail}/INBOX`);
    const file1 = files.find((f) => uidOf(f.name) === 1)!;
    assert.equal(flagsOf(file1.name), "F");
    assert.equal(file1.sub, "new", "unseen stays in new/");
  } finally {
    await account.remove();
  }
});

Deno.test("deletions travel both ways", async () => {
  const server = await dovecot();
  const user = server.newUser("deletes");
  for (let i = 1; i <= 4; i++) await server.seed(user, "INBOX", message(`del-${i}`));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    await server.expunge(user, "INBOX", 1);
    const local4 = (await readFolder(`${account.mail}/INBOX`)).find((f) => uidOf(f.name) === 4)!;
    await Deno.remove(local4.path);
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await server.listMessages(user, "INBOX")).map((m) => m.uid), [2, 3]);
    assert.deepEqual((await readFolder(`${account.mail}/INBOX`)).map((f) => uidOf(f.name)).sort(), [
      2,
      3,
    ]);
  } finally {
    await account.remove();
  }
});

Deno.test("a UIDVALIDITY change skips that folder with exit status 2 and deletes nothing", async () => {
  const server = await dovecot();
  const user = server.newUser("uidvalidity");
  await server.seed(user, "INBOX", message("uv-inbox-1"));
  await server.seed(user, "Work", message("uv-work-1"));
  await server.seed(user, "Work", message("uv-work-2"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    await server.changeUidValidity(user, "Work", 12345);
    await server.seed(user, "INBOX", message("uv-inbox-2"));
    await server.seed(user, "Work", message("uv-work-3"));
    const workBefore = await readFolder(`${account.mail}/Work`);
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /Skipping folder "Work": UIDVALIDITY changed on the remote side/);
    assert.match(result.stderr, /LocalStatus-sqlite\/Work/, "names the status file to remove");
    assert.match(result.stderr, /FolderValidity\/Work/, "names the validity file to remove");
    assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 2, "other folders still sync");
    assert.deepEqual(
      (await readFolder(`${account.mail}/Work`)).map((f) => f.name),
      workBefore.map((f) => f.name),
    );
    assert.equal(
      (await server.listMessages(user, "Work")).length,
      3,
      "nothing deleted on the server",
    );
  } finally {
    await account.remove();
  }
});

Deno.test("STARTTLS on the plain port verifies the certificate and syncs", async () => {
  const server = await dovecot();
  const user = server.newUser("starttls");
  await server.seed(user, "INBOX", message("stls-1"));
  const account = await makeAccount(server, user, {
    tls:
      `remoteport = ${server.plainPort}\nssl = no\nstarttls = yes\nsslcacertfile = ${server.caFile}`,
  });
  try {
    const result = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /C: A\d+ STARTTLS/);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
  } finally {
    await account.remove();
  }
});
