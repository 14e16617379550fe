/**
 * A Maildir tree as OfflineIMAP lays it out (formats.md §1): one directory with `cur`, `new` and
 * `tmp` per folder, file names carrying the remote UID and the folder's FMD5.
 *
 * Writes go to `tmp/` (created exclusively), are fsynced when `[general] fsync` is on, then
 * renamed into `cur/` or `new/`, and the directory is fsynced. Message bodies are streamed, never
 * held whole in memory. This file holds the repository (folders, their names, the tree);
 * `maildir_folder.ts` one folder; `maildir_write.ts` the writing of one file.
 *
 * @module
 */

import { AccountError, FolderError } from "../errors.ts";
import { errorText, fsHint } from "../fs_errors.ts";
import type { MaildirRepositoryConfig } from "../config/types.ts";
import type { FolderListing, Repository } from "./folder.ts";
import { folderMd5, type InfoSep, NameGenerator } from "./maildir_name.ts";
import { MaildirFolder } from "./maildir_folder.ts";

export {
  MAILDIR_UID_VALIDITY,
  MaildirFolder,
  type MaildirFolderOptions,
} from "./maildir_folder.ts";

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

/** Files in `tmp/` older than this are debris of a crash (DECISIONS.md #13, Maildir convention). */
export const TMP_MAX_AGE_MS = 36 * 3600 * 1000;
const SUBDIRS = new Set(["cur", "new", "tmp"]);
/**
 * How old a change of `new/` or `cur/` must be before {@link MaildirRepository.folderStamp}
 * vouches for the folder: well above any file system's timestamp granularity (2 s on FAT).
 */
export const STAMP_SETTLE_MS = 5000;

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
  /** `restoreatime`: access times of `new/` and `cur/` by folder directory, before we read. */
  readonly #atimes = new Map<string, { readonly new: Date; readonly cur: Date }>();

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
    if (await isMaildir(this.root)) {
      names.push("");
      await this.#recordAtimes(this.root);
    }
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
        if (await isMaildir(path)) {
          names.push(name);
          await this.#recordAtimes(path);
        }
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
  async createFolder(name: string): Promise<string> {
    const path = this.#checkedPath(name);
    if (this.#options.dryRun) {
      this.#dryRunFolders.add(name);
      return name;
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
    return name;
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
      utimeFromHeader: this.#config.utimeFromHeader,
      filenameUseMailTimestamp: this.#config.filenameUseMailTimestamp,
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
    await this.#recordAtimes(path).catch((error) => {
      throw new FolderError(`Cannot open folder "${name}" at "${path}": ${errorText(error)}`, {
        cause: error,
        hint: fsHint(error),
      });
    });
    if (!this.#options.dryRun) {
      options.removedTmpFiles = await removeOldTmpFiles(
        name,
        `${path}/tmp`,
        (this.#options.now ?? Date.now)() - TMP_MAX_AGE_MS,
      );
    }
    return new MaildirFolder(options);
  }

  /**
   * The stamp of a folder's listing (see {@link Repository.folderStamp}): device, inode, mtime
   * and ctime of `new/` and `cur/`, which every file added, removed or renamed there moves.
   * Undefined while either changed less than {@link STAMP_SETTLE_MS} ago (a change within the
   * file system's timestamp granularity would leave the stamp as it was, so a stamp is only
   * trusted once it is older than that), while `tmp/` holds anything (a delivery under way, or
   * debris that opening the folder cleans up), with `maxsize` (sizes are not in the stamp), and
   * when the folder cannot be read.
   */
  async folderStamp(name: string): Promise<string | undefined> {
    if (this.#options.maxSize !== undefined || unsafeFolderNameReason(name) !== undefined) {
      return undefined;
    }
    const path = this.#folderPath(name);
    const settled = (this.#options.now ?? Date.now)() - STAMP_SETTLE_MS;
    try {
      const parts: string[] = [];
      for (const sub of ["new", "cur"]) {
        const info = await Deno.stat(`${path}/${sub}`);
        const mtime = info.mtime?.getTime();
        const ctime = info.ctime?.getTime();
        if (!info.isDirectory || mtime === undefined || ctime === undefined) return undefined;
        if (mtime > settled || ctime > settled) return undefined;
        parts.push(`${info.dev}:${info.ino}:${mtime}:${ctime}`);
      }
      for (const _ of Deno.readDirSync(`${path}/tmp`)) return undefined;
      return parts.join(" ");
    } catch {
      // Missing or unreadable: opening the folder reports it properly.
      return undefined;
    }
  }

  /**
   * `restoreatime`: sets the access times of `new/` and `cur/` of every folder listed or opened
   * since the last call back to what they were before this program read them, keeping their
   * modification times (OfflineIMAP's `restore_atime()`, run after each sync of the account).
   * Tools that compare a Maildir's atime with its mtime to announce new mail then still do.
   * Without `restoreatime` this does nothing. Call it at the end of each sync cycle; `close()`
   * calls it too.
   *
   * @throws {AccountError} naming the first directory whose times cannot be set, after trying
   * all of them.
   */
  /** End of a sync cycle: restores access times when `restoreatime` asks for it. */
  finishCycle(): Promise<void> {
    return this.restoreAtimes();
  }

  async restoreAtimes(): Promise<void> {
    const saved = [...this.#atimes];
    this.#atimes.clear();
    let failed: AccountError | undefined;
    for (const [path, atimes] of saved) {
      for (const sub of ["new", "cur"] as const) {
        const dir = `${path}/${sub}`;
        try {
          const mtime = (await Deno.stat(dir)).mtime;
          if (mtime !== null) await Deno.utime(dir, atimes[sub], mtime);
        } catch (error) {
          failed ??= new AccountError(
            `Cannot restore the access time of "${dir}" (restoreatime): ${errorText(error)}`,
            { cause: error, hint: fsHint(error) },
          );
        }
      }
    }
    if (failed !== undefined) throw failed;
  }

  /** Restores access times ({@link restoreAtimes}); folders hold no open handles. */
  async close(): Promise<void> {
    await this.restoreAtimes();
  }

  /** Remembers the access times of a folder's `new/` and `cur/` once per sync cycle. */
  async #recordAtimes(path: string): Promise<void> {
    if (!this.#config.restoreAtime || this.#atimes.has(path)) return;
    const [fresh, cur] = await Promise.all([Deno.stat(`${path}/new`), Deno.stat(`${path}/cur`)]);
    if (fresh.atime !== null && cur.atime !== null) {
      this.#atimes.set(path, { new: fresh.atime, cur: cur.atime });
    }
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

  /**
   * `--migrate-fmd5-using-nametrans`: in every folder whose `nametrans` changes its name, renames
   * the files whose `FMD5=` is the MD5 of the untranslated name (written by OfflineIMAP before
   * 6.3.5) to carry the MD5 of the translated one. Returns how many files were (or, in a dry
   * run, would be) renamed.
   */
  async migrateFmd5(): Promise<number> {
    let renamed = 0;
    for (const { name } of await this.listFolders()) {
      const oldMd5 = folderMd5(name);
      const newMd5 = folderMd5(this.#config.nametrans(name));
      if (oldMd5 === newMd5) continue;
      const path = this.#checkedPath(name);
      for (const sub of ["new", "cur"]) {
        for await (const entry of Deno.readDir(`${path}/${sub}`)) {
          if (!entry.isFile || !entry.name.includes(`,FMD5=${oldMd5}`)) continue;
          renamed++;
          if (this.#options.dryRun) continue;
          await Deno.rename(
            `${path}/${sub}/${entry.name}`,
            `${path}/${sub}/${entry.name.replace(`,FMD5=${oldMd5}`, `,FMD5=${newMd5}`)}`,
          );
        }
      }
    }
    return renamed;
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
