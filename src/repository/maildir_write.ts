/**
 * Writing one message file into a Maildir folder (formats.md §1.3): a new name created
 * exclusively in `tmp/`, the message streamed into it, the times set from its `Date:` header
 * when asked, the data synced, and the file renamed into `new/` or `cur/`. A crash at any step
 * leaves at most a file in `tmp/` (removed after 36 hours), never a partial file where mail
 * readers look.
 *
 * Two test hooks, read from the environment once per process and only when `--allow-env`
 * grants it, let tests reproduce a crash or a full disk at an exact step (they do nothing
 * unless set):
 *
 * - `OFFLINEIMAP_TS_TEST_CRASH_AT=<n>`: the process sends itself SIGKILL at the n-th crash
 *   point it passes (after the `tmp/` file is created, after the data is written, after it is
 *   synced, after each rename into `new/`/`cur/`, after each flag or UID rename).
 * - `OFFLINEIMAP_TS_TEST_FAIL_WRITES_AFTER=<bytes>`: once that many message bytes were written
 *   by the process, writes fail with `ENOSPC`, as on a full disk.
 *
 * @module
 */

import { FolderError, MessageError } from "../errors.ts";
import { errorText, fsHint, isDiskFull } from "../fs_errors.ts";
import { headerField, parseMailDate } from "./maildir_date.ts";

/** Environment variable of the crash hook (see the module doc). */
export const CRASH_AT_ENV = "OFFLINEIMAP_TS_TEST_CRASH_AT";
/** Environment variable of the full-disk hook (see the module doc). */
export const FAIL_WRITES_AFTER_ENV = "OFFLINEIMAP_TS_TEST_FAIL_WRITES_AFTER";

/** Attempts at a fresh name when one already exists in `tmp/` (OfflineIMAP tries 7 times). */
const CREATE_ATTEMPTS = 7;
/** Bytes gathered before one write(2). */
const WRITE_BUFFER = 256 * 1024;
/** Header bytes kept at most while looking for the end of the header block. */
const HEADER_LIMIT = 1 << 20;

/** What {@link writeMessageFile} needs to know. */
export interface MessageFileOptions {
  /** Folder name, for messages. */
  readonly folder: string;
  /** Directory of the folder. */
  readonly path: string;
  /** Where the file goes: `cur` when the flags hold `S`, else `new`. */
  readonly sub: "new" | "cur";
  /** `[general] fsync`: sync the file before the rename. */
  readonly fsync: boolean;
  /** `utime_from_header`: set atime and mtime to the `Date:` header (else: download time). */
  readonly utimeFromHeader: boolean;
  /**
   * `filename_use_mail_timestamp`: the name's seconds come from `Date:`, else `Delivery-date:`,
   * else the current time.
   */
  readonly filenameUseMailTimestamp: boolean;
  /** Makes a fresh file name; `secs` replaces the current time when given. */
  readonly makeName: (secs?: number) => string;
  /** The file to write, created in `tmp/` by {@link TmpFilePool} (or {@link createTmpFile}). */
  readonly tmp: Promise<TmpFile>;
}

/** A new, empty, open file in a folder's `tmp/`. */
export interface TmpFile {
  readonly file: Deno.FsFile;
  readonly name: string;
}

/**
 * Writes `stream` (the message with LF line endings) into `options.tmp`, syncs it, moves it
 * into `options.sub` under a name made by `makeName` (with `filename_use_mail_timestamp`, from
 * the header's date) and returns that name. The caller syncs the directory.
 *
 * Two steps, so that the sync of one message overlaps the download of the next: the returned
 * promise resolves once the data is written (the stream is consumed) with the final `name`;
 * `finished` resolves once the file is synced and renamed, and only then may the message be
 * recorded anywhere.
 *
 * @throws {FolderError} when `tmp/` is missing or the disk or quota is full (every further
 * message would fail the same way); {@link MessageError} for any other failure to write. An
 * error of `stream` is rethrown as it is. In every case the `tmp/` file is removed. `finished`
 * rejects the same way.
 */
export async function writeMessageFile(
  stream: ReadableStream<Uint8Array>,
  options: MessageFileOptions,
): Promise<{ name: string; finished: Promise<void> }> {
  const wantsHeader = options.utimeFromHeader || options.filenameUseMailTimestamp;
  const { file, name } = await options.tmp;
  const tmpPath = `${options.path}/tmp/${name}`;
  const removeTmp = () =>
    Deno.remove(tmpPath).catch(() => {
      // Best effort: the write already failed, and debris in tmp/ is removed after 36 hours.
    });
  crashPoint();
  let header: string | undefined;
  let stamped = false;
  try {
    const captured = await writeStream(file, stream, tmpPath, options, wantsHeader);
    crashPoint();
    header = captured === undefined ? undefined : new TextDecoder().decode(captured);
    const date = header === undefined ? undefined : dateOf(header, "Date");
    stamped = options.utimeFromHeader && date !== undefined &&
      await setTimes(tmpPath, date, options.folder);
  } catch (error) {
    file.close();
    await removeTmp();
    throw error;
  }
  const final = options.filenameUseMailTimestamp
    ? options.makeName(dateOf(header ?? "", "Date") ?? dateOf(header ?? "", "Delivery-date"))
    : options.makeName();
  const finishing = async () => {
    try {
      try {
        // fdatasync may skip the new mtime, which is metadata; fsync does not.
        if (options.fsync) {
          await (stamped ? file.sync() : file.syncData()).catch((error) => {
            throw failure(options.folder, `sync message file "${tmpPath}"`, error);
          });
        }
      } finally {
        // Deno cannot report an error of close(2) (Rust drops the handle); with fsync on, the
        // sync has already surfaced delayed write errors such as a full quota on NFS.
        file.close();
      }
      crashPoint();
      const finalPath = `${options.path}/${options.sub}/${final}`;
      try {
        // A rename takes microseconds; the async op's round trip to a worker thread costs more.
        // deno-lint-ignore no-sync-fn-in-async-fn
        Deno.renameSync(tmpPath, finalPath);
      } catch (error) {
        throw failure(options.folder, `move "${tmpPath}" into ${options.sub}/`, error);
      }
      crashPoint();
    } catch (error) {
      await removeTmp();
      throw error;
    }
  };
  const finished = finishing();
  // Awaited (through flush()) before anything records the message; reported there.
  finished.catch(() => {});
  return { name: final, finished };
}

/**
 * Creates an empty file in `<path>/tmp/` under a fresh name from `makeName`, with O_EXCL and
 * permission 0666 minus umask, as OfflineIMAP does (usually 0644); off the main thread (see
 * {@link TmpFilePool}). A name already there (a pid reused across runs in the same second) gets
 * a fresh one: the sequence number moves on, so no need to wait as OfflineIMAP does.
 *
 * @throws as {@link writeMessageFile} does for a file it cannot create.
 */
export async function createTmpFile(
  options: Pick<MessageFileOptions, "folder" | "path" | "makeName">,
): Promise<TmpFile> {
  for (let attempt = 1;; attempt++) {
    const name = options.makeName();
    const path = `${options.path}/tmp/${name}`;
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o666 });
      return { file, name };
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists && attempt < CREATE_ATTEMPTS) continue;
      if (error instanceof Deno.errors.NotFound) {
        const message =
          `Cannot write to folder "${options.folder}": "${options.path}/tmp" is missing`;
        throw new FolderError(message, { cause: error });
      }
      throw failure(options.folder, `create "${path}"`, error);
    }
  }
}

/**
 * Files created in `tmp/` ahead of need. Creating a file can take a millisecond of kernel time
 * (ext4 searches its inode bitmap); created on a worker thread while the previous message is
 * still arriving, it is off the download's critical path. A file never used is removed by
 * {@link TmpFilePool.close}; one left by a crash is an empty file in `tmp/`, removed after 36
 * hours like any other.
 */
export class TmpFilePool {
  readonly #options: Pick<MessageFileOptions, "folder" | "path" | "makeName">;
  #ready: Promise<TmpFile>[] = [];

  constructor(options: Pick<MessageFileOptions, "folder" | "path" | "makeName">) {
    this.#options = options;
  }

  /** A created file (waiting for it if none is ready); starts creating the next one. */
  take(): Promise<TmpFile> {
    const next = this.#ready.shift() ?? this.#create();
    this.#ready.push(this.#create());
    return next;
  }

  #create(): Promise<TmpFile> {
    const created = createTmpFile(this.#options);
    // Not awaited until taken; a failure then surfaces from take().
    created.catch(() => {});
    return created;
  }

  /** Closes and removes the files created but not used. */
  async close(): Promise<void> {
    const ready = this.#ready;
    this.#ready = [];
    for (const created of ready) {
      try {
        const { file, name } = await created;
        file.close();
        await Deno.remove(`${this.#options.path}/tmp/${name}`);
      } catch {
        // Never created, or already gone: nothing to clean.
      }
    }
  }
}

/** Unix seconds of a date header, or undefined when it is missing or unparsable. */
function dateOf(header: string, name: string): number | undefined {
  const value = headerField(header, name);
  return value === undefined ? undefined : parseMailDate(value);
}

/** Sets atime and mtime; returns false when the system refuses the date. */
async function setTimes(path: string, secs: number, folder: string): Promise<boolean> {
  try {
    await Deno.utime(path, secs, secs);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw failure(folder, `set the times of "${path}"`, error);
    }
    // OfflineIMAP warns and keeps the download time for a date the system refuses (such as
    // one beyond 2038 with a 32-bit time_t); the message itself is fine.
    return false;
  }
}

/**
 * A write failure as the engine should scope it: a full disk or quota stops the folder, since
 * every further message would fail the same way; anything else skips the message.
 */
export function failure(folder: string, action: string, error: unknown): Error {
  if (error instanceof FolderError || error instanceof MessageError) return error;
  const message = `Cannot ${action} in folder "${folder}": ${errorText(error)}`;
  const options = { cause: error, hint: fsHint(error) };
  return isDiskFull(error) ? new FolderError(message, options) : new MessageError(message, options);
}

/**
 * Write buffers of finished messages, reused: zeroing a fresh 256 KB buffer per message cost
 * more than writing a small message.
 */
const spareBuffers: Uint8Array[] = [];
/** Buffers kept for reuse (one per message written at the same time). */
const SPARE_BUFFERS = 4;

/** Writes the stream in large pieces; returns the header block when `captureHeader`. */
async function writeStream(
  file: Deno.FsFile,
  stream: ReadableStream<Uint8Array>,
  path: string,
  options: MessageFileOptions,
  captureHeader: boolean,
): Promise<Uint8Array | undefined> {
  // Network reads arrive in TLS-record-sized pieces (often 4 KB); gathering them into one
  // buffer turns thousands of write calls per large message into a few hundred. The writes are
  // synchronous: into the page cache they take microseconds.
  const pending = spareBuffers.pop() ?? new Uint8Array(WRITE_BUFFER);
  let used = 0;
  const header = captureHeader ? new HeaderCapture() : undefined;
  const flush = () => {
    for (let offset = 0; offset < used;) {
      try {
        offset += writeSome(file, pending.subarray(offset, used));
      } catch (error) {
        throw failure(options.folder, `write message file "${path}"`, error);
      }
    }
    used = 0;
  };
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      header?.add(value);
      for (let offset = 0; offset < value.length;) {
        const take = Math.min(value.length - offset, WRITE_BUFFER - used);
        pending.set(value.subarray(offset, offset + take), used);
        used += take;
        offset += take;
        if (used === WRITE_BUFFER) flush();
      }
    }
    flush();
  } catch (error) {
    // Let the source drop the rest (an IMAP body must be drained); an already failed source
    // rejects here with its own error, which `error` already reports.
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
    if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(pending);
  }
  return header?.bytes();
}

/** Keeps the bytes up to the first empty line (LF or CRLF form), at most {@link HEADER_LIMIT}. */
class HeaderCapture {
  #buffer = new Uint8Array(0);
  #complete = false;

  add(chunk: Uint8Array): void {
    if (this.#complete) return;
    const from = Math.max(0, this.#buffer.length - 3);
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    for (let i = from; i + 1 < joined.length; i++) {
      if (joined[i] !== 0x0a) continue;
      // "\n\n" or "\n\r\n": the line just ended is followed by an empty one.
      const next = joined[i + 1] === 0x0d ? i + 2 : i + 1;
      if (joined[next] === 0x0a) {
        this.#buffer = joined.subarray(0, i + 1);
        this.#complete = true;
        return;
      }
    }
    this.#buffer = joined.length > HEADER_LIMIT ? joined.subarray(0, HEADER_LIMIT) : joined;
    this.#complete = joined.length > HEADER_LIMIT;
  }

  bytes(): Uint8Array {
    return this.#buffer;
  }
}

interface TestHooks {
  readonly crashAt?: number;
  readonly failWritesAfter?: number;
}

let hooks: TestHooks | undefined;
let crashPoints = 0;
let bytesWritten = 0;

function testHooks(): TestHooks {
  hooks ??= { crashAt: envNumber(CRASH_AT_ENV), failWritesAfter: envNumber(FAIL_WRITES_AFTER_ENV) };
  return hooks;
}

function envNumber(name: string): number | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  const value = Deno.env.get(name);
  return value === undefined || !/^[0-9]+$/.test(value) ? undefined : Number(value);
}

/** The crash hook: SIGKILLs this process at the configured crash point (see the module doc). */
export function crashPoint(): void {
  const at = testHooks().crashAt;
  if (at !== undefined && ++crashPoints === at) Deno.kill(Deno.pid, "SIGKILL");
}

/** `file.writeSync()`, failing with ENOSPC past the full-disk hook's budget. */
function writeSome(file: Deno.FsFile, bytes: Uint8Array): number {
  const limit = testHooks().failWritesAfter;
  if (limit === undefined) return file.writeSync(bytes);
  const room = limit - bytesWritten;
  if (room <= 0) {
    throw Object.assign(
      new Error(`No space left on device (os error 28, ${FAIL_WRITES_AFTER_ENV})`),
      {
        code: "ENOSPC",
      },
    );
  }
  const count = file.writeSync(bytes.subarray(0, Math.min(room, bytes.length)));
  bytesWritten += count;
  return count;
}
