// deno-lint-ignore-file no-console
/**
 * Fetch benchmark: every message of a seeded 5,000-message folder, once through a minimal
 * hand-written IMAP loop (the baseline: one TLS connection, one `UID FETCH 1:*`, bytes counted
 * until the tagged OK) and once through `ImapClient.uidFetchBodies` with every body read to the
 * end. Both send the same FETCH items, so the difference is the client's own cost.
 *
 *   deno run -A scripts/bench_fetch.ts [--messages 5000] [--rounds 5] [--seed 42]
 *
 * Prints messages/s and MB/s (body bytes, 10^6) for both, and ours as a share of the baseline
 * (target: at least 80 %). Exits 1 below the target.
 *
 * @module
 */

import { IMAP_BINARY, startDovecot } from "./dovecot.ts";
import type { DovecotServer } from "./dovecot.ts";
import { ImapClient } from "../imap/mod.ts";

const ENCODER = new TextEncoder();
const MAILBOX = "bench";
/** What both sides ask for: the items `uidFetchBodies` sends by default. */
const ITEMS = "(UID FLAGS INTERNALDATE BODY.PEEK[])";

function option(name: string, fallback: number): number {
  const index = Deno.args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(Deno.args[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Option "--${name}" is not a number`);
  return value;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
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

const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " +
  "incididunt ut labore et dolore magna aliqua quis nostrud exercitation ullamco laboris";

/** Message sizes: 95 % between 2 and 20 KB, the rest between 20 and 200 KB. */
function messageSize(random: () => number): number {
  return random() < 0.95
    ? 2_000 + Math.floor(random() * 18_000)
    : 20_000 + Math.floor(random() * 180_000);
}

function makeMessage(random: () => number, n: number): Uint8Array {
  const size = messageSize(random);
  const words = WORDS.split(" ");
  let text = `From: sender${n % 97}@example.org\r\nTo: bench@example.org\r\n` +
    `Subject: benchmark message ${n}\r\nMessage-ID: <bench-${n}@example.org>\r\n` +
    `Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n`;
  let line = "";
  while (text.length + line.length < size) {
    const word = words[Math.floor(random() * words.length)]!;
    if (line.length + word.length + 1 > 76) {
      text += `${line}\r\n`;
      line = "";
    }
    line += line === "" ? word : ` ${word}`;
  }
  return ENCODER.encode(`${text}${line}\r\n`);
}

/**
 * Seeds `count` messages by writing them straight into the user's Maildir (`.bench/cur/`),
 * after one PREAUTH session created the folder: seconds instead of the minute that 5,000
 * APPENDs take. Dovecot indexes the files on the first SELECT (the untimed warm-up round).
 * The files hold CRLF line endings, so `BODY[]` returns them byte for byte.
 */
async function seedFolder(
  server: DovecotServer,
  user: string,
  count: number,
  seed: number,
): Promise<{ bytes: number }> {
  const session = await new Deno.Command(IMAP_BINARY, {
    args: ["-c", server.configFile, "-u", user],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = session.stdin.getWriter();
  await writer.write(ENCODER.encode(`c CREATE ${MAILBOX}\r\nz LOGOUT\r\n`));
  await writer.close();
  const created = new TextDecoder().decode((await session.output()).stdout);
  if (!/^c OK/m.test(created)) throw new Error(`Cannot create the benchmark folder: ${created}`);
  const folder = `${server.dir}/home/${user}/Maildir/.${MAILBOX}`;
  // The mail processes run as the owner of the homes directory (nobody when we are root).
  const owner = await Deno.stat(`${server.dir}/home`);
  const random = prng(seed);
  let bytes = 0;
  for (let n = 1; n <= count; n++) {
    const body = makeMessage(random, n);
    bytes += body.length;
    const path = `${folder}/cur/${
      1700000000 + n
    }.M${n}P1.bench,S=${body.length},W=${body.length}:2,S`;
    await Deno.writeFile(path, body);
    if (owner.uid !== null && owner.gid !== null) await Deno.chown(path, owner.uid, owner.gid);
  }
  return { bytes };
}

/** The baseline: a raw TLS loop that only looks for the tagged OK at the end of each read. */
async function rawFetch(server: DovecotServer, user: string): Promise<number> {
  const conn = await Deno.connectTls({
    hostname: server.host,
    port: server.tlsPort,
    caCerts: [server.certPem],
  });
  const buffer = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  const until = async (tag: string): Promise<number> => {
    // Keeps the last bytes of the previous read, so a tag split across reads is found.
    let tail = "";
    let total = 0;
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("Baseline connection closed");
      total += n;
      tail = (tail + decoder.decode(buffer.subarray(Math.max(0, n - 2048), n))).slice(-4096);
      const done = new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n$`).exec(tail);
      if (done) {
        if (done[2] !== "OK") throw new Error(`Baseline: ${tail}`);
        return total;
      }
    }
  };
  try {
    await conn.write(ENCODER.encode(`a LOGIN ${user} ${server.password}\r\n`));
    await until("a");
    await conn.write(ENCODER.encode(`b EXAMINE ${MAILBOX}\r\n`));
    await until("b");
    const started = performance.now();
    await conn.write(ENCODER.encode(`c UID FETCH 1:* ${ITEMS}\r\n`));
    await until("c");
    const seconds = (performance.now() - started) / 1000;
    await conn.write(ENCODER.encode("d LOGOUT\r\n"));
    await until("d").catch(() => {});
    return seconds;
  } finally {
    conn.close();
  }
}

/** Ours: every body streamed and read to the end. */
async function clientFetch(
  server: DovecotServer,
  user: string,
): Promise<{ seconds: number; messages: number; bytes: number }> {
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem },
  });
  try {
    await client.login(user, server.password);
    await client.select(MAILBOX, { readOnly: true });
    const started = performance.now();
    let messages = 0;
    let bytes = 0;
    for await (const message of client.uidFetchBodies("1:*")) {
      const reader = message.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      messages++;
    }
    return { seconds: (performance.now() - started) / 1000, messages, bytes };
  } finally {
    await client.logout();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** CPU seconds (user + system) this process has used so far (Linux: /proc/self/stat). */
async function cpuSeconds(): Promise<number> {
  const fields = (await Deno.readTextFile("/proc/self/stat")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Wall-clock and CPU seconds of one run. */
interface Run {
  readonly seconds: number;
  readonly cpu: number;
}

async function measure(run: () => Promise<number>): Promise<Run> {
  const before = await cpuSeconds();
  const seconds = await run();
  return { seconds, cpu: (await cpuSeconds()) - before };
}

const count = option("messages", 5000);
const rounds = option("rounds", 5);
const seed = option("seed", 42);
const server = await startDovecot();
try {
  const user = server.newUser("bench");
  const seedStart = performance.now();
  const { bytes } = await seedFolder(server, user, count, seed);
  console.log(
    `seeded ${count} messages, ${(bytes / 1e6).toFixed(1)} MB, in ${
      ((performance.now() - seedStart) / 1000).toFixed(1)
    } s`,
  );
  // One untimed round of each warms Dovecot's index and the page cache.
  await rawFetch(server, user);
  await clientFetch(server, user);
  const raw: Run[] = [];
  const ours: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    raw.push(await measure(() => rawFetch(server, user)));
    ours.push(
      await measure(async () => {
        const result = await clientFetch(server, user);
        if (result.messages !== count || result.bytes !== bytes) {
          throw new Error(
            `Client fetched ${result.messages} messages and ${result.bytes} bytes, expected ${count} and ${bytes}`,
          );
        }
        return result.seconds;
      }),
    );
  }
  const show = (label: string, runs: Run[]) => {
    const seconds = median(runs.map((r) => r.seconds));
    console.log(
      `${label.padEnd(10)} ${(count / seconds).toFixed(0).padStart(6)} messages/s  ${
        (bytes / 1e6 / seconds).toFixed(1).padStart(6)
      } MB/s  client CPU ${median(runs.map((r) => r.cpu)).toFixed(2)} s  (median of ${rounds}: ${
        seconds.toFixed(3)
      } s; runs ${runs.map((r) => r.seconds.toFixed(3)).join(" ")})`,
    );
    return seconds;
  };
  const rawSeconds = show("raw", raw);
  const ourSeconds = show("ImapClient", ours);
  const ratio = rawSeconds / ourSeconds;
  console.log(`ours / raw: ${(ratio * 100).toFixed(1)} % (target >= 80 %)`);
  if (ratio < 0.8) Deno.exitCode = 1;
} finally {
  await server.stop();
}
