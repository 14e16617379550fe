/**
 * The interface through which the sync engine sees a mail store (isync's `driver.h`).
 *
 * The engine never asks which kind of repository it talks to: Maildir and IMAP implement the
 * same contracts. Flags cross this boundary as Maildir letters in canonical order (`"FS"`), UIDs
 * as the **remote** server's UIDs (the key of the status store), exactly as OfflineIMAP keys its
 * status cache.
 *
 * @module
 */

/** Canonically ordered Maildir flag letters (`D F P R S T`, then `a`-`z`), e.g. `"FS"`. */
export type FlagLetters = string;

/** A message of a folder snapshot that carries a UID. */
export interface SnapshotMessage {
  readonly uid: number;
  readonly flags: FlagLetters;
  /** Size in bytes as the store reports it (IMAP: RFC822.SIZE; Maildir: file size). */
  readonly size?: number;
}

/** A local message that has no UID for this folder yet (new file, or moved in). */
export interface UnassignedMessage {
  /** Store-specific key (Maildir: the file name's unique part). */
  readonly key: string;
  readonly flags: FlagLetters;
  readonly size?: number;
}

/** What a folder holds right now. */
export interface FolderSnapshot {
  /** UIDVALIDITY (Maildir folders report OfflineIMAP's constant 42). */
  readonly uidValidity: number;
  /** Messages with a UID, by UID. */
  readonly messages: ReadonlyMap<number, SnapshotMessage>;
  /** Messages without a UID (only local stores have them). */
  readonly unassigned: readonly UnassignedMessage[];
  /** Flag letters this folder can store; undefined means every letter (Maildir). */
  readonly storableFlags?: FlagLetters;
  /** True when the store opened the folder read-only (IMAP SELECT said READ-ONLY). */
  readonly readOnly?: boolean;
  /**
   * UIDs the folder holds outside the requested {@link SnapshotWindow} (too old, too big):
   * invisible to the sync, so never copied, changed, deleted or forgotten.
   */
  readonly hidden?: ReadonlySet<number>;
}

/** Which messages a snapshot should show (`maxage`, `maxsize`). */
export interface SnapshotWindow {
  /** Only messages whose INTERNALDATE is on or after this day (IMAP `SINCE`). */
  readonly since?: Date;
  /** Only messages strictly smaller than this many bytes (IMAP `SMALLER`). */
  readonly maxSize?: number;
  /** Only messages with a UID of at least this (`startdate`'s saved cut-off). */
  readonly minUid?: number;
}

/** What a folder can say cheaply about itself (IMAP: the SELECT response). */
export interface FolderSummary {
  readonly uidValidity: number;
  /** Number of messages. */
  readonly exists: number;
  readonly uidNext?: number;
  /** CONDSTORE's HIGHESTMODSEQ, when the server has it. */
  readonly highestModseq?: bigint;
}

/** Names one message of a folder: by UID, or by key for an unassigned local message. */
export type MessageRef =
  | { readonly uid: number; readonly key?: undefined }
  | { readonly key: string; readonly uid?: undefined };

/**
 * One message being read from a source folder. Exactly one of `openNetwork`/`openLocal` may be
 * called, once; the stream must be read to its end or cancelled before the next message is
 * delivered (IMAP bodies come straight from the socket).
 */
export interface MessageContent {
  readonly ref: MessageRef;
  readonly flags: FlagLetters;
  /** INTERNALDATE (IMAP) or file mtime (Maildir), when known. */
  readonly internalDate?: Date;
  /** Size of the network form (CRLF line endings), computing it if needed. */
  networkSize(): Promise<number>;
  /** The message with CRLF line endings, as IMAP wants it. */
  openNetwork(): ReadableStream<Uint8Array>;
  /** The message with LF line endings, as OfflineIMAP writes Maildir files. */
  openLocal(): ReadableStream<Uint8Array>;
}

/** Result of storing one message. */
export interface StoreResult {
  /** UID the message has in the destination (remote UID), or null when it cannot be learnt. */
  readonly uid: number | null;
}

/** One folder of a repository, opened. */
export interface Folder {
  /** Folder name in this repository's own naming (its separator, untranslated). */
  readonly name: string;

  /**
   * Reads the folder's current state. Throws a `FolderError` when the folder cannot be read;
   * never reports an unreadable folder as empty. Stores that cannot apply a `window` ignore it
   * (Maildir applies `maxsize` through its own option).
   */
  readSnapshot(window?: SnapshotWindow): Promise<FolderSnapshot>;

  /** Optional: a cheap summary for quick syncs (IMAP: SELECT only). */
  readSummary?(): Promise<FolderSummary>;

  /**
   * Optional, with {@link Folder.readSummary}: the snapshot {@link Folder.readSnapshot} would
   * return, built from a listing the caller knows to be current (the status, when the summary
   * just read proves nothing changed since a sync that left both equal), so the folder is not
   * listed again. Call it after readSummary, in place of readSnapshot, without a window.
   */
  knownSnapshot?(listing: ReadonlyMap<number, FlagLetters>): FolderSnapshot;

  /**
   * Optional, with {@link Folder.readSummary}: the snapshot {@link Folder.readSnapshot} would
   * return, built from a listing the caller knows to be what the folder held at mod-sequence
   * `since` (CONDSTORE), plus what changed after it: only the changed messages are listed, and
   * the UIDs only when some message went away. Call it after readSummary, without a window.
   */
  changedSnapshot?(
    listing: ReadonlyMap<number, FlagLetters>,
    since: bigint,
  ): Promise<FolderSnapshot>;

  /**
   * Optional (`startdate`): the smallest UID of the messages whose INTERNALDATE is on or after
   * `date`; when there is none, the next UID the folder will give, so that only messages
   * arriving later are synced.
   */
  firstUidSince?(date: Date): Promise<number>;

  /**
   * Streams the given messages to `handler`, one at a time, in an order the store chooses.
   * The handler must consume the content before returning. Messages that vanished meanwhile
   * are skipped (and listed in the returned array).
   */
  readMessages(
    refs: readonly MessageRef[],
    handler: (content: MessageContent) => Promise<void>,
  ): Promise<MessageRef[]>;

  /**
   * Stores a message. `uid` is the remote UID the message has (Maildir destinations name the
   * file after it); IMAP destinations ignore it and report the UID the server assigned.
   * The content has been read when it returns; it is durable and in place only after
   * {@link Folder.flush} (Maildir: the file's fsync and rename run on while the next message
   * downloads, and a failure of them is reported by flush).
   */
  storeMessage(content: MessageContent, uid: number | undefined): Promise<StoreResult>;

  /**
   * Gives a local message the UID it now has on the remote side (Maildir: renames the file with
   * the new `U=`; other stores: no-op). `ref` is the message as listed in the snapshot.
   */
  assignUid(ref: MessageRef, uid: number): Promise<void>;

  /**
   * Optional: makes the messages stored so far durable where {@link Folder.storeMessage}
   * deferred part of it (Maildir: each file's fsync and rename, then the directory fsync). The
   * engine calls it before recording those messages in the status. Throws the failure of a
   * deferred step (a MessageError, or a FolderError for a full disk).
   */
  flush?(): Promise<void>;

  /** Adds and removes flag letters on the given messages. Durable when it returns. */
  changeFlags(uids: readonly number[], add: FlagLetters, remove: FlagLetters): Promise<void>;

  /** Deletes the given messages (IMAP: \Deleted, then EXPUNGE when configured). */
  deleteMessages(uids: readonly number[]): Promise<void>;

  /**
   * Optional fast path: size (network form) and Message-ID of the given messages, without their
   * bodies. The engine falls back to {@link Folder.readMessages} when absent.
   */
  describeMessages?(uids: readonly number[]): Promise<Map<number, MessageDescription>>;

  /** Releases what the folder holds (not the connection, which belongs to the repository). */
  close(): Promise<void>;
}

/** What identifies a message's content cheaply: its network size and Message-ID. */
export interface MessageDescription {
  /** Size with CRLF line endings (IMAP RFC822.SIZE). */
  readonly size: number;
  /** The Message-ID header value, trimmed, when present. */
  readonly messageId?: string;
}

/** A folder as listed by a repository. */
export interface FolderListing {
  /** Name in this repository's naming, untranslated. */
  readonly name: string;
}

/** A mail store: a Maildir tree or an IMAP account. */
export interface Repository {
  /** `[Repository <name>]`. */
  readonly name: string;
  /** Hierarchy separator of this repository's folder names. */
  readonly sep: string;
  /** Whether this repository may be written (`readonly = no`). */
  readonly writable: boolean;
  /** Lists selectable folders. */
  listFolders(): Promise<FolderListing[]>;
  /**
   * Creates a folder (and missing parents). Resolves to the name the folder has in this
   * repository from now on: `name`, or on IMAP with a `reference`, the reference, the
   * separator and `name`, as OfflineIMAP creates it.
   */
  createFolder(name: string): Promise<string>;
  /** Opens a folder that exists. */
  openFolder(name: string): Promise<Folder>;
  /** Deletes a folder (only `--delete-folder` does; the sync never deletes folders). */
  deleteFolder?(name: string): Promise<void>;
  /**
   * Optional: a stamp of the folder's listing that any message added, removed or renamed there
   * changes (Maildir: the identity and change times of `new/` and `cur/`). Undefined when the
   * store cannot vouch for it right now (a change too recent to be told apart from the next one,
   * leftovers in `tmp/`, a missing folder). Read it before reading the snapshot it describes.
   */
  folderStamp?(name: string): Promise<string | undefined>;
  /**
   * Optional: the summaries of several folders at once, without selecting them (IMAP: STATUS,
   * pipelined). Folders the store cannot summarise this way are missing from the map.
   */
  readSummaries?(names: readonly string[]): Promise<Map<string, FolderSummary>>;
  /** Optional end-of-cycle work (Maildir: `restoreatime`). */
  finishCycle?(): Promise<void>;
  /**
   * Optional: waits for changes in `folders` (IMAP IDLE) until `signal` aborts, calling
   * `onChange(folder)` after each change; a watched folder's connection is released while
   * `onChange` runs, so the sync it triggers can use it.
   */
  watch?(
    folders: readonly string[],
    onChange: (folder: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
  /** Optional: keeps idle connections alive (NOOP), for `keepalive`. */
  keepAlive?(): Promise<void>;
  /** Closes connections and handles. */
  close(): Promise<void>;
}
