/**
 * The per-account lock `<metadata>/<account>.lock` (formats.md §2.7): one sync of an account at
 * a time, across this program and OfflineIMAP.
 *
 * OfflineIMAP takes a POSIX record lock (`lockf`, i.e. `fcntl(F_SETLK)`) on the empty file;
 * Deno's own `FsFile.tryLock()` takes a BSD `flock`. On Linux the two kinds never see each
 * other, so we take both on the same file:
 *
 * - `flock` through Deno, always: it keeps two instances of this program apart everywhere;
 * - a POSIX write lock through `fcntl` when FFI is allowed (`--allow-ffi` or `-A`) on Linux
 *   x86_64/aarch64: it keeps OfflineIMAP out while we sync, and `F_GETLK` names the process
 *   that holds it otherwise. `lockf` in OfflineIMAP and `fcntl` here are the same lock.
 *
 * Without FFI, a POSIX lock held by a running OfflineIMAP is still found in `/proc/locks`, so
 * we never start while it syncs; but an OfflineIMAP started after us would not see our `flock`.
 *
 * The kernel drops both locks when a process dies, so the file a crashed run leaves behind is
 * simply locked again (nothing to take over by hand). The file stays empty, like OfflineIMAP's.
 *
 * `release()` removes the file while still holding both locks, and an instance of ours checks
 * after locking that the file it locked is still the one at the path, so two instances of this
 * program never both hold the lock. OfflineIMAP makes no such check: one that opened the file
 * in the instant before our removal locks a removed file (the same microsecond-wide window
 * OfflineIMAP has with itself, since it removes the file too).
 *
 * A POSIX lock belongs to the process and is dropped by the close of *any* descriptor of the
 * file, even one opened elsewhere or duplicated by `FsFile.stat()`: nothing in this process may
 * open the lock file while the lock is held.
 *
 * @module
 */

import { AccountError } from "./errors.ts";
import { errorText, fsHint } from "./fs_errors.ts";
import { lockPath } from "./status/paths.ts";

/** A held account lock. */
export interface AccountLock {
  /** The lock file. */
  readonly path: string;
  /** True when the POSIX lock OfflineIMAP uses is held too (see the module doc). */
  readonly posix: boolean;
  /**
   * Removes the file and drops the locks, in that order, so that no other process can lock a
   * file that is about to vanish. Idempotent; never throws.
   */
  release(): Promise<void>;
}

/** Bound on retries when the file is replaced between our open and our lock. */
const ATTEMPTS = 5;

/**
 * Locks `account` under `metadata` (created 0700 with its parents when missing). Take it
 * before the account's first folder and release it when the sync cycle ends, as OfflineIMAP
 * does (so another process may sync during an `autorefresh` pause).
 *
 * @throws {AccountError} when another process holds the lock (the message names its PID when
 * the system tells it), or when the file cannot be created or locked.
 */
export async function acquireAccountLock(
  metadata: string,
  account: string,
): Promise<AccountLock> {
  const path = lockPath(metadata, account);
  try {
    await Deno.mkdir(metadata, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw lockError(account, path, error);
  }
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const file = await Deno.open(path, { write: true, create: true, mode: 0o600 }).catch(
      (error) => {
        throw lockError(account, path, error);
      },
    );
    let posix: PosixLock | undefined;
    try {
      if (!(await file.tryLock(true))) {
        throw heldError(account, path, await lockHolder(file, "FLOCK"));
      }
      posix = takePosixLock(path);
      if (posix === undefined) {
        const holder = await lockHolder(file, "POSIX");
        if (holder !== undefined) throw heldError(account, path, holder);
      } else if (!posix.locked) {
        if (posix.holder !== undefined) throw heldError(account, path, posix.holder);
        // Neither locked nor held: the other process let go meanwhile; try again.
        posix.close();
        file.close();
        continue;
      }
      // The holder before us may have removed the file after we opened it; a lock on a file
      // that is no longer at `path` protects nothing.
      if (!(await isStillAt(file, posix, path))) {
        posix?.close();
        file.close();
        continue;
      }
    } catch (error) {
      posix?.close();
      file.close();
      if (error instanceof AccountError) throw error;
      throw lockError(account, path, error);
    }
    return heldLock(path, file, posix);
  }
  throw new AccountError(
    `Cannot lock account "${account}": "${path}" kept changing while it was being locked`,
    { hint: "another instance is starting and stopping syncs of this account; try again" },
  );
}

function heldLock(path: string, file: Deno.FsFile, posix: PosixLock | undefined): AccountLock {
  let released = false;
  return {
    path,
    posix: posix !== undefined,
    async release() {
      if (released) return;
      released = true;
      await Deno.remove(path).catch(() => {
        // Already gone (a user removed it): the locks below are all that counted.
      });
      posix?.close();
      file.close();
    },
  };
}

async function isStillAt(
  file: Deno.FsFile,
  posix: PosixLock | undefined,
  path: string,
): Promise<boolean> {
  try {
    // Deno's FsFile.stat() closes a duplicate descriptor, and any close of the file drops a
    // POSIX lock: look at our libc descriptor through /proc instead.
    const opened = await (posix?.locked ? Deno.stat(`/proc/self/fd/${posix.fd}`) : file.stat());
    const current = await Deno.stat(path);
    return opened.ino === current.ino && opened.dev === current.dev;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function heldError(account: string, path: string, holder: number | undefined): AccountError {
  const who = holder === undefined ? "another process" : `process ${holder}`;
  return new AccountError(`Cannot lock account "${account}": ${who} holds "${path}"`, {
    hint: "another instance (of this program or of offlineimap) is syncing this account; " +
      `wait for it to finish${holder === undefined ? "" : ` or stop it (kill ${holder})`}, ` +
      "then run again",
  });
}

function lockError(account: string, path: string, error: unknown): AccountError {
  return new AccountError(`Cannot lock account "${account}": "${path}": ${errorText(error)}`, {
    cause: error,
    hint: fsHint(error),
  });
}

/**
 * PID of a process holding a lock of `kind` on the open file, from Linux's `/proc/locks`
 * (`<id>: <kind> ADVISORY WRITE <pid> <major>:<minor>:<inode> <start> <end>`); undefined when
 * none is listed or the file cannot be read (not Linux).
 */
async function lockHolder(file: Deno.FsFile, kind: "FLOCK" | "POSIX"): Promise<number | undefined> {
  let table: string;
  try {
    table = await Deno.readTextFile("/proc/locks");
  } catch {
    return undefined;
  }
  const info = await file.stat();
  const dev = BigInt(info.dev);
  // Linux's encoding of st_dev (glibc's gnu_dev_major/gnu_dev_minor).
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // Waiting requests are listed as "<id>: -> <kind> ...": they hold nothing.
    if (fields[1] !== kind) continue;
    const pid = Number(fields[4]);
    const [maj, min, ino] = (fields[5] ?? "").split(":");
    if (
      parseInt(maj ?? "", 16) === major && parseInt(min ?? "", 16) === minor &&
      Number(ino) === info.ino
    ) {
      return pid;
    }
  }
  return undefined;
}

/** The outcome of trying OfflineIMAP's POSIX lock. */
interface PosixLock {
  /** True when we hold it. */
  readonly locked: boolean;
  /** PID of the holder when we do not. */
  readonly holder?: number;
  /** Our libc descriptor of the file. */
  readonly fd: number;
  /** Closes our descriptor, which drops the lock. */
  close(): void;
}

const F_GETLK = 5;
const F_SETLK = 6;
const F_WRLCK = 1;
const F_UNLCK = 2;
const O_WRONLY = 0o1;
const O_CLOEXEC = 0o2000000;
/** `struct flock` on 64-bit Linux: short type, short whence, off_t start, off_t len, pid_t pid. */
const FLOCK_SIZE = 32;

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  // fcntl is variadic; on x86_64 and aarch64 Linux a pointer passed as a fixed argument lands
  // where va_arg reads it.
  fcntl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/**
 * Tries OfflineIMAP's lock on `path` through libc: a descriptor of its own, `F_SETLK` for a
 * write lock over the whole file, and `F_GETLK` for the holder's PID when that fails (no errno
 * needed: a failure with no conflicting lock means the holder just let go). Returns undefined
 * when FFI is not allowed or this is not 64-bit Linux with glibc.
 */
function takePosixLock(path: string): PosixLock | undefined {
  if (Deno.build.os !== "linux" || !["x86_64", "aarch64"].includes(Deno.build.arch)) {
    return undefined;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  let lib: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch {
    return undefined;
  }
  const fd = lib.symbols.open(new TextEncoder().encode(`${path}\0`), O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    lib.close();
    return undefined;
  }
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    // POSIX locks belong to the process and go with any close of the file; this descriptor is
    // the only one we opened through libc, and Deno's own is closed right after.
    lib.symbols.close(fd);
    lib.close();
  };
  const request = flockStruct(F_WRLCK);
  if (lib.symbols.fcntl(fd, F_SETLK, request) === 0) return { locked: true, fd, close };
  const query = flockStruct(F_WRLCK);
  const queried = lib.symbols.fcntl(fd, F_GETLK, query) === 0;
  const view = new DataView(query.buffer);
  const holder = queried && view.getInt16(0, true) !== F_UNLCK
    ? view.getInt32(24, true)
    : undefined;
  close();
  return { locked: false, holder, fd, close };
}

function flockStruct(type: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(FLOCK_SIZE);
  const view = new DataView(bytes.buffer);
  view.setInt16(0, type, true); // l_type
  view.setInt16(2, 0, true); // l_whence = SEEK_SET; l_start = l_len = 0: the whole file
  return bytes;
}
