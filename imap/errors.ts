/**
 * Errors of the IMAP library. They state protocol facts (command, response code, server text,
 * offending bytes) and give no advice: the library knows nothing of configuration files.
 *
 * @module
 */

/** The connection could not be made, broke, or timed out. */
export class ImapConnectionError extends Error {
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
  /** SHA-256 fingerprint (lower-case hex) of the certificate the server presented, if any. */
  readonly fingerprintSha256?: string;
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

/** The server sent something that is not valid IMAP, or broke a configured limit. */
export class ImapProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapProtocolError";
  }
}

/** A command ended with NO or BAD (or the server said BYE while it ran). */
export class ImapCommandError extends Error {
  /** The command name, e.g. `SELECT`. Never contains arguments (they may be secret). */
  readonly command: string;
  /** `NO`, `BAD` or `BYE`. */
  readonly status: "NO" | "BAD" | "BYE";
  /** Response code atom, e.g. `TRYCREATE`, `AUTHENTICATIONFAILED`. */
  readonly code?: string;
  /** The server's human-readable text. */
  readonly text: string;
  constructor(command: string, status: "NO" | "BAD" | "BYE", text: string, code?: string) {
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
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapAuthError";
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
