/**
 * What the UIs print: quiet, basic, machineui, and the `-l` log file.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, message } from "../_helpers/account.ts";

Deno.test("-u quiet prints nothing on success and -u basic prints a summary per account", async () => {
  const server = await dovecot();
  const user = server.newUser("uiquiet");
  await server.seed(user, "INBOX", message("uq-1"));
  const account = await makeAccount(server, user);
  try {
    const quiet = await runCli(["-c", account.config, "-u", "quiet"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "");
    assert.equal(quiet.stderr, "");
    const basic = await runCli(["-c", account.config, "-u", "Noninteractive.Basic"]);
    assert.equal(basic.code, 0, basic.stderr);
    assert.match(basic.stdout, /\*\*\* Finished account Test: 1 folders, no changes, 0 errors/);
  } finally {
    await account.remove();
  }
});

Deno.test("-u machineui prints one encoded line per event", async () => {
  const server = await dovecot();
  const user = server.newUser("uimachine");
  await server.seed(user, "INBOX", message("um-1"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "-u", "machineui"]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines[0], "acctstart:Test::");
    const done = lines.find((l) => l.startsWith("folderdone:Test:INBOX:"))!;
    assert.equal(JSON.parse(decodeURIComponent(done.split(":")[3]!)).downloaded, 1);
    assert.ok(lines.at(-1)!.startsWith("acctdone:Test::"));
  } finally {
    await account.remove();
  }
});

Deno.test("-l appends dated lines to a log file next to the console output", async () => {
  const server = await dovecot();
  const user = server.newUser("uilog");
  await server.seed(user, "INBOX", message("ul-1"));
  const account = await makeAccount(server, user);
  try {
    const log = `${account.dir}/sync.log`;
    const result = await runCli(["-c", account.config, "-u", "quiet", "-l", log]);
    assert.equal(result.code, 0, result.stderr);
    const text = await Deno.readTextFile(log);
    assert.match(text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO: OfflineImap .* starting\.\.\./);
    assert.match(text, /INFO: Folder INBOX \[Test\]: 1 downloaded/);
    await runCli(["-c", account.config, "-u", "quiet", "-l", log]);
    assert.equal((await Deno.readTextFile(log)).match(/starting\.\.\./g)?.length, 2, "appended");
  } finally {
    await account.remove();
  }
});
