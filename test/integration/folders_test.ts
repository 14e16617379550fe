/**
 * Folder structure against Dovecot: `nametrans` both ways with folders created on either side,
 * the round-trip refusal, and `reference`.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, message, readFolder, uidOf, writeLocalFolder } from "../_helpers/account.ts";

Deno.test("nametrans both ways: folders created on either side get the translated names", async () => {
  const server = await dovecot();
  const user = server.newUser("nametrans");
  await server.seed(user, "INBOX", message("nt-inbox"));
  await server.seed(user, "Work", message("nt-work"));
  const account = await makeAccount(server, user, {
    remote: "nametrans = lambda f: f if f == 'INBOX' else 'Remote-' + f",
    local: "nametrans = lambda f: re.sub('^Remote-', '', f)",
  });
  try {
    await writeLocalFolder(account.mail, "Remote-Notes", "nt-notes");
    const first = await runCli(["-c", account.config]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual((await readFolder(`${account.mail}/Remote-Work`)).length, 1);
    assert.deepEqual(
      (await server.listMessages(user, "Notes")).map((m) => m.uid),
      [1],
      "the local folder reached the server as Notes",
    );
    assert.ok(!(await server.listMailboxes(user)).includes("Remote-Notes"));
    const files = await readFolder(`${account.mail}/Remote-Notes`);
    assert.deepEqual(files.map((f) => uidOf(f.name)), [1]);
    const second = await runCli(["-c", account.config]);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout + second.stderr, /[Cc]reat/, "nothing created again");
    assert.deepEqual((await server.listMailboxes(user)).sort(), ["INBOX", "Notes", "Work"]);
  } finally {
    await account.remove();
  }
});

Deno.test("a nametrans pair that does not round-trip is refused and creates nothing on the server", async () => {
  const server = await dovecot();
  const user = server.newUser("noroundtrip");
  await server.seed(user, "INBOX", message("rt-inbox"));
  const account = await makeAccount(server, user, {
    remote: "nametrans = lambda f: f.lower() if f != 'INBOX' else f",
  });
  try {
    await writeLocalFolder(account.mail, "Notes", "rt-notes");
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /Refusing to create folder "Notes" on the server for local folder "Notes": it would come back as "notes"/,
    );
    assert.match(result.stderr, /hint: make the nametrans of the two repositories inverse/);
    assert.deepEqual(await server.listMailboxes(user), ["INBOX"]);
    assert.equal((await readFolder(`${account.mail}/Notes`)).length, 1, "local mail untouched");
  } finally {
    await account.remove();
  }
});

Deno.test("reference: folders are listed under it and created on the server with its prefix", async () => {
  const server = await dovecot();
  const user = server.newUser("reference");
  await server.seed(user, "INBOX", message("rf-inbox"));
  await server.seed(user, "Archive.Old", message("rf-old"));
  await server.seed(user, "Elsewhere", message("rf-elsewhere"));
  const account = await makeAccount(server, user, {
    remote: [
      "reference = Archive",
      "folderfilter = lambda f: f != 'Archive'",
      "nametrans = lambda f: re.sub(r'^Archive\\.', '', f)",
    ].join("\n"),
  });
  try {
    await writeLocalFolder(account.mail, "New", "rf-new");
    const first = await runCli(["-c", account.config]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await readFolder(`${account.mail}/Old`)).length, 1);
    const boxes = (await server.listMailboxes(user)).sort();
    assert.deepEqual(boxes, ["Archive", "Archive.New", "Archive.Old", "Elsewhere", "INBOX"]);
    assert.deepEqual((await server.listMessages(user, "Archive.New")).map((m) => m.uid), [1]);
    assert.deepEqual(
      (await readFolder(`${account.mail}/New`)).map((f) => uidOf(f.name)),
      [1],
      "the upload went to Archive.New in the same run",
    );
    for (const outside of ["Elsewhere", "INBOX"]) {
      await assert.rejects(Deno.stat(`${account.mail}/${outside}`), Deno.errors.NotFound);
    }
    const second = await runCli(["-c", account.config]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual((await server.listMailboxes(user)).sort(), boxes, "nothing created again");
  } finally {
    await account.remove();
  }
});
