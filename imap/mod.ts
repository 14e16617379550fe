/**
 * An IMAP4rev1 client library: TLS and STARTTLS with verified certificates or pinned
 * fingerprints, tunnels, SASL mechanisms, pipelined commands, streamed message bodies,
 * CONDSTORE/QRESYNC, IDLE. It knows nothing of configuration files or synchronisation.
 *
 * @module
 */

export { ImapClient } from "./client.ts";
export type { ClientOptions, Completion, TunnelOptions } from "./options.ts";
export { formatInternalDate } from "./commands/append.ts";
export type { AppendMessage, AppendResult } from "./commands/append.ts";
export type { FetchOptions } from "./commands/fetch.ts";
export type { FetchedMessage } from "./commands/fetch_bodies.ts";
export type { IdleHandle } from "./commands/idle.ts";
export type { ListOptions } from "./commands/list.ts";
export type { QresyncState, SelectOptions } from "./commands/select.ts";
export type { IdFields } from "./commands/session.ts";
export type { StoreOptions } from "./commands/store.ts";
export type { Arg } from "./encoder.ts";
export {
  ImapAuthError,
  ImapByeError,
  ImapCapabilityError,
  ImapCommandError,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
} from "./errors.ts";
export type { TlsFailure } from "./errors.ts";
export { DEFAULT_LIMITS } from "./framer.ts";
export type { FramerLimits } from "./framer.ts";
export { authenticateWith, DEFAULT_MECHANISMS, MECHANISMS } from "./auth/authenticate.ts";
export type { Credentials, Mechanism } from "./auth/mechanism.ts";
export { refreshAccessToken } from "./auth/oauth2.ts";
export type { AccessToken, RefreshTokenRequest } from "./auth/oauth2.ts";
export { decodeMailboxName, encodeMailboxName } from "./mailbox_name.ts";
export { chunkUids, compressUids, parseUidSet } from "./uid_set.ts";
export { certificateFingerprint, normalizeFingerprint } from "./transport.ts";
export type { TlsOptions } from "./transport.ts";
export type {
  CopyResult,
  ExpungeResult,
  FetchChanges,
  FetchData,
  ImapValue,
  ListEntry,
  MailboxInfo,
  MailboxStatus,
  MoveResult,
  Response,
  ResponseCode,
  SpecialUse,
  StatusWord,
  StoreResult,
  StreamedLiteral,
} from "./types.ts";
