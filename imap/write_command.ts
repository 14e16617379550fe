/**
 * Writes one encoded command: text, literals (waiting for "+" when synchronising), streamed
 * literal sources held to their announced size, and continuation exchanges (SASL, IDLE). The
 * log gets each line with secrets already masked by the encoder.
 *
 * @module
 */

import type { Segment } from "./encoder.ts";
import { ImapProtocolError } from "./errors.ts";
import type { ContinuationReply } from "./options.ts";

/** What the writer needs from the connection, for one command. */
export interface CommandWire {
  /** Writes bytes to the server (with the connection's write timeout). */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Registers the waiter for this command's next "+", before the bytes that provoke it are
   * written; resolves with its text, or null once the command ended or the connection died.
   */
  expectContinuation(): Promise<string | null>;
  readonly log?: (line: string) => void;
}

/**
 * Writes `segments` in order. A synchronising literal waits for "+", and a command refused
 * before it (NO/BAD) stops there. With `onContinuation`, every "+" after the command line is
 * answered until the command ends or it returns null. Throws ImapProtocolError when a
 * streamed literal's source yields another size than announced (the caller must then drop
 * the connection), and whatever the source or the wire throws.
 */
export async function writeCommand(
  segments: readonly Segment[],
  wire: CommandWire,
  onContinuation?: (text: string) => Promise<ContinuationReply | null>,
): Promise<void> {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === "text") {
      const next = segments[i + 1];
      const syncLiteral = next?.kind === "literal" && next.sync;
      const converse = i === segments.length - 1 && onContinuation !== undefined;
      const wait = syncLiteral || converse ? wire.expectContinuation() : undefined;
      const line = segment.log.replace(/\r\n$/, "");
      if (line !== "") wire.log?.(`C: ${line}`);
      await wire.write(segment.bytes);
      if (syncLiteral) {
        if (await wait === null) return;
      } else if (converse) {
        await answerContinuations(wire, wait!, onContinuation!);
      }
      continue;
    }
    wire.log?.(`C: <${segment.secret ? "secret " : ""}literal ${segment.size} bytes>`);
    if (segment.bytes) await wire.write(segment.bytes);
    else if (segment.open) await writeStream(wire, segment.open(), segment.size);
  }
}

async function answerContinuations(
  wire: CommandWire,
  first: Promise<string | null>,
  onContinuation: (text: string) => Promise<ContinuationReply | null>,
): Promise<void> {
  let text = await first;
  while (text !== null) {
    const reply = await onContinuation(text);
    if (reply === null) return;
    const wait = wire.expectContinuation();
    wire.log?.(`C: ${reply.log}`);
    await wire.write(reply.bytes);
    text = await wait;
  }
}

async function writeStream(
  wire: CommandWire,
  source: ReadableStream<Uint8Array>,
  size: number,
): Promise<void> {
  let sent = 0;
  for await (const chunk of source) {
    sent += chunk.length;
    if (sent > size) break;
    await wire.write(chunk);
  }
  if (sent !== size) {
    throw new ImapProtocolError(
      `Cannot send literal: its source produced ${
        sent > size ? `more than ${size}` : `only ${sent}`
      } bytes instead of the announced ${size}`,
    );
  }
}
