/**
 * IDLE (RFC 2177) against the real Dovecot: changes made by another connection arrive while
 * idling, commands issued meanwhile wait for DONE, and a server without IDLE is refused.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotServer } from "../_helpers/dovecot.ts";
import { ImapCapabilityError, ImapClient } from "../../imap/mod.ts";
import type { Response } from "../../imap/mod.ts";

const ENC = new TextEncoder();

async function open(server: DovecotServer, user: string): Promise<ImapClient> {
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
    timeoutMs: 2000, // must not fire while idling
  });
  await client.login(user, server.password);
  return client;
}

Deno.test("ImapClient.idle() sees a message delivered by another connection within 1 s", async () => {
  const server = await dovecot();
  const user = server.newUser("idle");
  const watcher = await open(server, user);
  const writer = await open(server, user);
  try {
    await watcher.select("INBOX");
    let delivered!: (response: Response) => void;
    const exists = new Promise<Response>((resolve) => delivered = resolve);
    const seen: Response[] = [];
    const idle = await watcher.idle((response) => {
      seen.push(response);
      if (response.kind === "exists" && response.count === 1) delivered(response);
    });
    const body = ENC.encode("Subject: pushed\r\n\r\nhello\r\n");
    const started = performance.now();
    await writer.append("INBOX", {
      size: body.length,
      open: () => new Blob([body]).stream(),
    });
    await exists;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `EXISTS arrived after ${elapsed.toFixed(0)} ms`);
    await idle.done();
    // IDLE is over: commands work again, and a read timeout applies again.
    const [data] = await watcher.uidFetch("1", ["UID"]);
    assert.equal(data?.uid, 1);
  } finally {
    await watcher.logout();
    await writer.logout();
  }
});

Deno.test("ImapClient.idle() outlasts the read timeout and queues commands until done()", async () => {
  const server = await dovecot();
  const user = server.newUser("idle");
  const client = await open(server, user);
  try {
    await client.select("INBOX");
    const idle = await client.idle(() => {});
    // Longer than timeoutMs: the connection must survive because nothing is due while idling.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    let answered = false;
    const status = client.status("INBOX").then((s) => {
      answered = true;
      return s;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(answered, false, "STATUS waits until IDLE is done");
    await idle.done();
    assert.equal((await status).messages, 0);
    await idle.done(); // idempotent
  } finally {
    await client.logout();
  }
});

Deno.test("ImapClient.idle() refuses a server that does not offer IDLE", async () => {
  const server = await dovecot({
    extraConfig: "protocol imap {\n  imap_capability = IMAP4rev1 UIDPLUS\n}\n",
  });
  const client = await open(server, server.newUser("idle"));
  try {
    await client.select("INBOX");
    await assert.rejects(client.idle(() => {}), ImapCapabilityError);
    await client.noop();
  } finally {
    await client.logout();
  }
});

Deno.test("ImapClient.idle() hands an error thrown by the callback to done()", async () => {
  const server = await dovecot();
  const user = server.newUser("idle");
  const client = await open(server, user);
  try {
    await client.select("INBOX");
    const idle = await client.idle((response) => {
      if (response.kind === "exists") throw new Error("callback broke");
    });
    await server.seed(user, "INBOX", "Subject: x\r\n\r\nx\r\n");
    await assert.rejects(idle.ended, /callback broke/);
    await assert.rejects(idle.done(), /callback broke/);
    await client.noop();
  } finally {
    await client.logout();
  }
});
