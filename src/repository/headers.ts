/**
 * Small helpers over a message's header block, shared by the repositories and the engine.
 *
 * @module
 */

/** Extracts the Message-ID value from a header block (unfolded, case-insensitive). */
export function findMessageId(header: string): string | undefined {
  const unfolded = header.replace(/\r?\n[ \t]+/g, " ");
  const match = /^message-id:[ \t]*(.*?)[ \t]*$/im.exec(unfolded);
  return match?.[1] ? match[1] : undefined;
}

/** Header bytes read at most while looking for the end of the header block. */
const HEADER_SCAN_LIMIT = 1 << 20;

/** A message cut after its header block. */
export interface SplitMessage {
  /** The header block including the empty line that ends it (or up to 1 MB without one). */
  readonly header: Uint8Array;
  /** The rest of the message, unread. */
  readonly rest: ReadableStream<Uint8Array>;
}

/** Reads a CRLF message up to and including the empty line ending its header block. */
export async function splitHeader(stream: ReadableStream<Uint8Array>): Promise<SplitMessage> {
  const reader = stream.getReader();
  let held = new Uint8Array(0);
  let end = -1;
  while (end < 0 && held.length <= HEADER_SCAN_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(held.length + value.length);
    joined.set(held);
    joined.set(value, held.length);
    const from = Math.max(0, held.length - 3);
    held = joined;
    if (held.length >= 2 && held[0] === 13 && held[1] === 10) end = 2;
    for (let i = from; end < 0 && i + 3 < held.length; i++) {
      if (held[i] === 13 && held[i + 1] === 10 && held[i + 2] === 13 && held[i + 3] === 10) {
        end = i + 4;
      }
    }
  }
  const cut = end < 0 ? held.length : end;
  const leftover = held.subarray(cut);
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (leftover.length > 0) controller.enqueue(leftover);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { header: held.subarray(0, cut), rest };
}

/**
 * Rewrites a header block: drops the fields named in `drop` (case-insensitive, with their
 * continuation lines) and appends `add` (without CRLF) as the last field.
 */
export function rewriteHeader(
  header: Uint8Array,
  drop: readonly string[],
  add: string | undefined,
): Uint8Array {
  const text = new TextDecoder("latin1").decode(header);
  const body = text.endsWith("\r\n\r\n") ? text.slice(0, -2) : text === "\r\n" ? "" : text;
  const tail = text.endsWith("\r\n\r\n") || text === "\r\n" ? "\r\n" : "";
  const names = new Set(drop.map((d) => d.toLowerCase()));
  const lines = body.split(/(?<=\r\n)/);
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) kept.push(line);
      continue;
    }
    const name = /^([^:\r\n]+):/.exec(line)?.[1]?.trim().toLowerCase();
    dropping = name !== undefined && names.has(name);
    if (!dropping) kept.push(line);
  }
  let out = kept.join("");
  if (add !== undefined) {
    if (out.length > 0 && !out.endsWith("\r\n")) out += "\r\n";
    out += `${add}\r\n`;
  }
  out += tail;
  return Uint8Array.from(out, (c) => c.charCodeAt(0));
}
