import assert from "node:assert/strict";
import { findMessageId, rewriteHeader, splitHeader } from "../../../src/repository/headers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = enc.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

Deno.test("splitHeader() cuts after the empty line whatever the chunk size", async () => {
  const text = "From: a\r\nSubject: b\r\n\r\nbody\r\n\r\nmore\r\n";
  for (let size = 1; size <= text.length; size++) {
    const { header, rest } = await splitHeader(streamOf(text, size));
    assert.equal(dec.decode(header), "From: a\r\nSubject: b\r\n\r\n");
    assert.equal(await new Response(rest).text(), "body\r\n\r\nmore\r\n");
  }
});

Deno.test("splitHeader() treats a message starting with an empty line as header-less", async () => {
  const { header, rest } = await splitHeader(streamOf("\r\nbody\r\n", 3));
  assert.equal(dec.decode(header), "\r\n");
  assert.equal(await new Response(rest).text(), "body\r\n");
});

Deno.test("rewriteHeader() drops named fields with their continuation lines and appends one", () => {
  const header = enc.encode(
    "From: a\r\nX-Keywords: one,\r\n two\r\nSubject: s\r\nx-keywords: again\r\n\r\n",
  );
  const out = dec.decode(rewriteHeader(header, ["X-Keywords"], "X-OfflineIMAP: 1-2"));
  assert.equal(out, "From: a\r\nSubject: s\r\nX-OfflineIMAP: 1-2\r\n\r\n");
});

Deno.test("rewriteHeader() adds a field to a header-less message and keeps it header-less otherwise", () => {
  assert.equal(dec.decode(rewriteHeader(enc.encode("\r\n"), [], "X-A: 1")), "X-A: 1\r\n\r\n");
  assert.equal(dec.decode(rewriteHeader(enc.encode("\r\n"), [], undefined)), "\r\n");
});

Deno.test("findMessageId() reads a folded, case-insensitive Message-ID field", () => {
  assert.equal(findMessageId("Subject: x\r\nmessage-id:\r\n <a@b>\r\n"), "<a@b>");
  assert.equal(findMessageId("Subject: x\r\n"), undefined);
});
