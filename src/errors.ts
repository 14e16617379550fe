/**
 * Error classes of the program. The class states how far a failure spreads (isync's scope
 * codes): a {@link MessageError} skips one message, a {@link FolderError} one folder, an
 * {@link AccountError} one account; a {@link ConfigError} stops before any network or disk work.
 *
 * Each carries an optional `hint`: one line telling the user what to do, using the option names
 * the user wrote. `main.ts` renders them; nothing here prints.
 *
 * @module
 */

/** Options common to all our errors. */
export interface HintedErrorOptions extends ErrorOptions {
  /** One line with the fix, shown under the message. */
  hint?: string;
}

/** Base class: an error the user can act on (as opposed to a bug of ours). */
export class UserFacingError extends Error {
  /** One line with the fix, or undefined. */
  readonly hint?: string;
  constructor(message: string, options: HintedErrorOptions = {}) {
    super(message, options);
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** The configuration or command line is wrong; nothing was touched. */
export class ConfigError extends UserFacingError {
  /** Exit status OfflineIMAP uses for this problem (1, or 2 for command-line syntax). */
  readonly exitCode: number;
  constructor(message: string, options: HintedErrorOptions & { exitCode?: number } = {}) {
    super(message, options);
    this.exitCode = options.exitCode ?? 1;
  }
}

/** One account cannot continue (connection, authentication, lock). */
export class AccountError extends UserFacingError {}

/** One folder cannot continue; the account goes on with the next folder. */
export class FolderError extends UserFacingError {
  /** True when the cause is a UIDVALIDITY mismatch (exit status 2 if nothing else failed). */
  readonly uidValidity: boolean;
  constructor(message: string, options: HintedErrorOptions & { uidValidity?: boolean } = {}) {
    super(message, options);
    this.uidValidity = options.uidValidity ?? false;
  }
}

/** One message cannot be transferred; the folder goes on. */
export class MessageError extends UserFacingError {}

/** Names of the `imap/` errors that mean "the connection broke" (a retry may succeed). */
const TRANSIENT_NAMES = new Set(["ImapConnectionError", "ImapByeError"]);

/**
 * Whether `error` is a broken connection rather than a refusal: the connection errors of
 * `imap/` (recognised by name, so the engine needs no import of the IMAP library). TLS and
 * authentication failures are not transient.
 */
export function isTransientError(error: unknown): boolean {
  return error instanceof Error && TRANSIENT_NAMES.has(error.name);
}
