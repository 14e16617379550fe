/**
 * The benchmark corpus for scripts/bench_sync.ts: a seeded, deterministic mailbox set that looks
 * like real mail. Message `index` of seed `seed` is always the same bytes, folder, flags and
 * INTERNALDATE, whatever else is generated, so every tool's server user gets the same corpus and
 * the same later changes.
 *
 * Shape: most messages are 2–20 KB (log-uniform), about 2% carry a 100 KB–2 MB base64
 * attachment; flags are random per folder (`\Seen` mostly, some `\Answered`, `\Flagged`,
 * `\Draft` in Drafts); folders are nested (`Archive.2024.Q1`, `Lists.deno-dev` under a
 * `\Noselect` parent) and non-ASCII in modified UTF-7 (`G&AOQ-ste`); headers carry `Received`,
 * DKIM signatures, RFC 2047 subjects, threading and a unique `Message-ID`.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** One generated message, ready for IMAP APPEND. */
export interface CorpusMessage {
  /** IMAP mailbox name (modified UTF-7, separator "."). */
  folder: string;
  /** IMAP system flags, e.g. `["\\Seen", "\\Answered"]`. */
  flags: string[];
  /** INTERNALDATE, equal to the `Date:` header, whole seconds. */
  internalDate: Date;
  /** The `Message-ID` header value, angle brackets included. */
  messageId: string;
  /** The whole message with CRLF line ends. */
  body: Uint8Array;
}

/** A corpus folder and its share of the messages. */
export interface CorpusFolder {
  /** IMAP mailbox name (modified UTF-7, separator "."). */
  name: string;
  /** Relative share of the messages. */
  weight: number;
  /** INTERNALDATE range, as [first, last) in ms since the epoch. */
  dates: readonly [number, number];
}

function utc(year: number, month: number, day = 1): number {
  return Date.UTC(year, month - 1, day);
}

/** The corpus folders, parents before children; "Lists" and "Projekte" stay `\Noselect`. */
export const CORPUS_FOLDERS: readonly CorpusFolder[] = [
  { name: "INBOX", weight: 30, dates: [utc(2025, 1), utc(2025, 7)] },
  { name: "Sent", weight: 12, dates: [utc(2024, 1), utc(2025, 7)] },
  { name: "Drafts", weight: 2, dates: [utc(2025, 1), utc(2025, 7)] },
  { name: "Archive", weight: 8, dates: [utc(2022, 1), utc(2023, 1)] },
  { name: "Archive.2023", weight: 10, dates: [utc(2023, 1), utc(2024, 1)] },
  { name: "Archive.2024", weight: 8, dates: [utc(2024, 7), utc(2025, 1)] },
  { name: "Archive.2024.Q1", weight: 8, dates: [utc(2024, 1), utc(2024, 4)] },
  { name: "Archive.2024.Q2", weight: 6, dates: [utc(2024, 4), utc(2024, 7)] },
  { name: "Lists.deno-dev", weight: 10, dates: [utc(2024, 1), utc(2025, 7)] },
  { name: "G&AOQ-ste", weight: 3, dates: [utc(2024, 1), utc(2025, 7)] },
  { name: "Projekte.&ANw-bersicht", weight: 3, dates: [utc(2024, 1), utc(2025, 7)] },
];

const TOTAL_WEIGHT = CORPUS_FOLDERS.reduce((sum, folder) => sum + folder.weight, 0);

/** Share of messages with a big attachment. */
const ATTACHMENT_SHARE = 0.02;

/**
 * A small fast PRNG (mulberry32). Deterministic per seed; not for anything but benchmarks.
 */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#state ^ (this.#state >>> 15), 1 | this.#state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A number whose logarithm is uniform in [log min, log max). */
  logUniform(min: number, max: number): number {
    return Math.exp(Math.log(min) + this.next() * (Math.log(max) - Math.log(min)));
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.nextUint32();
    return new Uint8Array(words.buffer, 0, length);
  }
}

/** Mixes numbers into one 32-bit seed (a murmur3-style finalizer per part). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h = Math.imul(((h ^ k) << 13) | ((h ^ k) >>> 19), 5) + 0xe6546b64;
    h ^= Math.floor(part / 4294967296);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const WORDS = (
  "the of and to in is that for it as with was on be by this are from at or an have not " +
  "which but all were when we there can more if one so what about out up into has time " +
  "meeting report budget quarter release server mailbox folder message backup invoice " +
  "deadline review draft proposal schedule update customer project team design test " +
  "deploy change request issue patch version config network storage latency throughput " +
  "please thanks regards tomorrow today monday friday morning afternoon agenda notes " +
  "attached below above follow question answer summary details numbers estimate plan " +
  "Grüße Straße Köln Übersicht Änderung für über schön Größe naïve café résumé"
).split(" ");

const PEOPLE = [
  "Alice Martin",
  "Bob Schneider",
  "Chloé Dubois",
  "Daniel Okafor",
  "Eva Nowak",
  "Farid Haddad",
  "Greta Lindqvist",
  "Hiro Tanaka",
  "Ines Ferreira",
  "Jonas Müller",
  "Kavya Iyer",
  "Liam O'Brien",
  "Mei Chen",
  "Nils Jørgensen",
  "Olga Petrova",
  "Pablo García",
];

const DOMAINS = ["example.org", "example.net", "mail.example.com", "corp.example", "lists.test"];

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

const encoder = new TextEncoder();

/** Lines of body text shared by all messages of one seed; each message picks from them. */
const linePools = new Map<number, string[]>();

function linePool(seed: number): string[] {
  let pool = linePools.get(seed);
  if (pool === undefined) {
    const random = new Random(mixSeed(seed, 0x11ae));
    pool = [];
    for (let i = 0; i < 4096; i++) {
      const width = random.int(40, 74);
      let line = random.pick(WORDS);
      line = line[0]!.toUpperCase() + line.slice(1);
      while (line.length < width) line += ` ${random.pick(WORDS)}`;
      pool.push(random.chance(0.3) ? `${line}.` : line);
    }
    linePools.set(seed, pool);
  }
  return pool;
}

/** The `Message-ID` of message `index`: unique per (seed, index). */
export function corpusMessageId(seed: number, index: number): string {
  const hash = mixSeed(seed, index, 0x1d).toString(16).padStart(8, "0");
  return `<${index.toString(36)}.${hash}.${seed}@mail.${DOMAINS[index % DOMAINS.length]}>`;
}

/** The corpus folder that message `index` of `seed` lands in. */
export function corpusFolderOf(seed: number, index: number): CorpusFolder {
  let ticket = new Random(mixSeed(seed, index, 0xf0)).next() * TOTAL_WEIGHT;
  for (const folder of CORPUS_FOLDERS) {
    ticket -= folder.weight;
    if (ticket < 0) return folder;
  }
  return CORPUS_FOLDERS[0]!;
}

/**
 * Message `index` of the corpus of `seed`. Pure: the same arguments always give the same
 * message, so corpus messages (0..n-1) and messages added later (n, n+1, ...) never clash.
 */
export function generateMessage(seed: number, index: number): CorpusMessage {
  const random = new Random(mixSeed(seed, index));
  const folder = corpusFolderOf(seed, index);
  const [from, to] = folder.dates;
  const when = new Date(Math.floor((from + random.next() * (to - from)) / 1000) * 1000);
  const withAttachment = random.chance(ATTACHMENT_SHARE);
  const target = withAttachment
    ? Math.round(random.logUniform(100_000, 2_000_000))
    : Math.round(random.logUniform(2_000, 20_000));
  const messageId = corpusMessageId(seed, index);
  const headers = makeHeaders(random, seed, index, folder.name, when, messageId);
  const lines = linePool(seed);
  let text: string;
  if (withAttachment) {
    const boundary = `=_mixed_${mixSeed(seed, index, 7).toString(36)}`;
    const body = makeText(random, lines, random.int(600, 3000));
    const name = `report-${index}.pdf`;
    const rawSize = Math.max(1, Math.floor((target - body.length - 1200) * 3 / 4));
    const base64 = Buffer.from(random.bytes(rawSize)).toString("base64");
    const wrapped: string[] = [];
    for (let at = 0; at < base64.length; at += 76) wrapped.push(base64.slice(at, at + 76));
    text = [
      ...headers,
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      "",
      "This is a multi-part message in MIME format.",
      "",
      `--${boundary}`,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      body,
      `--${boundary}`,
      `Content-Type: application/pdf; name="${name}"`,
      "Content-Transfer-Encoding: base64",
      `Content-Disposition: attachment; filename="${name}"`,
      "",
      wrapped.join("\r\n"),
      `--${boundary}--`,
      "",
    ].join("\r\n");
  } else if (random.chance(0.3)) {
    const boundary = `=_alt_${mixSeed(seed, index, 9).toString(36)}`;
    const head = headers.join("\r\n").length + 300;
    const plain = makeText(random, lines, Math.max(200, Math.floor((target - head) * 0.4)));
    const html = plain.split("\r\n\r\n").map((p) => `<p>${p.replaceAll("\r\n", " ")}</p>`)
      .join("\r\n");
    text = [
      ...headers,
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      plain,
      `--${boundary}`,
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      `<html><body>\r\n${html}\r\n</body></html>`,
      `--${boundary}--`,
      "",
    ].join("\r\n");
  } else {
    const head = headers.join("\r\n").length + 100;
    text = [
      ...headers,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      makeText(random, lines, Math.max(200, target - head)),
      "",
    ].join("\r\n");
  }
  return {
    folder: folder.name,
    flags: makeFlags(random, folder.name),
    internalDate: when,
    messageId,
    body: encoder.encode(text),
  };
}

function makeFlags(random: Random, folder: string): string[] {
  const flags: string[] = [];
  if (folder === "Drafts") {
    flags.push("\\Draft");
    if (random.chance(0.5)) flags.push("\\Seen");
    return flags;
  }
  if (folder === "Sent" || random.chance(folder === "INBOX" ? 0.7 : 0.9)) flags.push("\\Seen");
  if (random.chance(0.12)) flags.push("\\Answered");
  if (random.chance(0.04)) flags.push("\\Flagged");
  return flags;
}

function makeHeaders(
  random: Random,
  seed: number,
  index: number,
  folder: string,
  when: Date,
  messageId: string,
): string[] {
  const person = random.pick(PEOPLE);
  const domain = random.pick(DOMAINS);
  const address = `${
    person.split(" ")[0]!.toLowerCase().normalize("NFD").replace(/[^a-z]/g, "")
  }@${domain}`;
  const me = '"Bench User" <bench@example.org>';
  const sender = `${encodePhrase(person)} <${address}>`;
  const date = formatRfc2822(when);
  const relay = random.int(1, 9);
  const headers = [
    `Return-Path: <${folder === "Sent" ? "bench@example.org" : address}>`,
    `Received: from mx${relay}.${domain} (mx${relay}.${domain} [192.0.2.${random.int(1, 254)}])` +
    `\r\n\tby mail.example.org (Postfix) with ESMTPS id ${
      random.nextUint32().toString(16).toUpperCase()
    }` +
    `\r\n\tfor <bench@example.org>; ${date}`,
    `Received: from [10.0.${random.int(0, 255)}.${random.int(1, 254)}] (unknown [198.51.100.${
      random.int(1, 254)
    }])\r\n\tby mx${relay}.${domain} with ESMTPSA; ${date}`,
  ];
  if (random.chance(0.4)) {
    const signature = Buffer.from(random.bytes(192)).toString("base64");
    headers.push(
      `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${domain}; s=sel1;` +
        `\r\n\th=from:to:subject:date:message-id; bh=${
          Buffer.from(random.bytes(32)).toString("base64")
        };\r\n\tb=${signature.slice(0, 64)}\r\n\t ${signature.slice(64, 128)}\r\n\t ${
          signature.slice(128)
        }`,
    );
  }
  headers.push(
    `From: ${folder === "Sent" || folder === "Drafts" ? me : sender}`,
    `To: ${folder === "Sent" || folder === "Drafts" ? sender : me}`,
  );
  if (random.chance(0.3)) headers.push(`Cc: ${encodePhrase(random.pick(PEOPLE))} <team@${domain}>`);
  headers.push(`Subject: ${makeSubject(random)}`, `Date: ${date}`, `Message-ID: ${messageId}`);
  if (index > 0 && random.chance(0.3)) {
    const parent = corpusMessageId(seed, random.int(0, index - 1));
    headers.push(`In-Reply-To: ${parent}`, `References: ${parent}`);
  }
  if (folder.startsWith("Lists.")) {
    headers.push(
      "List-Id: Deno development <deno-dev.lists.example.org>",
      "List-Unsubscribe: <mailto:deno-dev-leave@lists.example.org>",
      "Precedence: list",
    );
  }
  headers.push(
    "MIME-Version: 1.0",
    `X-Mailer: ${random.pick(["Thunderbird 128.3.0", "Apple Mail (2.3774)", "mutt 2.2.12"])}`,
  );
  return headers;
}

function makeSubject(random: Random): string {
  const words: string[] = [];
  const count = random.int(3, 8);
  for (let i = 0; i < count; i++) words.push(random.pick(WORDS));
  let subject = words.join(" ");
  subject = subject[0]!.toUpperCase() + subject.slice(1);
  if (random.chance(0.1)) subject = `Re: ${subject}`;
  else if (random.chance(0.05)) subject = `Fwd: ${subject}`;
  return encodePhrase(subject);
}

/** RFC 2047 Q-encoding for a header phrase with non-ASCII characters; ASCII stays as is. */
function encodePhrase(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return /[",]/.test(text) ? `"${text}"` : text;
  let out = "";
  for (const byte of encoder.encode(text)) {
    if (byte === 0x20) out += "_";
    else if (/[A-Za-z0-9]/.test(String.fromCharCode(byte))) out += String.fromCharCode(byte);
    else out += `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `=?UTF-8?Q?${out}?=`;
}

function makeText(random: Random, lines: readonly string[], size: number): string {
  const out: string[] = [];
  let length = 0;
  let paragraph = random.int(2, 7);
  const quoted = random.chance(0.25);
  while (length < size) {
    let line = random.pick(lines);
    if (quoted && out.length > 4 && random.chance(0.4)) line = `> ${line}`;
    out.push(line);
    length += line.length + 2;
    if (--paragraph === 0) {
      out.push("");
      length += 2;
      paragraph = random.int(2, 7);
    }
  }
  return out.join("\r\n");
}

/** `Date:` header format, always in UTC. */
function formatRfc2822(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${WEEKDAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:` +
    `${pad(date.getUTCSeconds())} +0000`;
}

/** IMAP INTERNALDATE format, in UTC: the harness's, so the two never disagree. */
export { formatInternalDate } from "./dovecot.ts";
