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
 * Returns a transform turning every CRLF pair into LF; a bare CR is kept (formats.md §1.3: 7.x
 * only replaces `\r\n`). A CR ending a chunk is held until the next byte is known.
 *
 * Chunks are rewritten in place, which saves an allocation per chunk on the download path: the
 * writer hands over ownership of each chunk (IMAP bodies and file reads are fresh buffers).
 */
export function crlfToLf(): TransformStream<Uint8Array, Uint8Array> {
  let heldCr = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length === 0) return;
      if (heldCr) {
        heldCr = false;
        // The held CR belongs to a CRLF pair only if this chunk starts with LF; then it is dropped
        // and the LF goes out with the rest of the chunk.
        if (chunk[0] !== LF) controller.enqueue(Uint8Array.of(CR));
      }
      if (chunk.indexOf(CR) < 0) {
        controller.enqueue(chunk);
        return;
      }
      let end = chunk.length;
      if (chunk[end - 1] === CR) {
        heldCr = true;
        end--;
      }
      // Compacted in place: output never overtakes input, and the chunk is ours (see above).
      // Whole runs between CRs move with copyWithin (a memmove), not byte by byte: this loop is
      // on the path of every downloaded byte.
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
      if (n > 0) controller.enqueue(chunk.subarray(0, n));
    },
    flush(controller) {
      if (heldCr) controller.enqueue(Uint8Array.of(CR));
    },
  });
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
