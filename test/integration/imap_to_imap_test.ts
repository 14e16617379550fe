/**
 * IMAP-to-IMAP: the local repository is a second IMAP account (here a second Dovecot user).
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, message } from "../_helpers/account.ts";

const dec = new TextDecoder();

Deno.test("IMAP to IMAP copies both ways, keeps a UID map, and converges", async () => {
  const server = await dovecot();
  const remoteUser = server.newUser("i2i-remote");
  const localUser = server.newUser("i2i-local");
  await server.seed(remoteUser, "INBOX", message("i2i-r1"), { flags: ["\\Seen"] });
  await server.seed(remoteUser, "INBOX", message("i2i-r2"));
  await server.seed(localUser, "INBOX", message("i2i-l1"), { flags: ["\\Flagged"] });
  const account = await makeAccount(server, remoteUser);
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace(
        /\[Repository Local\][^[]*/,
        `[Repository Local]\ntype = IMAP\nremotehost = localhost\nremoteport = ${server.tlsPort}\nsslcacertfile = ${server.caFile}\nremoteuser = ${localUser}\nremotepass = ${server.password}\n\n`,
      ),
    );
    const first = await runCli(["-c", account.config]);
    assert.equal(first.code, 0, first.stderr);
    const remote = await server.listMessages(remoteUser, "INBOX");
    const local = await server.listMessages(localUser, "INBOX");
    assert.equal(remote.length, 3);
    assert.equal(local.length, 3);
    const ids = (list: typeof remote) =>
      list.map((m) => /Message-ID: <([^>]+)>/.exec(dec.decode(m.body))?.[1]).sort();
    assert.deepEqual(ids(remote), ids(local));
    const map = await Deno.readTextFile(`${account.metadata}/Repository-Local/UIDMapping/INBOX`);
    assert.equal(map.trim().split("\n").length, 3);

    await server.setFlags(localUser, "INBOX", 2, ["\\Answered"]);
    const second = await runCli(["-c", account.config]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await server.listMessages(remoteUser, "INBOX")).length, 3, "no duplicate");
    assert.equal((await server.listMessages(localUser, "INBOX")).length, 3, "no duplicate");
    const third = await runCli(["-c", account.config, "-d", "imap"]);
    assert.equal(third.code, 0, third.stderr);
    assert.doesNotMatch(third.stderr, /C: A\d+ (APPEND|UID STORE)/, "converged");
  } finally {
    await account.remove();
  }
});
