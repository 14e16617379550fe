/**
 * The sqlite status cache, `LocalStatus-sqlite/<folder>` (formats.md §2.2), file-compatible
 * with OfflineIMAP 7.x/8.x in both directions.
 *
 * Journal mode: the default rollback journal, as OfflineIMAP. WAL would make small commits
 * cheaper, but it changes the file's header for good, needs shared memory (no network file
 * systems) and leaves `-wal`/`-shm` files that older SQLite libraries cannot read. Since each
 * {@link StatusStore.apply} batch is one transaction, the number of commits stays small anyway.
 *
 * @module
 */

import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FolderError } from "../errors.ts";
import { errorText, fsHint, isDiskFull } from "../fs_errors.ts";
import type { FlagLetters } from "../repository/folder.ts";
import type { PlainRecord } from "./plain.ts";
import type { StatusBatch, StatusStore } from "./store.ts";

/** Options of {@link openSqliteStatus}. */
export interface SqliteStatusOptions {
  /**
   * `[general] fsync`: true makes every commit durable against power loss
   * (`synchronous = FULL`); false lets SQLite skip some syncs (`NORMAL`), which still survives a
   * crash of the program.
   */
  readonly fsync: boolean;
  /**
   * True: create the file (mode 0600) and its parent directories (0700) when missing, and
   * upgrade a version 1 database in place. False: write nothing at all (`--dry-run`, DECISIONS.md
   * #9): an existing file is opened read-only and a version 1 file is read as it is, a missing
   * file reads as empty, and {@link StatusStore.apply} throws.
   */
  readonly create: boolean;
}

/** Schema version OfflineIMAP writes (`metadata.db_version`). */
const DB_VERSION = 2;
/** How long to wait for another process's lock (OfflineIMAP retries "database is locked" forever). */
const BUSY_TIMEOUT_MS = 30_000;

/**
 * Opens the status cache of one folder.
 *
 * Schema (OfflineIMAP's version 2): `metadata(key, value)` holding `db_version = '2'`, and
 * `status(id INTEGER PRIMARY KEY, flags, mtime, labels)`; new rows get `mtime = 0` and
 * `labels = ''`, and an update changes only `flags` (Gmail label data stays).
 * A file without tables (such as an empty one) gets the schema, as OfflineIMAP does.
 *
 * @throws {FolderError} when the file cannot be opened, is not an SQLite database, has an
 * unknown layout or a newer version. A broken file is never read as an empty status, because an
 * empty status undoes deletions; the hint tells the user to move the file away.
 */
export async function openSqliteStatus(
  path: string,
  options: SqliteStatusOptions,
): Promise<StatusStore> {
  if (!options.create && !(await exists(path))) return new EmptyStatus();
  if (options.create) await createFile(path);
  const { db, release } = options.create
    ? { db: openDatabase(path, false), release: undefined }
    : await openReadOnly(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (options.create) {
      db.exec(`PRAGMA synchronous = ${options.fsync ? "FULL" : "NORMAL"}`);
    }
    if (!prepareSchema(db, path, options.create)) {
      // An empty file (a run killed before it made the tables) is an empty status.
      db.close();
      await release?.();
      return new EmptyStatus();
    }
  } catch (error) {
    db.close();
    await release?.();
    if (error instanceof FolderError) throw error;
    throw statusError(path, "not a readable status database", error);
  }
  return new SqliteStatus(db, path, options.create, release);
}

function openDatabase(path: string, readOnly: boolean): DatabaseSync {
  try {
    return new DatabaseSync(path, { readOnly });
  } catch (error) {
    throw statusError(path, "cannot open the file", error);
  }
}

/** SQLite's extended code: a read-only connection found a hot journal it may not roll back. */
const SQLITE_READONLY_ROLLBACK = 776;

/**
 * Opens a database without writing to it. A program killed inside a transaction leaves a hot
 * journal that the next writer rolls back; a read-only connection may not, and fails with
 * SQLITE_READONLY_ROLLBACK. Then the file and its journal are copied to a private temporary
 * directory and the copy is opened, so the reader sees the committed state that the next real
 * run will see, and the user's files stay untouched (`--dry-run` writes nothing). `release`
 * removes the copy.
 */
async function openReadOnly(
  path: string,
): Promise<{ db: DatabaseSync; release?: () => Promise<void> }> {
  const db = openDatabase(path, true);
  try {
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return { db };
  } catch (error) {
    db.close();
    if ((error as { errcode?: number }).errcode !== SQLITE_READONLY_ROLLBACK) {
      throw statusError(path, "not a readable status database", error);
    }
  }
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ prefix: "offlineimap-ts-status-" });
  } catch (error) {
    throw statusError(path, "cannot make a private copy to roll back an interrupted write", error);
  }
  const release = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    const copy = `${dir}/status`;
    await Deno.copyFile(path, copy);
    await Deno.copyFile(`${path}-journal`, `${copy}-journal`);
    return { db: openDatabase(copy, false), release };
  } catch (error) {
    await release();
    if (error instanceof FolderError) throw error;
    throw statusError(path, "cannot make a private copy to roll back an interrupted write", error);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw statusError(path, "cannot look at the file", error);
  }
}

/** Creates the parent directories (0700) and an empty file (0600); SQLite takes an empty file. */
async function createFile(path: string): Promise<void> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    file.close();
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    throw statusError(path, "cannot create the file", error);
  }
}

/** Checks (and when writable, creates or upgrades) the schema; false: a file without tables. */
function prepareSchema(db: DatabaseSync, path: string, writable: boolean): boolean {
  const tables = new Set(
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) =>
      String(row.name)
    ),
  );
  if (!tables.has("metadata") && !tables.has("status")) {
    if (!writable) return false;
    transaction(db, () => {
      db.exec("CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))");
      db.exec(`INSERT INTO metadata VALUES('db_version', '${DB_VERSION}')`);
      db.exec(
        "CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, " +
          "labels VARCHAR(256))",
      );
    });
    return true;
  }
  if (!tables.has("metadata") || !tables.has("status")) {
    throw statusError(path, `table "${tables.has("status") ? "metadata" : "status"}" is missing`);
  }
  const row = db.prepare("SELECT value FROM metadata WHERE key = 'db_version'").get();
  const version = Number(row?.value);
  if (version === 1) {
    if (writable) upgradeFromVersion1(db);
  } else if (version !== DB_VERSION) {
    throw statusError(
      path,
      row === undefined ? "no db_version in table metadata" : `unknown db_version "${row.value}"`,
    );
  }
  return true;
}

/** OfflineIMAP's own upgrade: add the Gmail columns, then mark the file as version 2. */
function upgradeFromVersion1(db: DatabaseSync): void {
  transaction(db, () => {
    db.exec("ALTER TABLE status ADD mtime INTEGER DEFAULT 0");
    db.exec("ALTER TABLE status ADD labels VARCHAR(256) DEFAULT ''");
    db.exec(`UPDATE metadata SET value = '${DB_VERSION}' WHERE key = 'db_version'`);
  });
}

function transaction(db: DatabaseSync, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function statusError(path: string, details: string, cause?: unknown): FolderError {
  const reason = cause === undefined ? details : `${details} (${errorText(cause)})`;
  return new FolderError(`Cannot use status database "${path}": ${reason}`, {
    cause,
    hint: isDiskFull(cause) || cause instanceof Deno.errors.PermissionDenied
      ? fsHint(cause)
      : `if the file is damaged, move "${path}" away; the next sync rebuilds the status from ` +
        "both sides, but deletions made since the last sync come back",
  });
}

/**
 * Creates a new status database at `path` (which must not exist; mode 0600) holding `records`
 * with their Gmail fields, in one transaction: the writer of a migration, which fills a
 * temporary file and renames it into place so that a crash never leaves a half-imported
 * status.
 *
 * @throws {FolderError} when the file exists or cannot be written.
 */
export function createSqliteStatusFile(
  path: string,
  records: ReadonlyMap<number, PlainRecord>,
  options: { readonly fsync: boolean },
): void {
  let db: DatabaseSync;
  try {
    const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    file.close();
    db = new DatabaseSync(path);
  } catch (error) {
    throw statusError(path, "cannot create the file", error);
  }
  try {
    db.exec(`PRAGMA synchronous = ${options.fsync ? "FULL" : "NORMAL"}`);
    prepareSchema(db, path, true);
    const insert = db.prepare("INSERT INTO status (id, flags, mtime, labels) VALUES (?, ?, ?, ?)");
    transaction(db, () => {
      for (const [uid, record] of records) {
        insert.run(uid, record.flags, record.mtime, record.labels);
      }
    });
  } catch (error) {
    if (error instanceof FolderError) throw error;
    throw statusError(path, "cannot save changes", error);
  } finally {
    db.close();
  }
}

/**
 * Reads every row of an existing status database with its Gmail fields (for an import into
 * the plain format), opening it read-only. Returns undefined when the file does not exist.
 *
 * @throws {FolderError} as {@link openSqliteStatus} does for a file it cannot use.
 */
export async function readSqliteRecords(
  path: string,
): Promise<Map<number, PlainRecord> | undefined> {
  if (!(await exists(path))) return undefined;
  const { db, release } = await openReadOnly(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    prepareSchema(db, path, false);
    const records = new Map<number, PlainRecord>();
    const columns = db.prepare("SELECT name FROM pragma_table_info('status')").all();
    // A file without tables (an empty one) is an empty status, as openSqliteStatus() reads it.
    if (columns.length === 0) return records;
    const version1 = !columns.some((row) => row.name === "labels");
    const sql = version1
      ? "SELECT id, flags, 0 AS mtime, '' AS labels FROM status"
      : "SELECT id, flags, mtime, labels FROM status";
    for (const row of db.prepare(sql).iterate()) {
      records.set(Number(row.id), {
        flags: row.flags === null ? "" : String(row.flags),
        mtime: Number(row.mtime ?? 0),
        labels: row.labels === null ? "" : String(row.labels),
      });
    }
    return records;
  } catch (error) {
    if (error instanceof FolderError) throw error;
    throw statusError(path, "not a readable status database", error);
  } finally {
    db.close();
    await release?.();
  }
}

/** A status backed by one open database. */
class SqliteStatus implements StatusStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #upsert: StatementSync | undefined;
  readonly #delete: StatementSync | undefined;
  readonly #release: (() => Promise<void>) | undefined;
  #closed = false;

  /** `release` runs after close (it removes a private read-only copy). */
  constructor(
    db: DatabaseSync,
    path: string,
    writable: boolean,
    release?: () => Promise<void>,
  ) {
    this.#db = db;
    this.#path = path;
    this.#release = release;
    if (writable) {
      // A new row gets OfflineIMAP's defaults; an existing one keeps its Gmail mtime and labels.
      this.#upsert = db.prepare(
        "INSERT INTO status (id, flags, mtime, labels) VALUES (?, ?, 0, '') " +
          "ON CONFLICT(id) DO UPDATE SET flags = excluded.flags",
      );
      this.#delete = db.prepare("DELETE FROM status WHERE id = ?");
    }
  }

  read(): Promise<Map<number, FlagLetters>> {
    return settle(() => {
      this.#checkOpen();
      const records = new Map<number, FlagLetters>();
      try {
        // Rows as arrays from one all(): six times faster than iterating row objects, and
        // this runs for every folder of every sync.
        const select = this.#db.prepare("SELECT id, flags FROM status") as StatementSync & {
          setReturnArrays(enabled: boolean): void;
        };
        select.setReturnArrays(true);
        for (const row of select.all() as unknown as Array<[number | bigint, unknown]>) {
          records.set(Number(row[0]), row[1] === null ? "" : String(row[1]));
        }
      } catch (error) {
        throw statusError(this.#path, "cannot read table status", error);
      }
      return records;
    });
  }

  apply(batch: StatusBatch): Promise<void> {
    return settle(() => {
      this.#checkOpen();
      const upsert = this.#upsert;
      const remove = this.#delete;
      if (upsert === undefined || remove === undefined) {
        throw new TypeError(`Cannot change status "${this.#path}": opened without "create"`);
      }
      if ((batch.set?.length ?? 0) + (batch.remove?.length ?? 0) === 0) return;
      try {
        transaction(this.#db, () => {
          for (const uid of batch.remove ?? []) remove.run(uid);
          for (const [uid, flags] of batch.set ?? []) upsert.run(uid, flags);
        });
      } catch (error) {
        throw statusError(this.#path, "cannot save changes", error);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    await this.#release?.();
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError(`Cannot use status "${this.#path}": already closed`);
  }
}

/** Runs synchronous SQLite work, turning a throw into a rejected promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The status of a folder whose database does not exist and must not be created. */
class EmptyStatus implements StatusStore {
  read(): Promise<Map<number, FlagLetters>> {
    return Promise.resolve(new Map());
  }

  apply(): Promise<void> {
    return Promise.reject(new TypeError('Cannot change a status opened without "create"'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
