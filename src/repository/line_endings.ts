/**
 * Line-ending conversion between the network form of a message (CRLF, as IMAP sends and wants
 * it) and the form OfflineIMAP stores in Maildir files (LF). Streams: nothing holds a whole
 * message, and a CR/LF pair split across two chunks is handled.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * Returns `source` with every CRLF pair turned into LF; a bare CR is kept (formats.md §1.3: 7.x
 * only replaces `\r\n`). A CR ending a chunk is held until the next byte is known.
 *
 * This is on the path of every downloaded byte, so it is a plain pull-through stream rather
 * than a TransformStream (whose two queues cost more than the conversion), and chunks are
 * rewritten in place, which saves an allocation per chunk: the source hands over ownership of
 * each chunk (IMAP bodies and file reads are fresh buffers). Cancelling the result cancels
 * `source`; an error of `source` errors the result.
 */
export function crlfToLf(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let heldCr = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value: chunk } = await reader.read();
        if (done) {
          if (heldCr) controller.enqueue(Uint8Array.of(CR));
          heldCr = false;
          controller.close();
          return;
        }
        if (chunk.length === 0) continue;
        // The held CR belongs to a CRLF pair only if this chunk starts with LF; then it is
        // dropped and the LF goes out with the rest of the chunk.
        const lostCr = heldCr && chunk[0] !== LF;
        heldCr = false;
        if (lostCr) controller.enqueue(Uint8Array.of(CR));
        const out = stripCrlfInPlace(chunk);
        heldCr = out.heldCr;
        if (out.bytes.length > 0) controller.enqueue(out.bytes);
        if (lostCr || out.bytes.length > 0) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Compacts `chunk` in place, dropping the CR of every CRLF pair; a CR at the very end is left
 * out and reported as `heldCr` (the next chunk decides). Output never overtakes input; whole
 * runs between CRs move with copyWithin (a memmove), not byte by byte.
 */
function stripCrlfInPlace(chunk: Uint8Array): { bytes: Uint8Array; heldCr: boolean } {
  let end = chunk.length;
  const heldCr = chunk[end - 1] === CR;
  if (heldCr) end--;
  if (chunk.indexOf(CR) < 0) return { bytes: chunk, heldCr };
  let n = 0;
  let from = 0;
  for (;;) {
    const cr = chunk.indexOf(CR, from);
    if (cr < 0 || cr >= end) {
      chunk.copyWithin(n, from, end);
      n += end - from;
      break;
    }
    // A CR followed by LF is dropped; a bare CR is kept.
    const keep = cr + 1 < end && chunk[cr + 1] === LF ? cr : cr + 1;
    chunk.copyWithin(n, from, keep);
    n += keep - from;
    from = cr + 1;
  }
  return { bytes: chunk.subarray(0, n), heldCr };
}

/**
 * Returns a transform turning every bare LF into CRLF and keeping existing CRLF pairs, as
 * OfflineIMAP does before an upload (formats.md §3.1). Whether the previous chunk ended with CR
 * is remembered, so a pair split across chunks is not doubled.
 */
export function lfToCrlf(): TransformStream<Uint8Array, Uint8Array> {
  let lastWasCr = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length === 0) return;
      const bare = countBareLf(chunk, lastWasCr);
      const crBefore = lastWasCr;
      lastWasCr = chunk[chunk.length - 1] === CR;
      if (bare === 0) {
        controller.enqueue(chunk);
        return;
      }
      const out = new Uint8Array(chunk.length + bare);
      let n = 0;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === LF && !(i === 0 ? crBefore : chunk[i - 1] === CR)) out[n++] = CR;
        out[n++] = byte;
      }
      controller.enqueue(out);
    },
  });
}

/** Number of LF bytes in `chunk` not preceded by CR; `lastWasCr` tells about the byte before. */
function countBareLf(chunk: Uint8Array, lastWasCr: boolean): number {
  let count = 0;
  let at = chunk.indexOf(LF);
  while (at >= 0) {
    const before = at === 0 ? lastWasCr : chunk[at - 1] === CR;
    if (!before) count++;
    at = chunk.indexOf(LF, at + 1);
  }
  return count;
}

/**
 * Returns the size in bytes `stream` would have after {@link lfToCrlf}, reading it to the end
 * without keeping it. The stream is consumed (and released on error).
 */
export async function countCrlfSize(stream: ReadableStream<Uint8Array>): Promise<number> {
  let size = 0;
  let lastWasCr = false;
  for await (const chunk of stream) {
    if (chunk.length === 0) continue;
    size += chunk.length + countBareLf(chunk, lastWasCr);
    lastWasCr = chunk[chunk.length - 1] === CR;
  }
  return size;
}
