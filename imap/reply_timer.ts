/**
 * The socket timeout (OfflineIMAP's `socktimeout`) as IMAP needs it: a read is timed only
 * while a reply is due (a command is in flight, or the greeting) and never during IDLE; each
 * write is timed. Time a slow consumer spends on a streamed body does not count, because the
 * reader is not waiting on the socket then, and upload progress restarts the clock.
 *
 * @module
 */

/** Times reads and writes of one connection; calls `onTimeout` once a limit is broken. */
export class ReplyTimer {
  #ms: number;
  #due: () => boolean;
  #onTimeout: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reading = false;
  #idling = false;

  /** `ms` 0 disables everything; `due()` says whether the server owes us a reply. */
  constructor(ms: number, due: () => boolean, onTimeout: () => void) {
    this.#ms = ms;
    this.#due = due;
    this.#onTimeout = onTimeout;
  }

  /** Runs one socket read under the timer. */
  async read<T>(operation: () => Promise<T>): Promise<T> {
    this.#reading = true;
    this.update();
    try {
      return await operation();
    } finally {
      this.#reading = false;
      this.#stop();
    }
  }

  /** Runs one socket write under its own timer, then restarts a running read timer. */
  async write(operation: () => Promise<void>): Promise<void> {
    if (this.#ms <= 0) return await operation();
    const timer = setTimeout(this.#onTimeout, this.#ms);
    try {
      await operation();
    } finally {
      clearTimeout(timer);
    }
    if (this.#timer !== undefined) {
      this.#stop();
      this.update();
    }
  }

  /** IDLE: nothing is due however long the server stays silent. */
  set idling(value: boolean) {
    this.#idling = value;
    this.update();
  }

  /** Re-evaluates after the set of pending commands changed. */
  update(): void {
    const wanted = this.#ms > 0 && this.#reading && !this.#idling && this.#due();
    if (!wanted) this.#stop();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#onTimeout();
      }, this.#ms);
    }
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops every timer (the connection is closing). */
  cancel(): void {
    this.#idling = true;
    this.#stop();
  }
}
