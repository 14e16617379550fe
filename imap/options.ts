/**
 * The options and shapes shared by the connection core and the command modules: how to reach
 * a server (`ClientOptions`), and how one command takes part in the read loop
 * (`CommandOptions`).
 *
 * @module
 */

import type { FramerLimits, LiteralPolicy } from "./framer.ts";
import type { TlsOptions } from "./transport.ts";
import type { Response, ResponseCode } from "./types.ts";

const ENCODER = new TextEncoder();

/** A command that carries the IMAP stream on its stdin/stdout instead of a socket. */
export interface TunnelOptions {
  /** Shell command line, run with `/bin/sh -c`. */
  readonly command: string;
  /**
   * `preauth` (OfflineIMAP's `preauthtunnel`): the server greets with PREAUTH, nothing is
   * authenticated, and any other greeting is refused. `transport` (`transporttunnel`): the
   * command only carries bytes (e.g. `openssl s_client`), and authentication still happens.
   */
  readonly kind: "preauth" | "transport";
}

/** How to reach the server and how to behave on the connection. */
export interface ClientOptions {
  /** Host name or address; with a tunnel, only used in messages. */
  readonly host: string;
  /** TCP port (993 for implicit TLS, 143 for STARTTLS); with a tunnel, only in messages. */
  readonly port: number;
  /**
   * `tls`: implicit TLS. `starttls`: plain, then STARTTLS (required: a server that does not
   * offer it is refused, and so is a PREAUTH greeting). `plain`: no encryption at all.
   * Ignored with a tunnel.
   */
  readonly security: "tls" | "starttls" | "plain";
  /** Certificate checks and client certificate. */
  readonly tls?: TlsOptions;
  /** Force IPv4 or IPv6. */
  readonly family?: 4 | 6;
  /**
   * Socket timeout in milliseconds (OfflineIMAP's `socktimeout`); 0 or undefined = none.
   * Applies to connecting, each TLS handshake, each write, and to waiting for the server
   * while a reply is due (never while idle between commands or during IDLE).
   */
  readonly timeoutMs?: number;
  /** Speak IMAP over a command's stdin/stdout instead of a socket. */
  readonly tunnel?: TunnelOptions;
  /** Commands in flight at most (isync's PipelineDepth). Default 32. */
  readonly maxInFlight?: number;
  /** Size caps, each defaulting to `DEFAULT_LIMITS`; see {@link FramerLimits}. */
  readonly limits?: Partial<FramerLimits>;
  /**
   * Allow LOGIN and AUTHENTICATE on a connection that is neither TLS nor a tunnel. Off by
   * default: credentials are refused before any byte of them is sent.
   */
  readonly allowInsecureAuth?: boolean;
  /**
   * Protocol trace (`-d imap`): called with `C: ...` and `S: ...` lines. Passwords, SASL
   * responses and tokens are replaced by `***`; literals are shown by size.
   */
  readonly log?: (line: string) => void;
  /**
   * Untagged responses no running command claimed: EXISTS, EXPUNGE, FETCH flags from other
   * clients, ALERTs (which RFC 3501 7.1 says must be shown to the user), BYE.
   */
  readonly onUnsolicited?: (response: Response) => void;
}

/** The tagged completion of a command. */
export interface Completion {
  /** The response code of the tagged OK, e.g. APPENDUID. */
  readonly code?: ResponseCode;
  /** The server's text. */
  readonly text: string;
}

/** Bytes sent in answer to a "+" continuation, with what the log shows instead of them. */
export interface ContinuationReply {
  /** What goes on the wire, CRLF included. */
  readonly bytes: Uint8Array;
  /** What the log shows (`***` for secrets). */
  readonly log: string;
}

/** How one command takes part in the read loop. */
export interface CommandOptions {
  /**
   * Sees each untagged response while the command is in flight (oldest command first) and
   * returns true for those it consumes.
   */
  readonly claim?: (response: Response) => boolean;
  /** Streams literals it recognises (FETCH bodies); see {@link LiteralPolicy}. */
  readonly literal?: LiteralPolicy;
  /**
   * Answers each "+" the server sends after the command line (SASL, IDLE); null ends the
   * exchange. The write queue waits until the tagged response, so nothing else is sent
   * meanwhile.
   */
  readonly onContinuation?: (text: string) => Promise<ContinuationReply | null>;
  /**
   * Untagged responses that cannot be told apart between two commands of the same kind
   * (`search`, `fetch`, `list`, `expunge`, ...). Servers may run pipelined commands in
   * parallel (Dovecot does), so a command with a key is written only when no command with the
   * same key is in flight (RFC 3501 5.5); commands queued behind it wait too, keeping order.
   */
  readonly exclusive?: string;
}

/** Encodes text for a continuation reply. */
export function replyText(text: string, log = text): ContinuationReply {
  return { bytes: ENCODER.encode(`${text}\r\n`), log };
}
