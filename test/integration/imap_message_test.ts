/**
 * ImapClient against the real Dovecot: message commands (APPEND, UID FETCH, streamed bodies,
 * UID STORE, UID SEARCH, UID COPY, UID MOVE, EXPUNGE, UID EXPUNGE) and pipelining. The
 * server's side is checked through doveadm (`server.listMessages`).
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotOptions, DovecotServer } from "../_helpers/dovecot.ts";
import {
  compressUids,
  ImapCapabilityError,
  ImapClient,
  ImapCommandError,
  ImapConnectionError,
} from "../../imap/mod.ts";

const ENC = new TextEncoder();
const DEC = new TextDecoder();

/** Dovecot 2.3.19's post-login capabilities minus the ones listed. */
function capabilitiesWithout(...drop: string[]): DovecotOptions {
  const all = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY " +
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE " +
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH " +
    "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY " +
    "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY";
  const kept = all.split(" ").filter((c) => !drop.includes(c));
  const extra = drop.includes("LITERAL+") && drop.includes("+LITERAL-") ? ["LITERAL-"] : [];
  return {
    extraConfig: `protocol imap {\n  imap_capability = ${[...kept, ...extra].join(" ")}\n}\n`,
  };
}

function message(subject: string, body = "Hello.\r\n"): string {
  return `From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n` +
    `Message-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n\r\n${body}`;
}

function stream(bytes: Uint8Array, chunk = 1000): () => ReadableStream<Uint8Array> {
  return () => {
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + chunk));
        offset += chunk;
      },
    });
  };
}

async function withClient(
  fn: (client: ImapClient, user: string, server: DovecotServer, log: string[]) => Promise<void>,
  serverOptions: DovecotOptions = {},
): Promise<void> {
  const server = await dovecot(serverOptions);
  const user = server.newUser("msg");
  const log: string[] = [];
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
    log: (line) => log.push(line),
  });
  try {
    await client.login(user, server.password);
    await fn(client, user, server, log);
  } finally {
    await client.logout();
  }
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

Deno.test("ImapClient.append() streams a message with flags and date, and returns APPENDUID", async () => {
  await withClient(async (client, user, server, log) => {
    const bytes = ENC.encode(message("append", "line\r\n".repeat(3000)));
    const date = new Date("2024-02-03T04:05:06Z");
    const result = await client.append("INBOX", {
      size: bytes.length,
      open: stream(bytes),
      flags: ["\\Seen", "$Label1"],
      date,
    });
    assert.equal(result?.uid, 1);
    const [stored] = await server.listMessages(user, "INBOX");
    assert.deepEqual(stored?.body, bytes);
    assert.deepEqual(stored?.flags, ["\\Seen", "$Label1"]);
    assert.ok(log.some((l) => l.includes(`{${bytes.length}+}`)), "LITERAL+ is used");
    await client.select("INBOX");
    const [data] = await client.uidFetch("1", ["INTERNALDATE"]);
    assert.equal(data?.internalDate?.toISOString(), date.toISOString());
  });
});

Deno.test("ImapClient.append() waits for the continuation without LITERAL+", async () => {
  await withClient(async (client, user, server, log) => {
    assert.equal(client.has("LITERAL+"), false);
    const bytes = ENC.encode(message("sync"));
    await client.append("INBOX", { size: bytes.length, open: stream(bytes) });
    assert.ok(log.some((l) => l.endsWith(`{${bytes.length}}`)));
    assert.ok(log.some((l) => l.startsWith("S: +")), "the server's continuation was awaited");
    assert.deepEqual((await server.listMessages(user, "INBOX"))[0]?.body, bytes);
  }, capabilitiesWithout("LITERAL+"));
});

Deno.test("ImapClient.append() uses LITERAL- only up to 4096 bytes", async () => {
  await withClient(async (client, user, server, log) => {
    assert.ok(client.has("LITERAL-"));
    const small = ENC.encode(message("small"));
    const big = ENC.encode(message("big", "x".repeat(5000) + "\r\n"));
    await client.append("INBOX", { size: small.length, open: stream(small) });
    await client.append("INBOX", { size: big.length, open: stream(big) });
    assert.ok(log.some((l) => l.endsWith(`{${small.length}+}`)));
    assert.ok(log.some((l) => l.endsWith(`{${big.length}}`)));
    assert.equal((await server.listMessages(user, "INBOX")).length, 2);
  }, capabilitiesWithout("LITERAL+", "+LITERAL-"));
});

Deno.test("ImapClient.append() to a missing mailbox fails with TRYCREATE", async () => {
  await withClient(async (client) => {
    const bytes = ENC.encode(message("nowhere"));
    const error = await client.append("Missing", { size: bytes.length, open: stream(bytes) })
      .catch((e) => e);
    assert.ok(error instanceof ImapCommandError);
    assert.equal(error.code, "TRYCREATE");
    await client.noop(); // the connection is still usable
  });
});

Deno.test("ImapClient.append() closes the connection when the source breaks its size", async () => {
  await withClient(async (client) => {
    const bytes = ENC.encode(message("short"));
    const error = await client.append("INBOX", { size: bytes.length + 10, open: stream(bytes) })
      .catch((e) => e);
    assert.match(String(error), /instead of the announced/);
    await assert.rejects(client.noop(), ImapConnectionError);
  });
});

Deno.test("ImapClient.uidFetch() reads flags, sizes, dates and header sections", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"), { flags: ["\\Flagged"] });
    await server.seed(user, "INBOX", message("two"));
    await client.select("INBOX");
    const data = await client.uidFetch("1:*", [
      "UID",
      "FLAGS",
      "RFC822.SIZE",
      "INTERNALDATE",
      "BODY.PEEK[HEADER.FIELDS (SUBJECT)]",
    ]);
    assert.deepEqual(data.map((d) => d.uid), [1, 2]);
    assert.deepEqual(data[0]?.flags?.filter((f) => f !== "\\Recent"), ["\\Flagged"]);
    assert.equal(data[1]?.size, ENC.encode(message("two")).length);
    const header = data[0]?.sections.get("BODY[HEADER.FIELDS (SUBJECT)]");
    assert.ok(header instanceof Uint8Array);
    assert.equal(DEC.decode(header), "Subject: one\r\n\r\n");
  });
});

Deno.test("ImapClient.uidFetchBodies() streams every body byte for byte, 8-bit included", async () => {
  await withClient(async (client, user, server) => {
    const binary = new Uint8Array(70_000).map((_, i) => (i * 7 + 1) % 256 || 1);
    const head = ENC.encode("Subject: bin\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    const big = new Uint8Array([...head, ...binary.map((b) => b === 0x0a ? 0x20 : b), 13, 10]);
    await server.seed(user, "INBOX", message("first"), { flags: ["\\Seen"] });
    await server.seed(user, "INBOX", big);
    await server.seed(user, "INBOX", message("third"));
    const expected = await server.listMessages(user, "INBOX");
    await client.select("INBOX");
    const got: Array<{ uid?: number; flags?: string[]; bytes: Uint8Array; date?: Date }> = [];
    for await (const m of client.uidFetchBodies("1:*")) {
      assert.equal(typeof m.size, "number");
      got.push({ uid: m.uid, flags: m.flags, bytes: await readAll(m.body), date: m.internalDate });
    }
    assert.deepEqual(got.map((g) => g.uid), [1, 2, 3]);
    assert.deepEqual(got[0]?.flags?.filter((f) => f !== "\\Recent"), ["\\Seen"]);
    assert.ok(got.every((g) => g.date instanceof Date));
    for (let i = 0; i < 3; i++) assert.deepEqual(got[i]?.bytes, expected[i]?.body);
  });
});

Deno.test("ImapClient.uidFetchBodies() skips unread bodies and drains when stopped early", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 5; i++) await server.seed(user, "INBOX", message(`m${i}`));
    await client.select("INBOX");
    const uids: number[] = [];
    for await (const m of client.uidFetchBodies("1:*")) {
      uids.push(m.uid!);
      if (m.uid === 3) break; // bodies 1-3 are never read
    }
    assert.deepEqual(uids, [1, 2, 3]);
    // The connection is in sync again: the rest of the FETCH was drained.
    const [data] = await client.uidFetch("5", ["UID", "FLAGS"]);
    assert.equal(data?.uid, 5);
    // A pipelined command beside a streaming fetch completes too.
    const stored = client.uidStore("1", "+", ["\\Flagged"]);
    let count = 0;
    for await (const m of client.uidFetchBodies("1:*")) {
      count++;
      await readAll(m.body);
    }
    await stored;
    assert.equal(count, 5);
  });
});

Deno.test("ImapClient.uidStore() adds, removes and replaces flags; .SILENT sends no FETCH", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"));
    await server.seed(user, "INBOX", message("two"), { flags: ["\\Seen"] });
    await client.select("INBOX");
    const silent = await client.uidStore("1:2", "+", ["\\Flagged", "$Work"]);
    assert.deepEqual(silent, { fetched: [], modified: [] });
    const loud = await client.uidStore("2", "-", ["\\Seen"], { silent: false });
    assert.deepEqual(loud.fetched.map((f) => f.flags?.filter((x) => x !== "\\Recent")), [[
      "\\Flagged",
      "$Work",
    ]]);
    await client.uidStore("1", "", ["\\Answered"]);
    const messages = await server.listMessages(user, "INBOX");
    assert.deepEqual(messages.map((m) => m.flags), [["\\Answered"], ["\\Flagged", "$Work"]]);
    await assert.rejects(client.uidStore("1", "+", ["bad flag"]), TypeError);
  });
});

Deno.test("ImapClient.uidStore() with UNCHANGEDSINCE surfaces MODIFIED for changed messages", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"));
    await server.seed(user, "INBOX", message("two"));
    const info = await client.select("INBOX", { condstore: true });
    const before = info.highestModseq!;
    await server.setFlags(user, "INBOX", 2, ["\\Seen"]); // another client changes UID 2
    const result = await client.uidStore("1:2", "+", ["\\Flagged"], { unchangedSince: before });
    assert.deepEqual(result.modified, [2]);
    const messages = await server.listMessages(user, "INBOX");
    assert.deepEqual(messages.map((m) => m.flags), [["\\Flagged"], ["\\Seen"]]);
  });
});

Deno.test("ImapClient.uidSearch() finds by HEADER with quoted, literal and UTF-8 values", async () => {
  await withClient(async (client, user, server, log) => {
    await server.seed(user, "INBOX", message("plain"));
    await server.seed(user, "INBOX", 'X-Marker: a "quoted" \\ value\r\nSubject: q\r\n\r\nx\r\n');
    await server.seed(
      user,
      "INBOX",
      "X-Marker: 1234-5678\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx\r\n",
    );
    await client.select("INBOX");
    const byValue = (field: string, value: string) =>
      client.uidSearch([{ atom: "HEADER" }, { string: field }, { string: value }]);
    const [quoted, atom, utf8, none, all] = await Promise.all([
      byValue("X-Marker", 'a "quoted" \\ value'),
      byValue("X-Marker", "1234-5678"),
      byValue("Subject", "Grüße"),
      byValue("X-Marker", "absent"),
      client.uidSearch([{ atom: "ALL" }]),
    ]);
    assert.deepEqual(quoted, [2]);
    assert.deepEqual(atom, [3]);
    assert.deepEqual(utf8, [3]);
    assert.deepEqual(none, []);
    assert.deepEqual(all, [1, 2, 3]);
    assert.ok(log.some((l) => /UID SEARCH CHARSET UTF-8 HEADER Subject \{7\}$/.test(l)));
  }, capabilitiesWithout("LITERAL+"));
});

Deno.test("ImapClient.uidCopy() copies and returns COPYUID", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"));
    await server.seed(user, "INBOX", message("two"));
    await server.seed(user, "INBOX", message("three"));
    await client.create("Copies");
    await client.select("INBOX");
    const copy = await client.uidCopy("1,3", "Copies");
    assert.deepEqual(copy?.sourceUids, [1, 3]);
    assert.deepEqual(copy?.destinationUids, [1, 2]);
    assert.equal(copy?.uidValidity, (await client.status("Copies")).uidValidity);
    assert.equal((await server.listMessages(user, "Copies")).length, 2);
    assert.equal((await server.listMessages(user, "INBOX")).length, 3);
    const error = await client.uidCopy("1", "Missing").catch((e) => e);
    assert.equal(error.code, "TRYCREATE");
  });
});

Deno.test("ImapClient.uidMove() moves with MOVE and returns COPYUID", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"));
    await server.seed(user, "INBOX", message("two"));
    await client.create("Moved");
    await client.select("INBOX");
    const result = await client.uidMove("2", "Moved");
    assert.deepEqual(result.copy?.destinationUids, [1]);
    assert.equal(result.expunged, true);
    assert.deepEqual((await server.listMessages(user, "INBOX")).map((m) => m.uid), [1]);
    assert.equal((await server.listMessages(user, "Moved")).length, 1);
  });
});

Deno.test("ImapClient.uidMove() without MOVE copies, marks and UID EXPUNGEs only those", async () => {
  await withClient(async (client, user, server, log) => {
    assert.equal(client.has("MOVE"), false);
    await server.seed(user, "INBOX", message("one"), { flags: ["\\Deleted"] });
    await server.seed(user, "INBOX", message("two"));
    await client.create("Moved");
    await client.select("INBOX");
    const result = await client.uidMove("2", "Moved");
    assert.equal(result.expunged, true);
    assert.deepEqual(result.copy?.sourceUids, [2]);
    assert.ok(log.some((l) => l.includes("UID EXPUNGE 2")));
    // UID 1 was \Deleted by someone else and must survive.
    assert.deepEqual((await server.listMessages(user, "INBOX")).map((m) => m.uid), [1]);
    assert.equal((await server.listMessages(user, "Moved")).length, 1);
  }, capabilitiesWithout("MOVE"));
});

Deno.test("ImapClient.uidMove() without MOVE and UIDPLUS leaves the originals \\Deleted", async () => {
  await withClient(async (client, user, server) => {
    await server.seed(user, "INBOX", message("one"));
    await client.create("Moved");
    await client.select("INBOX");
    const result = await client.uidMove("1", "Moved");
    assert.equal(result.expunged, false);
    assert.deepEqual((await server.listMessages(user, "INBOX"))[0]?.flags, ["\\Deleted"]);
    assert.equal((await server.listMessages(user, "Moved")).length, 1);
  }, capabilitiesWithout("MOVE", "UIDPLUS"));
});

Deno.test("ImapClient.expunge() and uidExpunge() remove \\Deleted messages", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 4; i++) {
      await server.seed(user, "INBOX", message(`m${i}`), { flags: ["\\Deleted"] });
    }
    await client.select("INBOX");
    const some = await client.uidExpunge("2:3");
    assert.deepEqual(some.seqs.length, 2);
    assert.deepEqual((await server.listMessages(user, "INBOX")).map((m) => m.uid), [1, 4]);
    const rest = await client.expunge();
    assert.deepEqual(rest.seqs.length, 2);
    assert.equal((await server.listMessages(user, "INBOX")).length, 0);
  });
});

Deno.test("ImapClient.uidExpunge() refuses a server without UIDPLUS before sending", async () => {
  await withClient(async (client) => {
    await client.select("INBOX");
    await assert.rejects(client.uidExpunge("1"), ImapCapabilityError);
  }, capabilitiesWithout("UIDPLUS"));
});

Deno.test("ImapClient pipelines silent STOREs up to maxInFlight and all of them apply", async () => {
  const server = await dovecot();
  const user = server.newUser("pipe");
  for (let i = 1; i <= 30; i++) await server.seed(user, "INBOX", message(`p${i}`));
  let inFlight = 0;
  let most = 0;
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
    maxInFlight: 4,
    log: (line) => {
      if (/^C: A\d+ /.test(line)) most = Math.max(most, ++inFlight);
      if (/^S: A\d+ (OK|NO|BAD)/.test(line)) inFlight--;
    },
  });
  try {
    await client.login(user, server.password);
    await client.select("INBOX");
    const uids = Array.from({ length: 30 }, (_, i) => i + 1);
    await Promise.all(uids.map((uid) => client.uidStore(String(uid), "+", ["\\Seen"])));
    assert.equal(most, 4);
    const flags = await client.uidFetch(compressUids(uids), ["FLAGS"]);
    assert.equal(flags.length, 30);
    assert.ok(flags.every((f) => f.flags?.includes("\\Seen")));
  } finally {
    await client.logout();
  }
});

Deno.test("ImapClient keeps the results of concurrent SEARCH, FETCH and loud STORE apart", async () => {
  await withClient(async (client, user, server) => {
    for (let i = 1; i <= 6; i++) {
      await server.seed(user, "INBOX", message(`s${i}`), { flags: i % 2 ? ["\\Seen"] : [] });
    }
    await client.select("INBOX");
    const [seen, unseen, odd, even, stored] = await Promise.all([
      client.uidSearch([{ atom: "SEEN" }]),
      client.uidSearch([{ atom: "UNSEEN" }]),
      client.uidFetch("1,3,5", ["UID"]),
      client.uidFetch("2,4,6", ["UID"]),
      client.uidStore("2", "+", ["\\Flagged"], { silent: false }),
    ]);
    assert.deepEqual(seen, [1, 3, 5]);
    assert.deepEqual(unseen, [2, 4, 6]);
    assert.deepEqual(odd.map((d) => d.uid), [1, 3, 5]);
    assert.deepEqual(even.map((d) => d.uid), [2, 4, 6]);
    assert.deepEqual(stored.fetched.map((d) => d.uid), [2]);
  });
});
