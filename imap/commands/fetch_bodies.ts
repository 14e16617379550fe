/**
 * UID FETCH with `BODY.PEEK[]`, each body streamed from the socket to the consumer: the read
 * loop hands over one chunk at a time and waits until it is taken, so memory depends on the
 * chunk size, not the message size (STYLE 2.4).
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { LiteralSink } from "../framer.ts";
import { LiteralPipe } from "../literal_pipe.ts";
import { parseDecoded } from "../parser.ts";
import type { FetchData } from "../types.ts";

/** A message of a streamed FETCH. */
export interface FetchedMessage {
  /** Message sequence number. */
  readonly seq: number;
  /** The UID, when the server sent it before the body (Dovecot, Gmail, Cyrus do). */
  readonly uid?: number;
  /** Flags, when sent before the body. */
  readonly flags?: string[];
  /** INTERNALDATE, when sent before the body. */
  readonly internalDate?: Date;
  /** Size of the body literal in bytes. */
  readonly size: number;
  /** The body straight from the socket: read it to the end or cancel it. */
  readonly body: ReadableStream<Uint8Array>;
  /** Every item of the response, once it has been read completely (after the body). */
  readonly data: Promise<FetchData>;
}

const UTF8 = new TextDecoder();
const FETCH_PREFIX = /^\* (\d+) FETCH \(/;
/** A body section literal at the end of a line, as `BODY.PEEK[]` is answered. */
const BODY_LITERAL = / ?(?:BODY\[\]|BINARY\[\]|RFC822)(?:<\d+>)? ~?\{\d+\}$/i;

const STAR = 0x2a;

/** A sink that drops everything: bodies nobody will read after the consumer stopped. */
const DISCARD: LiteralSink = { write: () => Promise.resolve(), end: () => {} };

/** Connections with a streaming FETCH running (one at a time: see {@link uidFetchBodies}). */
const streaming = new WeakSet<Connection>();

/**
 * Reads the items before the body literal (UID, FLAGS, INTERNALDATE) by parsing the response
 * so far with the body marker replaced by the closing parenthesis.
 */
function prefixItems(
  lines: readonly Uint8Array[],
  literals: readonly (Uint8Array | null)[],
  last: string,
): Partial<FetchData> {
  const texts = lines.slice(0, -1).map((line) => UTF8.decode(line));
  texts.push(`${last.replace(BODY_LITERAL, "")})`);
  try {
    const response = parseDecoded(texts, literals);
    return response.kind === "fetch" ? response.data : {};
  } catch {
    // Whatever could not be read now arrives complete in `data`.
    return {};
  }
}

/** A queued message, with the pipe feeding its body when the body is streamed. */
interface Queued {
  readonly message: FetchedMessage;
  readonly pipe?: LiteralPipe;
}

/**
 * UID FETCH `set` (`items` BODY.PEEK[]), yielding one message per body as its literal starts.
 * Read (or cancel) each `body` before asking for the next message: the connection waits for
 * you, and other commands' replies wait too, so do not await another command on this
 * connection while holding an unread body. An unread body is discarded when the iteration
 * moves on; stopping the iteration early drains the rest of the FETCH without keeping it.
 * Only one streaming FETCH may run on a connection at a time (other commands may be pipelined
 * beside it). Throws ImapCommandError / ImapConnectionError from the iteration; a body whose
 * connection broke mid-literal errors with the ImapConnectionError.
 */
export async function* uidFetchBodies(
  conn: Connection,
  set: string,
  items: readonly string[] = ["UID", "FLAGS", "INTERNALDATE"],
): AsyncGenerator<FetchedMessage> {
  if (streaming.has(conn)) {
    throw new Error("Cannot start a streaming FETCH: another one is running on this connection");
  }
  streaming.add(conn);
  const queue: Queued[] = [];
  const waiting = new Map<
    number,
    { resolve: (d: FetchData) => void; reject: (e: Error) => void; pipe: LiteralPipe }
  >();
  let wake: (() => void) | undefined;
  let finished = false;
  let draining = false;
  let failure: Error | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const done = conn.run(
    "UID FETCH",
    [{ atom: set }, { atom: `(${[...items, "BODY.PEEK[]"].join(" ")})` }],
    {
      exclusive: "fetch",
      literal: (lines, size, literals) => {
        const first = lines[0]!;
        if (first[0] !== STAR) return undefined;
        const prefix = FETCH_PREFIX.exec(UTF8.decode(first.subarray(0, 32)));
        if (!prefix) return undefined;
        const last = UTF8.decode(lines[lines.length - 1]!);
        if (!BODY_LITERAL.test(last)) return undefined;
        if (draining) return DISCARD;
        const seq = Number(prefix[1]);
        if (waiting.has(seq)) return undefined;
        const known = prefixItems(lines, literals, last);
        const pipe = new LiteralPipe();
        let resolve!: (d: FetchData) => void;
        let reject!: (e: Error) => void;
        const data = new Promise<FetchData>((yes, no) => {
          resolve = yes;
          reject = no;
        });
        data.catch(() => {}); // the consumer need not await it
        waiting.set(seq, { resolve, reject, pipe });
        queue.push({
          message: {
            seq,
            uid: known.uid,
            flags: known.flags,
            internalDate: known.internalDate,
            size,
            body: pipe.readable,
            data,
          },
          pipe,
        });
        notify();
        return pipe;
      },
      claim: (r) => {
        if (r.kind !== "fetch") return false;
        const entry = waiting.get(r.data.seq);
        if (entry) {
          waiting.delete(r.data.seq);
          entry.resolve(r.data);
          return true;
        }
        // The body came as a quoted string or NIL (tiny or empty message): deliver it whole.
        const body = r.data.sections.get("BODY[]");
        if (body === undefined) return false;
        if (draining) return true;
        const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
        queue.push({
          message: {
            seq: r.data.seq,
            uid: r.data.uid,
            flags: r.data.flags,
            internalDate: r.data.internalDate,
            size: bytes.length,
            body: new ReadableStream<Uint8Array>({
              start(controller) {
                if (bytes.length > 0) controller.enqueue(bytes);
                controller.close();
              },
            }),
            data: Promise.resolve(r.data),
          },
        });
        notify();
        return true;
      },
    },
  );
  done.then(() => {
    finished = true;
    notify();
  }, (error) => {
    failure = error;
    finished = true;
    for (const { pipe, reject } of waiting.values()) {
      pipe.fail(error);
      reject(error);
    }
    notify();
  });
  let current: Queued | undefined;
  try {
    for (;;) {
      // Whatever the consumer left unread is dropped so the reader can go on.
      current?.pipe?.discard();
      current = queue.shift();
      if (current) {
        yield current.message;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => wake = resolve);
    }
    if (failure) throw failure;
  } finally {
    current?.pipe?.discard();
    if (!finished) {
      // The consumer stopped early: drain the rest without keeping it.
      draining = true;
      for (const queued of queue.splice(0)) queued.pipe?.discard();
      await done.catch(() => {});
    }
    streaming.delete(conn);
  }
}
