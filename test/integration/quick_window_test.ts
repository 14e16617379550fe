/**
 * Quick sync (`-q`) and the message window (`maxage`, `maxsize`) against Dovecot.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import {
  flagsOf,
  makeAccount,
  message,
  readFolder,
  uidOf,
  writeLocalFolder,
} from "../_helpers/account.ts";

/** A `-d imap` trace line listing every message's flags (no CHANGEDSINCE). */
const FULL_LISTING = /UID FETCH 1:\* \(UID FLAGS\)\s*$/m;

/** UID and flag letters of each file, by UID. */
function byUid(files: readonly { name: string }[]): Array<[number | undefined, string]> {
  return files.map((f): [number | undefined, string] => [uidOf(f.name), flagsOf(f.name)])
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

Deno.test("a quick sync skips an unchanged folder without listing its messages", async () => {
  const server = await dovecot();
  const user = server.newUser("quickskip");
  await server.seed(user, "INBOX", message("qs-1"));
  await server.seed(user, "Other", message("qs-2"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const quick = await runCli(["-c", account.config, "-q", "-d", "imap"]);
    assert.equal(quick.code, 0, quick.stderr);
    assert.match(quick.stdout, /Skipping INBOX \[Test\] \(not changed\)/);
    assert.doesNotMatch(quick.stderr, /UID FETCH 1:\*/, "no flag listing");
  } finally {
    await account.remove();
  }
});

Deno.test("a quick sync picks up a new server message and a local flag change", async () => {
  const server = await dovecot();
  const user = server.newUser("quicknew");
  await server.seed(user, "INBOX", message("qn-1"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    await server.seed(user, "INBOX", message("qn-2"));
    const file = (await readFolder(`${account.mail}/INBOX`))[0]!;
    await Deno.rename(file.path, file.path.replace(/:2,$/, ":2,F"));
    const quick = await runCli(["-c", account.config, "-q"]);
    assert.equal(quick.code, 0, quick.stderr);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 2, "new message downloaded");
    const onServer = await server.listMessages(user, "INBOX");
    assert.deepEqual(onServer.find((m) => m.uid === uidOf(file.name))?.flags, ["\\Flagged"]);
  } finally {
    await account.remove();
  }
});

Deno.test("a quick sync catches a server-side flag change through HIGHESTMODSEQ", async () => {
  const server = await dovecot();
  const user = server.newUser("quickmodseq");
  await server.seed(user, "INBOX", message("qm-1"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    assert.equal((await runCli(["-c", account.config, "-q"])).code, 0, "records the summary");
    await server.setFlags(user, "INBOX", 1, ["\\Seen", "\\Flagged"]);
    const quick = await runCli(["-c", account.config, "-q"]);
    assert.equal(quick.code, 0, quick.stderr);
    const file = (await readFolder(`${account.mail}/INBOX`))[0]!;
    assert.equal(flagsOf(file.name), "FS");
  } finally {
    await account.remove();
  }
});

Deno.test("a full sync of a server folder unchanged by HIGHESTMODSEQ lists no flags and writes nothing", async () => {
  const server = await dovecot();
  const user = server.newUser("fullknown");
  await server.seed(user, "INBOX", message("fk-1"));
  await server.seed(user, "INBOX", message("fk-2"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const state = `${account.metadata}/Repository-Remote/QuickSync/INBOX`;
    const status = `${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`;
    const before = [await Deno.stat(state), await Deno.stat(status)].map((s) => s.mtime);
    const files = (await readFolder(`${account.mail}/INBOX`)).map((f) => f.name);
    const again = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /HIGHESTMODSEQ/, "the summary came from the server");
    assert.doesNotMatch(again.stderr, /UID FETCH 1:\*/, "no flag listing");
    assert.deepEqual([await Deno.stat(state), await Deno.stat(status)].map((s) => s.mtime), before);
    assert.deepEqual((await readFolder(`${account.mail}/INBOX`)).map((f) => f.name), files);
  } finally {
    await account.remove();
  }
});

Deno.test("a full sync after server changes lists only what changed since HIGHESTMODSEQ and applies it", async () => {
  const server = await dovecot();
  const user = server.newUser("fullmodseq");
  for (const id of ["fm-1", "fm-2", "fm-3", "fm-4"]) await server.seed(user, "INBOX", message(id));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    // A flag change and a new message: the changed messages are all there is to list.
    await server.setFlags(user, "INBOX", 1, ["\\Seen", "\\Flagged"]);
    await server.seed(user, "INBOX", message("fm-5"));
    const changed = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stderr, /UID FETCH 1:\* \(UID FLAGS\) \(CHANGEDSINCE \d+\)/);
    assert.doesNotMatch(changed.stderr, FULL_LISTING, "no full listing");
    assert.doesNotMatch(changed.stderr, /UID SEARCH ALL/, "nothing went away");
    assert.deepEqual(
      byUid(await readFolder(`${account.mail}/INBOX`)),
      [[1, "FS"], [2, ""], [3, ""], [4, ""], [5, ""]],
    );
    // An expunge and a flag change: the UID list tells what went away.
    await server.expunge(user, "INBOX", 3);
    await server.setFlags(user, "INBOX", 2, ["\\Answered"]);
    const expunged = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(expunged.code, 0, expunged.stderr);
    assert.match(expunged.stderr, /CHANGEDSINCE/);
    assert.match(expunged.stderr, /UID SEARCH ALL/);
    assert.doesNotMatch(expunged.stderr, FULL_LISTING, "no full listing");
    assert.deepEqual(
      byUid(await readFolder(`${account.mail}/INBOX`)),
      [[1, "FS"], [2, "R"], [4, ""], [5, ""]],
    );
  } finally {
    await account.remove();
  }
});

Deno.test("a full sync lists the whole folder when the status lost a message the server kept", async () => {
  const server = await dovecot();
  const user = server.newUser("fullgap");
  for (const id of ["fg-1", "fg-2", "fg-3"]) await server.seed(user, "INBOX", message(id));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    // Another program dropped a record; the saved summary still says the server is as it was.
    const status = `${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`;
    const db = new DatabaseSync(status);
    db.exec("DELETE FROM status WHERE id = 2");
    db.close();
    await server.setFlags(user, "INBOX", 1, ["\\Flagged"]);
    const full = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /CHANGEDSINCE/);
    assert.match(full.stderr, FULL_LISTING, "listed in full");
    assert.deepEqual(
      byUid(await readFolder(`${account.mail}/INBOX`)),
      [[1, "F"], [2, ""], [3, ""]],
    );
    const check = new DatabaseSync(status, { readOnly: true });
    const ids = check.prepare("SELECT id FROM status ORDER BY id").all().map((r) => r.id);
    check.close();
    assert.deepEqual(ids, [1, 2, 3], "the record is back");
    assert.equal((await server.listMessages(user, "INBOX")).length, 3, "nothing uploaded twice");
  } finally {
    await account.remove();
  }
});

Deno.test("a damaged quick-sync record only costs a full listing", async () => {
  const server = await dovecot();
  const user = server.newUser("fullbadstate");
  for (const id of ["fb-1", "fb-2"]) await server.seed(user, "INBOX", message(id));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const state = `${account.metadata}/Repository-Remote/QuickSync/INBOX`;
    const saved = JSON.parse(await Deno.readTextFile(state));
    await Deno.writeTextFile(
      state,
      JSON.stringify({ ...saved, highestModseq: "not a number", localStamp: 7 }),
    );
    await server.setFlags(user, "INBOX", 2, ["\\Flagged"]);
    const full = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, FULL_LISTING, "listed in full");
    assert.deepEqual(byUid(await readFolder(`${account.mail}/INBOX`)), [[1, ""], [2, "F"]]);
  } finally {
    await account.remove();
  }
});

Deno.test("a full sync with the server unchanged still sends local changes, then lists again", async () => {
  const server = await dovecot();
  const user = server.newUser("fulllocal");
  for (const id of ["fl-1", "fl-2", "fl-3"]) await server.seed(user, "INBOX", message(id));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const [first, second] = await readFolder(`${account.mail}/INBOX`);
    await Deno.rename(first!.path, first!.path.replace(/:2,$/, ":2,RS"));
    await Deno.remove(second!.path);
    const full = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(full.code, 0, full.stderr);
    assert.doesNotMatch(full.stderr, /UID FETCH 1:\*/, "the status stood in for the listing");
    const onServer = await server.listMessages(user, "INBOX");
    assert.deepEqual(onServer.map((m) => [m.uid, m.flags]), [[1, ["\\Answered", "\\Seen"]], [
      3,
      [],
    ]]);
    // Our own changes moved the server's summary: the next sync cannot trust the old one.
    const next = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /UID FETCH 1:\*/);
  } finally {
    await account.remove();
  }
});

Deno.test("maxsize keeps big messages out of the sync on both sides", async () => {
  const server = await dovecot();
  const user = server.newUser("maxsize");
  await server.seed(user, "INBOX", message("ms-small"));
  await server.seed(user, "INBOX", message("ms-big", "x".repeat(20_000)));
  const account = await makeAccount(server, user);
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace("remoterepository = Remote", "remoterepository = Remote\nmaxsize = 10000"),
    );
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    const files = await readFolder(`${account.mail}/INBOX`);
    assert.deepEqual(files.map((f) => uidOf(f.name)), [1], "only the small one");
    // A second run must not treat the big one as deleted anywhere.
    assert.equal((await runCli(["-c", account.config])).code, 0);
    assert.equal((await server.listMessages(user, "INBOX")).length, 2);
  } finally {
    await account.remove();
  }
});

Deno.test("maxage keeps old messages out of the sync and never deletes them", async () => {
  const server = await dovecot();
  const user = server.newUser("maxage");
  const old = new Date(Date.now() - 400 * 86_400_000);
  await server.seed(user, "INBOX", message("ma-old"), { internalDate: old });
  await server.seed(user, "INBOX", message("ma-new"));
  const account = await makeAccount(server, user);
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace("remoterepository = Remote", "remoterepository = Remote\nmaxage = 30"),
    );
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readFolder(`${account.mail}/INBOX`)).map((f) => uidOf(f.name)), [2]);
    assert.equal((await runCli(["-c", account.config])).code, 0);
    assert.equal((await server.listMessages(user, "INBOX")).length, 2, "old message kept");
  } finally {
    await account.remove();
  }
});

Deno.test("startdate clones the server's mail from that day on, then follows by UID", async () => {
  const server = await dovecot();
  const user = server.newUser("startdate");
  const old = new Date("2020-01-01T12:00:00Z");
  const recent = new Date("2026-11-20T12:00:00Z");
  await server.seed(user, "INBOX", message("sd-old-1"), { internalDate: old });
  await server.seed(user, "INBOX", message("sd-old-2"), { internalDate: old });
  await server.seed(user, "INBOX", message("sd-new-3"), { internalDate: recent });
  await server.seed(user, "INBOX", message("sd-new-4"), { internalDate: recent });
  await server.seed(user, "Empty", message("sd-empty-old"), { internalDate: old });
  const account = await makeAccount(server, user, { remote: "startdate = 2026-01-01" });
  try {
    const first = await runCli(["-c", account.config]);
    assert.equal(first.code, 0, first.stderr);
    const uids = async (folder: string) =>
      (await readFolder(`${account.mail}/${folder}`)).map((f) => uidOf(f.name)).sort();
    assert.deepEqual(await uids("INBOX"), [3, 4]);
    assert.deepEqual(await uids("Empty"), []);
    const startUid = (folder: string) =>
      Deno.readTextFile(`${account.metadata}/Repository-Remote/StartUID/${folder}`);
    assert.equal(await startUid("INBOX"), "3\n");
    assert.equal(await startUid("Empty"), "2\n", "no message since the date: the next UID");

    // Later syncs go by UID: an old-dated message arriving now is synced, old ones never are.
    await server.seed(user, "INBOX", message("sd-late-5"), { internalDate: old });
    await server.seed(user, "Empty", message("sd-empty-new"), { internalDate: old });
    await server.expunge(user, "INBOX", 1);
    const file = (await readFolder(`${account.mail}/INBOX`)).find((f) => uidOf(f.name) === 3)!;
    await Deno.rename(file.path, file.path.replace(/:2,$/, ":2,F"));
    const second = await runCli(["-c", account.config]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await uids("INBOX"), [3, 4, 5]);
    assert.deepEqual(await uids("Empty"), [2]);
    const onServer = await server.listMessages(user, "INBOX");
    assert.deepEqual(onServer.map((m) => m.uid), [2, 3, 4, 5], "the old message stays");
    assert.deepEqual(onServer.find((m) => m.uid === 3)?.flags, ["\\Flagged"]);
  } finally {
    await account.remove();
  }
});

Deno.test("startdate refuses a first sync into a local folder that is not empty", async () => {
  const server = await dovecot();
  const user = server.newUser("startfull");
  await server.seed(user, "INBOX", message("sf-1"));
  const account = await makeAccount(server, user, { remote: "startdate = 2026-01-01" });
  try {
    const local = await writeLocalFolder(account.mail, "INBOX", "sf-local");
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /startdate needs an empty local folder on its first sync/);
    assert.deepEqual((await server.listMessages(user, "INBOX")).map((m) => m.uid), [1]);
    assert.deepEqual((await readFolder(`${account.mail}/INBOX`)).map((f) => f.path), [local]);
    await assert.rejects(
      Deno.stat(`${account.metadata}/Repository-Remote/StartUID/INBOX`),
      Deno.errors.NotFound,
    );
  } finally {
    await account.remove();
  }
});
