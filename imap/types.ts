/**
 * Plain data of the IMAP library: parsed responses and the shapes commands return.
 * No I/O here.
 *
 * @module
 */

/** A generic IMAP value: atom or string (text), literal (bytes), NIL (null), or list. */
export type ImapValue = string | Uint8Array | null | StreamedLiteral | ImapValue[];

/** Marks a literal whose bytes went to a sink instead of memory. */
export interface StreamedLiteral {
  /** Always true: the bytes are not here. */
  readonly streamed: true;
}

/** A response code: `[UIDVALIDITY 3857529045]` is `{ name: "UIDVALIDITY", args: ["3857529045"] }`. */
export interface ResponseCode {
  /** Upper-cased code name. */
  readonly name: string;
  /** Arguments as generic values (lists for `PERMANENTFLAGS`, atoms otherwise). */
  readonly args: ImapValue[];
}

/** Status word of a tagged or untagged status response. */
export type StatusWord = "OK" | "NO" | "BAD" | "BYE" | "PREAUTH";

/** Data items of one FETCH response. */
export interface FetchData {
  /** Message sequence number. */
  readonly seq: number;
  /** UID (always present in UID FETCH responses). */
  uid?: number;
  /** FLAGS, as the server wrote them. */
  flags?: string[];
  /** INTERNALDATE. */
  internalDate?: Date;
  /** RFC822.SIZE. */
  size?: number;
  /** CONDSTORE MODSEQ (RFC 7162). */
  modseq?: bigint;
  /** Body sections by their name as sent (`BODY[]`, `BODY[HEADER.FIELDS (X)]`), bytes or null. */
  sections: Map<string, Uint8Array | StreamedLiteral | null>;
  /** Other items (ENVELOPE, BODYSTRUCTURE, X-GM-*, ...), generic, by upper-case name. */
  other: Map<string, ImapValue>;
}

/** The special-use attributes of RFC 6154. */
export type SpecialUse =
  | "\\All"
  | "\\Archive"
  | "\\Drafts"
  | "\\Flagged"
  | "\\Junk"
  | "\\Sent"
  | "\\Trash";

/** One mailbox of a LIST or LSUB response. */
export interface ListEntry {
  /** Name attributes such as `\Noselect`, `\HasChildren`, `\Sent`, as the server wrote them. */
  readonly attributes: string[];
  /** Hierarchy delimiter, or null for a flat namespace. */
  readonly delimiter: string | null;
  /**
   * The mailbox name exactly as the server sent it: modified UTF-7 (decode it with
   * `decodeMailboxName`), or UTF-8 once UTF8=ACCEPT is enabled.
   */
  readonly name: string;
  /** The RFC 6154 special use among the attributes, if any. */
  readonly specialUse?: SpecialUse;
}

/** A parsed server response. */
export type Response =
  | { readonly kind: "continuation"; readonly text: string }
  | {
    readonly kind: "tagged";
    readonly tag: string;
    readonly status: "OK" | "NO" | "BAD";
    readonly code?: ResponseCode;
    readonly text: string;
  }
  | {
    readonly kind: "status";
    readonly status: StatusWord;
    readonly code?: ResponseCode;
    readonly text: string;
  }
  | { readonly kind: "capability"; readonly capabilities: string[] }
  | { readonly kind: "exists"; readonly count: number }
  | { readonly kind: "recent"; readonly count: number }
  | { readonly kind: "expunge"; readonly seq: number }
  | { readonly kind: "fetch"; readonly data: FetchData }
  | { readonly kind: "list"; readonly command: "LIST" | "LSUB"; readonly entry: ListEntry }
  | { readonly kind: "flags"; readonly flags: string[] }
  | { readonly kind: "search"; readonly numbers: number[]; readonly modseq?: bigint }
  | {
    readonly kind: "mailboxStatus";
    readonly mailbox: string;
    readonly items: Map<string, bigint>;
  }
  | { readonly kind: "enabled"; readonly capabilities: string[] }
  /** RFC 7162 VANISHED: `uids` is a UID set such as `41:45,47`. */
  | { readonly kind: "vanished"; readonly earlier: boolean; readonly uids: string }
  | { readonly kind: "other"; readonly keyword: string; readonly values: ImapValue[] };

/** What SELECT or EXAMINE reports about a mailbox. */
export interface MailboxInfo {
  /** The name as given to `select()`. */
  readonly name: string;
  /** True for EXAMINE, or when the server said `[READ-ONLY]`. */
  readonly readOnly: boolean;
  /** Number of messages (the last EXISTS). */
  readonly exists: number;
  /** Number of \Recent messages, when the server said. */
  readonly recent?: number;
  /** UIDVALIDITY: UIDs are only comparable while it stays the same. */
  readonly uidValidity: number;
  /** UIDNEXT: the UID the next message will get (at least). */
  readonly uidNext?: number;
  /** Sequence number of the first unseen message (`[UNSEEN n]`), when the server said. */
  readonly unseen?: number;
  /** Flags defined in the mailbox (FLAGS). */
  readonly flags: string[];
  /** Flags the client may change permanently; `\*` means new keywords may be created. */
  readonly permanentFlags: string[];
  /** CONDSTORE: the mailbox's HIGHESTMODSEQ; undefined without CONDSTORE or with NOMODSEQ. */
  readonly highestModseq?: bigint;
  /**
   * QRESYNC only: UIDs expunged since the given modseq (`VANISHED (EARLIER)`). Undefined when
   * QRESYNC was not used, which means "do a full resynchronisation".
   */
  readonly vanished?: number[];
  /** QRESYNC only: messages whose flags changed since the given modseq. */
  readonly changed?: FetchData[];
}

/** Typed STATUS result (RFC 3501 6.3.10, RFC 7162 HIGHESTMODSEQ). */
export interface MailboxStatus {
  /** The mailbox name as the server returned it. */
  readonly mailbox: string;
  /** MESSAGES: number of messages. */
  readonly messages?: number;
  /** RECENT: number of \Recent messages. */
  readonly recent?: number;
  /** UIDNEXT. */
  readonly uidNext?: number;
  /** UIDVALIDITY. */
  readonly uidValidity?: number;
  /** UNSEEN: number of messages without \Seen. */
  readonly unseen?: number;
  /** HIGHESTMODSEQ (CONDSTORE). */
  readonly highestModseq?: bigint;
  /** Every item the server sent, by upper-case name. */
  readonly items: ReadonlyMap<string, bigint>;
}

/** Result of UID STORE. */
export interface StoreResult {
  /** FETCH responses the server sent (none with `.SILENT`, except for changed flags). */
  readonly fetched: FetchData[];
  /**
   * UIDs not stored because they changed since UNCHANGEDSINCE (`[MODIFIED ...]`, RFC 7162
   * 3.1.3). Empty when everything was stored.
   */
  readonly modified: number[];
}

/** The COPYUID response code (RFC 4315): where copied or moved messages went. */
export interface CopyResult {
  /** UIDVALIDITY of the destination mailbox. */
  readonly uidValidity: number;
  /** Source UIDs, in the same order as {@link CopyResult.destinationUids}. */
  readonly sourceUids: number[];
  /** Destination UIDs, matching {@link CopyResult.sourceUids} by position. */
  readonly destinationUids: number[];
}

/** Result of UID MOVE. */
export interface MoveResult {
  /** COPYUID when the server sent it. */
  readonly copy?: CopyResult;
  /**
   * False when the server has neither MOVE nor UIDPLUS: the messages were copied and marked
   * \Deleted in the source, but not expunged (a plain EXPUNGE would remove other messages).
   */
  readonly expunged: boolean;
}

/** Result of EXPUNGE / UID EXPUNGE. */
export interface ExpungeResult {
  /** Sequence numbers from EXPUNGE responses, in the order received. */
  readonly seqs: number[];
  /** UIDs from VANISHED responses (QRESYNC enabled). */
  readonly uids: number[];
}

/** Result of a UID FETCH with CHANGEDSINCE (RFC 7162). */
export interface FetchChanges {
  /** Messages changed since the modseq. */
  readonly messages: FetchData[];
  /** UIDs expunged since the modseq (only with `vanished: true`, QRESYNC). */
  readonly vanished: number[];
}
