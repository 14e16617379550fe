import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FolderError } from "../../src/errors.ts";
import { openSqliteStatus, readSqliteRecords } from "../../src/status/sqlite.ts";
import { readFolderValidity, writeFolderValidity } from "../../src/status/validity.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "status_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads a database with a separate connection, as OfflineIMAP or the sqlite3 tool would. */
function query(path: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

Deno.test("openSqliteStatus() creates OfflineIMAP's version 2 schema with modes 0700 and 0600", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/Account-T/LocalStatus-sqlite/INBOX`;
    const store = await openSqliteStatus(path, { fsync: true, create: true });
    await store.close();
    assert.equal((await Deno.stat(`${dir}/Account-T`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/Account-T/LocalStatus-sqlite`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(
      query(path, "SELECT sql FROM sqlite_master WHERE type = 'table' ORDER BY name"),
      [
        { sql: "CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))" },
        {
          sql:
            "CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, labels VARCHAR(256))",
        },
      ],
    );
    assert.deepEqual(query(path, "SELECT * FROM metadata"), [{ key: "db_version", value: "2" }]);
    const names = await Array.fromAsync(Deno.readDir(`${dir}/Account-T/LocalStatus-sqlite`));
    assert.deepEqual(names.map((entry) => entry.name), ["INBOX"]);
  });
});

Deno.test("SqliteStatus.apply() round-trips records as OfflineIMAP stores them", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    const store = await openSqliteStatus(path, { fsync: false, create: true });
    await store.apply({ set: [[1, ""], [2, "S"], [3, "FS"]] });
    await store.apply({ set: [[2, "RS"]], remove: [3] });
    await store.apply({});
    assert.deepEqual(await store.read(), new Map([[1, ""], [2, "RS"]]));
    await store.close();
    assert.deepEqual(query(path, "SELECT * FROM status ORDER BY id"), [
      { id: 1, flags: "", mtime: 0, labels: "" },
      { id: 2, flags: "RS", mtime: 0, labels: "" },
    ]);
    const again = await openSqliteStatus(path, { fsync: true, create: true });
    assert.deepEqual(await again.read(), new Map([[1, ""], [2, "RS"]]));
    await again.close();
  });
});

Deno.test("SqliteStatus.apply() keeps the Gmail mtime and labels of an updated row", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await (await openSqliteStatus(path, { fsync: true, create: true })).close();
    const db = new DatabaseSync(path);
    db.exec("INSERT INTO status VALUES (5, 'S', 1700000000, 'Work, Private')");
    db.close();
    const store = await openSqliteStatus(path, { fsync: true, create: true });
    await store.apply({ set: [[5, "FS"]] });
    await store.close();
    assert.deepEqual(query(path, "SELECT * FROM status"), [
      { id: 5, flags: "FS", mtime: 1700000000, labels: "Work, Private" },
    ]);
  });
});

Deno.test("SqliteStatus.apply() commits a batch atomically", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    const store = await openSqliteStatus(path, { fsync: true, create: true });
    await store.apply({ set: [[1, "S"]] });
    // A non-integer id fails inside the transaction, after the first row of the batch.
    await assert.rejects(
      store.apply({ set: [[2, "S"], ["x" as unknown as number, "S"]] }),
      FolderError,
    );
    assert.deepEqual(await store.read(), new Map([[1, "S"]]));
    await store.apply({ set: [[2, "F"]] }); // the failed batch left no transaction open
    assert.deepEqual(await store.read(), new Map([[1, "S"], [2, "F"]]));
    await store.close();
  });
});

Deno.test("openSqliteStatus() upgrades a version 1 database in place", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))");
    db.exec("INSERT INTO metadata VALUES('db_version', '1')");
    db.exec("CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50))");
    db.exec("INSERT INTO status VALUES (1, 'S'), (2, 'FS'), (3, NULL)");
    db.close();

    const dry = await openSqliteStatus(path, { fsync: true, create: false });
    assert.deepEqual(await dry.read(), new Map([[1, "S"], [2, "FS"], [3, ""]]));
    await dry.close();
    assert.deepEqual(query(path, "SELECT value FROM metadata"), [{ value: "1" }]);

    const store = await openSqliteStatus(path, { fsync: true, create: true });
    assert.deepEqual(await store.read(), new Map([[1, "S"], [2, "FS"], [3, ""]]));
    await store.apply({ set: [[4, "R"]] });
    await store.close();
    assert.deepEqual(query(path, "SELECT value FROM metadata"), [{ value: "2" }]);
    assert.deepEqual(query(path, "SELECT * FROM status ORDER BY id"), [
      { id: 1, flags: "S", mtime: 0, labels: "" },
      { id: 2, flags: "FS", mtime: 0, labels: "" },
      { id: 3, flags: null, mtime: 0, labels: "" },
      { id: 4, flags: "R", mtime: 0, labels: "" },
    ]);
  });
});

Deno.test("openSqliteStatus() refuses a corrupt file with a FolderError naming the path", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    const garbage = "this is not an SQLite database ".repeat(200);
    await Deno.writeTextFile(path, garbage);
    for (const create of [true, false]) {
      await assert.rejects(openSqliteStatus(path, { fsync: true, create }), (error) => {
        assert.ok(error instanceof FolderError);
        assert.match(error.message, new RegExp(`^Cannot use status database "${path}": `));
        assert.match(error.hint ?? "", /move ".*INBOX" away/);
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(path), garbage); // left untouched
  });
});

Deno.test("openSqliteStatus() refuses a database with an unknown layout or version", async () => {
  await withDir(async (dir) => {
    const cases: [string, RegExp][] = [
      [
        "CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50))",
        /table "metadata" is missing/,
      ],
      [
        "CREATE TABLE metadata (key, value); INSERT INTO metadata VALUES ('db_version', '3');" +
        "CREATE TABLE status (id INTEGER PRIMARY KEY, flags)",
        /unknown db_version "3"/,
      ],
      [
        "CREATE TABLE metadata (key, value); CREATE TABLE status (id INTEGER PRIMARY KEY, flags)",
        /no db_version/,
      ],
    ];
    for (const [index, [sql, message]] of cases.entries()) {
      const path = `${dir}/db${index}`;
      const db = new DatabaseSync(path);
      db.exec(sql);
      db.close();
      await assert.rejects(openSqliteStatus(path, { fsync: true, create: true }), message);
    }
  });
});

Deno.test("openSqliteStatus() without create writes nothing for a missing file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/Account-T/LocalStatus-sqlite/INBOX`;
    const store = await openSqliteStatus(path, { fsync: true, create: false });
    assert.deepEqual(await store.read(), new Map());
    await assert.rejects(store.apply({ set: [[1, "S"]] }), TypeError);
    await store.close();
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});

Deno.test("openSqliteStatus() without create reads an empty file as an empty status and leaves it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await Deno.writeTextFile(path, "");
    const store = await openSqliteStatus(path, { fsync: true, create: false });
    assert.deepEqual(await store.read(), new Map());
    await store.close();
    assert.equal((await Deno.stat(path)).size, 0);
  });
});

Deno.test("openSqliteStatus() gives an empty existing file the schema", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await Deno.writeTextFile(path, "");
    const store = await openSqliteStatus(path, { fsync: true, create: true });
    assert.deepEqual(await store.read(), new Map());
    await store.close();
    assert.deepEqual(query(path, "SELECT * FROM metadata"), [{ key: "db_version", value: "2" }]);
  });
});

Deno.test("openSqliteStatus() leaves no journal or WAL files after close", async () => {
  await withDir(async (dir) => {
    const store = await openSqliteStatus(`${dir}/INBOX`, { fsync: true, create: true });
    await store.apply({ set: [[1, "S"]] });
    await store.close();
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
    assert.deepEqual(names, ["INBOX"]);
  });
});

Deno.test("writeFolderValidity() writes decimal and newline that readFolderValidity() reads", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/Repository-R/FolderValidity/INBOX`;
    assert.equal(await readFolderValidity(path), undefined);
    await writeFolderValidity(path, 1795429238);
    assert.equal(await Deno.readTextFile(path), "1795429238\n");
    assert.equal((await Deno.stat(`${dir}/Repository-R`)).mode! & 0o777, 0o700);
    assert.equal(await readFolderValidity(path), 1795429238);
    await writeFolderValidity(path, 42);
    assert.equal(await readFolderValidity(path), 42);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${dir}/Repository-R/FolderValidity`))).map((e) =>
        e.name
      ),
      ["INBOX"],
    );
  });
});

Deno.test("readFolderValidity() reads the first line with white space around it", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/v`, "  123 \nignored\n");
    assert.equal(await readFolderValidity(`${dir}/v`), 123);
  });
});

Deno.test("readFolderValidity() refuses content that is not a number", async () => {
  await withDir(async (dir) => {
    for (const content of ["", "abc\n", "12x\n", "-5\n"]) {
      await Deno.writeTextFile(`${dir}/v`, content);
      await assert.rejects(readFolderValidity(`${dir}/v`), (error) => {
        assert.ok(error instanceof FolderError);
        assert.match(
          error.message,
          /^Cannot read UIDVALIDITY file ".*\/v": expected a decimal number/,
        );
        return true;
      });
    }
  });
});

/**
 * Leaves `path` as a program killed inside a transaction leaves it: rows 1 (S) and 2 (RS)
 * committed, and a hot journal for an unfinished transaction that added rows 3..3000 and
 * deleted row 1 (a tiny page cache makes SQLite write those pages into the file early).
 */
async function killInsideTransaction(path: string): Promise<void> {
  const script = `
    import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(path)});
    db.exec("CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))");
    db.exec("INSERT INTO metadata VALUES('db_version', '2')");
    db.exec("CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, labels VARCHAR(256))");
    db.exec("INSERT INTO status VALUES (1, 'S', 0, ''), (2, 'RS', 0, '')");
    db.exec("PRAGMA cache_size = 1");
    db.exec("BEGIN");
    const insert = db.prepare("INSERT INTO status VALUES (?, 'F', 0, '')");
    for (let uid = 3; uid <= 3000; uid++) insert.run(uid);
    db.exec("DELETE FROM status WHERE id = 1");
    Deno.exit(0);
  `;
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
  // The scenario itself: a plain read-only connection cannot read this file.
  const raw = new DatabaseSync(path, { readOnly: true });
  try {
    assert.throws(() => raw.prepare("SELECT id FROM status").all(), /readonly/);
  } finally {
    raw.close();
  }
}

Deno.test("openSqliteStatus() without create reads the committed rows past a hot journal and writes nothing", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await killInsideTransaction(path);
    const before = [await Deno.readFile(path), await Deno.readFile(`${path}-journal`)];
    const tempBefore = await Array.fromAsync(Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp"));

    const store = await openSqliteStatus(path, { fsync: true, create: false });
    assert.deepEqual(await store.read(), new Map([[1, "S"], [2, "RS"]]));
    await store.close();

    assert.deepEqual([await Deno.readFile(path), await Deno.readFile(`${path}-journal`)], before);
    const tempAfter = await Array.fromAsync(Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp"));
    assert.deepEqual(
      tempAfter.filter((entry) => entry.name.startsWith("offlineimap-ts-status-")),
      tempBefore.filter((entry) => entry.name.startsWith("offlineimap-ts-status-")),
      "the private copy is removed on close",
    );
    assert.deepEqual(
      await readSqliteRecords(path),
      new Map([[1, { flags: "S", mtime: 0, labels: "" }], [2, {
        flags: "RS",
        mtime: 0,
        labels: "",
      }]]),
    );
  });
});

Deno.test("openSqliteStatus() with create rolls a hot journal back and goes on", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await killInsideTransaction(path);
    const store = await openSqliteStatus(path, { fsync: true, create: true });
    assert.deepEqual(await store.read(), new Map([[1, "S"], [2, "RS"]]));
    await store.apply({ set: [[3, "F"]] });
    await store.close();
    assert.deepEqual(query(path, "SELECT id, flags FROM status ORDER BY id"), [
      { id: 1, flags: "S" },
      { id: 2, flags: "RS" },
      { id: 3, flags: "F" },
    ]);
  });
});
