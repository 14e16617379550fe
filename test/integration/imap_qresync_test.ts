/**
 * CONDSTORE (RFC 7162 3.1) and QRESYNC (RFC 7162 3.2) against the real Dovecot: HIGHESTMODSEQ,
 * CHANGEDSINCE, SELECT ... (QRESYNC ...) with VANISHED (EARLIER) and changed flags. Changes are
 * made by "another client" through doveadm.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotOptions, DovecotServer } from "../_helpers/dovecot.ts";
import { ImapCapabilityError, ImapClient } from "../../imap/mod.ts";

function message(n: number): string {
  return `Subject: q${n}\r\nMessage-ID: <q${n}@example.org>\r\n\r\nbody ${n}\r\n`;
}

async function withClient(
  fn: (client: ImapClient, user: string, server: DovecotServer) => Promise<void>,
  serverOptions: DovecotOptions = {},
): Promise<void> {
  const server = await dovecot(serverOptions);
  const user = server.newUser("qr");
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
  });
  try {
    await client.login(user, server.password);
    await fn(client, user, server);
  } finally {
    await client.logout();
  }
}

const WITHOUT_QRESYNC: DovecotOptions = {
  extraConfig: "protocol imap {\n  imap_capability = IMAP4rev1 SASL-IR ID ENABLE IDLE " +
    "UNSELECT UIDPLUS CONDSTORE MOVE LITERAL+\n}\n",
};

Deno.test("ImapClient.select() with QRESYNC returns what vanished and what changed since", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 5; i++) await server.seed(user, "INBOX", message(i));
    const first = await client.select("INBOX", { condstore: true });
    const state = { uidValidity: first.uidValidity, modseq: first.highestModseq! };
    await client.unselect();
    // Another client: flags on 2, expunges 3 and 5, a new message 6.
    await server.setFlags(user, "INBOX", 2, ["\\Flagged"]);
    await server.expunge(user, "INBOX", 3);
    await server.expunge(user, "INBOX", 5);
    await server.seed(user, "INBOX", message(6));
    const again = await client.select("INBOX", { qresync: { ...state, knownUids: "1:5" } });
    assert.ok(client.enabled.has("QRESYNC"), "QRESYNC is enabled on first use");
    assert.deepEqual(again.vanished, [3, 5]);
    const changed = new Map(again.changed!.map((d) => [d.uid, d]));
    // Only known UIDs are reported; the new message 6 shows in UIDNEXT and EXISTS.
    assert.deepEqual([...changed.keys()], [2]);
    assert.equal(again.uidNext, 7);
    assert.ok(changed.get(2)?.flags?.includes("\\Flagged"));
    assert.ok(changed.get(2)!.modseq! > state.modseq);
    assert.ok(again.highestModseq! > state.modseq);
    assert.equal(again.exists, 4);
  });
});

Deno.test("ImapClient.select() with a stale UIDVALIDITY in QRESYNC reports nothing vanished", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message(1));
    const info = await client.select("INBOX", { condstore: true });
    await client.unselect();
    const stale = await client.select("INBOX", {
      qresync: { uidValidity: info.uidValidity + 1, modseq: 1n },
    });
    // RFC 7162 3.2.5.2: a mismatched UIDVALIDITY means a full resync; the server says nothing.
    assert.deepEqual(stale.vanished, []);
    assert.deepEqual(stale.changed, []);
    assert.equal(stale.uidValidity, info.uidValidity);
  });
});

Deno.test("ImapClient.select() asked for QRESYNC falls back to CONDSTORE on a server without it", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message(1));
    assert.equal(client.has("QRESYNC"), false);
    const info = await client.select("INBOX", {
      condstore: true,
      qresync: { uidValidity: 1, modseq: 1n },
    });
    assert.equal(info.vanished, undefined, "undefined vanished means: do a full sync");
    assert.ok(info.highestModseq! > 0n);
    await assert.rejects(client.uidFetchChanges("1:*", ["FLAGS"], 1n), ImapCapabilityError);
  }, WITHOUT_QRESYNC);
});

Deno.test("ImapClient.uidFetch() with changedSince returns only messages changed after it", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 4; i++) await server.seed(user, "INBOX", message(i));
    const info = await client.select("INBOX", { condstore: true });
    await client.uidStore("3", "+", ["\\Seen"]);
    const changed = await client.uidFetch("1:*", ["UID", "FLAGS"], {
      changedSince: info.highestModseq!,
    });
    assert.deepEqual(changed.map((d) => d.uid), [3]);
    assert.ok(changed[0]!.modseq! > info.highestModseq!);
  });
});

Deno.test("ImapClient.uidFetchChanges() returns changed messages and VANISHED UIDs", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 4; i++) await server.seed(user, "INBOX", message(i));
    const info = await client.select("INBOX", { condstore: true });
    await server.setFlags(user, "INBOX", 1, ["\\Answered"]);
    await server.expunge(user, "INBOX", 4);
    await client.noop(); // lets the server tell us about the expunge
    const changes = await client.uidFetchChanges("1:*", ["UID", "FLAGS"], info.highestModseq!);
    assert.deepEqual(changes.messages.map((d) => d.uid), [1]);
    assert.deepEqual(changes.vanished, [4]);
  });
});

Deno.test("ImapClient.expunge() reports UIDs once QRESYNC turned EXPUNGE into VANISHED", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 3; i++) {
      await server.seed(user, "INBOX", message(i), { flags: i === 2 ? [] : ["\\Deleted"] });
    }
    await client.enable("QRESYNC");
    await client.select("INBOX");
    const result = await client.expunge();
    assert.deepEqual(result, { seqs: [], uids: [1, 3] });
  });
});
