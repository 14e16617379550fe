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
  readonly seq: number;
  uid?: number;
  flags?: string[];
  internalDate?: Date;
  size?: number;
  modseq?: bigint;
  /** Body sections by their name as sent (`BODY[]`, `BODY[HEADER.FIELDS (X)]`), bytes or null. */
  sections: Map<string, Uint8Array | StreamedLiteral | null>;
  /** Other items, generic. */
  other: Map<string, ImapValue>;
}

/** One mailbox of a LIST or LSUB response. */
export interface ListEntry {
  /** Name attributes such as `\Noselect`, `\HasChildren`, `\Sent`. */
  readonly attributes: string[];
  /** Hierarchy delimiter, or null for a flat namespace. */
  readonly delimiter: string | null;
  /** The mailbox name exactly as the server sent it (modified UTF-7 unless UTF8=ACCEPT). */
  readonly name: string;
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
  | { readonly kind: "vanished"; readonly earlier: boolean; readonly uids: string }
  | { readonly kind: "other"; readonly keyword: string; readonly values: ImapValue[] };

/** What SELECT or EXAMINE reports about a mailbox. */
export interface MailboxInfo {
  readonly name: string;
  readonly readOnly: boolean;
  readonly exists: number;
  readonly uidValidity: number;
  readonly uidNext?: number;
  readonly flags: string[];
  readonly permanentFlags: string[];
  readonly highestModseq?: bigint;
}
