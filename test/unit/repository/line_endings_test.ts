import assert from "node:assert/strict";
import { countCrlfSize, crlfToLf, lfToCrlf } from "../../../src/repository/line_endings.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

async function run(
  convert: (source: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>,
  chunks: Uint8Array[],
): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of convert(streamOf(chunks))) parts.push(chunk);
  return decoder.decode(concat(parts));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Every way of cutting `text` into two chunks, plus one chunk per byte and empty chunks. */
function splits(text: string): Uint8Array[][] {
  const bytes = encoder.encode(text);
  const result: Uint8Array[][] = [[bytes]];
  for (let i = 0; i <= bytes.length; i++) {
    result.push([bytes.slice(0, i), new Uint8Array(0), bytes.slice(i)]);
  }
  result.push([...bytes].map((byte) => Uint8Array.of(byte)));
  return result;
}

const CRLF_TO_LF: [string, string][] = [
  ["a\r\nb\r\n", "a\nb\n"],
  ["bare\rcr\r", "bare\rcr\r"],
  ["\r\r\n\n", "\r\n\n"],
  ["mixed\nlf\r\n", "mixed\nlf\n"],
  ["\r\n", "\n"],
  ["", ""],
  ["no newline", "no newline"],
  ["ä\r\nö", "ä\nö"],
];

Deno.test("crlfToLf() turns CRLF into LF and keeps bare CR, at every chunk split", async () => {
  for (const [input, expected] of CRLF_TO_LF) {
    for (const chunks of splits(input)) {
      assert.equal(await run(crlfToLf, chunks), expected, JSON.stringify({ input, chunks }));
    }
  }
});

const LF_TO_CRLF: [string, string][] = [
  ["a\nb\n", "a\r\nb\r\n"],
  ["a\r\nb\r\n", "a\r\nb\r\n"],
  ["bare\rcr", "bare\rcr"],
  ["\r\r\n\n", "\r\r\n\r\n"],
  ["\n\n", "\r\n\r\n"],
  ["", ""],
  ["ä\nö\r\n", "ä\r\nö\r\n"],
];

Deno.test("lfToCrlf() turns bare LF into CRLF and keeps CRLF, at every chunk split", async () => {
  for (const [input, expected] of LF_TO_CRLF) {
    for (const chunks of splits(input)) {
      assert.equal(
        await run((source) => source.pipeThrough(lfToCrlf()), chunks),
        expected,
        JSON.stringify({ input, chunks }),
      );
    }
  }
});

Deno.test("crlfToLf() passes an error of its source on, and a cancel back to it", async () => {
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection lost mid-literal"));
    },
  });
  await assert.rejects(crlfToLf(failing).getReader().read(), {
    message: "connection lost mid-literal",
  });
  let cancelled: unknown;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode("a\r\n"));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = crlfToLf(source).getReader();
  assert.equal(decoder.decode((await reader.read()).value), "a\n");
  await reader.cancel("skip");
  assert.equal(cancelled, "skip");
});

Deno.test("lfToCrlf() after crlfToLf() restores a CRLF message", async () => {
  const message = "From: a@b\r\nSubject: x\r\n\r\nbody\r\n";
  const lf = await run(crlfToLf, [encoder.encode(message)]);
  assert.equal(
    await run((source) => source.pipeThrough(lfToCrlf()), [encoder.encode(lf)]),
    message,
  );
});

Deno.test("countCrlfSize() equals the length lfToCrlf() produces, at every chunk split", async () => {
  for (const [input, expected] of LF_TO_CRLF) {
    for (const chunks of splits(input)) {
      assert.equal(await countCrlfSize(streamOf(chunks)), encoder.encode(expected).length);
    }
  }
});

Deno.test("crlfToLf() passes a chunk without CR through unchanged", async () => {
  const chunk = encoder.encode("plain\ntext\n");
  const out: Uint8Array[] = [];
  for await (const part of crlfToLf(streamOf([chunk]))) out.push(part);
  assert.equal(out.length, 1);
  assert.equal(out[0], chunk);
});

Deno.test("crlfToLf() equals a byte-by-byte reference on random CR/LF-heavy input in random chunks", async () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = [13, 10, 97, 98, 13, 10, 13];
  for (let round = 0; round < 500; round++) {
    const input = Uint8Array.from(
      { length: Math.floor(random() * 120) },
      () => alphabet[Math.floor(random() * alphabet.length)]!,
    );
    const expected: number[] = [];
    for (let i = 0; i < input.length; i++) {
      if (input[i] === 13 && input[i + 1] === 10) continue;
      expected.push(input[i]!);
    }
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < input.length;) {
      const size = 1 + Math.floor(random() * 9);
      chunks.push(input.slice(at, at + size));
      at += size;
    }
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const out: number[] = [];
    for await (const part of crlfToLf(stream)) out.push(...part);
    assert.deepEqual(out, expected, `round ${round}`);
  }
});
