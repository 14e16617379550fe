import assert from "node:assert/strict";
import { decodeMailboxName, encodeMailboxName } from "../../../imap/mailbox_name.ts";

// [decoded, encoded]: pairs that must convert both ways (after isync's tst_imap_utf7.c).
const VALID: Array<[string, string]> = [
  ["", ""],
  ["1", "1"],
  ["INBOX", "INBOX"],
  ["word with spaces", "word with spaces"],
  ["~peter/mail/日本語/台北", "~peter/mail/&ZeVnLIqe-/&U,BTFw-"],
  ["&", "&-"],
  ["&&", "&-&-"],
  ["1&1", "1&-1"],
  ["&1&", "&-1&-"],
  ["\t", "&AAk-"],
  ["\x00", "&AAA-"],
  ["m\x7fll", "m&AH8-ll"],
  ["\t&", "&AAk-&-"],
  ["\t&\t", "&AAk-&-&AAk-"],
  ["&\t", "&-&AAk-"],
  ["&\t&", "&-&AAk-&-"],
  ["ä", "&AOQ-"],
  ["äö", "&AOQA9g-"],
  ["äöü", "&AOQA9gD8-"],
  ["Gäste", "G&AOQ-ste"],
  ["Gäste & Freunde", "G&AOQ-ste &- Freunde"],
  ["台北", "&U,BTFw-"],
  ["Ḁ", "&HgA-"],
  ["Ḁḁ", "&HgAeAQ-"],
  ["😂", "&2D3eAg-"],
  ["😈😎", "&2D3eCNg93g4-"],
  ["müll", "m&APw-ll"],
  ["mü", "m&APw-"],
  ["über", "&APw-ber"],
  ["Entwürfe/Ärger-Zeug", "Entw&APw-rfe/&AMQ-rger-Zeug"],
];

for (const [decoded, encoded] of VALID) {
  Deno.test(`encodeMailboxName() encodes ${JSON.stringify(decoded)} as "${encoded}"`, () => {
    assert.equal(encodeMailboxName(decoded), encoded);
  });
  Deno.test(`decodeMailboxName() decodes "${encoded}"`, () => {
    assert.equal(decodeMailboxName(encoded), decoded);
  });
}

// [encoded, what the error message must say]
const INVALID: Array<[string, RegExp]> = [
  ["&", /"&" at offset 0 has no closing "-"/],
  ["&-&", /"&" at offset 2 has no closing "-"/],
  ["&AAk", /has no closing "-"/],
  ["&AA-", /base64 at offset 1 does not end on a whole character/],
  ["&AAl-", /does not end on a whole character/], // non-zero padding bits
  ["&AAkA-", /does not end on a whole character/], // a sixth of a character left over
  ["&*Ak-", /character "\*" at offset 1 is not modified base64/],
  ["&&-", /character "&" at offset 1 is not modified base64/],
  ["&AOQ=-", /character "=" at offset 4 is not modified base64/],
  ["&U/BTFw-", /character "\/" at offset 2 is not modified base64/],
  ["&AEE-", /encodes "A", which must be written as is/],
  ["&ACY-", /encodes "&", which must be written as is/],
  ["&ACA-", /encodes " ", which must be written as is/],
  ["&2D0-", /unpaired UTF-16 surrogate/],
  ["&3gI-", /unpaired UTF-16 surrogate/],
  ["&2D3YPQ-", /unpaired UTF-16 surrogate/],
  ["G\u00e4ste", /character "\\u00e4" at offset 1 is not printable ASCII/],
  ["a\tb", /character "\\u0009" at offset 1 is not printable ASCII/],
  ["a\x7f", /character "\\u007f" at offset 1 is not printable ASCII/],
];

for (const [encoded, message] of INVALID) {
  Deno.test(`decodeMailboxName() rejects ${JSON.stringify(encoded)}`, () => {
    assert.throws(() => decodeMailboxName(encoded), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, /^Cannot decode mailbox name ".*": /);
      assert.match(error.message, message);
      return true;
    });
  });
}

Deno.test("decodeMailboxName() accepts two adjacent base64 sections", () => {
  assert.equal(decodeMailboxName("&AOQ-&APY-"), "äö");
});

Deno.test("encodeMailboxName() rejects a lone surrogate", () => {
  assert.throws(() => encodeMailboxName("a\ud83d"), {
    name: "TypeError",
    message: 'Cannot encode mailbox name "a\\ud83d": lone surrogate at offset 1',
  });
  assert.throws(() => encodeMailboxName("\ude02x"), TypeError);
});

Deno.test("encodeMailboxName() output always decodes back to its input", () => {
  const samples = ["", "a", "&", "-", "&-", "ä-", "-ä", "ä&ä", "日本 語", "a😂b&c", "\r\n"];
  for (const a of samples) {
    for (const b of samples) {
      const name = a + b;
      const encoded = encodeMailboxName(name);
      assert.match(encoded, /^[\x20-\x7e]*$/);
      assert.equal(decodeMailboxName(encoded), name, JSON.stringify(name));
    }
  }
});
