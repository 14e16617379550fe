/**
 * Mailbox names in IMAP's modified UTF-7 (RFC 3501 §5.1.3).
 *
 * Printable US-ASCII (0x20-0x7e) stands for itself, except `&`, written `&-`. Every other
 * character is written as UTF-16 in modified base64 (`,` instead of `/`, no `=` padding)
 * between `&` and `-`.
 *
 * @module
 */

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/**
 * Encodes a mailbox name for the wire: the shortest form, with each run of characters that
 * need encoding in a single base64 section.
 *
 * @throws {TypeError} when the string holds a lone UTF-16 surrogate, which no mailbox name
 *   can carry
 *
 * @example
 * ```ts
 * encodeMailboxName("Gäste"); // "G&AOQ-ste"
 * encodeMailboxName("R&D"); // "R&-D"
 * ```
 */
export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (isDirect(unit)) {
      if (pending.length > 0) {
        out += `&${encodeBase64(pending)}-`;
        pending = [];
      }
      out += unit === 0x26 ? "&-" : name[i];
      continue;
    }
    if (isHighSurrogate(unit) && isLowSurrogate(name.charCodeAt(i + 1))) {
      pending.push(unit, name.charCodeAt(i + 1));
      i++;
    } else if (isHighSurrogate(unit) || isLowSurrogate(unit)) {
      throw new TypeError(
        `Cannot encode mailbox name ${JSON.stringify(name)}: lone surrogate at offset ${i}`,
      );
    } else {
      pending.push(unit);
    }
  }
  if (pending.length > 0) out += `&${encodeBase64(pending)}-`;
  return out;
}

/**
 * Decodes a mailbox name received from a server.
 *
 * Strict, so that a name read back always encodes to the same bytes: rejected are characters
 * outside printable ASCII, `&` without its closing `-`, characters outside the modified base64
 * alphabet, a section whose length leaves a partial character or non-zero padding bits,
 * encoded printable ASCII (which must stand for itself), and unpaired surrogates. Two adjacent
 * sections (`&AOQ-&APY-`) are accepted: RFC 3501 does not forbid them.
 *
 * @throws {SyntaxError} on invalid input, naming the offset of the problem
 *
 * @example
 * ```ts
 * decodeMailboxName("&U,BTFw-"); // "台北"
 * decodeMailboxName("&-"); // "&"
 * ```
 */
export function decodeMailboxName(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const unit = text.charCodeAt(i);
    if (!isDirect(unit)) {
      throw decodeError(text, `character "\\u${hex4(unit)}" at offset ${i} is not printable ASCII`);
    }
    if (unit !== 0x26) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf("-", i + 1);
    if (end < 0) throw decodeError(text, `"&" at offset ${i} has no closing "-"`);
    out += end === i + 1 ? "&" : decodeSection(text, i + 1, end);
    i = end + 1;
  }
  return out;
}

function decodeSection(text: string, start: number, end: number): string {
  const units: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (let i = start; i < end; i++) {
    const value = BASE64_ALPHABET.indexOf(text.charAt(i));
    if (value < 0) {
      throw decodeError(
        text,
        `character "${text.charAt(i)}" at offset ${i} is not modified base64`,
      );
    }
    bits = (bits << 6) | value;
    bitCount += 6;
    if (bitCount >= 16) {
      bitCount -= 16;
      units.push((bits >>> bitCount) & 0xffff);
      bits &= (1 << bitCount) - 1;
    }
  }
  if (bitCount >= 6 || bits !== 0) {
    throw decodeError(text, `base64 at offset ${start} does not end on a whole character`);
  }
  for (let k = 0; k < units.length; k++) {
    const unit = units[k]!;
    if (isDirect(unit)) {
      throw decodeError(
        text,
        `base64 at offset ${start} encodes "${
          String.fromCharCode(unit)
        }", which must be written as is`,
      );
    }
    if (isHighSurrogate(unit) && isLowSurrogate(units[k + 1] ?? 0)) {
      k++;
    } else if (isHighSurrogate(unit) || isLowSurrogate(unit)) {
      throw decodeError(text, `base64 at offset ${start} holds an unpaired UTF-16 surrogate`);
    }
  }
  return String.fromCharCode(...units);
}

function encodeBase64(units: readonly number[]): string {
  let out = "";
  let bits = 0;
  let bitCount = 0;
  for (const unit of units) {
    bits = (bits << 16) | unit;
    bitCount += 16;
    while (bitCount >= 6) {
      bitCount -= 6;
      out += BASE64_ALPHABET[(bits >>> bitCount) & 0x3f];
    }
    bits &= (1 << bitCount) - 1;
  }
  if (bitCount > 0) out += BASE64_ALPHABET[(bits << (6 - bitCount)) & 0x3f];
  return out;
}

function decodeError(text: string, details: string): SyntaxError {
  return new SyntaxError(`Cannot decode mailbox name ${JSON.stringify(text)}: ${details}`);
}

function isDirect(unit: number): boolean {
  return unit >= 0x20 && unit <= 0x7e;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function hex4(unit: number): string {
  return unit.toString(16).padStart(4, "0");
}
