/**
 * The sync engine's safety rules, end to end against Dovecot: no duplicate after an upload
 * whose UID was never recorded, UIDs learnt without UIDPLUS, dry runs that write nothing,
 * vanished folders and mass deletions that delete nothing, read-only repositories.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { flagsOf, makeAccount, message, readFolder, uidOf } from "../_helpers/account.ts";

const dec = new TextDecoder();

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${prefix}${entry.name}`;
      out.push(path);
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${path}/`);
    }
  };
  await walk(root, "").catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return out.sort();
}

Deno.test("an upload that reached the server but was never recorded is paired, not duplicated", async () => {
  const server = await dovecot();
  const user = server.newUser("crashpair");
  await server.seed(user, "INBOX", message("cp-1"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const text = message("cp-draft", "written offline").replaceAll("\r\n", "\n");
    await Deno.writeTextFile(`${account.mail}/INBOX/cur/1700000002.M1P1.host:2,S`, text);
    // The state a crash between APPEND and the local rename leaves behind.
    await server.seed(user, "INBOX", text.replaceAll("\n", "\r\n"), { flags: ["\\Seen"] });
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    const onServer = await server.listMessages(user, "INBOX");
    assert.equal(onServer.length, 2, "no second upload");
    const files = await readFolder(`${account.mail}/INBOX`);
    assert.equal(files.length, 2, "no download of the server copy");
    assert.deepEqual(files.map((f) => uidOf(f.name)).sort(), onServer.map((m) => m.uid).sort());
  } finally {
    await account.remove();
  }
});

Deno.test("a message appended to a server without UIDPLUS gets its UID through X-OfflineIMAP", async () => {
  const server = await dovecot({ uidplus: false });
  const user = server.newUser("noplus");
  await server.seed(user, "INBOX", message("np-1"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const text = message("np-local", "no uidplus").replaceAll("\r\n", "\n");
    await Deno.writeTextFile(`${account.mail}/INBOX/new/1700000003.M1P1.host`, text);
    const result = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /UID SEARCH HEADER X-OfflineIMAP/);
    const onServer = await server.listMessages(user, "INBOX");
    assert.equal(onServer.length, 2);
    const uploaded = onServer.find((m) => dec.decode(m.body).includes("np-local"))!;
    assert.match(dec.decode(uploaded.body), /\r\nX-OfflineIMAP: \d+-\d+\r\n\r\n/);
    const files = await readFolder(`${account.mail}/INBOX`);
    assert.ok(files.some((f) => uidOf(f.name) === uploaded.uid), "local name carries the UID");
    const again = await runCli(["-c", account.config]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await server.listMessages(user, "INBOX")).length, 2, "no duplicate");
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 2, "no duplicate locally");
  } finally {
    await account.remove();
  }
});

Deno.test("--dry-run changes nothing on either side, not even the metadata", async () => {
  const server = await dovecot();
  const user = server.newUser("dryrun");
  await server.seed(user, "INBOX", message("dr-1"));
  await server.seed(user, "Work", message("dr-2"));
  const account = await makeAccount(server, user);
  try {
    const first = await runCli(["-c", account.config, "--dry-run"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /\[DRYRUN\] Copy 1 messages from server to local/);
    assert.deepEqual(await listTree(account.mail), [], "no Maildir written");
    assert.deepEqual(await listTree(account.metadata), [], "no metadata written");

    assert.equal((await runCli(["-c", account.config])).code, 0);
    const local = await listTree(account.mail);
    const meta = await listTree(account.metadata);
    const statusBytes = await Deno.readFile(
      `${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`,
    );
    await server.seed(user, "INBOX", message("dr-3"));
    await server.setFlags(user, "INBOX", 1, ["\\Flagged"]);
    const file = (await readFolder(`${account.mail}/Work`))[0]!;
    await Deno.remove(file.path);
    const serverBefore = await server.listMessages(user, "INBOX");
    const work = await server.listMessages(user, "Work");
    const dry = await runCli(["-c", account.config, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await listTree(account.mail), local.filter((p) => !p.endsWith(file.name)));
    assert.deepEqual(await listTree(account.metadata), meta);
    assert.deepEqual(
      await Deno.readFile(`${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`),
      statusBytes,
    );
    assert.deepEqual(await server.listMessages(user, "INBOX"), serverBefore);
    assert.deepEqual(await server.listMessages(user, "Work"), work);
  } finally {
    await account.remove();
  }
});

Deno.test("a vanished local folder is re-created and re-downloaded, server mail untouched", async () => {
  const server = await dovecot();
  const user = server.newUser("vanished");
  for (let i = 0; i < 3; i++) await server.seed(user, "Lists", message(`van-${i}`));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    await Deno.remove(`${account.mail}/Lists`, { recursive: true });
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      (await server.listMessages(user, "Lists")).length,
      3,
      "nothing deleted on the server",
    );
    assert.equal((await readFolder(`${account.mail}/Lists`)).length, 3, "downloaded again");
  } finally {
    await account.remove();
  }
});

Deno.test("a pass deleting more than max_delete_ratio stops the folder and deletes nothing", async () => {
  const server = await dovecot();
  const user = server.newUser("massdelete");
  for (let i = 0; i < 4; i++) await server.seed(user, "INBOX", message(`md-${i}`));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    for (const file of await readFolder(`${account.mail}/INBOX`)) await Deno.remove(file.path);
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /max_delete_ratio/);
    assert.equal((await server.listMessages(user, "INBOX")).length, 4, "nothing deleted");
    const allowed = await runCli(["-c", account.config, "-k", "Account_Test:max_delete_ratio=1.0"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((await server.listMessages(user, "INBOX")).length, 0, "deleted once allowed");
  } finally {
    await account.remove();
  }
});

Deno.test("a readonly remote repository is never written", async () => {
  const server = await dovecot();
  const user = server.newUser("readonly");
  await server.seed(user, "INBOX", message("ro-1"));
  await server.seed(user, "INBOX", message("ro-2"));
  const account = await makeAccount(server, user, { remote: "readonly = yes" });
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const files = await readFolder(`${account.mail}/INBOX`);
    assert.equal(files.length, 2);
    await Deno.remove(files[0]!.path);
    await Deno.rename(files[1]!.path, files[1]!.path.replace(/:2,$/, ":2,F"));
    await Deno.writeTextFile(`${account.mail}/INBOX/new/1700000004.M1P1.host`, "Subject: x\n\ny\n");
    const before = await server.listMessages(user, "INBOX");
    const result = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /C: A\d+ (APPEND|UID STORE|EXPUNGE|CREATE)/);
    assert.deepEqual(await server.listMessages(user, "INBOX"), before);
  } finally {
    await account.remove();
  }
});

Deno.test("folders sync in parallel over maxconnections connections", async () => {
  const server = await dovecot();
  const user = server.newUser("parallel");
  for (const box of ["A", "B", "C", "D"]) {
    for (let i = 0; i < 3; i++) {
      await server.seed(user, box, message(`${box}-${i}`), { flags: ["\\Seen"] });
    }
  }
  const account = await makeAccount(server, user, { remote: "maxconnections = 3" });
  try {
    // -d alone implies -1 (OfflineIMAP); the thread type keeps folders parallel.
    const result = await runCli(["-c", account.config, "-d", "imap,thread"]);
    assert.equal(result.code, 0, result.stderr);
    const logins = result.stderr.match(/S: \* OK .*ready\./g) ?? [];
    assert.ok(logins.length >= 2, `several connections were opened (${logins.length})`);
    for (const box of ["A", "B", "C", "D"]) {
      const files = await readFolder(`${account.mail}/${box}`);
      assert.equal(files.length, 3, box);
      assert.ok(files.every((f) => flagsOf(f.name) === "S"));
    }
    const single = await runCli(["-c", account.config, "-1", "-d", "imap,thread"]);
    assert.equal(single.code, 0, single.stderr);
    assert.equal(
      (single.stderr.match(/S: \* OK .*ready\./g) ?? []).length,
      1,
      "-1: one connection",
    );
  } finally {
    await account.remove();
  }
});

Deno.test("newmail_hook runs after unseen mail came down from INBOX, and only then", async () => {
  const server = await dovecot();
  const user = server.newUser("newmail");
  await server.seed(user, "INBOX", message("nm-1"));
  await server.seed(user, "INBOX", message("nm-2"), { flags: ["\\Seen"] });
  const dir = await Deno.makeTempDir({ prefix: "newmail-" });
  const marker = `${dir}/calls`;
  const account = await makeAccount(server, user, {
    remote: `newmail_hook = lambda: os.system("echo call >> ${marker}")`,
  });
  const calls = async () =>
    (await Deno.readTextFile(marker).catch(() => "")).split("\n").filter(Boolean).length;
  const sync = async () => {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
  };
  try {
    await sync();
    assert.equal(await calls(), 1, "unseen mail downloaded from INBOX");
    await sync();
    assert.equal(await calls(), 1, "nothing new");
    await server.seed(user, "INBOX", message("nm-3"), { flags: ["\\Seen"] });
    await server.seed(user, "Other", message("nm-4"));
    await sync();
    assert.equal(await calls(), 1, "only seen mail in INBOX, unseen mail elsewhere");
    await server.seed(user, "INBOX", message("nm-5"));
    await sync();
    assert.equal(await calls(), 2);
  } finally {
    await account.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing newmail_hook is a warning; the mail and the status stay synced", async () => {
  const server = await dovecot();
  const user = server.newUser("newmailfail");
  await server.seed(user, "INBOX", message("nf-1"));
  const account = await makeAccount(server, user, { remote: "newmail_hook = lambda: 1 / 0" });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /newmail_hook of the remote repository failed: .*ZeroDivisionError/,
    );
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
    const again = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /BODY\.PEEK\[\]/, "recorded: not downloaded again");
  } finally {
    await account.remove();
  }
});
