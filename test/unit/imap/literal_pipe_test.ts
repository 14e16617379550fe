import assert from "node:assert/strict";
import { LiteralPipe } from "../../../imap/literal_pipe.ts";
import { ImapConnectionError } from "../../../imap/errors.ts";

const enc = new TextEncoder();

Deno.test("LiteralPipe.write() resolves only once the consumer asked for the chunk", async () => {
  const pipe = new LiteralPipe();
  let written = false;
  const write = pipe.write(enc.encode("abc")).then(() => written = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(written, false, "nobody read yet: the reader loop must wait");
  const reader = pipe.readable.getReader();
  const first = reader.read();
  await write;
  assert.deepEqual((await first).value, enc.encode("abc"));
  pipe.end();
  assert.equal((await reader.read()).done, true);
});

Deno.test("LiteralPipe drops the rest of a body the consumer cancelled", async () => {
  const pipe = new LiteralPipe();
  await pipe.readable.cancel();
  assert.equal(pipe.cancelled, true);
  await pipe.write(enc.encode("ignored")); // resolves at once
  pipe.end();
});

Deno.test("LiteralPipe.fail() errors the body and unblocks a waiting write", async () => {
  const pipe = new LiteralPipe();
  const write = pipe.write(enc.encode("never read"));
  pipe.fail(new ImapConnectionError("gone"));
  await write;
  await assert.rejects(pipe.readable.getReader().read(), ImapConnectionError);
  await pipe.write(enc.encode("after")); // no throw after failure
});
