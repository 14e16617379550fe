/**
 * One-off commands: --migrate-fmd5-using-nametrans and -s (syslog).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, readFolder } from "../_helpers/account.ts";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

Deno.test("--migrate-fmd5-using-nametrans renames pre-6.3.5 FMD5s to the translated name's", async () => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("fmd5"), {
    local: "nametrans = lambda f: f.lower()",
  });
  try {
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(`${account.mail}/INBOX/${sub}`, { recursive: true });
    }
    const old = `1700000000_0.1.host,U=7,FMD5=${md5("INBOX")}:2,S`;
    const other = `1700000000_1.1.host,U=8,FMD5=${md5("elsewhere")}:2,S`;
    await Deno.writeTextFile(`${account.mail}/INBOX/cur/${old}`, "Subject: x\n\ny\n");
    await Deno.writeTextFile(`${account.mail}/INBOX/cur/${other}`, "Subject: x\n\ny\n");
    const dry = await runCli(["-c", account.config, "--migrate-fmd5-using-nametrans", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /Would rename 1 files/);
    assert.ok((await readFolder(`${account.mail}/INBOX`)).some((f) => f.name === old));
    const result = await runCli(["-c", account.config, "--migrate-fmd5-using-nametrans"]);
    assert.equal(result.code, 0, result.stderr);
    const names = (await readFolder(`${account.mail}/INBOX`)).map((f) => f.name).sort();
    assert.deepEqual(names, [old.replace(md5("INBOX"), md5("inbox")), other].sort());
  } finally {
    await account.remove();
  }
});

Deno.test("-s logs to syslog as well and the sync still succeeds", async () => {
  const server = await dovecot();
  const user = server.newUser("syslog");
  await server.seed(user, "INBOX", "Subject: s\r\nMessage-ID: <s@x>\r\n\r\nb\r\n");
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "-s", "-u", "quiet"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
  } finally {
    await account.remove();
  }
});
