/**
 * Cuts the byte stream from the server into whole responses: lines, and the literals `{n}`
 * between them. At each literal the caller's policy decides whether the bytes are buffered
 * (small values: names, headers) or streamed to a sink (message bodies), so a 50 MB message
 * never sits in memory. Hard limits end the connection instead of exhausting memory.
 *
 * @module
 */

import { ImapConnectionError, ImapProtocolError, showBytes } from "./errors.ts";

/** Size caps for one connection. */
export interface FramerLimits {
  /** Longest response line (without literals), bytes. */
  readonly maxLineLength: number;
  /** Largest literal the framer buffers in memory; bigger ones must be streamed. */
  readonly maxBufferedLiteral: number;
}

/** Defaults: a `SEARCH` line of a 500,000-message folder fits; header literals are small. */
export const DEFAULT_LIMITS: FramerLimits = {
  maxLineLength: 16 << 20,
  maxBufferedLiteral: 32 << 20,
};

/** Receives a streamed literal. `write` resolves when the consumer took the chunk. */
export interface LiteralSink {
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes delivered. */
  end(): void;
}

/**
 * Decides, at a literal, whether it is streamed: return a sink to stream, or undefined to
 * buffer. `line` is the response text up to and including `{n}` (of the current line only).
 */
export type LiteralPolicy = (line: Uint8Array, size: number) => LiteralSink | undefined;

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
  read(): Promise<Uint8Array | null>;
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;

/** Reads responses from a {@link ByteSource}. Not reentrant: one reader loop calls it. */
export class Framer {
  #source: ByteSource;
  #limits: FramerLimits;
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #decoder = new TextDecoder("latin1");

  constructor(source: ByteSource, limits: FramerLimits = DEFAULT_LIMITS) {
    this.#source = source;
    this.#limits = limits;
  }

  /** Bytes received and not yet framed (must be 0 before a STARTTLS upgrade). */
  get buffered(): number {
    return this.#buf.length - this.#start;
  }

  /** Replaces the byte source (after STARTTLS). */
  setSource(source: ByteSource): void {
    this.#source = source;
  }

  /**
   * Reads the next whole response. Returns null at a clean end of stream (between responses).
   * Throws {@link ImapProtocolError} on a broken limit, {@link ImapConnectionError} when the
   * stream ends inside a response.
   */
  async next(policy?: LiteralPolicy): Promise<RawResponse | null> {
    const lines: Uint8Array[] = [];
    const literals: Array<Uint8Array | null> = [];
    for (;;) {
      const line = await this.#readLine(lines.length > 0);
      if (line === null) return null;
      lines.push(line);
      const tail = this.#decoder.decode(line.subarray(Math.max(0, line.length - 24)));
      const match = LITERAL_AT_END.exec(tail);
      if (!match) return { lines, literals };
      const size = Number(match[1]);
      if (!Number.isSafeInteger(size)) {
        throw new ImapProtocolError(`Literal size is not a number: ${showBytes(line)}`);
      }
      const sink = policy?.(line, size);
      if (sink) {
        await this.#stream(size, sink);
        literals.push(null);
      } else {
        if (size > this.#limits.maxBufferedLiteral) {
          throw new ImapProtocolError(
            `Literal of ${size} bytes exceeds the limit of ${this.#limits.maxBufferedLiteral} bytes for buffered values: ${
              showBytes(line)
            }`,
          );
        }
        literals.push(await this.#readExact(size));
      }
    }
  }

  async #fill(inside: boolean): Promise<boolean> {
    const chunk = await this.#source.read();
    if (chunk === null) {
      if (inside || this.buffered > 0) {
        throw new ImapConnectionError(
          `Connection closed by the server in the middle of a response${
            this.buffered > 0 ? `: ${showBytes(this.#buf.subarray(this.#start))}` : ""
          }`,
        );
      }
      return false;
    }
    const rest = this.#buf.length - this.#start;
    if (rest === 0) {
      this.#buf = chunk;
    } else {
      const merged = new Uint8Array(rest + chunk.length);
      merged.set(this.#buf.subarray(this.#start));
      merged.set(chunk, rest);
      this.#buf = merged;
    }
    this.#start = 0;
    return true;
  }

  async #readLine(inside: boolean): Promise<Uint8Array | null> {
    let searched = 0;
    for (;;) {
      const index = this.#buf.indexOf(0x0a, this.#start + searched);
      if (index >= 0) {
        const end = index > this.#start && this.#buf[index - 1] === 0x0d ? index - 1 : index;
        const line = this.#buf.slice(this.#start, end);
        this.#start = index + 1;
        return line;
      }
      searched = this.#buf.length - this.#start;
      if (searched > this.#limits.maxLineLength) {
        throw new ImapProtocolError(
          `Response line longer than ${this.#limits.maxLineLength} bytes: ${
            showBytes(this.#buf.subarray(this.#start))
          }`,
        );
      }
      if (!await this.#fill(inside)) return null;
    }
  }

  async #readExact(size: number): Promise<Uint8Array> {
    while (this.buffered < size) await this.#fill(true);
    const out = this.#buf.slice(this.#start, this.#start + size);
    this.#start += size;
    return out;
  }

  async #stream(size: number, sink: LiteralSink): Promise<void> {
    let left = size;
    while (left > 0) {
      if (this.buffered === 0) await this.#fill(true);
      const take = Math.min(left, this.buffered);
      // A view, not a copy: #buf is replaced, never written in place, so views stay valid.
      const chunk = this.#buf.subarray(this.#start, this.#start + take);
      this.#start += take;
      left -= take;
      await sink.write(chunk);
    }
    sink.end();
  }
}
