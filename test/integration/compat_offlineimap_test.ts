/**
 * Compatibility with OfflineIMAP itself (issue 5's acceptance): a Maildir and metadata
 * directory written by the real `offlineimap` (Debian's offlineimap3, OfflineIMAP 8.x) against
 * the test Dovecot are taken over by our program without transferring, renaming or re-recording
 * anything; changes on either side then propagate; and OfflineIMAP runs again on the result
 * without copying, deleting or changing flags.
 *
 * Needs `offlineimap` on PATH: `bash scripts/compat_deps.sh` installs it (as root). Without it
 * the tests are reported as ignored, with that command in their names.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { acquireAccountLock } from "../../src/lock.ts";
import { dovecot, type DovecotServer } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import {
  flagsOf,
  makeAccount,
  message,
  readFolder,
  type TestAccount,
  toLf,
  uidOf,
} from "../_helpers/account.ts";

const dec = new TextDecoder();
const OFFLINEIMAP = findOfflineimap();
const MISSING = OFFLINEIMAP === undefined
  ? " (ignored: offlineimap is not installed; run `bash scripts/compat_deps.sh` as root)"
  : "";
/** What OfflineIMAP's basic UI prints when it transfers or changes anything, or complains. */
const OFFLINEIMAP_ACTIVITY =
  /Copy message|Deleting \d+ messages|Adding flag|Deleting flag|Creating folder|Creating new Local Status|ERROR|WARNING|Traceback/i;
/** Our `-d imap` trace of anything but reading flags. */
const OUR_WRITES = /C: A\d+ (APPEND|UID STORE|STORE|UID EXPUNGE|EXPUNGE|CREATE|DELETE)\b/;
const SERVER_LETTERS: Record<string, string> = {
  "\\Seen": "S",
  "\\Flagged": "F",
  "\\Answered": "R",
  "\\Draft": "D",
};

function findOfflineimap(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/offlineimap`).isFile) return `${dir}/offlineimap`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Runs OfflineIMAP once (`-o`), with the basic UI, as a user would. */
async function runOfflineimap(config: string): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(OFFLINEIMAP!, {
    args: ["-c", config, "-o", "-u", "basic"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: "/nonexistent", LC_ALL: "C.UTF-8" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  return { code: result.code, output: dec.decode(result.stdout) + dec.decode(result.stderr) };
}

/** Every file under `dir` with its size, mtime and content digest, by relative path. */
async function treeOf(dir: string, skip: RegExp = /^$/): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const walk = async (path: string, rel: string) => {
    for await (const entry of Deno.readDir(path)) {
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (skip.test(childRel)) continue;
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) {
        await walk(child, childRel);
        continue;
      }
      const info = await Deno.stat(child);
      const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(child));
      const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      tree.set(childRel, `${info.size} ${info.mtime?.getTime()} ${hex.slice(0, 16)}`);
    }
  };
  await walk(dir, "");
  return tree;
}

/** Rows of every sqlite status file of the account. */
function statusRows(account: TestAccount, folder: string): unknown[] {
  const db = new DatabaseSync(`${account.metadata}/Account-Test/LocalStatus-sqlite/${folder}`, {
    readOnly: true,
  });
  try {
    return db.prepare("SELECT * FROM status ORDER BY id").all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

function messageId(body: Uint8Array): string {
  return /Message-ID: <([^>]+)>/i.exec(dec.decode(body))?.[1] ?? "?";
}

/** Asserts the local folder and the server hold the same messages once each, same flags. */
async function assertSameMessages(
  server: DovecotServer,
  account: TestAccount,
  remote: string,
  local: string,
) {
  const onServer = await server.listMessages(account.user, remote);
  const files = await readFolder(`${account.mail}/${local}`);
  const serverIds = onServer.map((m) => messageId(m.body)).sort();
  assert.deepEqual(files.map((f) => messageId(f.body)).sort(), serverIds, `${local}: same mail`);
  assert.equal(new Set(serverIds).size, serverIds.length, `${local}: no duplicate`);
  for (const file of files) {
    const twin = onServer.find((m) => m.uid === uidOf(file.name));
    assert.ok(twin, `${local}/${file.name}: its UID is on the server`);
    assert.deepEqual(file.body, toLf(twin.body), `${file.name}: same content`);
    const letters = twin.flags.map((f) => SERVER_LETTERS[f] ?? "").sort().join("");
    assert.equal(flagsOf(file.name), letters, `${file.name}: same flags`);
  }
}

const SEED: Record<string, Array<[string, string[]]>> = {
  "INBOX": [
    ["in-1", []],
    ["in-2", ["\\Seen"]],
    ["in-3", ["\\Seen", "\\Flagged"]],
    ["in-4", ["\\Answered", "\\Seen"]],
    ["in-5", ["\\Draft"]],
    ["in-6", ["\\Flagged"]],
  ],
  "Archive.2020": [["arch-1", ["\\Seen", "\\Answered"]], ["arch-2", []]],
  "G&AOQ-ste": [["guest-1", ["\\Flagged"]]],
};

async function seed(server: DovecotServer, user: string): Promise<void> {
  for (const [box, messages] of Object.entries(SEED)) {
    for (const [id, flags] of messages) {
      await server.seed(user, box, message(`${user}-${id}`), { flags });
    }
  }
}

Deno.test({
  name:
    `a Maildir and metadata written by OfflineIMAP are taken over with no transfer, then changes propagate and OfflineIMAP runs on${MISSING}`,
  ignore: OFFLINEIMAP === undefined,
  async fn() {
    const server = await dovecot();
    const user = server.newUser("compat");
    await seed(server, user);
    const account = await makeAccount(server, user);
    try {
      // 1. OfflineIMAP's first sync writes the Maildir and the metadata.
      const first = await runOfflineimap(account.config);
      assert.equal(first.code, 0, first.output);
      const folders = Object.keys(SEED);
      const mailBefore = await treeOf(account.mail);
      const metaBefore = await treeOf(account.metadata);
      const statusBefore = folders.map((f) => statusRows(account, f));
      const serverBefore = await Promise.all(folders.map((f) => server.listMessages(user, f)));
      assert.equal(mailBefore.size, 9, "OfflineIMAP downloaded every message");

      // 2. Our program on the same config: nothing fetched, uploaded, renamed or re-recorded.
      const ours = await runCli(["-c", account.config, "-d", "imap"]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.doesNotMatch(ours.stderr, /BODY\.PEEK\[|RFC822/, "no message body fetched");
      assert.doesNotMatch(ours.stderr, OUR_WRITES, "nothing written on the server");
      assert.deepEqual(await treeOf(account.mail), mailBefore, "every file untouched");
      assert.deepEqual(folders.map((f) => statusRows(account, f)), statusBefore);
      // Our additions to the metadata directory (OfflineIMAP ignores them) aside, it is as is.
      assert.deepEqual(
        await treeOf(account.metadata, /^Repository-Remote\/QuickSync$/),
        metaBefore,
      );
      assert.deepEqual(
        await Promise.all(folders.map((f) => server.listMessages(user, f))),
        serverBefore,
      );
      for (const folder of folders) await assertSameMessages(server, account, folder, folder);

      // 3. Changes on both sides propagate with our program.
      await server.seed(user, "INBOX", message(`${user}-server-new`), { flags: ["\\Seen"] });
      await server.setFlags(user, "INBOX", 1, ["\\Flagged"]);
      await server.expunge(user, "INBOX", 6);
      const inbox = await readFolder(`${account.mail}/INBOX`);
      await Deno.writeTextFile(
        `${account.mail}/INBOX/new/1700000000.M1P1.mutt`,
        toLfText(message(`${user}-local-new`)),
      );
      const replied = inbox.find((f) => uidOf(f.name) === 2)!;
      await Deno.rename(replied.path, replied.path.replace(/:2,S$/, ":2,RS"));
      await Deno.remove(inbox.find((f) => uidOf(f.name) === 5)!.path);
      const changes = await runCli(["-c", account.config]);
      assert.equal(changes.code, 0, changes.stderr);
      const serverInbox = await server.listMessages(user, "INBOX");
      const ids = serverInbox.map((m) => messageId(m.body));
      assert.ok(ids.includes(`${user}-local-new@example.org`), "local new mail uploaded");
      assert.ok(!ids.includes(`${user}-in-5@example.org`), "local deletion propagated");
      assert.deepEqual(serverInbox.find((m) => m.uid === 2)!.flags.sort(), [
        "\\Answered",
        "\\Seen",
      ]);
      await assertSameMessages(server, account, "INBOX", "INBOX");
      const localInbox = await readFolder(`${account.mail}/INBOX`);
      assert.ok(
        localInbox.some((f) => messageId(f.body) === `${user}-server-new@example.org`),
        "server's new mail downloaded",
      );
      assert.ok(!localInbox.some((f) => uidOf(f.name) === 6), "server's expunge propagated");
      assert.equal(flagsOf(localInbox.find((f) => uidOf(f.name) === 1)!.name), "F");

      // 4. OfflineIMAP again: it finds nothing to do, and leaves every file where it is.
      const mailAfterOurs = await treeOf(account.mail);
      const statusAfterOurs = folders.map((f) => statusRows(account, f));
      const again = await runOfflineimap(account.config);
      assert.equal(again.code, 0, again.output);
      assert.doesNotMatch(again.output, OFFLINEIMAP_ACTIVITY, again.output);
      assert.deepEqual(await treeOf(account.mail), mailAfterOurs);
      assert.deepEqual(folders.map((f) => statusRows(account, f)), statusAfterOurs);
      for (const folder of folders) await assertSameMessages(server, account, folder, folder);

      // 5. And ours once more: still nothing to do after OfflineIMAP's run.
      const last = await runCli(["-c", account.config, "-d", "imap"]);
      assert.equal(last.code, 0, last.stderr);
      assert.doesNotMatch(last.stderr, /BODY\.PEEK\[|RFC822/);
      assert.doesNotMatch(last.stderr, OUR_WRITES);
      assert.deepEqual(await treeOf(account.mail), mailAfterOurs);
    } finally {
      await account.remove();
    }
  },
});

Deno.test({
  name:
    `a nested Maildir (sep = /) written by OfflineIMAP is taken over with no transfer${MISSING}`,
  ignore: OFFLINEIMAP === undefined,
  async fn() {
    const server = await dovecot();
    const user = server.newUser("compat-nested");
    await seed(server, user);
    const account = await makeAccount(server, user, { local: "sep = /" });
    try {
      const first = await runOfflineimap(account.config);
      assert.equal(first.code, 0, first.output);
      assert.ok((await Deno.stat(`${account.mail}/Archive/2020/cur`)).isDirectory);
      const mailBefore = await treeOf(account.mail);
      const statusBefore = statusRows(account, "Archive.2020");

      const ours = await runCli(["-c", account.config, "-d", "imap"]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.doesNotMatch(ours.stderr, /BODY\.PEEK\[|RFC822/);
      assert.doesNotMatch(ours.stderr, OUR_WRITES);
      assert.deepEqual(await treeOf(account.mail), mailBefore);
      assert.deepEqual(statusRows(account, "Archive.2020"), statusBefore);
      await assertSameMessages(server, account, "Archive.2020", "Archive/2020");

      const again = await runOfflineimap(account.config);
      assert.equal(again.code, 0, again.output);
      assert.doesNotMatch(again.output, OFFLINEIMAP_ACTIVITY, again.output);
      assert.deepEqual(await treeOf(account.mail), mailBefore);
    } finally {
      await account.remove();
    }
  },
});

Deno.test({
  name: `OfflineIMAP and acquireAccountLock() keep each other out of the same account${MISSING}`,
  ignore: OFFLINEIMAP === undefined,
  async fn() {
    const server = await dovecot();
    const user = server.newUser("compat-lock");
    await server.seed(user, "INBOX", message(`${user}-1`));
    const account = await makeAccount(server, user);
    try {
      // Our lock held: OfflineIMAP's lockf fails and it gives up on the account.
      const lock = await acquireAccountLock(account.metadata, "Test");
      try {
        const refused = await runOfflineimap(account.config);
        assert.notEqual(refused.code, 0, refused.output);
        assert.match(refused.output, /Could not lock account Test/);
      } finally {
        await lock.release();
      }
      await assert.rejects(Deno.stat(`${account.metadata}/INBOX`), Deno.errors.NotFound);

      // OfflineIMAP syncing (held in its presynchook): we are refused, with its PID.
      const config = `${account.dir}/slow.rc`;
      const text = await Deno.readTextFile(account.config);
      await Deno.writeTextFile(
        config,
        text.replace("[Account Test]\n", `[Account Test]\npresynchook = sleep 3\n`),
      );
      const child = new Deno.Command(OFFLINEIMAP!, {
        args: ["-c", config, "-o", "-u", "basic"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        env: { HOME: "/nonexistent" },
      }).spawn();
      try {
        const lockFile = `${account.metadata}/Test.lock`;
        // Wait until the kernel lists OfflineIMAP's POSIX lock (taking ours earlier would
        // remove the file it is about to lock).
        for (let tries = 0; !(await holdsPosixLock(child.pid, lockFile)); tries++) {
          assert.ok(tries < 200, "OfflineIMAP took its lock");
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await assert.rejects(acquireAccountLock(account.metadata, "Test"), {
          name: "AccountError",
          message: `Cannot lock account "Test": process ${child.pid} holds "${lockFile}"`,
        });
      } finally {
        assert.equal((await child.status).code, 0);
      }
      const after = await acquireAccountLock(account.metadata, "Test");
      await after.release();
    } finally {
      await account.remove();
    }
  },
});

/** Whether `/proc/locks` lists a POSIX lock held by `pid` on the file at `path`. */
async function holdsPosixLock(pid: number, path: string): Promise<boolean> {
  let inode: number;
  try {
    inode = (await Deno.stat(path)).ino!;
  } catch {
    return false;
  }
  const table = await Deno.readTextFile("/proc/locks");
  return table.split("\n").some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1] === "POSIX" && fields[4] === String(pid) &&
      fields[5]?.endsWith(`:${inode}`) === true;
  });
}

function toLfText(text: string): string {
  return text.replaceAll("\r\n", "\n");
}
