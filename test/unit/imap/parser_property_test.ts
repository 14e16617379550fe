/**
 * Property tests of the response path (Framer + parseResponse): thousands of generated valid
 * responses round-trip from wire bytes in random chunkings; random, mutated and truncated byte
 * streams end in a result or an ImapProtocolError / ImapConnectionError, never anything else,
 * never hang, and never hold more than the configured limits. Seeded, so failures reproduce.
 */

import assert from "node:assert/strict";
import { Framer } from "../../../imap/framer.ts";
import type { FramerLimits, RawResponse } from "../../../imap/framer.ts";
import { parseResponse } from "../../../imap/parser.ts";
import { ImapConnectionError, ImapProtocolError } from "../../../imap/errors.ts";
import type { ImapValue, Response, SpecialUse } from "../../../imap/types.ts";

const ENC = new TextEncoder();

/** mulberry32. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (random: Random, max: number) => Math.floor(random() * max);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)]!;

const ATOM_CHARS =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'+-.:;<=>?@^_`|~/";
const QUOTED_CHARS = ATOM_CHARS + ' (){}[]%*"\\';

function atom(random: Random): string {
  for (;;) {
    let out = "";
    const length = 1 + int(random, 12);
    for (let i = 0; i < length; i++) out += pick(random, [...ATOM_CHARS]);
    if (out.toUpperCase() !== "NIL") return out;
  }
}

function quotedText(random: Random): string {
  let out = "";
  const length = int(random, 20);
  for (let i = 0; i < length; i++) out += pick(random, [...QUOTED_CHARS]);
  return out;
}

function bytes(random: Random, max: number): Uint8Array {
  return new Uint8Array(int(random, max)).map(() => int(random, 256));
}

/** A generated value and its wire form. */
interface Generated {
  readonly value: ImapValue;
  readonly wire: Array<string | Uint8Array>;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function literal(data: Uint8Array): Array<string | Uint8Array> {
  return [`{${data.length}}\r\n`, data];
}

function generate(random: Random, depth = 0): Generated {
  const roll = random();
  if (roll < 0.25) {
    const a = atom(random);
    return { value: a, wire: [a] };
  }
  if (roll < 0.5) {
    const q = quotedText(random);
    return { value: q, wire: [quote(q)] };
  }
  if (roll < 0.65) {
    const data = bytes(random, 60);
    return { value: data, wire: literal(data) };
  }
  if (roll < 0.72) return { value: null, wire: ["NIL"] };
  if (depth >= 3) return { value: "x", wire: ["x"] };
  const items = Array.from({ length: int(random, 5) }, () => generate(random, depth + 1));
  const wire: Array<string | Uint8Array> = ["("];
  items.forEach((item, i) => {
    if (i > 0) wire.push(" ");
    wire.push(...item.wire);
  });
  wire.push(")");
  return { value: items.map((i) => i.value), wire };
}

/** A valid response with what parseResponse must return for it. */
interface Case {
  readonly wire: Array<string | Uint8Array>;
  readonly expected: Response;
}

function flags(random: Random): string[] {
  return Array.from(
    { length: int(random, 4) },
    () => pick(random, ["\\Seen", "\\Answered", "\\Flagged", "$Label1", "Junk", "\\*"]),
  );
}

function generateCase(random: Random): Case {
  const kind = int(random, 7);
  if (kind === 0) {
    // FETCH with UID, FLAGS, a body (literal with binary bytes, or quoted) and a custom item.
    const seq = 1 + int(random, 100_000);
    const uid = 1 + int(random, 4_000_000_000);
    const f = flags(random);
    const body = random() < 0.7 ? bytes(random, 300) : ENC.encode(quotedText(random));
    const asLiteral = body.some((b) => b < 0x20 || b > 0x7e) || random() < 0.5;
    const custom = generate(random);
    const modseq = BigInt(int(random, 2 ** 31)) * 1000n;
    const wire: Array<string | Uint8Array> = [
      `* ${seq} FETCH (UID ${uid} FLAGS (${f.join(" ")}) MODSEQ (${modseq}) BODY[] `,
      ...(asLiteral ? literal(body) : [quote(new TextDecoder().decode(body))]),
      " X-CUSTOM ",
      ...custom.wire,
      ")",
    ];
    return {
      wire,
      expected: {
        kind: "fetch",
        data: {
          seq,
          uid,
          flags: f,
          modseq,
          sections: new Map([["BODY[]", body]]),
          other: new Map([["X-CUSTOM", custom.value]]),
        },
      },
    };
  }
  if (kind === 1) {
    const name = random() < 0.5 ? atom(random) : quotedText(random);
    const nameWire = random() < 0.3 ? literal(ENC.encode(name)) : [quote(name)];
    const attributes = flags(random).map((f) => f.replace("$", "\\"));
    const specialUse = attributes.find((a) => /^\\(Flagged|Junk)$/.test(a));
    return {
      wire: [`* LIST (${attributes.join(" ")}) "/" `, ...nameWire],
      expected: {
        kind: "list",
        command: "LIST",
        entry: {
          attributes,
          delimiter: "/",
          name,
          ...(specialUse ? { specialUse: specialUse as SpecialUse } : {}),
        },
      },
    };
  }
  if (kind === 2) {
    const numbers = Array.from({ length: int(random, 30) }, () => 1 + int(random, 2 ** 32 - 1));
    return {
      wire: [`* SEARCH${numbers.map((n) => ` ${n}`).join("")}`],
      expected: { kind: "search", numbers, modseq: undefined },
    };
  }
  if (kind === 3) {
    const tag = atom(random).replace(/[+]/g, "t");
    const status = pick(random, ["OK", "NO", "BAD"] as const);
    const args = [String(1 + int(random, 1000)), String(1 + int(random, 1000))];
    const text = quotedText(random).replace(/[\r\n]/g, "").trim();
    return {
      wire: [`${tag} ${status} [APPENDUID ${args.join(" ")}] ${text}`],
      expected: { kind: "tagged", tag, status, code: { name: "APPENDUID", args }, text },
    };
  }
  if (kind === 4) {
    const f = flags(random);
    return {
      wire: [`* OK [PERMANENTFLAGS (${f.join(" ")})] Limited`],
      expected: {
        kind: "status",
        status: "OK",
        code: { name: "PERMANENTFLAGS", args: [f] },
        text: "Limited",
      },
    };
  }
  if (kind === 5) {
    const items = new Map([["MESSAGES", BigInt(int(random, 1e6))], [
      "HIGHESTMODSEQ",
      BigInt(int(random, 2 ** 31)) * 4096n,
    ]]);
    const mailbox = quotedText(random);
    return {
      wire: [
        `* STATUS ${quote(mailbox)} (${[...items].map(([k, v]) => `${k} ${v}`).join(" ")})`,
      ],
      expected: { kind: "mailboxStatus", mailbox, items },
    };
  }
  const values = Array.from({ length: 1 + int(random, 4) }, () => generate(random));
  const keyword = atom(random).replace(/^\d+$/, "K").toUpperCase();
  const known = new Set([
    "OK",
    "NO",
    "BAD",
    "BYE",
    "PREAUTH",
    "CAPABILITY",
    "ENABLED",
    "LIST",
    "LSUB",
    "FLAGS",
    "SEARCH",
    "STATUS",
    "VANISHED",
  ]);
  const safe = known.has(keyword) || /^\d/.test(keyword) ? `X${keyword}` : keyword;
  const wire: Array<string | Uint8Array> = [`* ${safe}`];
  for (const v of values) wire.push(" ", ...v.wire);
  return { wire, expected: { kind: "other", keyword: safe, values: values.map((v) => v.value) } };
}

function toBytes(parts: Array<string | Uint8Array>): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? ENC.encode(p) : p);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A source handing out `bytes` in random chunks, counting reads to prove termination. */
function chunked(bytes: Uint8Array, random: Random, maxChunk: number) {
  let offset = 0;
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    read(): Promise<Uint8Array | null> {
      reads++;
      if (offset >= bytes.length) return Promise.resolve(null);
      const size = 1 + int(random, maxChunk);
      const chunk = bytes.slice(offset, offset + size);
      offset += size;
      return Promise.resolve(chunk);
    },
  };
}

/** Every response in the stream until the end, or the error that ended it. */
async function drain(
  bytes: Uint8Array,
  random: Random,
  limits: Partial<FramerLimits> = {},
  maxChunk = 64,
): Promise<{ responses: Response[]; raws: RawResponse[]; error?: unknown; peak: number }> {
  const source = chunked(bytes, random, maxChunk);
  const framer = new Framer(source, limits);
  const responses: Response[] = [];
  const raws: RawResponse[] = [];
  let peak = 0;
  try {
    for (;;) {
      const raw = await framer.next();
      peak = Math.max(peak, framer.buffered);
      if (raw === null) break;
      raws.push(raw);
      responses.push(parseResponse(raw));
      // Termination: each read consumes at least one byte, so reads are bounded.
      assert.ok(source.reads <= bytes.length + 2, "the framer keeps reading past the end");
    }
  } catch (error) {
    return { responses, raws, error, peak };
  }
  return { responses, raws, peak };
}

function assertProtocolOrConnection(error: unknown, context: string): void {
  assert.ok(
    error instanceof ImapProtocolError || error instanceof ImapConnectionError,
    `${context}: ${error instanceof Error ? error.stack : String(error)}`,
  );
}

Deno.test("parseResponse() round-trips 5,000 generated responses in random chunkings", async () => {
  const random = prng(20240101);
  for (let round = 0; round < 5000; round++) {
    const cases = Array.from({ length: 1 + int(random, 3) }, () => generateCase(random));
    const wire = toBytes(cases.flatMap((c) => [...c.wire, "\r\n"]));
    const { responses, error } = await drain(wire, random, {}, 1 + int(random, 200));
    assert.equal(error, undefined, `round ${round}: ${error}`);
    assert.deepEqual(responses, cases.map((c) => c.expected), `round ${round}`);
  }
});

Deno.test("Framer and parseResponse() survive random byte streams with only protocol errors", async () => {
  const random = prng(777);
  const tokens = [
    "* ",
    "A1 ",
    "OK ",
    "FETCH ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "~{",
    "{3}\r\n",
    "{99999999999999999999}\r\n",
    "{200}\r\n",
    '"',
    "\\",
    " ",
    "\r\n",
    "\n",
    "\r",
    "NIL",
    "BODY[]",
    "UID ",
    "FLAGS ",
    "MODSEQ ",
    "EXISTS",
    "SEARCH ",
    "STATUS ",
    "LIST ",
    "VANISHED ",
    "99999999999",
    "1:*",
    "\0",
    "\xff",
  ];
  const limits = { maxLineLength: 300, maxBufferedLiteral: 150, maxResponseBytes: 400 };
  for (let round = 0; round < 5000; round++) {
    let text = "";
    const parts = int(random, 60);
    for (let i = 0; i < parts; i++) {
      text += random() < 0.8 ? pick(random, tokens) : String.fromCharCode(int(random, 256));
    }
    const wire = Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    const { error, raws, peak } = await drain(wire, random, limits, 1 + int(random, 32));
    if (error !== undefined) assertProtocolOrConnection(error, `round ${round}`);
    for (const raw of raws) {
      assert.ok(raw.lines.every((l) => l.length <= limits.maxLineLength));
      assert.ok(raw.literals.every((l) => l === null || l.length <= limits.maxBufferedLiteral));
      const held = raw.lines.reduce((n, l) => n + l.length, 0) +
        raw.literals.reduce((n, l) => n + (l?.length ?? 0), 0);
      assert.ok(held <= limits.maxResponseBytes);
    }
    // What the framer holds is bounded by a line plus one chunk.
    assert.ok(peak <= limits.maxLineLength + 32 + 2, `round ${round}: held ${peak} bytes`);
  }
});

Deno.test("parseResponse() survives mutated valid responses with only protocol errors", async () => {
  const random = prng(4242);
  for (let round = 0; round < 3000; round++) {
    const wire = toBytes([...generateCase(random).wire, "\r\n"]);
    const mutated = wire.slice();
    for (let i = 0; i < 1 + int(random, 4); i++) {
      mutated[int(random, mutated.length)] = pick(random, [
        0x20,
        0x28,
        0x29,
        0x22,
        0x7b,
        0x5c,
        0x5b,
        0x0a,
        0x41,
        0x30,
        0xff,
      ]);
    }
    const { error } = await drain(mutated, random, {}, 1 + int(random, 64));
    if (error !== undefined) assertProtocolOrConnection(error, `round ${round}`);
  }
});

Deno.test("Framer.next() on a truncated stream returns the whole responses, then a connection error", async () => {
  const random = prng(99);
  for (let round = 0; round < 400; round++) {
    const cases = Array.from({ length: 2 + int(random, 3) }, () => generateCase(random));
    const pieces = cases.map((c) => toBytes([...c.wire, "\r\n"]));
    const wire = toBytes(pieces);
    const cut = int(random, wire.length);
    const { responses, error } = await drain(wire.slice(0, cut), random, {}, 1 + int(random, 50));
    let boundary = 0;
    let whole = 0;
    for (const piece of pieces) {
      if (boundary + piece.length > cut) break;
      boundary += piece.length;
      whole++;
    }
    assert.deepEqual(responses, cases.slice(0, whole).map((c) => c.expected), `round ${round}`);
    if (cut === boundary) {
      assert.equal(error, undefined, `round ${round}: a cut between responses is a clean end`);
    } else {
      assert.ok(error instanceof ImapConnectionError, `round ${round}: ${error}`);
    }
  }
});
