/**
 * ImapClient against the real Dovecot: session commands (CAPABILITY, NOOP, ID, ENABLE) and
 * mailbox management (CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS,
 * SELECT, EXAMINE, CHECK, CLOSE, UNSELECT). Results are checked through doveadm where the
 * client itself is under test.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotOptions, DovecotServer } from "../_helpers/dovecot.ts";
import {
  decodeMailboxName,
  encodeMailboxName,
  ImapClient,
  ImapCommandError,
} from "../../imap/mod.ts";
import type { ClientOptions } from "../../imap/mod.ts";

const SPECIAL_USE_CONFIG = `namespace inbox {
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
}
`;

/** A logged-in client for a fresh user of `server`. */
async function login(
  server: DovecotServer,
  options: Partial<ClientOptions> = {},
): Promise<{ client: ImapClient; user: string }> {
  const user = server.newUser("mbox");
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
    ...options,
  });
  await client.login(user, server.password);
  return { client, user };
}

async function withClient(
  fn: (client: ImapClient, user: string, server: DovecotServer) => Promise<void>,
  serverOptions: DovecotOptions = {},
): Promise<void> {
  const server = await dovecot(serverOptions);
  const { client, user } = await login(server);
  try {
    await fn(client, user, server);
  } finally {
    await client.logout();
  }
}

Deno.test("ImapClient.capability() and noop() work after login, capabilities grow", async () => {
  await withClient(async (client) => {
    assert.ok(client.has("IMAP4rev1"));
    assert.ok(client.has("uidplus"), "post-login capabilities come from the LOGIN OK");
    const caps = await client.capability();
    assert.ok(caps.has("CONDSTORE"));
    await client.noop();
  });
});

Deno.test("ImapClient.id() sends our fields and returns the server's", async () => {
  await withClient(async (client) => {
    const fields = await client.id({ name: "offlineimap-ts", version: "0.1" });
    assert.equal(fields?.name, "Dovecot");
    assert.equal((await client.id(null))?.name, "Dovecot");
  });
});

Deno.test("ImapClient.enable() returns what the server enabled and remembers it", async () => {
  await withClient(async (client) => {
    const enabled = await client.enable("CONDSTORE");
    assert.deepEqual([...enabled], ["CONDSTORE"]);
    assert.ok(client.enabled.has("CONDSTORE"));
    assert.equal(client.utf8, false);
  });
});

Deno.test("ImapClient.create(), rename(), deleteMailbox() change the server's mailboxes", async () => {
  await withClient(async (client, user, server) => {
    await client.create("Projects");
    await client.create("Projects.2024");
    await client.create(encodeMailboxName("Gäste & Freunde"));
    assert.deepEqual(await server.listMailboxes(user), [
      "G&AOQ-ste &- Freunde",
      "INBOX",
      "Projects",
      "Projects.2024",
    ]);
    await client.rename("Projects.2024", "Archive");
    await client.deleteMailbox("Projects");
    assert.deepEqual(await server.listMailboxes(user), [
      "Archive",
      "G&AOQ-ste &- Freunde",
      "INBOX",
    ]);
    const error = await client.create("Archive").catch((e) => e);
    assert.ok(error instanceof ImapCommandError);
    assert.equal(error.code, "ALREADYEXISTS");
  });
});

Deno.test("ImapClient.list() returns names in modified UTF-7 with attributes and delimiter", async () => {
  await withClient(async (client) => {
    await client.create(encodeMailboxName("Gäste"));
    await client.create("a.b.c");
    const all = await client.list("", "*");
    const byName = new Map(all.map((e) => [e.name, e]));
    assert.deepEqual(
      [...byName.keys()].sort(),
      ["G&AOQ-ste", "INBOX", "a", "a.b", "a.b.c"],
    );
    assert.equal(decodeMailboxName("G&AOQ-ste"), "Gäste");
    assert.equal(byName.get("a.b.c")?.delimiter, ".");
    assert.ok(byName.get("a")?.attributes.includes("\\HasChildren"));
    // `%` does not cross the delimiter; a reference narrows the search.
    assert.deepEqual((await client.list("", "%")).map((e) => e.name).sort(), [
      "G&AOQ-ste",
      "INBOX",
      "a",
    ]);
    assert.deepEqual((await client.list("a.", "%")).map((e) => e.name), ["a.b"]);
  });
});

Deno.test("ImapClient.list() with specialUse asks RETURN (SPECIAL-USE) and reads the use", async () => {
  await withClient(async (client) => {
    assert.ok(client.has("SPECIAL-USE"));
    const entries = await client.list("", "*", { specialUse: true });
    const sent = entries.find((e) => e.name === "Sent");
    assert.equal(sent?.specialUse, "\\Sent");
    assert.equal(entries.find((e) => e.name === "INBOX")?.specialUse, undefined);
  }, { extraConfig: SPECIAL_USE_CONFIG });
});

Deno.test("ImapClient.subscribe(), unsubscribe() and lsub() track subscriptions", async () => {
  await withClient(async (client) => {
    await client.create("News");
    await client.create("Lists");
    await client.subscribe("News");
    await client.subscribe("Lists");
    await client.unsubscribe("Lists");
    assert.deepEqual((await client.lsub("", "*")).map((e) => e.name).sort(), ["News", "Sent"]);
    // The old signature of list() with "LSUB" still works.
    assert.deepEqual((await client.list("", "N*", "LSUB")).map((e) => e.name), ["News"]);
  }, { extraConfig: SPECIAL_USE_CONFIG });
});

Deno.test("ImapClient.status() reads counts, UIDs and HIGHESTMODSEQ; pipelined calls match names", async () => {
  await withClient(async (client, user, server) => {
    await client.create("Other");
    await server.seed(user, "INBOX", "Subject: 1\r\n\r\nx\r\n", { flags: ["\\Seen"] });
    await server.seed(user, "INBOX", "Subject: 2\r\n\r\nx\r\n");
    await server.seed(user, "Other", "Subject: 3\r\n\r\nx\r\n");
    const [inbox, other] = await Promise.all([client.status("INBOX"), client.status("Other")]);
    assert.equal(inbox.messages, 2);
    assert.equal(inbox.unseen, 1);
    assert.equal(inbox.uidNext, 3);
    assert.ok(inbox.uidValidity! > 0);
    assert.ok(inbox.highestModseq! > 0n);
    assert.equal(other.messages, 1);
    assert.equal(other.mailbox, "Other");
    const only = await client.status("Other", ["MESSAGES"]);
    assert.deepEqual([...only.items.keys()], ["MESSAGES"]);
  });
});

Deno.test("ImapClient.select() and examine() report the mailbox; a failed select deselects", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", "Subject: 1\r\n\r\nx\r\n", { flags: ["\\Seen"] });
    await server.seed(user, "INBOX", "Subject: 2\r\n\r\nx\r\n");
    const info = await client.select("INBOX", { condstore: true });
    assert.equal(info.exists, 2);
    assert.equal(info.readOnly, false);
    assert.equal(info.uidNext, 3);
    assert.equal(info.unseen, 2);
    assert.ok(info.highestModseq! > 0n);
    assert.ok(info.flags.includes("\\Seen"));
    assert.ok(info.permanentFlags.includes("\\*"));
    assert.equal(client.selected, "INBOX");
    const examined = await client.examine("INBOX");
    assert.equal(examined.readOnly, true);
    const error = await client.select("Missing").catch((e) => e);
    assert.ok(error instanceof ImapCommandError);
    assert.equal(error.command, "SELECT");
    assert.equal(client.selected, undefined);
  });
});

Deno.test("ImapClient.check(), unselect() and closeMailbox() leave the selected state", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", "Subject: 1\r\n\r\nx\r\n", { flags: ["\\Deleted"] });
    await client.select("INBOX");
    await client.check();
    await client.unselect();
    assert.equal(client.selected, undefined);
    assert.equal((await server.listMessages(user, "INBOX")).length, 1, "UNSELECT expunges nothing");
    await client.select("INBOX");
    await client.closeMailbox();
    assert.equal(client.selected, undefined);
    assert.equal((await server.listMessages(user, "INBOX")).length, 0, "CLOSE expunges");
  });
});

Deno.test("ImapClient quotes a mailbox name with quotes and backslashes", async () => {
  const name = 'with "quotes" and \\ backslash';
  await withClient(async (client, user, server) => {
    await client.create(name);
    assert.ok((await server.listMailboxes(user)).includes(name));
    assert.ok((await client.list("", "with*")).some((e) => e.name === name));
  });
});
