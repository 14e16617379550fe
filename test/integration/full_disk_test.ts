/**
 * A full disk during delivery (issue 5's acceptance): the run ends with a clear error naming
 * the file and the "disk full?" hint, exits non-zero, leaves no partial message in `new/`,
 * `cur/` or `tmp/`, and the status records no message that is not on disk; once space is back,
 * the next run completes without duplicates.
 *
 * Two ways to fill the disk: a real tmpfs of 256 KiB (needs root and mount(2), as in CI), and
 * the `OFFLINEIMAP_TS_TEST_FAIL_WRITES_AFTER` hook of maildir_write.ts, which fails writes with
 * ENOSPC after a byte budget and runs anywhere.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { dovecot, type DovecotServer } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, readFolder, type TestAccount, toLf, uidOf } from "../_helpers/account.ts";

const COUNT = 40;
/** Each message is about 12 KB: 40 of them need about 480 KB. */
const BODY_LINES = 150;
const dec = new TextDecoder();
const TMPFS = canMountTmpfs();

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, e.g. in CI). */
function canMountTmpfs(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  const dir = Deno.makeTempDirSync({ prefix: "full_disk_probe_" });
  try {
    const mounted = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
    if (mounted) new Deno.Command("umount", { args: [dir] }).outputSync();
    return mounted;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir);
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const result = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  assert.ok(result.success, `${command} ${args.join(" ")}: ${dec.decode(result.stderr)}`);
}

async function seed(server: DovecotServer, user: string): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const body =
      `From: a@example.org\r\nSubject: full ${i}\r\nMessage-ID: <${user}-${i}@example.org>` +
      `\r\n\r\n${`${"x".repeat(78)}\r\n`.repeat(BODY_LINES)}`;
    await server.seed(user, "INBOX", body, { flags: i % 2 ? ["\\Seen"] : [] });
  }
}

function statusUids(account: TestAccount): number[] {
  const db = new DatabaseSync(`${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`, {
    readOnly: true,
  });
  try {
    return db.prepare("SELECT id FROM status ORDER BY id").all().map((row) => Number(row.id));
  } finally {
    db.close();
  }
}

/**
 * Checks the state a full disk leaves: complete files only, an empty `tmp/`, and no status
 * record of a message that is not on disk (the executor may not have recorded the last ones
 * written; the next run records them without a transfer). Returns how many messages are on disk.
 */
async function assertConsistent(
  server: DovecotServer,
  account: TestAccount,
  mailRoot: string,
): Promise<number> {
  const onServer = new Map(
    (await server.listMessages(account.user, "INBOX")).map((m) => [m.uid, m]),
  );
  const files = await readFolder(`${mailRoot}/INBOX`);
  for (const file of files) {
    const twin = onServer.get(uidOf(file.name)!);
    assert.ok(twin, `${file.name} names a server UID`);
    assert.deepEqual(file.body, toLf(twin.body), `${file.name} is complete`);
  }
  const tmp: string[] = [];
  for await (const entry of Deno.readDir(`${mailRoot}/INBOX/tmp`)) tmp.push(entry.name);
  assert.deepEqual(tmp, [], "no partial file left in tmp/");
  const onDisk = new Set(files.map((f) => uidOf(f.name)!));
  for (const uid of statusUids(account)) {
    assert.ok(onDisk.has(uid), `status records UID ${uid} only because it is on disk`);
  }
  return files.length;
}

function assertDiskFullError(stderr: string): void {
  assert.match(
    stderr,
    /ERROR: \[Test\] Cannot write message file ".*\/INBOX\/tmp\/[^"]+" in folder "INBOX": No space left on device/,
  );
  assert.match(stderr, /hint: disk full\? free some space/);
  assert.equal(
    stderr.match(/No space left on device/g)?.length,
    1,
    "one error, not one per message",
  );
}

Deno.test({
  name: `a sync on a full tmpfs stops with a clear error and a status matching the disk${
    TMPFS ? "" : " (ignored: needs root and mount -t tmpfs)"
  }`,
  ignore: !TMPFS,
  async fn() {
    const server = await dovecot();
    const user = server.newUser("full-tmpfs");
    await seed(server, user);
    const account = await makeAccount(server, user);
    await Deno.mkdir(account.mail);
    await run("mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", account.mail]);
    try {
      const full = await runCli(["-c", account.config, "-u", "basic"]);
      assert.notEqual(full.code, 0, "a full disk is an error");
      assertDiskFullError(full.stderr);
      const stored = await assertConsistent(server, account, account.mail);
      assert.ok(stored > 0 && stored < COUNT, `some messages fit (${stored})`);

      // With space again, the next run fetches the rest once.
      await run("mount", ["-o", "remount,size=4m", account.mail]);
      const resumed = await runCli(["-c", account.config, "-u", "basic"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(await assertConsistent(server, account, account.mail), COUNT);
      assert.equal(statusUids(account).length, COUNT);
    } finally {
      await run("umount", [account.mail]);
      await account.remove();
    }
  },
});

Deno.test("a sync whose writes fail with ENOSPC (injected) stops with a clear error and a status matching the disk", async () => {
  const server = await dovecot();
  const user = server.newUser("full-hook");
  await seed(server, user);
  const account = await makeAccount(server, user);
  try {
    const full = await runCli(["-c", account.config, "-u", "basic"], {
      OFFLINEIMAP_TS_TEST_FAIL_WRITES_AFTER: String(10 * 12_000 + 5_000),
    });
    assert.notEqual(full.code, 0, "a full disk is an error");
    assertDiskFullError(full.stderr);
    assert.equal(await assertConsistent(server, account, account.mail), 10);

    const resumed = await runCli(["-c", account.config, "-u", "basic"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(await assertConsistent(server, account, account.mail), COUNT);
    assert.equal(statusUids(account).length, COUNT);
  } finally {
    await account.remove();
  }
});
