/**
 * The plain-text status cache, `LocalStatus/<folder>` (formats.md §2.3), as OfflineIMAP up to
 * 7.0 wrote it and `status_backend = plain` selects (DECISIONS.md #4):
 *
 * ```
 * OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT 2
 * <uid>|<flags>|<mtime>|<labels>
 * ```
 *
 * OfflineIMAP rewrote the whole file after every change. We write it once per folder pass and
 * keep a journal meanwhile (isync's order, STYLE.md §2.3): each {@link StatusStore.apply} appends
 * one checksummed block to `LocalStatus-journal/<folder>` and syncs it; {@link StatusStore.close}
 * writes the full file to a temporary name, syncs it, renames it over the status file, syncs the
 * directory, and only then removes the journal. A crash therefore leaves either the old file
 * plus a journal that {@link openPlainStatus} replays, or the new file (plus a journal whose
 * replay changes nothing): never a state in which an applied batch is lost.
 *
 * @module
 */

import { dirname } from "node:path";
import { FolderError } from "../errors.ts";
import { errorText, fsHint } from "../fs_errors.ts";
import type { FlagLetters } from "../repository/folder.ts";
import { sortFlags } from "../repository/maildir_name.ts";
import { uniqueTmpPath } from "./paths.ts";
import type { StatusBatch, StatusStore } from "./store.ts";

/** One line of a plain status file. */
export interface PlainRecord {
  /** Flag letters in canonical order. */
  readonly flags: FlagLetters;
  /** Gmail label sync time (integer seconds), 0 otherwise. */
  readonly mtime: number;
  /** Gmail labels, sorted, joined by `, `; `""` when none. */
  readonly labels: string;
}

/** Options of {@link openPlainStatus}. */
export interface PlainStatusOptions {
  /** `[general] fsync`: sync the journal after each batch, and the file and directory on save. */
  readonly fsync: boolean;
  /**
   * True: the store may write (create the file, journal and directories, upgrade format 1).
   * False (`--dry-run`): nothing is written; a journal left by a crash is still read, and
   * {@link StatusStore.apply} throws.
   */
  readonly create: boolean;
  /** Where the journal lives: `statusJournalPath()` of the same folder. */
  readonly journalPath: string;
}

const MAGIC = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT ";
const JOURNAL_MAGIC = "OFFLINEIMAP-TS LocalStatus JOURNAL 1";
const MAX_UID = 0xffffffff;
const UID_TEXT = /^\+?[0-9]+$/;
const INT_TEXT = /^[+-]?[0-9]+$/;
const encoder = new TextEncoder();

/**
 * Parses the text of a plain status file: format 2, or format 1 (`<uid>:<flags>` lines, read
 * with `mtime` 0 and no labels). An empty text is an empty status, as OfflineIMAP accepts it
 * (it only warns). Lines are trimmed; blank lines are skipped. Returns the records and the
 * format version read.
 *
 * @throws {FolderError} naming `path` and the line for an unknown first line or a line that
 * does not split into the format's fields with a valid UID: a damaged status is never read as
 * a shorter one, since a missing record turns into a copy or a deletion.
 */
export function parsePlainStatus(
  text: string,
  path: string,
): { records: Map<number, PlainRecord>; version: 1 | 2 } {
  const records = new Map<number, PlainRecord>();
  // Python's text mode reads \r\n and \r as line ends too.
  const lines = text.split(/\r\n|\r|\n/);
  const first = lines[0]!.trim();
  if (first === "" && lines.every((line) => line.trim() === "")) return { records, version: 2 };
  const version = first === `${MAGIC}2` ? 2 : first === `${MAGIC}1` ? 1 : undefined;
  if (version === undefined) {
    throw corruptError(path, `unknown first line "${first.slice(0, 80)}"`);
  }
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === "") continue;
    const record = version === 2 ? parseLine2(line) : parseLine1(line);
    if (record === undefined) {
      throw corruptError(path, `line ${index + 1} is corrupt: "${line.slice(0, 80)}"`);
    }
    records.set(record[0], record[1]);
  }
  return { records, version };
}

function parseLine2(line: string): [number, PlainRecord] | undefined {
  const fields = line.split("|");
  if (fields.length !== 4) return undefined;
  const [uidText, flags, mtimeText, labels] = fields as [string, string, string, string];
  const uid = parseUid(uidText);
  const mtime = INT_TEXT.test(mtimeText.trim()) ? Number(mtimeText) : NaN;
  if (uid === undefined || !Number.isSafeInteger(mtime)) return undefined;
  return [uid, { flags: sortFlags(flags), mtime, labels: normalizeLabels(labels) }];
}

function parseLine1(line: string): [number, PlainRecord] | undefined {
  const fields = line.split(":");
  if (fields.length !== 2) return undefined;
  const uid = parseUid(fields[0]!);
  if (uid === undefined) return undefined;
  return [uid, { flags: sortFlags(fields[1]!), mtime: 0, labels: "" }];
}

function parseUid(text: string): number | undefined {
  const trimmed = text.trim();
  if (!UID_TEXT.test(trimmed)) return undefined;
  const uid = Number(trimmed);
  return uid >= 1 && uid <= MAX_UID ? uid : undefined;
}

/** OfflineIMAP's label set: split on `,`, trimmed, empty ones dropped, sorted, joined by `, `. */
function normalizeLabels(text: string): string {
  const labels = [...new Set(text.split(",").map((label) => label.trim()))]
    .filter((label) => label !== "");
  // Python sorts str by code point; localeCompare would not.
  labels.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return labels.join(", ");
}

/**
 * Formats records as a format 2 file, in ascending UID order, each line
 * `<uid>|<flags>|<mtime>|<labels>` ending in `\n`, exactly as OfflineIMAP's `saveall()`.
 */
export function formatPlainStatus(records: ReadonlyMap<number, PlainRecord>): string {
  const lines = [`${MAGIC}2\n`];
  for (const uid of [...records.keys()].sort((a, b) => a - b)) {
    const record = records.get(uid)!;
    lines.push(`${uid}|${record.flags}|${record.mtime}|${record.labels}\n`);
  }
  return lines.join("");
}

/**
 * Reads a plain status file and replays its journal (when `journalPath` is given), writing
 * nothing. Returns undefined when the file and the journal are both missing.
 *
 * @throws {FolderError} when a file exists but cannot be read or is corrupt.
 */
export async function readPlainStatus(
  path: string,
  journalPath?: string,
): Promise<Map<number, PlainRecord> | undefined> {
  const text = await readOptionalText(path);
  const journal = journalPath === undefined ? undefined : await readJournalText(journalPath);
  if (text === undefined && journal === undefined) return undefined;
  const records = text === undefined ? new Map() : parsePlainStatus(text, path).records;
  if (journal !== undefined) replayJournal(journal, records);
  return records;
}

/**
 * Opens the plain status of one folder at `path` (`statusPlainPath()`).
 *
 * With `create`, a journal left by a crash is replayed and the result saved at once (file
 * first, then the journal removed), and a format 1 file is rewritten in format 2, as
 * OfflineIMAP does when it reads one. A missing file is an empty status, written at
 * {@link StatusStore.close}.
 *
 * @throws {FolderError} naming the path, with the fix in the hint, when the file is unreadable
 * or corrupt, or when it cannot be written.
 */
export async function openPlainStatus(
  path: string,
  options: PlainStatusOptions,
): Promise<StatusStore> {
  const text = await readOptionalText(path);
  const parsed = text === undefined ? undefined : parsePlainStatus(text, path);
  const records = parsed?.records ?? new Map<number, PlainRecord>();
  const journal = await readJournalText(options.journalPath);
  if (journal !== undefined) replayJournal(journal, records);
  const store = new PlainStatus(path, records, options, text === undefined);
  if (options.create && (journal !== undefined || parsed?.version === 1)) {
    // Saving now leaves no journal to append to: a block torn by the crash cannot hide the
    // blocks appended after it.
    await store.save();
  }
  return store;
}

/** The status of one folder, held in memory between a journal and the file. */
class PlainStatus implements StatusStore {
  readonly #path: string;
  readonly #records: Map<number, PlainRecord>;
  readonly #options: PlainStatusOptions;
  #journal: Deno.FsFile | undefined;
  /** A journal write failed: its end may hold a torn block, after which nothing may follow. */
  #journalFailed = false;
  /** The file does not exist or misses applied batches (which are in the journal). */
  #dirty: boolean;
  #closed = false;

  constructor(
    path: string,
    records: Map<number, PlainRecord>,
    options: PlainStatusOptions,
    missing: boolean,
  ) {
    this.#path = path;
    this.#records = records;
    this.#options = options;
    this.#dirty = missing;
  }

  read(): Promise<Map<number, FlagLetters>> {
    this.#checkOpen();
    return Promise.resolve(
      new Map([...this.#records].map(([uid, record]) => [uid, record.flags])),
    );
  }

  /**
   * Appends the batch to the journal as one block (entries, then a line with their count and
   * CRC-32) and syncs it when `fsync` is on; then updates the records in memory.
   */
  async apply(batch: StatusBatch): Promise<void> {
    this.#checkOpen();
    if (!this.#options.create) {
      throw new TypeError(`Cannot change status "${this.#path}": opened without "create"`);
    }
    const entries = [
      ...(batch.remove ?? []).map((uid) => `-${checkedUid(uid)}\n`),
      ...(batch.set ?? []).map(([uid, flags]) => `+${checkedUid(uid)}|${checkedFlags(flags)}\n`),
    ];
    if (entries.length === 0) return;
    if (this.#journalFailed) {
      throw new FolderError(
        `Cannot save changes to status "${this.#path}": an earlier write to its journal failed`,
      );
    }
    const body = entries.join("");
    const block = `${body}=${entries.length} ${crc32(body).toString(16)}\n`;
    try {
      const journal = this.#journal ?? await this.#openJournal();
      await writeAll(journal, encoder.encode(block));
      if (this.#options.fsync) await journal.syncData();
    } catch (error) {
      this.#journalFailed = true;
      throw writeError(this.#options.journalPath, error);
    }
    applyEntries(this.#records, entries);
    this.#dirty = true;
  }

  /** Saves the file when it changed (see the module doc), then removes the journal. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#options.create && this.#dirty) await this.save();
    } finally {
      this.#journal?.close();
      this.#journal = undefined;
    }
  }

  /** Writes the whole file, then drops the journal. */
  async save(): Promise<void> {
    await writePlainStatusFile(this.#path, this.#records, this.#options);
    this.#journal?.close();
    this.#journal = undefined;
    await Deno.remove(this.#options.journalPath).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw writeError(this.#path, error);
    });
    this.#journalFailed = false;
    this.#dirty = false;
  }

  async #openJournal(): Promise<Deno.FsFile> {
    const path = this.#options.journalPath;
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const journal = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    this.#journal = journal;
    await writeAll(journal, encoder.encode(`${JOURNAL_MAGIC}\n`));
    // The journal's name must survive a crash as well as its content.
    if (this.#options.fsync) await syncDirectory(dirname(path));
    return journal;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError(`Cannot use status "${this.#path}": already closed`);
  }
}

/**
 * Writes `records` as the plain status file `path` (format 2, mode 0600): to a
 * {@link uniqueTmpPath} file, synced when `fsync` is on, renamed over `path`, then the directory
 * synced, so a reader sees the old or the new file, never a mix. Creates missing parent
 * directories (0700).
 *
 * @throws {FolderError} naming the path when the file cannot be written (the old one is kept).
 */
export async function writePlainStatusFile(
  path: string,
  records: ReadonlyMap<number, PlainRecord>,
  options: { readonly fsync: boolean },
): Promise<void> {
  const tmp = uniqueTmpPath(path);
  try {
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(file, encoder.encode(formatPlainStatus(records)));
      if (options.fsync) await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
    if (options.fsync) await syncDirectory(dirname(path));
  } catch (error) {
    await Deno.remove(tmp).catch(() => {
      // Nothing written yet, or the disk is gone: the old file is intact either way.
    });
    throw writeError(path, error);
  }
}

/**
 * Applies the complete blocks of a journal to `records`. A block is complete when its closing
 * line counts its entries and carries their CRC-32; replay stops at the first block that is
 * not, which only a crash during its write can leave. Dropping such a block is safe: its
 * `apply()` never returned, so the sync did not count on it.
 */
export function replayJournal(text: string, records: Map<number, PlainRecord>): void {
  const lines = text.split("\n");
  // The last element is whatever followed the final newline: a torn line or "".
  lines.pop();
  if (lines[0] !== JOURNAL_MAGIC) return;
  let block: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith("=")) {
      const body = block.map((entry) => `${entry}\n`).join("");
      if (line !== `=${block.length} ${crc32(body).toString(16)}`) return;
      applyEntries(records, block.map((entry) => `${entry}\n`));
      block = [];
    } else {
      block.push(line);
    }
  }
}

/** Applies journal entries (`+<uid>|<flags>\n`, `-<uid>\n`); the checksum vouched for them. */
function applyEntries(records: Map<number, PlainRecord>, entries: readonly string[]): void {
  for (const entry of entries) {
    const line = entry.endsWith("\n") ? entry.slice(0, -1) : entry;
    if (line.startsWith("-")) {
      records.delete(Number(line.slice(1)));
      continue;
    }
    const bar = line.indexOf("|");
    const uid = Number(line.slice(1, bar));
    const flags = line.slice(bar + 1);
    // An update keeps the Gmail fields, as the sqlite store does.
    const old = records.get(uid);
    records.set(uid, { flags, mtime: old?.mtime ?? 0, labels: old?.labels ?? "" });
  }
}

function checkedUid(uid: number): number {
  if (!Number.isInteger(uid) || uid < 1 || uid > MAX_UID) {
    throw new RangeError(`Cannot record UID "${uid}": not an IMAP UID`);
  }
  return uid;
}

/** Flags in canonical order; a character that would break a line or a field is refused. */
function checkedFlags(flags: FlagLetters): string {
  if (/[\s|:]/.test(flags)) {
    throw new RangeError(`Cannot record flags "${flags}": not flag letters`);
  }
  return sortFlags(flags);
}

async function readOptionalText(path: string): Promise<string | undefined> {
  const bytes = await readOptionalBytes(path);
  if (bytes === undefined) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw corruptError(path, "it is not UTF-8 text", error);
  }
}

/** A journal's text; a multi-byte character torn by a crash decodes as U+FFFD (and fails its CRC). */
async function readJournalText(path: string): Promise<string | undefined> {
  const bytes = await readOptionalBytes(path);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

async function readOptionalBytes(path: string): Promise<Uint8Array | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new FolderError(`Cannot read status file "${path}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error) ?? "check the owner and permissions of the file",
    });
  }
  return bytes;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await file.write(bytes.subarray(offset));
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

function corruptError(path: string, details: string, cause?: unknown): FolderError {
  return new FolderError(`Cannot read status file "${path}": ${details}`, {
    cause,
    hint: `if the file is damaged, move "${path}" away; the next sync rebuilds the status from ` +
      "both sides, but deletions made since the last sync come back",
  });
}

function writeError(path: string, error: unknown): FolderError {
  if (error instanceof FolderError) return error;
  return new FolderError(`Cannot save status file "${path}": ${errorText(error)}`, {
    cause: error,
    hint: fsHint(error),
  });
}

/** CRC-32 table (IEEE polynomial, as zlib's `crc32`). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 of the UTF-8 bytes of `text`, as zlib computes it (node:zlib is not loaded for this
 * alone: its polyfill costs start-up time on every run).
 */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
