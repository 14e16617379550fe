import assert from "node:assert/strict";
import { Framer } from "../../../imap/framer.ts";
import type { LiteralSink } from "../../../imap/framer.ts";
import { ImapConnectionError, ImapProtocolError } from "../../../imap/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A byte source that hands out the given text in chunks of `size` bytes. */
function source(text: string | Uint8Array, size: number) {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  let offset = 0;
  return {
    read() {
      if (offset >= bytes.length) return Promise.resolve(null);
      const chunk = bytes.slice(offset, offset + size);
      offset += size;
      return Promise.resolve(chunk);
    },
  };
}

Deno.test("Framer.next() frames lines and literals identically for every chunk size", async () => {
  const wire = "* OK hi\r\n* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 4)\r\nA1 OK done\r\n";
  for (let size = 1; size <= wire.length; size++) {
    const framer = new Framer(source(wire, size));
    const first = await framer.next();
    assert.deepEqual(first?.lines.map((l) => dec.decode(l)), ["* OK hi"]);
    const second = await framer.next();
    assert.deepEqual(second?.lines.map((l) => dec.decode(l)), ["* 1 FETCH (BODY[] {5}", " UID 4)"]);
    assert.equal(dec.decode(second!.literals[0]!), "ab\r\nc");
    const third = await framer.next();
    assert.deepEqual(third?.lines.map((l) => dec.decode(l)), ["A1 OK done"]);
    assert.equal(await framer.next(), null);
  }
});

Deno.test("Framer.next() streams a literal to the policy's sink and records it as null", async () => {
  const body = new Uint8Array(100_000).map((_, i) => i % 251);
  const head = enc.encode(`* 1 FETCH (UID 9 BODY[] {${body.length}}\r\n`);
  const tail = enc.encode(")\r\n");
  const wire = new Uint8Array(head.length + body.length + tail.length);
  wire.set(head);
  wire.set(body, head.length);
  wire.set(tail, head.length + body.length);
  const received: Uint8Array[] = [];
  let ended = false;
  const sink: LiteralSink = {
    write(chunk) {
      received.push(chunk.slice());
      return Promise.resolve();
    },
    end() {
      ended = true;
    },
  };
  const framer = new Framer(source(wire, 4096), { maxLineLength: 1000, maxBufferedLiteral: 10 });
  const raw = await framer.next(() => sink);
  assert.equal(raw?.literals[0], null);
  assert.ok(ended);
  const total = received.reduce((n, c) => n + c.length, 0);
  assert.equal(total, body.length);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const c of received) {
    joined.set(c, at);
    at += c.length;
  }
  assert.deepEqual(joined, body);
});

Deno.test("Framer.next() refuses a buffered literal above the limit", async () => {
  const framer = new Framer(source("* 1 FETCH (BODY[] {100}\r\n", 64), {
    maxLineLength: 1000,
    maxBufferedLiteral: 99,
  });
  await assert.rejects(() => framer.next(), ImapProtocolError);
});

Deno.test("Framer.next() refuses a line longer than the limit without buffering it all", async () => {
  const framer = new Framer(source("* " + "x".repeat(10_000), 100), {
    maxLineLength: 1000,
    maxBufferedLiteral: 10,
  });
  await assert.rejects(() => framer.next(), /longer than 1000 bytes/);
});

Deno.test("Framer.next() reports a stream cut inside a response as a connection error", async () => {
  const framer = new Framer(source("* 1 FETCH (BODY[] {10}\r\nabc", 3));
  await assert.rejects(() => framer.next(), ImapConnectionError);
});

Deno.test("Framer.next() never crashes or hangs on random byte streams", async () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = enc.encode('* 0123456789{}()[]"\\ \r\nOKFETCHBODY+');
  for (let round = 0; round < 2000; round++) {
    const length = Math.floor(random() * 200);
    const bytes = new Uint8Array(length).map(() =>
      alphabet[Math.floor(random() * alphabet.length)]!
    );
    const framer = new Framer(source(bytes, 1 + Math.floor(random() * 16)), {
      maxLineLength: 256,
      maxBufferedLiteral: 1024,
    });
    try {
      while (await framer.next() !== null) { /* keep framing */ }
    } catch (error) {
      assert.ok(
        error instanceof ImapProtocolError || error instanceof ImapConnectionError,
        String(error),
      );
    }
  }
});

Deno.test("Framer.next() refuses a response whose buffered literals together exceed the limit", async () => {
  const wire = "* 1 FETCH (A {60}\r\n" + "a".repeat(60) + " B {60}\r\n" + "b".repeat(60) + ")\r\n";
  const framer = new Framer(source(wire, 7), { maxBufferedLiteral: 100, maxResponseBytes: 120 });
  await assert.rejects(() => framer.next(), /Response exceeds the limit of 120 bytes/);
});

Deno.test("Framer.next() never overwrites chunks it handed to a sink", async () => {
  const body = new Uint8Array(50_000).map((_, i) => (i * 13) % 256);
  const head = enc.encode(`* 1 FETCH (BODY[] {${body.length}}\r\n`);
  const wire = new Uint8Array([...head, ...body, ...enc.encode(")\r\n* 2 EXISTS\r\n")]);
  for (const size of [1, 7, 100, 4096, 70_000]) {
    const kept: Uint8Array[] = [];
    const framer = new Framer(source(wire, size));
    const sink: LiteralSink = {
      write(chunk) {
        kept.push(chunk); // kept as views, not copies
        return Promise.resolve();
      },
      end() {},
    };
    await framer.next(() => sink);
    assert.equal((await framer.next())?.lines.length, 1);
    const joined = new Uint8Array(kept.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of kept) {
      joined.set(c, at);
      at += c.length;
    }
    assert.deepEqual(joined, body, `chunk size ${size}`);
  }
});

Deno.test("Framer.next() frames a 2.4 MB line arriving in 16-byte chunks", async () => {
  // Merging by doubling keeps this linear; merging chunk by chunk would copy ~180 GB.
  const line = `* SEARCH ${"12345 ".repeat(400_000)}\r\n`;
  const framer = new Framer(source(line, 16));
  const raw = await framer.next();
  assert.equal(raw?.lines[0]?.length, line.length - 2);
  assert.equal(await framer.next(), null);
});
