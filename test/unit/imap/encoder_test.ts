import assert from "node:assert/strict";
import { encodeCommand } from "../../../imap/encoder.ts";

const dec = new TextDecoder();
const opts = { maxNonSyncLiteral: -1, utf8: false };

function wire(segments: ReturnType<typeof encodeCommand>): string {
  return segments.map((s) =>
    s.kind === "text" ? dec.decode(s.bytes) : s.bytes ? dec.decode(s.bytes) : `<${s.size}>`
  ).join("");
}

Deno.test("encodeCommand() sends safe strings as atoms and others quoted", () => {
  const s = encodeCommand("A1", "SELECT", [{ string: "INBOX" }], opts);
  assert.equal(wire(s), "A1 SELECT INBOX\r\n");
  const q = encodeCommand("A2", "SELECT", [{ string: 'My "Box" \\x' }], opts);
  assert.equal(wire(q), 'A2 SELECT "My \\"Box\\" \\\\x"\r\n');
  const e = encodeCommand("A3", "LIST", [{ string: "" }, { string: "*" }], opts);
  assert.equal(wire(e), 'A3 LIST "" "*"\r\n');
});

Deno.test("encodeCommand() turns CR/LF or 8-bit strings into synchronising literals", () => {
  const s = encodeCommand("A1", "LOGIN", [{ string: "me" }, { string: "pa\r\nss" }], opts);
  assert.equal(s.length, 3);
  assert.equal(s[0]!.kind, "text");
  assert.equal(wire([s[0]!]), "A1 LOGIN me {6}\r\n");
  assert.equal(s[1]!.kind === "literal" && s[1]!.sync, true);
  const plus = encodeCommand("A2", "LOGIN", [{ string: "Gäste" }], {
    maxNonSyncLiteral: Infinity,
    utf8: false,
  });
  assert.equal(wire([plus[0]!]), "A2 LOGIN {6+}\r\n");
});

Deno.test("encodeCommand() masks secrets in the log text but not on the wire", () => {
  const s = encodeCommand(
    "A1",
    "LOGIN",
    [{ secret: { string: "alice" } }, { secret: { string: "s3cret pass" } }],
    opts,
  );
  assert.equal(wire(s), 'A1 LOGIN "alice" "s3cret pass"\r\n');
  const log = s.map((x) => x.kind === "text" ? x.log : "").join("");
  assert.ok(!log.includes("s3cret"));
  assert.ok(!log.includes("alice"));
});

Deno.test("encodeCommand() refuses an atom containing CR or LF", () => {
  assert.throws(
    () => encodeCommand("A1", "UID FETCH", [{ atom: "1\r\nA2 LOGOUT" }], opts),
    /CR, LF/,
  );
});

Deno.test("encodeCommand() sends small literals non-synchronising under LITERAL-", () => {
  const literalMinus = { maxNonSyncLiteral: 4096, utf8: false };
  const small = encodeCommand("A1", "APPEND", [{ literal: new Uint8Array(4096) }], literalMinus);
  assert.equal(wire([small[0]!]), "A1 APPEND {4096+}\r\n");
  const big = encodeCommand("A2", "APPEND", [{ literal: new Uint8Array(4097) }], literalMinus);
  assert.equal(wire([big[0]!]), "A2 APPEND {4097}\r\n");
  assert.equal(big[1]!.kind === "literal" && big[1]!.sync, true);
});

Deno.test("encodeCommand() quotes UTF-8 once UTF8=ACCEPT is enabled", () => {
  const s = encodeCommand("A1", "CREATE", [{ string: "Gäste" }], {
    maxNonSyncLiteral: -1,
    utf8: true,
  });
  assert.equal(wire(s), 'A1 CREATE "Gäste"\r\n');
});

Deno.test("encodeCommand() masks a secret literal and refuses CR/LF inside a list", () => {
  const s = encodeCommand("A1", "LOGIN", [{ string: "u" }, { secret: { string: "pä\nss" } }], opts);
  assert.equal(s[1]!.kind === "literal" && s[1]!.secret, true);
  assert.ok(!s.some((x) => x.kind === "text" && x.log.includes("pä")));
  assert.throws(
    () => encodeCommand("A2", "STORE", [{ list: [{ atom: "\\Seen\r\nA3 LOGOUT" }] }], opts),
    /CR, LF/,
  );
});
