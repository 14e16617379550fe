/**
 * Server-side work for scripts/bench_sync.ts, done through Dovecot PREAUTH sessions
 * ({@linkcode DovecotServer.preauthCommand}): bulk-loading the corpus with pipelined LITERAL+
 * APPENDs in one session, reading every folder's UIDs and flags, and applying the seeded
 * "1% flags, 1% new, 0.5% expunged" change set.
 *
 * @module
 */

import type { DovecotServer } from "./dovecot.ts";
import {
  CORPUS_FOLDERS,
  corpusFolderOf,
  formatInternalDate,
  generateMessage,
  mixSeed,
  Random,
} from "./bench_corpus.ts";

/** A tagged completion and the untagged lines that came before it. */
export interface TaggedResponse {
  /** `OK`, `NO`, `BAD`, or `EOF` when the session ended first. */
  status: string;
  /** The rest of the tagged line. */
  text: string;
  untagged: string[];
}

/** A command on the wire; `done` never rejects. */
export interface PendingCommand {
  tag: string;
  done: Promise<TaggedResponse>;
}

const encoder = new TextEncoder();

/**
 * One IMAP session in PREAUTH state over a child's stdin/stdout. Commands may be pipelined:
 * {@linkcode send} returns as soon as the bytes are written. Responses are read line by line,
 * so commands whose responses carry literals (e.g. `FETCH BODY[]`) are not supported.
 */
export class PreauthSession {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiting = new Map<string, (response: TaggedResponse) => void>();
  #untagged: string[] = [];
  #nextTag = 1;
  #reading: Promise<void>;
  #greeting: Promise<string>;
  #greeted!: (line: string) => void;

  private constructor(command: string) {
    this.#child = new Deno.Command("/bin/sh", {
      args: ["-c", command],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#greeting = new Promise((resolve) => this.#greeted = resolve);
    this.#reading = this.#readLoop();
  }

  /**
   * Starts `command` (a {@linkcode DovecotServer.preauthCommand}) and waits for its greeting.
   *
   * @throws {Error} if the greeting is not `* PREAUTH`.
   */
  static async open(command: string): Promise<PreauthSession> {
    const session = new PreauthSession(command);
    const greeting = await session.#greeting;
    if (!greeting.startsWith("* PREAUTH")) {
      await session.close();
      throw new Error(`Cannot open a PREAUTH session: greeting was "${greeting}"`);
    }
    return session;
  }

  /** Writes one command (with an optional LITERAL+ literal after `text`) without waiting. */
  async send(text: string, literal?: Uint8Array): Promise<PendingCommand> {
    const tag = `b${this.#nextTag++}`;
    const done = new Promise<TaggedResponse>((resolve) => this.#waiting.set(tag, resolve));
    if (literal === undefined) {
      await this.#writer.write(encoder.encode(`${tag} ${text}\r\n`));
    } else {
      const head = encoder.encode(`${tag} ${text} {${literal.length}+}\r\n`);
      const bytes = new Uint8Array(head.length + literal.length + 2);
      bytes.set(head);
      bytes.set(literal, head.length);
      bytes.set([13, 10], head.length + literal.length);
      await this.#writer.write(bytes);
    }
    return { tag, done };
  }

  /**
   * Writes `${tag} ${text}` followed by `parts` (already encoded, literals with their LITERAL+
   * markers) and CRLF, without waiting; one write per part keeps big commands streaming.
   */
  async sendRaw(text: string, parts: Uint8Array[]): Promise<PendingCommand> {
    const tag = `b${this.#nextTag++}`;
    const done = new Promise<TaggedResponse>((resolve) => this.#waiting.set(tag, resolve));
    await this.#writer.write(encoder.encode(`${tag} ${text}`));
    for (const part of parts) await this.#writer.write(part);
    await this.#writer.write(encoder.encode("\r\n"));
    return { tag, done };
  }

  /** Sends one command and waits for its completion. */
  async run(text: string, literal?: Uint8Array): Promise<TaggedResponse> {
    return await (await this.send(text, literal)).done;
  }

  /** Sends one command and returns its untagged lines; throws unless it completes with OK. */
  async runOk(text: string, literal?: Uint8Array): Promise<string[]> {
    const response = await this.run(text, literal);
    if (response.status !== "OK") {
      throw new Error(`IMAP command failed: "${text}": ${response.status} ${response.text}`);
    }
    return response.untagged;
  }

  /** Logs out, closes stdin and waits for the child to exit; idempotent. */
  async close(): Promise<void> {
    try {
      await this.send("LOGOUT");
      await this.#writer.close();
    } catch {
      // The child is already gone: its exit below is all that is left to wait for.
    }
    await this.#reading;
    await this.#child.status;
  }

  async #readLoop(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    let greeted = false;
    for await (const chunk of this.#child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!greeted) {
          greeted = true;
          this.#greeted(line);
          continue;
        }
        this.#onLine(line);
      }
    }
    if (!greeted) this.#greeted("(no greeting)");
    for (const resolve of this.#waiting.values()) {
      resolve({ status: "EOF", text: "session ended", untagged: this.#untagged });
    }
    this.#waiting.clear();
  }

  #onLine(line: string): void {
    if (line.startsWith("* ")) {
      this.#untagged.push(line);
      return;
    }
    const space = line.indexOf(" ");
    const resolve = this.#waiting.get(line.slice(0, space));
    if (resolve === undefined) return; // A continuation request: LITERAL+ needs none.
    this.#waiting.delete(line.slice(0, space));
    const rest = line.slice(space + 1);
    const status = rest.split(" ", 1)[0] ?? "";
    resolve({ status, text: rest.slice(status.length + 1), untagged: this.#untagged });
    this.#untagged = [];
  }
}

/** Quotes a mailbox name as an IMAP quoted string. */
export function quoteMailbox(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** What {@linkcode loadCorpus} stored. */
export interface LoadResult {
  messages: number;
  bytes: number;
  seconds: number;
}

/**
 * Creates the corpus folders for `user` and appends messages `0..count-1` of `seed`, all in one
 * pipelined PREAUTH session.
 *
 * @throws {Error} if a CREATE or an APPEND fails.
 */
export async function loadCorpus(
  server: DovecotServer,
  user: string,
  seed: number,
  count: number,
): Promise<LoadResult> {
  const started = performance.now();
  const session = await PreauthSession.open(server.preauthCommand(user));
  let bytes = 0;
  try {
    for (const folder of CORPUS_FOLDERS) {
      if (folder.name !== "INBOX") await session.runOk(`CREATE ${quoteMailbox(folder.name)}`);
    }
    bytes = await appendMessages(session, user, seed, range(0, count));
  } finally {
    await session.close();
  }
  return { messages: count, bytes, seconds: (performance.now() - started) / 1000 };
}

/** Most messages per MULTIAPPEND command. */
const APPEND_BATCH = 100;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Appends the corpus messages `indexes` of `seed`, grouped by folder in index order, with
 * pipelined MULTIAPPEND commands (RFC 3502) of up to {@linkcode APPEND_BATCH} LITERAL+
 * messages. Grouping matters: Dovecot opens and syncs the target Maildir for every APPEND
 * command, so one message per command costs a directory scan each (quadratic in folder size).
 * Returns the bytes appended.
 */
async function appendMessages(
  session: PreauthSession,
  user: string,
  seed: number,
  indexes: number[],
): Promise<number> {
  const byFolder = new Map<string, number[]>();
  for (const index of indexes) {
    const folder = corpusFolderOf(seed, index).name;
    let list = byFolder.get(folder);
    if (list === undefined) byFolder.set(folder, list = []);
    list.push(index);
  }
  let bytes = 0;
  const pending: Promise<TaggedResponse>[] = [];
  for (const [folder, list] of byFolder) {
    for (let at = 0; at < list.length; at += APPEND_BATCH) {
      const parts: Uint8Array[] = [];
      for (const index of list.slice(at, at + APPEND_BATCH)) {
        const message = generateMessage(seed, index);
        bytes += message.body.length;
        parts.push(
          encoder.encode(
            ` (${message.flags.join(" ")}) "${formatInternalDate(message.internalDate)}" ` +
              `{${message.body.length}+}\r\n`,
          ),
          message.body,
        );
      }
      pending.push((await session.sendRaw(`APPEND ${quoteMailbox(folder)}`, parts)).done);
    }
  }
  const failed = (await Promise.all(pending)).find((response) => response.status !== "OK");
  if (failed) throw new Error(`Cannot append for "${user}": ${failed.status} ${failed.text}`);
  return bytes;
}

/** One message on the server: UID and flags (without `\Recent`). */
export interface ServerEntry {
  uid: number;
  flags: string[];
}

/** Every selectable mailbox of a user, each with its messages in UID order. */
export type ServerState = Map<string, ServerEntry[]>;

/** Reads every selectable mailbox's UIDs and flags with LIST, EXAMINE and UID FETCH. */
export async function readServerState(server: DovecotServer, user: string): Promise<ServerState> {
  const session = await PreauthSession.open(server.preauthCommand(user));
  try {
    const state: ServerState = new Map();
    for (const line of await session.runOk(`LIST "" "*"`)) {
      const match = /^\* LIST \(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$/i.exec(line);
      if (!match || /\\Noselect|\\NonExistent/i.test(match[1]!)) continue;
      const raw = match[2]!;
      const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
      state.set(name, []);
    }
    for (const [name, entries] of [...state].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
      await session.runOk(`EXAMINE ${quoteMailbox(name)}`);
      for (const line of await session.runOk("UID FETCH 1:* (FLAGS)")) {
        if (!/^\* \d+ FETCH /.test(line)) continue;
        const uid = /\bUID (\d+)/.exec(line);
        const flags = /\bFLAGS \(([^)]*)\)/.exec(line);
        if (!uid || !flags) throw new Error(`Cannot parse a FETCH response: ${line}`);
        entries.push({
          uid: Number(uid[1]),
          flags: flags[1]!.split(" ").filter((f) => f !== "" && f !== "\\Recent"),
        });
      }
      entries.sort((a, b) => a.uid - b.uid);
    }
    return state;
  } finally {
    await session.close();
  }
}

/** Shares of the change set applied by {@linkcode applyServerChanges}. */
export interface ChangeRates {
  flags: number;
  added: number;
  expunged: number;
}

/** The issue's change set: 1% flag changes, 1% new messages, 0.5% expunged. */
export const DEFAULT_CHANGE_RATES: ChangeRates = { flags: 0.01, added: 0.01, expunged: 0.005 };

/** What {@linkcode applyServerChanges} did. */
export interface ChangeResult {
  flagsChanged: number;
  added: number;
  expunged: number;
}

/**
 * Applies a seeded change set on the server: flips `\Seen` (and sometimes `\Flagged` or
 * `\Answered`) on `rates.flags` of the messages, expunges `rates.expunged` of them and appends
 * `rates.added` new messages (corpus indexes `corpusSize..`). The choice depends only on `seed`
 * and the server's current UIDs and flags, so users loaded with the same corpus get the same
 * changes.
 *
 * @throws {Error} if a command fails.
 */
export async function applyServerChanges(
  server: DovecotServer,
  user: string,
  seed: number,
  corpusSize: number,
  rates: ChangeRates = DEFAULT_CHANGE_RATES,
): Promise<ChangeResult> {
  const state = await readServerState(server, user);
  const all: Array<{ folder: string; entry: ServerEntry }> = [];
  for (const [folder, entries] of state) {
    for (const entry of entries) all.push({ folder, entry });
  }
  const random = new Random(mixSeed(seed, 0xc4a96e));
  const flagCount = Math.round(all.length * rates.flags);
  const expungeCount = Math.round(all.length * rates.expunged);
  const addCount = Math.round(corpusSize * rates.added);
  // A partial Fisher-Yates shuffle picks distinct messages for both kinds of change.
  const order = all.map((_, i) => i);
  for (let i = 0; i < Math.min(flagCount + expungeCount, order.length); i++) {
    const j = random.int(i, order.length - 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const perFolder = new Map<string, { stores: string[]; expunge: number[] }>();
  const plan = (folder: string) => {
    let entry = perFolder.get(folder);
    if (entry === undefined) perFolder.set(folder, entry = { stores: [], expunge: [] });
    return entry;
  };
  for (let i = 0; i < expungeCount; i++) {
    const { folder, entry } = all[order[i]!]!;
    plan(folder).expunge.push(entry.uid);
  }
  for (let i = expungeCount; i < expungeCount + flagCount; i++) {
    const { folder, entry } = all[order[i]!]!;
    const flags = new Set(entry.flags);
    const toggle = (flag: string) => flags.has(flag) ? flags.delete(flag) : flags.add(flag);
    toggle("\\Seen");
    if (random.chance(0.3)) toggle("\\Flagged");
    if (random.chance(0.1)) toggle("\\Answered");
    plan(folder).stores.push(`UID STORE ${entry.uid} FLAGS.SILENT (${[...flags].join(" ")})`);
  }
  const session = await PreauthSession.open(server.preauthCommand(user));
  try {
    for (const [folder, { stores, expunge }] of perFolder) {
      await session.runOk(`SELECT ${quoteMailbox(folder)}`);
      const pending: PendingCommand[] = [];
      for (const store of stores) pending.push(await session.send(store));
      if (expunge.length > 0) {
        const set = expunge.join(",");
        pending.push(await session.send(`UID STORE ${set} +FLAGS.SILENT (\\Deleted)`));
        pending.push(await session.send(`UID EXPUNGE ${set}`));
      }
      for (const command of pending) {
        const response = await command.done;
        if (response.status !== "OK") {
          throw new Error(`Cannot change "${folder}" for "${user}": ${response.text}`);
        }
      }
    }
    if (perFolder.size > 0) await session.runOk("UNSELECT");
    await appendMessages(session, user, seed, range(corpusSize, corpusSize + addCount));
  } finally {
    await session.close();
  }
  return { flagsChanged: flagCount, added: addCount, expunged: expungeCount };
}
