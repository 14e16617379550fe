/**
 * Cuts the byte stream from the server into whole responses: lines, and the literals `{n}`
 * between them. At each literal the caller's policy decides whether the bytes are buffered
 * (small values: names, headers) or streamed to a sink (message bodies), so a 50 MB message
 * never sits in memory. Hard limits end the connection instead of exhausting memory.
 *
 * @module
 */

import { ImapConnectionError, ImapProtocolError, showBytes } from "./errors.ts";

/** Size caps for one connection; breaking one is an {@link ImapProtocolError}. */
export interface FramerLimits {
  /** Longest response line (without literals), bytes. */
  readonly maxLineLength: number;
  /** Largest literal the framer buffers in memory; bigger ones must be streamed. */
  readonly maxBufferedLiteral: number;
  /** Most bytes (lines plus buffered literals) one response may hold in memory. */
  readonly maxResponseBytes: number;
}

/**
 * Defaults: a `SEARCH` line of a 1,000,000-message folder fits in a line; header literals are
 * small; bodies are streamed and not counted.
 */
export const DEFAULT_LIMITS: FramerLimits = {
  maxLineLength: 16 << 20,
  maxBufferedLiteral: 32 << 20,
  maxResponseBytes: 64 << 20,
};

/** Receives a streamed literal. `write` resolves when the consumer took the chunk. */
export interface LiteralSink {
  /** Takes a view the sink may keep: the framer never writes over bytes it handed out. */
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes delivered. */
  end(): void;
}

/**
 * Decides, at a literal, whether it is streamed: return a sink to stream, or undefined to
 * buffer. `lines` are the response's lines so far, the last one ending with `{size}`;
 * `literals` are the literals before it.
 */
export type LiteralPolicy = (
  lines: readonly Uint8Array[],
  size: number,
  literals: readonly (Uint8Array | null)[],
) => LiteralSink | undefined;

/**
 * One whole response. `lines[i]` is followed by `literals[i]` (a buffered literal, or `null`
 * when it was streamed); the last line has no literal after it. Lines exclude CRLF.
 */
export interface RawResponse {
  readonly lines: Uint8Array[];
  readonly literals: Array<Uint8Array | null>;
}

/** Where the framer pulls bytes from. */
export interface ByteSource {
  /** Next chunk (owned by the caller from now on: never reused), or null at the end. */
  read(): Promise<Uint8Array | null>;
}

const CLOSE_BRACE = 0x7d;
const OPEN_BRACE = 0x7b;
const PLUS = 0x2b;

/**
 * The size of the literal announced at the end of `line` (`{123}`, also `{123+}` and
 * literal8's `~{123}`), or undefined when the line does not end with one. Read from the bytes:
 * this runs for every line. Throws {@link ImapProtocolError} for a size of more than 15 digits.
 */
function literalSize(line: Uint8Array): number | undefined {
  let i = line.length - 1;
  if (line[i] !== CLOSE_BRACE) return undefined;
  i--;
  if (line[i] === PLUS) i--;
  let size = 0;
  let digits = 0;
  let scale = 1;
  for (; i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39; i--, digits++) {
    size += (line[i]! - 0x30) * scale;
    scale *= 10;
  }
  if (digits === 0 || line[i] !== OPEN_BRACE) return undefined;
  if (digits > 15) {
    throw new ImapProtocolError(`Literal size is not a number: ${showBytes(line)}`);
  }
  return size;
}
const MIN_BUFFER = 16 * 1024;

/** Reads responses from a {@link ByteSource}. Not reentrant: one reader loop calls it. */
export class Framer {
  #source: ByteSource;
  #limits: FramerLimits;
  /**
   * Unframed bytes are `#buf[#start, #end)`. Bytes below `#end` are never written again, so
   * lines and streamed chunks can be views; new bytes go after `#end` or into a new array.
   */
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** `limits` override {@link DEFAULT_LIMITS} one by one. */
  constructor(source: ByteSource, limits: Partial<FramerLimits> = {}) {
    this.#source = source;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes received and not yet framed (must be 0 before a STARTTLS upgrade). */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads the next whole response. Returns null at a clean end of stream (between responses).
   * Throws {@link ImapProtocolError} on a broken limit or a bad literal size,
   * {@link ImapConnectionError} when the stream ends inside a response. After a throw the
   * framer is unusable.
   */
  async next(policy?: LiteralPolicy): Promise<RawResponse | null> {
    const lines: Uint8Array[] = [];
    const literals: Array<Uint8Array | null> = [];
    let held = 0;
    for (;;) {
      const line = await this.#readLine(lines.length > 0);
      if (line === null) return null;
      lines.push(line);
      held += line.length;
      const size = literalSize(line);
      if (size === undefined) return { lines, literals };
      const sink = policy?.(lines, size, literals);
      if (sink) {
        await this.#stream(size, sink);
        literals.push(null);
        continue;
      }
      if (size > this.#limits.maxBufferedLiteral) {
        throw new ImapProtocolError(
          `Literal of ${size} bytes exceeds the limit of ${this.#limits.maxBufferedLiteral} bytes for buffered values: ${
            showBytes(lines[0]!)
          }`,
        );
      }
      held += size;
      if (held > this.#limits.maxResponseBytes) {
        throw new ImapProtocolError(
          `Response exceeds the limit of ${this.#limits.maxResponseBytes} bytes: ${
            showBytes(lines[0]!)
          }`,
        );
      }
      literals.push(await this.#readExact(size));
    }
  }

  async #fill(inside: boolean): Promise<boolean> {
    const chunk = await this.#source.read();
    if (chunk === null) {
      if (inside || this.buffered > 0) {
        throw new ImapConnectionError(
          `Connection closed by the server in the middle of a response${
            this.buffered > 0 ? `: ${showBytes(this.#buf.subarray(this.#start, this.#end))}` : ""
          }`,
        );
      }
      return false;
    }
    const rest = this.#end - this.#start;
    if (rest === 0) {
      // The common case for bodies: adopt the chunk, no copy.
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
    } else if (this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
    } else {
      // Doubling keeps a long line arriving in small chunks linear, not quadratic.
      const merged = new Uint8Array(Math.max(MIN_BUFFER, 2 * (rest + chunk.length)));
      merged.set(this.#buf.subarray(this.#start, this.#end));
      merged.set(chunk, rest);
      this.#buf = merged;
      this.#start = 0;
      this.#end = rest + chunk.length;
    }
    return true;
  }

  async #readLine(inside: boolean): Promise<Uint8Array | null> {
    let searched = 0;
    const max = this.#limits.maxLineLength;
    for (;;) {
      const from = this.#start + searched;
      const index = from < this.#end ? this.#buf.subarray(from, this.#end).indexOf(0x0a) : -1;
      if (index >= 0) {
        const lf = from + index;
        const end = lf > this.#start && this.#buf[lf - 1] === 0x0d ? lf - 1 : lf;
        if (end - this.#start > max) this.#lineTooLong();
        const line = this.#buf.subarray(this.#start, end);
        this.#start = lf + 1;
        return line;
      }
      searched = this.#end - this.#start;
      if (searched > max + 1) this.#lineTooLong();
      if (!await this.#fill(inside || searched > 0)) return null;
    }
  }

  #lineTooLong(): never {
    throw new ImapProtocolError(
      `Response line longer than ${this.#limits.maxLineLength} bytes: ${
        showBytes(this.#buf.subarray(this.#start, this.#end))
      }`,
    );
  }

  async #readExact(size: number): Promise<Uint8Array> {
    while (this.buffered < size) await this.#fill(true);
    const out = this.#buf.subarray(this.#start, this.#start + size);
    this.#start += size;
    return out;
  }

  async #stream(size: number, sink: LiteralSink): Promise<void> {
    let left = size;
    while (left > 0) {
      if (this.buffered === 0) await this.#fill(true);
      const take = Math.min(left, this.buffered);
      const chunk = this.#buf.subarray(this.#start, this.#start + take);
      this.#start += take;
      left -= take;
      await sink.write(chunk);
    }
    sink.end();
  }
}
