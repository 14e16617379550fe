/**
 * An IMAP4rev1 client library: TLS and STARTTLS with verified certificates or pinned
 * fingerprints, SASL mechanisms, pipelined commands, streamed message bodies. It knows nothing
 * of configuration files or synchronisation.
 *
 * @module
 */

export { formatInternalDate, ImapClient } from "./client.ts";
export type { ClientOptions, Completion, FetchedMessage } from "./client.ts";
export {
  ImapAuthError,
  ImapCommandError,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
} from "./errors.ts";
export type { TlsFailure } from "./errors.ts";
export { authenticateWith, MECHANISMS } from "./auth/mechanisms.ts";
export type { Credentials, Mechanism } from "./auth/mechanism.ts";
export { certificateFingerprint, normalizeFingerprint } from "./transport.ts";
export type { TlsOptions } from "./transport.ts";
export type { FetchData, ListEntry, MailboxInfo, Response } from "./types.ts";
