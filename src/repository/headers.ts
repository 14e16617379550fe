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

/** Header bytes held back at most while looking for the end of the header block. */
const HEADER_SCAN_LIMIT = 1 << 20;

/**
 * A transform inserting `line` (without CRLF) as the last field of the header block, i.e.
 * before the empty line that ends it. A message with no empty line in its first megabyte (a
 * header-only message, or none at all) gets the field first instead, which keeps the size
 * exactly `input + line + 2`. Input must use CRLF line endings.
 */
export function insertHeaderField(line: string): TransformStream<Uint8Array, Uint8Array> {
  const field = new TextEncoder().encode(`${line}\r\n`);
  let held: Uint8Array[] = [];
  let heldLength = 0;
  let done = false;
  const joined = () => {
    const all = new Uint8Array(heldLength);
    let at = 0;
    for (const part of held) {
      all.set(part, at);
      at += part.length;
    }
    held = [];
    heldLength = 0;
    return all;
  };
  const emitFirst = (controller: TransformStreamDefaultController<Uint8Array>) => {
    controller.enqueue(field);
    if (heldLength > 0) controller.enqueue(joined());
    done = true;
  };
  return new TransformStream({
    transform(chunk, controller) {
      if (done) return controller.enqueue(chunk);
      held.push(chunk);
      heldLength += chunk.length;
      const all = joined();
      held = [all];
      heldLength = all.length;
      // A message starting with an empty line has an empty header: the field goes first.
      if (all.length >= 2 && all[0] === 13 && all[1] === 10) return emitFirst(controller);
      for (let i = 0; i + 3 < all.length; i++) {
        if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) {
          controller.enqueue(all.subarray(0, i + 2));
          controller.enqueue(field);
          controller.enqueue(all.subarray(i + 2));
          held = [];
          heldLength = 0;
          done = true;
          return;
        }
      }
      if (heldLength > HEADER_SCAN_LIMIT) emitFirst(controller);
    },
    flush(controller) {
      if (!done) emitFirst(controller);
    },
  });
}
