/**
 * The no-change fast path against Dovecot: a folder whose local directories have settled and
 * whose server summary (STATUS, with HIGHESTMODSEQ) is as the last sync left it is passed over
 * without SELECT, listing or status read; every kind of change on either side is still synced,
 * whether it happened long enough ago to have settled or just before the run.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { flagsOf, makeAccount, message, readFolder, uidOf } from "../_helpers/account.ts";
import { STAMP_SETTLE_MS } from "../../src/repository/maildir.ts";

const FOLDERS = ["INBOX", "LocalFlag", "LocalNew", "LocalGone", "ServerFlag", "Late"];

/** Waits until every change made so far is old enough for a folder stamp. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, STAMP_SETTLE_MS + 600));
}

/** SELECT commands of a `-d imap` trace. */
function selects(stderr: string): string[] {
  return [...stderr.matchAll(/C: \S+ SELECT (\S+)/g)].map((m) => m[1]!);
}

Deno.test("an unchanged settled folder is passed over without SELECT, and every change is still synced", async () => {
  const server = await dovecot();
  const user = server.newUser("unchanged");
  for (const folder of FOLDERS) {
    await server.seed(user, folder, message(`${folder}-1@${user}`));
    await server.seed(user, folder, message(`${folder}-2@${user}`));
  }
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0, "initial sync");
    // Fresh directories: the next run lists everything, then saves each folder's stamp.
    await settle();
    const full = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(full.code, 0, full.stderr);
    assert.deepEqual(selects(full.stderr).sort(), [...FOLDERS].sort(), "a full pass first");
    for (const folder of FOLDERS) {
      const saved = JSON.parse(
        await Deno.readTextFile(`${account.metadata}/Repository-Remote/QuickSync/${folder}`),
      );
      assert.equal(typeof saved.localStamp, "string", `${folder}: stamp saved`);
    }

    const idle = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual(selects(idle.stderr), [], "no folder selected");
    assert.match(idle.stderr, /STATUS LocalFlag \(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ\)/);
    assert.doesNotMatch(idle.stderr, /UID FETCH/);

    // One change per folder, on either side, then let the local ones settle.
    const flagged = (await readFolder(`${account.mail}/LocalFlag`))[0]!;
    await Deno.rename(flagged.path, flagged.path.replace(/:2,$/, ":2,F"));
    await Deno.writeTextFile(
      `${account.mail}/LocalNew/new/1700000000.M1P1.host`,
      message(`LocalNew-3@${user}`).replaceAll("\r\n", "\n"),
    );
    const gone = (await readFolder(`${account.mail}/LocalGone`))[0]!;
    await Deno.remove(gone.path);
    await server.setFlags(user, "ServerFlag", 1, ["\\Flagged"]);
    await server.seed(user, "INBOX", message(`INBOX-3@${user}`));
    await settle();
    const changed = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(
      selects(changed.stderr).sort(),
      ["INBOX", "LocalFlag", "LocalGone", "LocalNew", "ServerFlag"],
      "exactly the changed folders are opened",
    );
    const serverFlags = (await server.listMessages(user, "LocalFlag"))
      .find((m) => m.uid === uidOf(flagged.name))?.flags;
    assert.deepEqual(serverFlags, ["\\Flagged"], "local flag change sent");
    assert.equal((await server.listMessages(user, "LocalNew")).length, 3, "local message sent");
    assert.deepEqual(
      (await server.listMessages(user, "LocalGone")).map((m) => m.uid),
      [uidOf(gone.name) === 1 ? 2 : 1],
      "local deletion sent",
    );
    const serverFlagged = (await readFolder(`${account.mail}/ServerFlag`))
      .find((f) => uidOf(f.name) === 1)!;
    assert.equal(flagsOf(serverFlagged.name), "F", "server flag change received");
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 3, "server message received");

    // A change made just before the run: too recent for the stamp, so the folder is listed.
    const late = (await readFolder(`${account.mail}/Late`))[0]!;
    await Deno.rename(late.path, late.path.replace(/:2,$/, ":2,S").replace("/new/", "/cur/"));
    const rushed = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(rushed.code, 0, rushed.stderr);
    assert.ok(selects(rushed.stderr).includes("Late"), "the fresh change is listed");
    const lateFlags = (await server.listMessages(user, "Late"))
      .find((m) => m.uid === uidOf(late.name))?.flags;
    assert.deepEqual(lateFlags, ["\\Seen"], "fresh local flag change sent");
  } finally {
    await account.remove();
  }
});
