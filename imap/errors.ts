/**
 * Errors of the IMAP library. They state protocol facts (command, response code, server text,
 * offending bytes) and give no advice: the library knows nothing of configuration files.
 *
 * Connection-level failures (the connection is unusable afterwards) are
 * {@link ImapConnectionError} and its subclasses; a command refused by the server is an
 * {@link ImapCommandError} and leaves the connection usable.
 *
 * @module
 */

/** The connection could not be made, broke, or timed out. It is unusable afterwards. */
export class ImapConnectionError extends Error {
  /** `message` states what failed; `options.cause` keeps the underlying error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapConnectionError";
  }
}

/** Why a TLS session was refused. */
export type TlsFailure = "verify" | "hostname" | "fingerprint" | "handshake" | "starttls";

/** TLS could not be established or the certificate was refused. */
export class ImapTlsError extends ImapConnectionError {
  /** What went wrong. */
  readonly reason: TlsFailure;
  /** SHA-256 fingerprint (lower-case hex) of the certificate the server presented, if known. */
  readonly fingerprintSha256?: string;
  /** `reason` classifies the failure for callers that give advice. */
  constructor(
    message: string,
    reason: TlsFailure,
    options?: ErrorOptions & { fingerprintSha256?: string },
  ) {
    super(message, options);
    this.name = "ImapTlsError";
    this.reason = reason;
    this.fingerprintSha256 = options?.fingerprintSha256;
  }
}

/** The server said BYE (RFC 3501 7.1.5) and closed the connection. */
export class ImapByeError extends ImapConnectionError {
  /** The server's text after `BYE`. */
  readonly text: string;
  /** Response code atom, e.g. `UNAVAILABLE`, if the server sent one. */
  readonly code?: string;
  /** From the server's `BYE [code] text`. */
  constructor(text: string, code?: string) {
    super(`Server closed the session: BYE${code ? ` [${code}]` : ""} ${text}`.trimEnd());
    this.name = "ImapByeError";
    this.text = text;
    this.code = code;
  }
}

/**
 * The server sent something that is not valid IMAP, or broke a configured limit. The
 * connection is closed when the reader sees one.
 */
export class ImapProtocolError extends Error {
  /** `message` quotes the offending bytes, truncated. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapProtocolError";
  }
}

/** A command ended with NO or BAD. The connection stays usable. */
export class ImapCommandError extends Error {
  /** The command name, e.g. `SELECT`. Never contains arguments (they may be secret). */
  readonly command: string;
  /** `NO` or `BAD`. */
  readonly status: "NO" | "BAD";
  /** Response code atom, e.g. `TRYCREATE`, `AUTHENTICATIONFAILED`. */
  readonly code?: string;
  /** The server's human-readable text. */
  readonly text: string;
  /** From the tagged `NO`/`BAD [code] text` answering `command`. */
  constructor(command: string, status: "NO" | "BAD", text: string, code?: string) {
    super(`${command} failed: ${status}${code ? ` [${code}]` : ""} ${text}`.trimEnd());
    this.name = "ImapCommandError";
    this.command = command;
    this.status = status;
    this.code = code;
    this.text = text;
  }
}

/** Authentication failed or no mechanism could be used. */
export class ImapAuthError extends Error {
  /** `message` never holds a secret. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapAuthError";
  }
}

/**
 * A command needs a capability the server does not advertise (e.g. `UID EXPUNGE` without
 * UIDPLUS). Thrown before anything is sent; the connection stays usable.
 */
export class ImapCapabilityError extends Error {
  /** The capability that is missing, e.g. `UIDPLUS`. */
  readonly capability: string;
  /** `command` needs `capability`. */
  constructor(command: string, capability: string) {
    super(`Cannot send ${command}: the server does not offer "${capability}"`);
    this.name = "ImapCapabilityError";
    this.capability = capability;
  }
}

/** Renders up to `max` bytes for an error message, escaping control characters. */
export function showBytes(bytes: Uint8Array, max = 80): string {
  let out = "";
  for (const b of bytes.subarray(0, max)) {
    if (b === 0x0d) out += "\\r";
    else if (b === 0x0a) out += "\\n";
    else if (b < 0x20 || b > 0x7e) out += `\\x${b.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(b);
  }
  return bytes.length > max ? `${out}…` : out;
}

/** `"host:port"` for messages. */
export function describeEndpoint(host: string, port: number): string {
  return `"${host}:${port}"`;
}

/** The message of any thrown value, without a final period. */
export function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}
