import assert from "node:assert/strict";
import { parseInternalDate, parseResponseText } from "../../../imap/parser.ts";
import { ImapProtocolError } from "../../../imap/errors.ts";

Deno.test("parseResponse() reads a tagged OK with a response code", () => {
  const r = parseResponseText("A1 OK [APPENDUID 38505 3955] APPEND completed");
  assert.equal(r.kind, "tagged");
  if (r.kind !== "tagged") return;
  assert.equal(r.tag, "A1");
  assert.equal(r.status, "OK");
  assert.deepEqual(r.code, { name: "APPENDUID", args: ["38505", "3955"] });
  assert.equal(r.text, "APPEND completed");
});

Deno.test("parseResponse() reads untagged EXISTS, RECENT and EXPUNGE", () => {
  assert.deepEqual(parseResponseText("* 23 EXISTS"), { kind: "exists", count: 23 });
  assert.deepEqual(parseResponseText("* 5 RECENT"), { kind: "recent", count: 5 });
  assert.deepEqual(parseResponseText("* 44 EXPUNGE"), { kind: "expunge", seq: 44 });
});

Deno.test("parseResponse() reads PERMANENTFLAGS as a list argument", () => {
  const r = parseResponseText("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited");
  assert.equal(r.kind, "status");
  if (r.kind !== "status") return;
  assert.deepEqual(r.code, { name: "PERMANENTFLAGS", args: [["\\Deleted", "\\Seen", "\\*"]] });
  assert.equal(r.text, "Limited");
});

Deno.test("parseResponse() reads a FETCH with flags, date, size, modseq and a literal body", () => {
  const body = "Subject: x\r\n\r\nhi\r\n";
  const r = parseResponseText(
    `* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE ${body.length} MODSEQ (624140003) BODY[] {${body.length}}\r\n${body})`,
  );
  assert.equal(r.kind, "fetch");
  if (r.kind !== "fetch") return;
  assert.equal(r.data.seq, 12);
  assert.equal(r.data.uid, 7);
  assert.deepEqual(r.data.flags, ["\\Seen", "$Forwarded"]);
  assert.equal(r.data.internalDate?.toISOString(), "1996-07-17T09:44:25.000Z");
  assert.equal(r.data.size, body.length);
  assert.equal(r.data.modseq, 624140003n);
  const section = r.data.sections.get("BODY[]");
  assert.ok(section instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(section), body);
});

Deno.test("parseResponse() keeps a header section name with spaces and parentheses", () => {
  const r = parseResponseText(
    "* 1 FETCH (UID 3 BODY[HEADER.FIELDS (X-OFFLINEIMAP)] {26}\r\nX-OfflineIMAP: 123-456\r\n\r\n)",
  );
  assert.equal(r.kind, "fetch");
  if (r.kind !== "fetch") return;
  assert.deepEqual([...r.data.sections.keys()], ["BODY[HEADER.FIELDS (X-OFFLINEIMAP)]"]);
});

Deno.test("parseResponse() reads LIST with a quoted name, NIL delimiter and a literal name", () => {
  const a = parseResponseText('* LIST (\\HasNoChildren) "." "INBOX.G&AOQ-ste"');
  assert.deepEqual(a, {
    kind: "list",
    command: "LIST",
    entry: { attributes: ["\\HasNoChildren"], delimiter: ".", name: "INBOX.G&AOQ-ste" },
  });
  const b = parseResponseText('* LIST (\\Noselect) NIL {5}\r\na"b c');
  assert.equal(b.kind, "list");
  if (b.kind !== "list") return;
  assert.equal(b.entry.delimiter, null);
  assert.equal(b.entry.name, 'a"b c');
});

Deno.test("parseResponse() reads SEARCH results, with and without MODSEQ", () => {
  assert.deepEqual(parseResponseText("* SEARCH 2 84 882"), {
    kind: "search",
    numbers: [2, 84, 882],
    modseq: undefined,
  });
  assert.deepEqual(parseResponseText("* SEARCH"), {
    kind: "search",
    numbers: [],
    modseq: undefined,
  });
  assert.deepEqual(parseResponseText("* SEARCH 2 5 (MODSEQ 917162500)"), {
    kind: "search",
    numbers: [2, 5],
    modseq: 917162500n,
  });
});

Deno.test("parseResponse() reads continuation, CAPABILITY, BYE and STATUS", () => {
  assert.deepEqual(parseResponseText("+ Ready"), { kind: "continuation", text: "Ready" });
  assert.deepEqual(parseResponseText("+"), { kind: "continuation", text: "" });
  assert.deepEqual(parseResponseText("* CAPABILITY IMAP4rev1 UIDPLUS AUTH=PLAIN"), {
    kind: "capability",
    capabilities: ["IMAP4rev1", "UIDPLUS", "AUTH=PLAIN"],
  });
  const bye = parseResponseText("* BYE Autologout; idle for too long");
  assert.equal(bye.kind, "status");
  const status = parseResponseText("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)");
  assert.equal(status.kind, "mailboxStatus");
  if (status.kind !== "mailboxStatus") return;
  assert.equal(status.items.get("UIDNEXT"), 44292n);
});

Deno.test("parseResponse() reads VANISHED (EARLIER) from QRESYNC", () => {
  assert.deepEqual(parseResponseText("* VANISHED (EARLIER) 41,43:116"), {
    kind: "vanished",
    earlier: true,
    uids: "41,43:116",
  });
});

Deno.test("parseResponse() rejects malformed responses with the offending bytes", () => {
  const cases = [
    "* 1 FETCH (UID abc)",
    "* 1 FETCH (FLAGS (\\Seen)",
    "A1 OK [APPENDUID 1 2",
    "A1 MAYBE done",
    '* LIST (\\Noselect) "." "unterminated',
    '* 1 FETCH (INTERNALDATE "yesterday")',
  ];
  for (const text of cases) {
    assert.throws(() => parseResponseText(text), (e: unknown) => {
      assert.ok(e instanceof ImapProtocolError, `${text}: ${e}`);
      assert.match(e.message, /^Cannot parse server response: /);
      return true;
    });
  }
});

Deno.test("parseInternalDate() converts the zone offset and rejects garbage", () => {
  assert.equal(
    parseInternalDate(" 1-Feb-2020 00:00:00 +0100")?.toISOString(),
    "2020-01-31T23:00:00.000Z",
  );
  assert.equal(parseInternalDate("31-Foo-2020 00:00:00 +0000"), undefined);
  assert.equal(parseInternalDate("2020-01-01"), undefined);
});

Deno.test("parseResponse() reads a BINARY literal8 (~{n}) as bytes", () => {
  const r = parseResponseText("* 3 FETCH (UID 9 BINARY[] ~{3}\r\n\x00\x01\x02)");
  assert.equal(r.kind, "fetch");
  if (r.kind !== "fetch") return;
  assert.deepEqual(r.data.sections.get("BINARY[]"), new Uint8Array([0, 1, 2]));
});

Deno.test("parseResponse() reads special use and skips LIST-EXTENDED data", () => {
  const r = parseResponseText(
    '* LIST (\\Sent \\HasNoChildren) "." Sent ("CHILDINFO" ("SUBSCRIBED"))',
  );
  assert.deepEqual(r, {
    kind: "list",
    command: "LIST",
    entry: {
      attributes: ["\\Sent", "\\HasNoChildren"],
      delimiter: ".",
      name: "Sent",
      specialUse: "\\Sent",
    },
  });
});

Deno.test("parseResponse() rejects numbers beyond 32 bits and bad mod-sequences", () => {
  for (
    const text of [
      "* 4294967296 EXISTS",
      "* 1 FETCH (UID 4294967296)",
      "* SEARCH 1 99999999999",
      "* 1 FETCH (MODSEQ (abc))",
      "* 1 FETCH (MODSEQ (99999999999999999999))",
      "* STATUS INBOX (MESSAGES x)",
      "* VANISHED (EARLIER) 1:*",
    ]
  ) {
    assert.throws(() => parseResponseText(text), ImapProtocolError, text);
  }
  const max = parseResponseText("* 1 FETCH (UID 4294967295 MODSEQ (9223372036854775807))");
  assert.ok(max.kind === "fetch" && max.data.uid === 4294967295);
  assert.ok(max.kind === "fetch" && max.data.modseq === 9223372036854775807n);
});

Deno.test("parseInternalDate() accepts a space-padded day", () => {
  assert.equal(
    parseInternalDate(" 7-Feb-2024 10:00:00 +0100")?.toISOString(),
    "2024-02-07T09:00:00.000Z",
  );
});
