/**
 * One folder of a Maildir tree (formats.md §1): snapshots from `new/` and `cur/`, messages
 * streamed out of and into files, flags and UIDs changed by renames. Obtain it from
 * `MaildirRepository.openFolder()`.
 *
 * @module
 */

import { FolderError, MessageError } from "../errors.ts";
import { errorText, fsHint } from "../fs_errors.ts";
import type {
  FlagLetters,
  Folder,
  FolderSnapshot,
  MessageContent,
  MessageRef,
  SnapshotMessage,
  StoreResult,
  UnassignedMessage,
} from "./folder.ts";
import { countCrlfSize, lfToCrlf } from "./line_endings.ts";
import {
  type InfoSep,
  maildirKey,
  type NameGenerator,
  parseMaildirName,
  replaceFlags,
  sortFlags,
} from "./maildir_name.ts";
import {
  crashPoint,
  failure,
  type TmpFile,
  TmpFilePool,
  writeMessageFile,
} from "./maildir_write.ts";

/** Stored messages whose sync and rename may run at once (open files, see storeMessage). */
const MAX_FINISHING = 32;

/** UIDVALIDITY OfflineIMAP reports for every Maildir folder (formats.md §2.4). */
export const MAILDIR_UID_VALIDITY = 42;
const READ_CHUNK = 64 * 1024;

/** State shared by the file operations of one call: the folder's rescan, made at most once. */
interface Batch {
  moved?: Map<string, Location>;
}

/** Where a message file is, relative to its folder. */
interface Location {
  readonly sub: "new" | "cur";
  readonly name: string;
}

/** What {@link MaildirRepository.openFolder} hands to a {@link MaildirFolder}. */
export interface MaildirFolderOptions {
  readonly name: string;
  readonly path: string;
  readonly fmd5: string;
  readonly fsync: boolean;
  readonly dryRun: boolean;
  readonly infoSep: InfoSep;
  readonly maxSize: number | undefined;
  /** `utime_from_header`: new files get the `Date:` header as atime and mtime. */
  readonly utimeFromHeader: boolean;
  /** `filename_use_mail_timestamp`: new names take their seconds from `Date:`. */
  readonly filenameUseMailTimestamp: boolean;
  readonly names: NameGenerator;
  /** A folder created during a dry run: it has no directory and reads as empty. */
  readonly absent: boolean;
  readonly removedTmpFiles: readonly string[];
}

/**
 * One Maildir folder. Obtain it from {@link MaildirRepository.openFolder}.
 *
 * Operations by UID or key find files through an index built by {@link readSnapshot}; when
 * none was read yet, the first such operation scans the folder itself. A file renamed meanwhile
 * by another program (a mail reader changing flags keeps the unique part) is found again by
 * its unique part; a file that is really gone is skipped as documented per method.
 */
export class MaildirFolder implements Folder {
  readonly name: string;
  /** Directory of the folder. */
  readonly path: string;
  /** FMD5 of this folder (MD5 of its visible name). */
  readonly fmd5: string;
  /** Files removed from `tmp/` when the folder was opened (older than 36 hours). */
  readonly removedTmpFiles: readonly string[];
  readonly #options: MaildirFolderOptions;
  /** Subdirectories holding renames not yet made durable by {@link flush}. */
  readonly #unflushed = new Set<"new" | "cur">();
  readonly #byUid = new Map<number, Location>();
  readonly #byKey = new Map<string, Location>();
  #indexed = false;
  #hiddenDuplicates: string[] = [];
  /** Files created in `tmp/` ahead of the next downloads (made on the first store). */
  #tmpPool: TmpFilePool | undefined;
  /** Syncs and renames of stored messages still running (see {@link writeMessageFile}). */
  #finishing: Promise<void>[] = [];
  /** Their failures, reported by the next {@link flush}. */
  #finishErrors: unknown[] = [];

  constructor(options: MaildirFolderOptions) {
    this.name = options.name;
    this.path = options.path;
    this.fmd5 = options.fmd5;
    this.removedTmpFiles = options.removedTmpFiles;
    this.#options = options;
  }

  /**
   * Files of the last snapshot hidden by a later file with the same UID (formats.md §1.5: the
   * one scanned last wins; the others are never uploaded nor deleted), relative to the folder.
   */
  get hiddenDuplicates(): readonly string[] {
    return this.#hiddenDuplicates;
  }

  /**
   * Reads `new/` then `cur/` (one directory read each, no stat unless `maxsize` is set), skipping
   * dot files and directories. Files carrying `U=` and this folder's FMD5 are messages by UID;
   * all others are unassigned, keyed by their unique part (or by `<subdir>/<file name>` when two
   * files share a unique part). UIDVALIDITY is always 42.
   *
   * @throws {FolderError} when a directory cannot be read.
   */
  async readSnapshot(): Promise<FolderSnapshot> {
    await this.#settle();
    const messages = new Map<number, SnapshotMessage>();
    const unassigned: UnassignedMessage[] = [];
    this.#byUid.clear();
    this.#byKey.clear();
    this.#hiddenDuplicates = [];
    if (!this.#options.absent) {
      for (const sub of ["new", "cur"] as const) {
        for (const { name, size } of await this.#readEntries(sub)) {
          const parsed = parseMaildirName(name, this.fmd5, this.#options);
          const location = { sub, name };
          const extra = size === undefined ? {} : { size };
          if (parsed.uid !== undefined) {
            const hidden = this.#byUid.get(parsed.uid);
            if (hidden !== undefined) this.#hiddenDuplicates.push(`${hidden.sub}/${hidden.name}`);
            this.#byUid.set(parsed.uid, location);
            messages.set(parsed.uid, { uid: parsed.uid, flags: parsed.flags, ...extra });
          } else {
            const key = this.#byKey.has(parsed.key) ? `${sub}/${name}` : parsed.key;
            this.#byKey.set(key, location);
            unassigned.push({ key, flags: parsed.flags, ...extra });
          }
        }
      }
    }
    this.#indexed = true;
    return { uidValidity: MAILDIR_UID_VALIDITY, messages, unassigned };
  }

  async #readEntries(sub: "new" | "cur"): Promise<{ name: string; size?: number }[]> {
    const dir = `${this.path}/${sub}`;
    const entries: { name: string; size?: number }[] = [];
    try {
      // Synchronous: one call returns every entry, where the async iterator costs an op per
      // batch (a 20,000-message folder is read on every sync).
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.name.startsWith(".") || entry.isDirectory) continue;
        const maxSize = this.#options.maxSize;
        if (maxSize === undefined) {
          entries.push({ name: entry.name });
          continue;
        }
        const size = await fileSize(`${dir}/${entry.name}`);
        if (size !== undefined && size <= maxSize) entries.push({ name: entry.name, size });
      }
    } catch (error) {
      throw new FolderError(`Cannot read folder "${this.name}": "${dir}": ${errorText(error)}`, {
        cause: error,
      });
    }
    return entries;
  }

  /**
   * Streams each message to `handler`: `openLocal()` gives the file as it is, `openNetwork()`
   * the file with bare LF turned into CRLF, and `networkSize()` counts that form by reading the
   * file once (call it before opening a stream). `internalDate` is the file's mtime. The file is
   * closed when the handler returns. Refs whose file is gone are returned.
   *
   * @throws {MessageError} when a file exists but cannot be opened.
   */
  async readMessages(
    refs: readonly MessageRef[],
    handler: (content: MessageContent) => Promise<void>,
  ): Promise<MessageRef[]> {
    const vanished: MessageRef[] = [];
    const batch = await this.#startBatch();
    for (const ref of refs) {
      const opened = await this.#retryMoved(batch, this.#lookup(ref), async (at) => {
        const file = await Deno.open(this.#pathOf(at), { read: true }).catch((error) => {
          if (error instanceof Deno.errors.NotFound) throw error;
          throw this.#messageError(`open "${this.#pathOf(at)}"`, error);
        });
        return { file, at };
      });
      if (opened === undefined) {
        vanished.push(ref);
        continue;
      }
      const { file, at } = opened;
      try {
        const flags = parseMaildirName(at.name, this.fmd5, this.#options).flags;
        const info = await file.stat();
        await handler(new FileContent(ref, flags, info.mtime ?? undefined, file));
      } finally {
        file.close();
      }
    }
    return vanished;
  }

  /**
   * Writes a message: a new name (`U=uid`, this folder's FMD5, the content's flags) is created
   * in `tmp/` with O_EXCL and permission 0666 minus umask, as OfflineIMAP (0644 usually; no
   * DECISIONS.md entry asks for 0600); the content's LF form is streamed into it, fsynced when
   * `fsync` is on, then renamed into `cur/` (flag `S`) or `new/`, and that directory is fsynced.
   * The file's mtime is the download time, as OfflineIMAP leaves it (the server's INTERNALDATE
   * is not kept), unless `utime_from_header` sets it from `Date:`; `filename_use_mail_timestamp`
   * takes the name's seconds from `Date:` (or `Delivery-date:`). Without `uid` the name carries
   * no `U=`/FMD5 and `{ uid: null }` is returned. A dry run writes nothing and does not read
   * the content.
   *
   * @throws {FolderError} when `tmp/` is missing or the disk or quota is full; {@link
   * MessageError} when the file cannot be written otherwise (the `tmp/` file is removed); an
   * error of the content's stream is rethrown as it is, after the same cleanup.
   */
  async storeMessage(content: MessageContent, uid: number | undefined): Promise<StoreResult> {
    const result = { uid: uid ?? null };
    if (this.#options.dryRun) return result;
    const flags = sortFlags(content.flags);
    const sub = flags.includes("S") ? "cur" : "new";
    const { name, finished } = await writeMessageFile(content.openLocal(), {
      folder: this.name,
      path: this.path,
      sub,
      fsync: this.#options.fsync,
      utimeFromHeader: this.#options.utimeFromHeader,
      filenameUseMailTimestamp: this.#options.filenameUseMailTimestamp,
      makeName: (secs) => this.#newName(uid, flags, secs),
      tmp: this.#takeTmp(),
    });
    // The file's sync and rename run on while the next message arrives; flush() waits for them
    // and then syncs the directories once for many messages, and the engine calls flush()
    // before it records them in the status.
    this.#finishing.push(finished.catch((error) => {
      this.#finishErrors.push(error);
    }));
    if (this.#finishing.length >= MAX_FINISHING) await this.#settle();
    this.#unflushed.add(sub);
    if (uid !== undefined && this.#indexed) this.#byUid.set(uid, { sub, name });
    return result;
  }

  /**
   * Waits for the syncs and renames of earlier {@link storeMessage} calls, then makes the renames
   * durable (one directory fsync per subdirectory).
   *
   * @throws the first failure of those syncs and renames (their `tmp/` files are removed; the
   * messages are to be stored again), after the directories are synced for the others.
   */
  async flush(): Promise<void> {
    await this.#settle();
    const errors = this.#finishErrors;
    this.#finishErrors = [];
    const subs = [...this.#unflushed];
    this.#unflushed.clear();
    if (errors.length === 0) {
      await this.#syncDirs(subs);
      return;
    }
    // The renames that succeeded still get their directory sync; the first failure is the
    // news (a directory that cannot be synced usually failed the rename too).
    await this.#syncDirs(subs).catch(() => {});
    const [first] = errors;
    if (errors.length > 1 && first instanceof MessageError) {
      throw new MessageError(
        `${first.message} (and ${errors.length - 1} more messages of the same batch failed)`,
        { cause: first, hint: first.hint },
      );
    }
    throw first;
  }

  /** Waits for the syncs and renames still running (their failures are kept for flush()). */
  async #settle(): Promise<void> {
    while (this.#finishing.length > 0) {
      const running = this.#finishing;
      this.#finishing = [];
      await Promise.all(running);
    }
  }

  /**
   * Renames a message with a fresh name carrying `U=uid` and this folder's FMD5, keeping its
   * flags and its subdirectory (formats.md §1.4). `ref` is as listed in the snapshot. A no-op
   * in a dry run.
   *
   * @throws {MessageError} when the file is gone (so the caller does not record the UID) or
   * cannot be renamed.
   */
  async assignUid(ref: MessageRef, uid: number): Promise<void> {
    if (this.#options.dryRun) return;
    const batch = await this.#startBatch();
    const moved = await this.#retryMoved(batch, this.#lookup(ref), async (at) => {
      const flags = parseMaildirName(at.name, this.fmd5, this.#options).flags;
      return await this.#rename(at, { sub: at.sub, name: this.#newName(uid, flags) });
    });
    if (moved === undefined) {
      throw new MessageError(
        `Cannot give UID ${uid} to message "${ref.key ?? ref.uid}" of folder "${this.name}": ` +
          "its file is gone",
      );
    }
    if (ref.key !== undefined) this.#byKey.delete(ref.key);
    else this.#byUid.delete(ref.uid);
    this.#byUid.set(uid, moved);
    await this.#syncDirs([moved.sub]);
  }

  /**
   * Adds and removes flag letters by renaming (formats.md §1.4): the info part is rewritten, and
   * the file moves to `cur/` when the new flags hold `S`, else to `new/`. A UID whose file is
   * gone is skipped (the next sync sees it as deleted locally). No-op in a dry run.
   *
   * @throws {MessageError} when a rename fails.
   */
  async changeFlags(
    uids: readonly number[],
    add: FlagLetters,
    remove: FlagLetters,
  ): Promise<void> {
    if (this.#options.dryRun) return;
    const batch = await this.#startBatch();
    const touched = new Set<"new" | "cur">();
    try {
      for (const uid of uids) {
        const moved = await this.#retryMoved(batch, this.#byUid.get(uid), async (at) => {
          const old = parseMaildirName(at.name, this.fmd5, this.#options).flags;
          const flags = [...old + add].filter((flag) => !remove.includes(flag)).join("");
          const name = replaceFlags(at.name, flags, this.#options.infoSep);
          const sub = flags.includes("S") ? "cur" : "new";
          if (sub === at.sub && name === at.name) return at;
          touched.add(at.sub).add(sub);
          return await this.#rename(at, { sub, name });
        });
        if (moved !== undefined) this.#byUid.set(uid, moved);
      }
    } finally {
      await this.#syncDirs(touched);
    }
  }

  /**
   * Removes the files of the given UIDs; a file already gone counts as removed. No-op in a dry
   * run.
   *
   * @throws {MessageError} when a file cannot be removed.
   */
  async deleteMessages(uids: readonly number[]): Promise<void> {
    if (this.#options.dryRun) return;
    const batch = await this.#startBatch();
    const touched = new Set<"new" | "cur">();
    try {
      for (const uid of uids) {
        await this.#retryMoved(batch, this.#byUid.get(uid), async (at) => {
          await Deno.remove(this.#pathOf(at)).catch((error) => {
            if (error instanceof Deno.errors.NotFound) throw error;
            throw this.#messageError(`remove "${this.#pathOf(at)}"`, error);
          });
          touched.add(at.sub);
          return at;
        });
        this.#byUid.delete(uid);
      }
    } finally {
      await this.#syncDirs(touched);
    }
  }

  /** The `tmp/` file for the next stored message; the one after it is created meanwhile. */
  #takeTmp(): Promise<TmpFile> {
    this.#tmpPool ??= new TmpFilePool({
      folder: this.name,
      path: this.path,
      makeName: () => this.#newName(undefined, ""),
    });
    return this.#tmpPool.take();
  }

  /**
   * Removes the files made ahead in `tmp/`, makes earlier renames durable ({@link flush}) and
   * forgets the index.
   */
  async close(): Promise<void> {
    await this.#tmpPool?.close();
    this.#tmpPool = undefined;
    await this.flush();
    this.#byUid.clear();
    this.#byKey.clear();
    this.#indexed = false;
  }

  /** Builds the index when no snapshot was read, and starts a batch of file operations. */
  async #startBatch(): Promise<Batch> {
    await this.#settle();
    if (!this.#indexed) await this.readSnapshot();
    return {};
  }

  /**
   * Runs `operation` on `location`; when it throws `NotFound`, runs it once more on the file's
   * current name, found by its unique part (a mail reader changing flags keeps it). The folder
   * is scanned at most once per batch, so a batch over many vanished files costs one directory
   * read, not one each. Returns undefined when the file is gone.
   */
  async #retryMoved<T>(
    batch: Batch,
    location: Location | undefined,
    operation: (at: Location) => Promise<T>,
  ): Promise<T | undefined> {
    if (location === undefined) return undefined;
    try {
      return await operation(location);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    batch.moved ??= await this.#scanUniqueParts();
    const moved = batch.moved.get(maildirKey(location.name, this.#options.infoSep));
    if (moved === undefined || (moved.sub === location.sub && moved.name === location.name)) {
      return undefined;
    }
    try {
      return await operation(moved);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  #newName(uid: number | undefined, flags: string, secs?: number): string {
    return this.#options.names.next({
      uid,
      fmd5: this.fmd5,
      flags,
      infoSep: this.#options.infoSep,
      secs,
    });
  }

  #lookup(ref: MessageRef): Location | undefined {
    return ref.key !== undefined ? this.#byKey.get(ref.key) : this.#byUid.get(ref.uid);
  }

  async #rename(from: Location, to: Location): Promise<Location> {
    try {
      await Deno.rename(this.#pathOf(from), this.#pathOf(to));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && !(await this.#exists(from))) throw error;
      throw this.#messageError(`rename "${this.#pathOf(from)}" to "${this.#pathOf(to)}"`, error);
    }
    crashPoint();
    return to;
  }

  async #exists(location: Location): Promise<boolean> {
    try {
      await Deno.lstat(this.#pathOf(location));
      return true;
    } catch {
      return false;
    }
  }

  #pathOf(location: Location): string {
    return `${this.path}/${location.sub}/${location.name}`;
  }

  /** Scans `new/` and `cur/` for the current name of every unique part. */
  async #scanUniqueParts(): Promise<Map<string, Location>> {
    const found = new Map<string, Location>();
    for (const sub of ["new", "cur"] as const) {
      for (const { name } of await this.#readEntries(sub)) {
        found.set(maildirKey(name, this.#options.infoSep), { sub, name });
      }
    }
    return found;
  }

  /** Makes renames and removals in these subdirectories durable (when `fsync` is on). */
  async #syncDirs(subs: Iterable<"new" | "cur">): Promise<void> {
    if (!this.#options.fsync) return;
    for (const sub of new Set(subs)) {
      const dir = `${this.path}/${sub}`;
      try {
        const handle = await Deno.open(dir, { read: true });
        try {
          await handle.sync();
        } finally {
          handle.close();
        }
      } catch (error) {
        throw new FolderError(`Cannot fsync directory "${dir}": ${errorText(error)}`, {
          cause: error,
          hint: fsHint(error),
        });
      }
    }
  }

  /** A MessageError, or a FolderError when the disk is full (see `failure()`). */
  #messageError(action: string, error: unknown): Error {
    return failure(this.name, action, error);
  }
}

/** A message file opened for reading; the folder closes the file after the handler. */
class FileContent implements MessageContent {
  readonly ref: MessageRef;
  readonly flags: FlagLetters;
  readonly internalDate?: Date;
  readonly #file: Deno.FsFile;
  #networkSize: number | undefined;
  #opened = false;

  constructor(ref: MessageRef, flags: FlagLetters, mtime: Date | undefined, file: Deno.FsFile) {
    this.ref = ref;
    this.flags = flags;
    if (mtime !== undefined) this.internalDate = mtime;
    this.#file = file;
  }

  async networkSize(): Promise<number> {
    if (this.#networkSize === undefined) {
      if (this.#opened) {
        throw new TypeError("Cannot count message size: call networkSize() before opening it");
      }
      this.#networkSize = await countCrlfSize(this.#read());
    }
    return this.#networkSize;
  }

  openNetwork(): ReadableStream<Uint8Array> {
    return this.openLocal().pipeThrough(lfToCrlf());
  }

  openLocal(): ReadableStream<Uint8Array> {
    if (this.#opened) throw new TypeError("Cannot open message content: it was opened already");
    this.#opened = true;
    return this.#read();
  }

  /** Reads the whole file from its start; the handle stays owned by the folder. */
  #read(): ReadableStream<Uint8Array> {
    const file = this.#file;
    return new ReadableStream({
      async start() {
        await file.seek(0, Deno.SeekMode.Start);
      },
      async pull(controller) {
        const buffer = new Uint8Array(READ_CHUNK);
        const count = await file.read(buffer);
        if (count === null) controller.close();
        else controller.enqueue(buffer.subarray(0, count));
      },
    });
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
