/**
 * IDLE (RFC 2177): the server pushes changes until the client says DONE.
 *
 * @module
 */

import { ImapCapabilityError } from "../errors.ts";
import type { Connection } from "../connection.ts";
import { replyText } from "../options.ts";
import type { Response } from "../types.ts";

/** A running IDLE. */
export interface IdleHandle {
  /**
   * Sends DONE and resolves with IDLE's tagged OK. Idempotent. Rejects with what ended the
   * IDLE otherwise: the connection's error, or what `onUntagged` threw.
   */
  done(): Promise<void>;
  /** Settles when the IDLE ends, by {@link IdleHandle.done} or because the connection did. */
  readonly ended: Promise<void>;
}

/**
 * Starts IDLE and resolves once the server accepted it ("+"). Every untagged response until
 * DONE goes to `onUntagged` (EXISTS, EXPUNGE, FETCH, and the server's keep-alive OKs). The
 * read timeout is off while idling. No other command is written until DONE: commands issued
 * meanwhile are queued. RFC 2177 asks clients to renew an IDLE at least every 29 minutes.
 * Throws ImapCapabilityError without IDLE, ImapCommandError when refused.
 */
export async function idle(
  conn: Connection,
  onUntagged: (response: Response) => void,
): Promise<IdleHandle> {
  if (!conn.has("IDLE")) throw new ImapCapabilityError("IDLE", "IDLE");
  let accepted!: () => void;
  const started = new Promise<void>((resolve) => accepted = resolve);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  let callbackError: unknown;
  let first = true;
  const completion = conn.run("IDLE", [], {
    exclusive: "idle",
    claim: (r) => {
      if (r.kind === "continuation" || r.kind === "tagged") return false;
      try {
        onUntagged(r);
      } catch (error) {
        callbackError ??= error;
        stop();
      }
      return true;
    },
    onContinuation: async () => {
      if (!first) return null;
      first = false;
      conn.idling = true;
      accepted();
      await stopped;
      conn.idling = false;
      return settled ? null : replyText("DONE");
    },
  });
  let settled = false;
  // A connection that dies while idling must not leave the writer waiting for DONE.
  completion.then(() => {}, () => {}).finally(() => {
    settled = true;
    stop();
  });
  const ended = completion.then(() => {
    if (callbackError !== undefined) throw callbackError;
  });
  ended.catch(() => {});
  await Promise.race([started, completion]);
  return {
    done() {
      stop();
      return ended;
    },
    ended,
  };
}
