/**
 * ImapClient: the public face of one IMAP4rev1 connection. Each method is one IMAP command
 * (the code lives in `commands/*.ts`; the connection core in `connection.ts`).
 *
 * Every command method writes to the wire at once and returns a promise, so callers pipeline
 * by starting several commands before awaiting them (up to `maxInFlight` are in flight; the
 * rest wait for a slot). Untagged responses a command does not consume go to
 * `ClientOptions.onUnsolicited`.
 *
 * @example
 * ```ts ignore
 * const client = await ImapClient.connect({ host: "imap.example.org", port: 993, security: "tls" });
 * try {
 *   await client.login("me", "secret");
 *   const info = await client.select("INBOX");
 *   const [flags, count] = await Promise.all([
 *     client.uidFetch("1:*", ["UID", "FLAGS"]),
 *     client.status("Sent"),
 *   ]);
 * } finally {
 *   await client.logout();
 * }
 * ```
 *
 * @module
 */

import { Connection } from "./connection.ts";
import type { ClientOptions } from "./options.ts";
import type { Arg } from "./encoder.ts";
import { append } from "./commands/append.ts";
import type { AppendMessage, AppendResult } from "./commands/append.ts";
import { authenticate, login } from "./commands/auth.ts";
import { uidCopy, uidMove } from "./commands/copy_move.ts";
import { expunge, uidExpunge } from "./commands/expunge.ts";
import { uidFetch, uidFetchChanges } from "./commands/fetch.ts";
import type { FetchOptions } from "./commands/fetch.ts";
import { uidFetchBodies } from "./commands/fetch_bodies.ts";
import type { FetchedMessage } from "./commands/fetch_bodies.ts";
import { idle } from "./commands/idle.ts";
import type { IdleHandle } from "./commands/idle.ts";
import { list, lsub } from "./commands/list.ts";
import type { ListOptions } from "./commands/list.ts";
import { create, deleteMailbox, rename, subscribe, unsubscribe } from "./commands/mailbox.ts";
import { closeMailbox, select, unselect } from "./commands/select.ts";
import type { SelectOptions } from "./commands/select.ts";
import { uidSearch } from "./commands/search.ts";
import { check, enable, id, noop } from "./commands/session.ts";
import type { IdFields } from "./commands/session.ts";
import { status } from "./commands/status.ts";
import { uidStore } from "./commands/store.ts";
import type { StoreOptions } from "./commands/store.ts";
import type {
  CopyResult,
  ExpungeResult,
  FetchChanges,
  FetchData,
  ListEntry,
  MailboxInfo,
  MailboxStatus,
  MoveResult,
  Response,
  StoreResult,
} from "./types.ts";

/** An IMAP4rev1 connection. Create with {@link ImapClient.connect}; end with `logout()`. */
export class ImapClient {
  #conn: Connection;

  private constructor(conn: Connection) {
    this.#conn = conn;
  }

  /**
   * Connects, reads the greeting, and with `security: "starttls"` upgrades (verifying the
   * certificate) and re-reads the capabilities. Resolves in the not-authenticated state, or
   * authenticated after a PREAUTH greeting ({@link ImapClient.preauthenticated}). Throws
   * ImapConnectionError, ImapTlsError (certificate, fingerprint, STARTTLS refused or
   * impossible), ImapByeError, or ImapProtocolError; nothing is left open then.
   */
  static async connect(options: ClientOptions): Promise<ImapClient> {
    return new ImapClient(await Connection.open(options));
  }

  /** The greeting's text. */
  get greeting(): string {
    return this.#conn.greeting?.text ?? "";
  }

  /** True when the greeting was PREAUTH (already authenticated, e.g. a preauth tunnel). */
  get preauthenticated(): boolean {
    return this.#conn.greeting?.status === "PREAUTH";
  }

  /** Whether the connection is encrypted (TLS, STARTTLS, or a tunnel). */
  get secure(): boolean {
    return this.#conn.secure;
  }

  /** Current capabilities, upper case. */
  get capabilities(): ReadonlySet<string> {
    return this.#conn.capabilities;
  }

  /** Whether the server advertises `name` (case-insensitive). */
  has(name: string): boolean {
    return this.#conn.has(name);
  }

  /** Capabilities the server ENABLEd, upper case. */
  get enabled(): ReadonlySet<string> {
    return this.#conn.enabled;
  }

  /**
   * True once UTF8=ACCEPT is enabled: mailbox names are then UTF-8 both ways, instead of
   * modified UTF-7 (`encodeMailboxName` / `decodeMailboxName`).
   */
  get utf8(): boolean {
    return this.#conn.enabled.has("UTF8=ACCEPT");
  }

  /** The mailbox currently selected, if any. */
  get selected(): string | undefined {
    return this.#conn.selected;
  }

  /** Resolves once the connection is closed and every resource released. */
  get closed(): Promise<void> {
    return this.#conn.closed;
  }

  /** CAPABILITY: refreshes {@link ImapClient.capabilities}. */
  capability(): Promise<ReadonlySet<string>> {
    return this.#conn.capability();
  }

  /** NOOP: lets the server report changes (to `onUnsolicited`). */
  noop(): Promise<void> {
    return noop(this.#conn);
  }

  /** CHECK: a checkpoint of the selected mailbox. */
  check(): Promise<void> {
    return check(this.#conn);
  }

  /** ID (RFC 2971): sends our fields (or null for NIL), returns the server's (keys lower case). */
  id(fields: Readonly<Record<string, string>> | null = null): Promise<IdFields | null> {
    return id(this.#conn, fields);
  }

  /**
   * ENABLE (RFC 5161), e.g. `enable("QRESYNC")` or `enable("UTF8=ACCEPT")`. Returns what this
   * command enabled; {@link ImapClient.enabled} has everything enabled so far.
   */
  enable(...capabilities: string[]): Promise<ReadonlySet<string>> {
    return enable(this.#conn, capabilities);
  }

  /**
   * LOGIN. Both arguments are masked in the log. Refused on an unencrypted connection unless
   * `allowInsecureAuth`. Throws ImapAuthError.
   */
  login(user: string, password: string): Promise<void> {
    return login(this.#conn, user, password);
  }

  /**
   * AUTHENTICATE with a SASL mechanism. `initial` is the first client response (on the command
   * line with SASL-IR); `respond` answers each later challenge (decoded) with raw bytes, which
   * are base64-encoded here and masked in the log. Throws ImapAuthError.
   */
  authenticate(
    mechanism: string,
    initial: Uint8Array | undefined,
    respond: (challenge: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  ): Promise<void> {
    return authenticate(this.#conn, mechanism, initial, respond);
  }

  /**
   * LIST `reference` `pattern`. The third argument may also be `"LSUB"` (same as
   * {@link ImapClient.lsub}) or `"LIST"`, for older callers.
   */
  list(
    reference: string,
    pattern: string,
    options: ListOptions | "LIST" | "LSUB" = {},
  ): Promise<ListEntry[]> {
    if (options === "LSUB") return lsub(this.#conn, reference, pattern);
    return list(this.#conn, reference, pattern, options === "LIST" ? {} : options);
  }

  /** LSUB `reference` `pattern`: subscribed mailboxes. */
  lsub(reference: string, pattern: string): Promise<ListEntry[]> {
    return lsub(this.#conn, reference, pattern);
  }

  /** CREATE `mailbox`. */
  create(mailbox: string): Promise<void> {
    return create(this.#conn, mailbox);
  }

  /** DELETE `mailbox`. */
  deleteMailbox(mailbox: string): Promise<void> {
    return deleteMailbox(this.#conn, mailbox);
  }

  /** RENAME `from` to `to`. */
  rename(from: string, to: string): Promise<void> {
    return rename(this.#conn, from, to);
  }

  /** SUBSCRIBE `mailbox`. */
  subscribe(mailbox: string): Promise<void> {
    return subscribe(this.#conn, mailbox);
  }

  /** UNSUBSCRIBE `mailbox`. */
  unsubscribe(mailbox: string): Promise<void> {
    return unsubscribe(this.#conn, mailbox);
  }

  /** STATUS `mailbox` (default items: MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ]). */
  status(mailbox: string, items?: readonly string[]): Promise<MailboxStatus> {
    return status(this.#conn, mailbox, items);
  }

  /**
   * SELECT (EXAMINE with `readOnly`), with CONDSTORE or QRESYNC when asked and offered. Throws
   * ImapCommandError when refused; a failed SELECT leaves nothing selected.
   */
  select(mailbox: string, options: SelectOptions = {}): Promise<MailboxInfo> {
    return select(this.#conn, mailbox, options);
  }

  /** EXAMINE: SELECT read-only. */
  examine(mailbox: string, options: Omit<SelectOptions, "readOnly"> = {}): Promise<MailboxInfo> {
    return select(this.#conn, mailbox, { ...options, readOnly: true });
  }

  /** UNSELECT (RFC 3691): deselects without expunging. ImapCapabilityError without it. */
  unselect(): Promise<void> {
    return unselect(this.#conn);
  }

  /** CLOSE: deselects, expunging \Deleted messages unless the mailbox is read-only. */
  closeMailbox(): Promise<void> {
    return closeMailbox(this.#conn);
  }

  /**
   * UID FETCH of metadata (no bodies): one command, every response collected. `items` e.g.
   * `["UID", "FLAGS", "RFC822.SIZE"]`; `set` is a UID set string (`compressUids`).
   */
  uidFetch(
    set: string,
    items: readonly string[],
    options: FetchOptions = {},
  ): Promise<FetchData[]> {
    return uidFetch(this.#conn, set, items, options);
  }

  /**
   * UID FETCH ... (CHANGEDSINCE `changedSince` VANISHED): changed messages and expunged UIDs
   * since a mod-sequence. Needs QRESYNC (enabled on first use).
   */
  uidFetchChanges(
    set: string,
    items: readonly string[],
    changedSince: bigint,
  ): Promise<FetchChanges> {
    return uidFetchChanges(this.#conn, set, items, changedSince);
  }

  /**
   * UID FETCH with `BODY.PEEK[]`, each body streamed from the socket. Read or cancel each body
   * before asking for the next message; see `commands/fetch_bodies.ts` for the contract.
   */
  uidFetchBodies(
    set: string,
    items?: readonly string[],
  ): AsyncGenerator<FetchedMessage> {
    return uidFetchBodies(this.#conn, set, items);
  }

  /**
   * UID STORE: `+` adds, `-` removes, `""` replaces `flags` (`.SILENT` unless `silent: false`).
   * With `unchangedSince`, `modified` lists the UIDs refused because they changed.
   */
  uidStore(
    set: string,
    operation: "+" | "-" | "",
    flags: readonly string[],
    options: StoreOptions = {},
  ): Promise<StoreResult> {
    return uidStore(this.#conn, set, operation, flags, options);
  }

  /**
   * UID SEARCH with criteria as arguments, e.g. `[{ atom: "SINCE" }, { atom: "1-Feb-2024" }]`
   * or `[{ atom: "HEADER" }, { string: "Message-ID" }, { string: "<a@b>" }]`. Returns UIDs.
   */
  uidSearch(criteria: readonly Arg[]): Promise<number[]> {
    return uidSearch(this.#conn, criteria);
  }

  /**
   * APPEND a message streamed from `open()` (called once; must yield exactly `size` bytes with
   * CRLF line endings). Returns APPENDUID's values when the server sends them.
   */
  append(mailbox: string, message: AppendMessage): Promise<AppendResult | undefined> {
    return append(this.#conn, mailbox, message);
  }

  /** UID COPY `set` to `mailbox`; returns COPYUID when sent. */
  uidCopy(set: string, mailbox: string): Promise<CopyResult | undefined> {
    return uidCopy(this.#conn, set, mailbox);
  }

  /**
   * UID MOVE `set` to `mailbox`; without MOVE, COPY + STORE \Deleted + UID EXPUNGE (see
   * {@link MoveResult.expunged}).
   */
  uidMove(set: string, mailbox: string): Promise<MoveResult> {
    return uidMove(this.#conn, set, mailbox);
  }

  /** EXPUNGE every \Deleted message of the selected mailbox. */
  expunge(): Promise<ExpungeResult> {
    return expunge(this.#conn);
  }

  /** UID EXPUNGE (UIDPLUS): only the given \Deleted messages. */
  uidExpunge(set: string): Promise<ExpungeResult> {
    return uidExpunge(this.#conn, set);
  }

  /**
   * IDLE: resolves once the server accepted it; untagged responses go to `onUntagged` until
   * `await handle.done()`. See `commands/idle.ts`.
   */
  idle(onUntagged: (response: Response) => void): Promise<IdleHandle> {
    return idle(this.#conn, onUntagged);
  }

  /** LOGOUT, then closes the connection and waits until it is released. Never throws. */
  logout(): Promise<void> {
    return this.#conn.logout();
  }

  /** Closes the connection at once; await {@link ImapClient.closed} to know it is released. */
  close(): void {
    this.#conn.close();
  }
}
