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
  #cancelled = false;
  #done = false;

  constructor() {
    let signal!: () => void;
    this.#pulled = new Promise<void>((resolve) => signal = resolve);
    this.#pull = signal;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        const pull = this.#pull;
        this.#pull = undefined;
        pull?.();
      },
      cancel: () => {
        this.#cancelled = true;
        const pull = this.#pull;
        this.#pull = undefined;
        pull?.();
      },
    }, { highWaterMark: 0 });
  }

  /** Whether the consumer gave up on the body. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#cancelled) return;
    await this.#pulled;
    if (this.#cancelled) return;
    this.#pulled = new Promise<void>((resolve) => this.#pull = resolve);
    this.#controller.enqueue(chunk);
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelled) this.#controller.close();
  }

  /** Ends the body with an error (connection lost mid-literal). */
  fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#cancelled) this.#controller.error(error);
    const pull = this.#pull;
    this.#pull = undefined;
    pull?.();
  }
}
