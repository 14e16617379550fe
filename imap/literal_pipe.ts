/**
 * A one-chunk-at-a-time handoff from the reader loop to a consumer's ReadableStream. `write`
 * resolves only when the consumer has taken the chunk, so a slow disk slows the socket instead
 * of filling memory. If the consumer cancels, the rest of the literal is discarded.
 *
 * @module
 */

import type { LiteralSink } from "./framer.ts";

/** Streams one literal to whoever reads {@link LiteralPipe.readable}. */
export class LiteralPipe implements LiteralSink {
  /** The body, fed straight from the socket. Read it to the end or cancel it. */
  readonly readable: ReadableStream<Uint8Array>;
  #pull: (() => void) | undefined;
  #pulled: Promise<void>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** The consumer cancelled: further bytes are dropped. */
  #cancelled = false;
  /** Ended or failed: nothing more may be enqueued. */
  #done = false;

  constructor() {
    this.#pulled = new Promise<void>((resolve) => this.#pull = resolve);
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => this.#wake(),
      cancel: () => {
        this.#cancelled = true;
        this.#wake();
      },
    }, { highWaterMark: 0 });
  }

  #wake(): void {
    const pull = this.#pull;
    this.#pull = undefined;
    pull?.();
  }

  /** Whether the consumer gave up on the body. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Hands `chunk` to the consumer; resolves once it asked for it (or cancelled, or failed). */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#cancelled || this.#done) return;
    await this.#pulled;
    if (this.#cancelled || this.#done) return;
    this.#pulled = new Promise<void>((resolve) => this.#pull = resolve);
    this.#controller.enqueue(chunk);
  }

  /** All bytes were delivered: the consumer sees the end of the stream. */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelled) this.#controller.close();
  }

  /**
   * The consumer moved on without reading to the end: the rest of the literal is dropped and
   * a reader still holding the body sees an error rather than a silently short message.
   * Unlike `readable.cancel()`, this works while the consumer holds a reader lock.
   */
  discard(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelled) {
      this.#controller.error(new Error("Body skipped: the FETCH moved on to the next message"));
    }
    this.#cancelled = true;
    this.#wake();
  }

  /** Ends the body with an error (connection lost mid-literal); unblocks a waiting `write`. */
  fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelled) this.#controller.error(error);
    this.#wake();
  }
}
