/**
 * Command arguments to bytes: atoms, quoted strings, literals (synchronising, or LITERAL+ when
 * the server allows), and secret marks so the wire log never shows a password.
 *
 * @module
 */

import { ImapProtocolError } from "./errors.ts";

/** One argument of a command. */
export type Arg =
  /** Sent verbatim; must not contain CR, LF or NUL. */
  | { readonly atom: string }
  /** An astring: sent as atom, quoted string or literal, whichever is safe. */
  | { readonly string: string }
  /** Raw bytes as a literal. */
  | { readonly literal: Uint8Array }
  /** A literal streamed from a source whose size is known up front. */
  | { readonly stream: { readonly size: number; readonly open: () => ReadableStream<Uint8Array> } }
  /** A parenthesised list. */
  | { readonly list: readonly Arg[] }
  /** Any argument whose value must never be logged. */
  | { readonly secret: Arg };

/** A piece of an encoded command, in wire order. */
export type Segment =
  | { readonly kind: "text"; readonly bytes: Uint8Array; readonly log: string }
  | {
    readonly kind: "literal";
    readonly size: number;
    /** True when the server must answer "+" before the bytes (no LITERAL+). */
    readonly sync: boolean;
    readonly bytes?: Uint8Array;
    readonly open?: () => ReadableStream<Uint8Array>;
    readonly secret: boolean;
  };

const ENCODER = new TextEncoder();
const ATOM = /^[!#$&'+-Z^-z|~]+$/;
const ATOM_SPECIALS = /[(){ %*"\\\]]/;

/** True when `text` holds CR, LF or NUL, which no quoted string or atom may carry. */
function hasLineBreakOrNul(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code === 10 || code === 13) return true;
  }
  return false;
}

/** True when `text` is 7-bit without NUL. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code > 0x7f) return false;
  }
  return true;
}

/** True when `text` holds a control character (atoms must not). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** How the server lets us send literals and strings. */
export interface EncodeOptions {
  /**
   * Largest literal sent without waiting for "+": `Infinity` with LITERAL+ (RFC 7888), 4096
   * with LITERAL-, -1 when every literal must be synchronising.
   */
  readonly maxNonSyncLiteral: number;
  /** UTF8=ACCEPT is enabled (RFC 6855): 8-bit strings may be sent quoted. */
  readonly utf8: boolean;
}

/**
 * Encodes a command as wire segments. `tag` and `name` are atoms. Throws
 * {@link ImapProtocolError} when an atom carries CR, LF or NUL (command injection).
 */
export function encodeCommand(
  tag: string,
  name: string,
  args: readonly Arg[],
  options: EncodeOptions,
): Segment[] {
  const segments: Segment[] = [];
  let text = `${tag} ${name}`;
  let log = text;
  const flush = () => {
    if (text.length > 0) segments.push({ kind: "text", bytes: ENCODER.encode(text), log });
    text = "";
    log = "";
  };
  const literalHeader = (size: number, sync: boolean) => `{${size}${sync ? "" : "+"}}\r\n`;
  const add = (arg: Arg, secret: boolean): void => {
    if ("atom" in arg) {
      if (hasLineBreakOrNul(arg.atom)) {
        throw new ImapProtocolError(`Cannot send ${name}: an argument contains CR, LF or NUL`);
      }
      text += arg.atom;
      log += secret ? "***" : arg.atom;
    } else if ("string" in arg) {
      const value = arg.string;
      if (
        value.length > 0 && ATOM.test(value) && !ATOM_SPECIALS.test(value) && !hasControl(value) &&
        !secret
      ) {
        text += value;
        log += value;
      } else if (
        !hasLineBreakOrNul(value) && (options.utf8 || isAscii(value)) &&
        value.length < 1024
      ) {
        const quoted = `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
        text += quoted;
        log += secret ? '"***"' : quoted;
      } else {
        add({ literal: ENCODER.encode(value) }, secret);
      }
    } else if ("literal" in arg) {
      const sync = arg.literal.length > options.maxNonSyncLiteral;
      text += literalHeader(arg.literal.length, sync).trimEnd();
      log += literalHeader(arg.literal.length, sync).trimEnd();
      flushLine();
      segments.push({
        kind: "literal",
        size: arg.literal.length,
        sync,
        bytes: arg.literal,
        secret,
      });
    } else if ("stream" in arg) {
      const sync = arg.stream.size > options.maxNonSyncLiteral;
      text += literalHeader(arg.stream.size, sync).trimEnd();
      log += literalHeader(arg.stream.size, sync).trimEnd();
      flushLine();
      segments.push({
        kind: "literal",
        size: arg.stream.size,
        sync,
        open: arg.stream.open,
        secret,
      });
    } else if ("list" in arg) {
      text += "(";
      log += "(";
      arg.list.forEach((item, i) => {
        if (i > 0) {
          text += " ";
          log += " ";
        }
        add(item, secret);
      });
      text += ")";
      log += ")";
    } else {
      add(arg.secret, true);
    }
  };
  const flushLine = () => {
    text += "\r\n";
    flush();
  };
  for (const arg of args) {
    text += " ";
    log += " ";
    add(arg, false);
  }
  text += "\r\n";
  flush();
  return segments;
}
