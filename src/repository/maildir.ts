/**
 * A Maildir tree as OfflineIMAP lays it out (formats.md §1): one directory with `cur`, `new` and
 * `tmp` per folder, file names carrying the remote UID and the folder's FMD5.
 *
 * Writes go to `tmp/` (created exclusively), are fsynced when `[general] fsync` is on, then
 * renamed into `cur/` or `new/`, and the directory is fsynced. Message bodies are streamed, never
 * held whole in memory.
 *
 * @module
 */

import { AccountError, FolderError, MessageError } from "../errors.ts";
import type { MaildirRepositoryConfig } from "../config/types.ts";
import type {
  FlagLetters,
  Folder,
  FolderListing,
  FolderSnapshot,
  MessageContent,
  MessageRef,
  Repository,
  SnapshotMessage,
  StoreResult,
  UnassignedMessage,
} from "./folder.ts";
import { countCrlfSize, lfToCrlf } from "./line_endings.ts";
import {
  folderMd5,
  type InfoSep,
  maildirKey,
  NameGenerator,
  parseMaildirName,
  replaceFlags,
  sortFlags,
} from "./maildir_name.ts";

/** Options of a {@link MaildirRepository} that do not come from its own section. */
export interface MaildirOptions {
  /** `[general] fsync`: fsync new files before the rename, and directories after renames. */
  readonly fsync: boolean;
  /** Host name in new file names; default `Deno.hostname()`. */
  readonly hostname?: string;
  /** `--dry-run` (DECISIONS.md #9): nothing is created, renamed, written or removed. */
  readonly dryRun?: boolean;
  /** `maildir-windows-compatible = yes` gives `"!"`; default `":"`. */
  readonly infoSep?: InfoSep;
  /** `maxsize`: files larger than this many bytes are left out of snapshots (costs a stat each). */
  readonly maxSize?: number;
  /** Clock in milliseconds (default `Date.now`), for `tmp/` cleanup and new names. */
  readonly now?: () => number;
}

/** UIDVALIDITY OfflineIMAP reports for every Maildir folder (formats.md §2.4). */
export const MAILDIR_UID_VALIDITY = 42;
/** Files in `tmp/` older than this are debris of a crash (DECISIONS.md #13, Maildir convention). */
export const TMP_MAX_AGE_MS = 36 * 3600 * 1000;
/** Attempts at a fresh name when one already exists in `tmp/` (OfflineIMAP tries 7 times). */
const CREATE_ATTEMPTS = 7;
const READ_CHUNK = 64 * 1024;
/** Bytes gathered before one write(2) when storing a message. */
const WRITE_BUFFER = 256 * 1024;
const SUBDIRS = new Set(["cur", "new", "tmp"]);

/**
 * Why `name` must not become a Maildir folder (DECISIONS.md #10), or undefined when it is safe.
 *
 * Refused: a leading `/`, NUL or any other control character, an empty, `.` or `..` path
 * component, and a component named `cur`, `new` or `tmp` (it would land inside a Maildir's own
 * directories). Names are split on `/` whatever the repository's `sep`, since `/` is what makes
 * directories. With these rules no name reaches outside `localfolders` by itself; symbolic links
 * the user placed inside it are followed on purpose. The empty name is the root folder, and so is
 * the exact name `.`, which the documented Maildir++ recipe `re.sub('^INBOX\.*', '.', name)`
 * gives INBOX (formats.md §1.1).
 */
export function unsafeFolderNameReason(name: string): string | undefined {
  if (name === "" || name === ".") return undefined;
  if (name.startsWith("/")) return "it is an absolute path";
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return "it contains a control character";
  }
  for (const component of name.split("/")) {
    if (component === "") return "it has an empty path component";
    if (component === "." || component === "..") return `it has a "${component}" path component`;
    if (SUBDIRS.has(component)) return `it has a path component "${component}"`;
  }
  return undefined;
}

/**
 * A Maildir repository (`type = Maildir`). Folder names use the repository's `sep`: `.` keeps
 * every folder directly under `localfolders`, `/` nests them (formats.md §1.1).
 *
 * The root directory is created (mode 0700, with parents) by {@link listFolders} and
 * {@link createFolder} when missing, except in a dry run.
 */
export class MaildirRepository implements Repository {
  readonly name: string;
  readonly sep: string;
  readonly writable: boolean;
  /** `localfolders`. */
  readonly root: string;
  readonly #config: MaildirRepositoryConfig;
  readonly #options: MaildirOptions;
  readonly #names: NameGenerator;
  /** Folders "created" during a dry run: they open as empty folders. */
  readonly #dryRunFolders = new Set<string>();

  constructor(config: MaildirRepositoryConfig, options: MaildirOptions) {
    this.name = config.name;
    this.sep = config.sep;
    this.writable = !config.readonly;
    this.root = config.localFolders;
    this.#config = config;
    this.#options = options;
    this.#names = new NameGenerator({ host: options.hostname, now: options.now });
  }

  /**
   * Lists the folders: directories holding `cur`, `new` and `tmp` (symbolic links followed),
   * directly under the root, or the whole tree when `sep` is `/`; the root itself is the folder
   * `""` when it holds them. Sorted by name.
   *
   * @throws {AccountError} when the root or a directory of the tree cannot be read.
   */
  async listFolders(): Promise<FolderListing[]> {
    if (!(await this.#ensureRoot())) return [];
    const names: string[] = [];
    const visited = new Set<string>();
    await isFirstVisit(this.root, visited);
    await this.#listUnder("", names, visited);
    if (await isMaildir(this.root)) names.push("");
    names.sort();
    return names.map((name) => ({ name }));
  }

  async #listUnder(prefix: string, names: string[], visited: Set<string>): Promise<void> {
    const dir = this.#folderPath(prefix);
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (SUBDIRS.has(entry.name)) continue;
        const path = `${dir}/${entry.name}`;
        if (!entry.isDirectory && !(entry.isSymlink && await isDirectory(path))) continue;
        const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        if (await isMaildir(path)) names.push(name);
        if (this.sep === "/" && await isFirstVisit(path, visited)) {
          await this.#listUnder(name, names, visited);
        }
      }
    } catch (error) {
      if (error instanceof AccountError) throw error;
      throw new AccountError(
        `Cannot list folders of repository "${this.name}": reading "${dir}" failed: ${
          errorText(error)
        }`,
        { cause: error },
      );
    }
  }

  /**
   * Creates a folder with its `cur`, `new` and `tmp` (mode 0700, parents as needed). An existing
   * folder is left as it is. In a dry run nothing is created; the folder then opens as empty.
   *
   * @throws {FolderError} for an unsafe name ({@link unsafeFolderNameReason}) or when a directory
   * cannot be created.
   */
  async createFolder(name: string): Promise<void> {
    const path = this.#checkedPath(name);
    if (this.#options.dryRun) {
      this.#dryRunFolders.add(name);
      return;
    }
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
      for (const sub of SUBDIRS) {
        await Deno.mkdir(`${path}/${sub}`, { recursive: true, mode: 0o700 });
      }
    } catch (error) {
      throw new FolderError(`Cannot create folder "${name}" at "${path}": ${errorText(error)}`, {
        cause: error,
        hint: fsHint(error),
      });
    }
  }

  /**
   * Opens a folder. Its FMD5 is the MD5 of its visible name, the name through this repository's
   * `nametrans` (formats.md §1.2). Files in its `tmp/` older than 36 hours are removed
   * (DECISIONS.md #13; not in a dry run).
   *
   * @throws {FolderError} for an unsafe name, or when the directory or one of `cur`, `new`,
   * `tmp` is missing: a missing folder is never read as an empty one.
   */
  async openFolder(name: string): Promise<MaildirFolder> {
    const path = this.#checkedPath(name);
    const options = {
      name,
      path,
      fmd5: folderMd5(this.#config.nametrans(name)),
      fsync: this.#options.fsync,
      dryRun: this.#options.dryRun ?? false,
      infoSep: this.#options.infoSep ?? ":",
      maxSize: this.#options.maxSize,
      names: this.#names,
      absent: false,
      removedTmpFiles: [] as string[],
    };
    const found = await isMaildir(path).catch((error) => {
      throw new FolderError(`Cannot open folder "${name}" at "${path}": ${errorText(error)}`, {
        cause: error,
        hint: fsHint(error),
      });
    });
    if (!found) {
      if (this.#options.dryRun && this.#dryRunFolders.has(name)) {
        return new MaildirFolder({ ...options, absent: true });
      }
      throw new FolderError(
        `Cannot open folder "${name}": "${path}" is not a Maildir (cur, new or tmp is missing)`,
      );
    }
    if (!this.#options.dryRun) {
      options.removedTmpFiles = await removeOldTmpFiles(
        name,
        `${path}/tmp`,
        (this.#options.now ?? Date.now)() - TMP_MAX_AGE_MS,
      );
    }
    return new MaildirFolder(options);
  }

  /** Nothing to release: folders hold no open handles between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Creates the root when missing; returns false when it is missing in a dry run. */
  async #ensureRoot(): Promise<boolean> {
    try {
      if (this.#options.dryRun) return await isDirectory(this.root);
      await Deno.mkdir(this.root, { recursive: true, mode: 0o700 });
      return true;
    } catch (error) {
      const message = `Cannot create localfolders "${this.root}" of repository "${this.name}"`;
      throw new AccountError(`${message}: ${errorText(error)}`, {
        cause: error,
        hint: fsHint(error),
      });
    }
  }

  #checkedPath(name: string): string {
    const reason = unsafeFolderNameReason(name);
    if (reason !== undefined) {
      const message = `Refusing folder name "${name}" in repository "${this.name}": ${reason}`;
      throw new FolderError(message, {
        hint: "use nametrans or folderfilter to rename or exclude this folder",
      });
    }
    return this.#folderPath(name);
  }

  #folderPath(name: string): string {
    return name === "" || name === "." ? this.root : `${this.root}/${name}`;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    // A dangling or looping symbolic link is no directory, as for Python's os.path.isdir.
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.FilesystemLoop
    ) {
      return false;
    }
    throw error;
  }
}

async function isMaildir(path: string): Promise<boolean> {
  for (const sub of SUBDIRS) if (!(await isDirectory(`${path}/${sub}`))) return false;
  return true;
}

/** Guards the `/` walk against symbolic-link loops (OfflineIMAP recurses forever). */
async function isFirstVisit(path: string, visited: Set<string>): Promise<boolean> {
  const info = await Deno.stat(path);
  const id = `${info.dev}:${info.ino}`;
  if (visited.has(id)) return false;
  visited.add(id);
  return true;
}

async function removeOldTmpFiles(folder: string, tmp: string, before: number): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(tmp)) {
      if (entry.isDirectory) continue;
      const path = `${tmp}/${entry.name}`;
      try {
        const mtime = (await Deno.lstat(path)).mtime?.getTime();
        if (mtime === undefined || mtime >= before) continue;
        await Deno.remove(path);
        removed.push(path);
      } catch (error) {
        // Gone meanwhile: another program cleaned it or just renamed its delivery into place.
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  } catch (error) {
    throw new FolderError(`Cannot clean "${tmp}" of folder "${folder}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error),
    });
  }
  return removed;
}

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
  readonly #byUid = new Map<number, Location>();
  readonly #byKey = new Map<string, Location>();
  #indexed = false;
  #hiddenDuplicates: string[] = [];

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
      for await (const entry of Deno.readDir(dir)) {
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
   * Without `uid` the name carries no `U=`/FMD5 and `{ uid: null }` is returned. A dry run
   * writes nothing and does not read the content.
   *
   * @throws {MessageError} when the file cannot be written (the `tmp/` file is removed); an
   * error of the content's stream is rethrown as it is, after the same cleanup.
   */
  async storeMessage(content: MessageContent, uid: number | undefined): Promise<StoreResult> {
    const result = { uid: uid ?? null };
    if (this.#options.dryRun) return result;
    const flags = sortFlags(content.flags);
    const sub = flags.includes("S") ? "cur" : "new";
    const { file, name } = await this.#createTmpFile(uid, flags);
    const tmpPath = `${this.path}/tmp/${name}`;
    try {
      try {
        await writeStream(file, content.openLocal(), tmpPath);
        if (this.#options.fsync) await file.syncData();
      } finally {
        // Deno cannot report an error of close(2) (Rust drops the handle); with fsync on, syncData
        // has already surfaced delayed write errors such as a full quota on NFS.
        file.close();
      }
      await Deno.rename(tmpPath, this.#pathOf({ sub, name })).catch((error) => {
        throw this.#messageError(`move "${tmpPath}" into ${sub}/`, error);
      });
    } catch (error) {
      await Deno.remove(tmpPath).catch(() => {
        // Best effort: the write already failed, and debris in tmp/ is removed after 36 hours.
      });
      throw error;
    }
    await this.#syncDirs([sub]);
    if (uid !== undefined && this.#indexed) this.#byUid.set(uid, { sub, name });
    return result;
  }

  async #createTmpFile(
    uid: number | undefined,
    flags: string,
  ): Promise<{ file: Deno.FsFile; name: string }> {
    for (let attempt = 1;; attempt++) {
      // A name already in tmp/ (a pid reused across runs in the same second) gets a fresh one.
      const name = this.#newName(uid, flags);
      const path = `${this.path}/tmp/${name}`;
      try {
        const file = await Deno.open(path, { write: true, createNew: true, mode: 0o666 });
        return { file, name };
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists && attempt < CREATE_ATTEMPTS) continue;
        if (error instanceof Deno.errors.NotFound) {
          const message = `Cannot write to folder "${this.name}": "${this.path}/tmp" is missing`;
          throw new FolderError(message, { cause: error });
        }
        throw this.#messageError(`create "${path}"`, error);
      }
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

  /** Forgets the index; nothing else is held open. */
  close(): Promise<void> {
    this.#byUid.clear();
    this.#byKey.clear();
    this.#indexed = false;
    return Promise.resolve();
  }

  /** Builds the index when no snapshot was read, and starts a batch of file operations. */
  async #startBatch(): Promise<Batch> {
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

  #newName(uid: number | undefined, flags: string): string {
    return this.#options.names.next({
      uid,
      fmd5: this.fmd5,
      flags,
      infoSep: this.#options.infoSep,
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

  #messageError(action: string, error: unknown): MessageError {
    return new MessageError(`Cannot ${action} in folder "${this.name}": ${errorText(error)}`, {
      cause: error,
      hint: fsHint(error),
    });
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

async function writeStream(
  file: Deno.FsFile,
  stream: ReadableStream<Uint8Array>,
  path: string,
): Promise<void> {
  // Network reads arrive in TLS-record-sized pieces (often 4 KB); gathering them into one
  // buffer turns thousands of write calls per large message into a few hundred.
  const pending = new Uint8Array(WRITE_BUFFER);
  let used = 0;
  const flush = async () => {
    for (let offset = 0; offset < used;) {
      try {
        offset += await file.write(pending.subarray(offset, used));
      } catch (error) {
        throw new MessageError(`Cannot write message file "${path}": ${errorText(error)}`, {
          cause: error,
          hint: fsHint(error),
        });
      }
    }
    used = 0;
  };
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let offset = 0; offset < value.length;) {
        const take = Math.min(value.length - offset, WRITE_BUFFER - used);
        pending.set(value.subarray(offset, offset + take), used);
        used += take;
        offset += take;
        if (used === WRITE_BUFFER) await flush();
      }
    }
    await flush();
  } catch (error) {
    // Let the source drop the rest (an IMAP body must be drained); an already failed source
    // rejects here with its own error, which `error` already reports.
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fsHint(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return "disk full?";
  if (error instanceof Deno.errors.PermissionDenied) return "check the permissions of the path";
  return undefined;
}
