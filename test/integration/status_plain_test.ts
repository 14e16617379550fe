/**
 * The plain-text status on disk: OfflineIMAP's file format, the journal, crash recovery, and
 * the migrations between the plain and sqlite backends through openStatusStore().
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FolderError } from "../../src/errors.ts";
import { openPlainStatus } from "../../src/status/plain.ts";
import { openStatusStore, removeStatusStore, statusFiles } from "../../src/status/open.ts";
import { openSqliteStatus } from "../../src/status/sqlite.ts";

const MAGIC2 = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT 2";
const MAGIC1 = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT 1";
const PLAIN_MODULE = new URL("../../src/status/plain.ts", import.meta.url).href;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "status_plain_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

function mode(info: Deno.FileInfo): number {
  return info.mode! & 0o777;
}

function query(path: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

Deno.test("openStatusStore() with backend plain writes OfflineIMAP's format 2 file (0600, dirs 0700)", async () => {
  await withDir(async (meta) => {
    const store = await openStatusStore(meta, "Mail", "INBOX/Sub", {
      backend: "plain",
      fsync: true,
      create: true,
    });
    await store.apply({ set: [[3, "SF"], [1, ""], [2, "S"]] });
    await store.apply({ remove: [2], set: [[1, "R"]] });
    const files = statusFiles(meta, "Mail", "INBOX/Sub");
    assert.equal(files.plain, `${meta}/Account-Mail/LocalStatus/INBOX.Sub`);
    assert.ok(await exists(files.journal), "changes wait in the journal until close()");
    await store.close();
    assert.equal(await Deno.readTextFile(files.plain), `${MAGIC2}\n1|R|0|\n3|FS|0|\n`);
    assert.equal(await exists(files.journal), false, "journal removed after the file");
    assert.equal(mode(await Deno.stat(files.plain)), 0o600);
    assert.equal(mode(await Deno.stat(`${meta}/Account-Mail`)), 0o700);
    assert.equal(mode(await Deno.stat(`${meta}/Account-Mail/LocalStatus`)), 0o700);
    assert.deepEqual(await listDir(`${meta}/Account-Mail/LocalStatus`), ["INBOX.Sub"]);
    assert.deepEqual(await listDir(`${meta}/Account-Mail`), ["LocalStatus", "LocalStatus-journal"]);
    assert.equal(await exists(files.sqlite), false, "the sqlite backend is not touched");

    const again = await openStatusStore(meta, "Mail", "INBOX/Sub", {
      backend: "plain",
      fsync: false,
      create: true,
    });
    assert.deepEqual([...await again.read()], [[1, "R"], [3, "FS"]]);
    await again.close();
  });
});

Deno.test("openPlainStatus() keeps Gmail mtime and labels of records it updates", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await Deno.writeTextFile(path, `${MAGIC2}\n1|S|1700000000|b, a\n2||0|\n`);
    const store = await openPlainStatus(path, {
      fsync: false,
      create: true,
      journalPath: `${dir}/j`,
    });
    await store.apply({ set: [[1, "FS"], [4, "S"]] });
    await store.close();
    assert.equal(await Deno.readTextFile(path), `${MAGIC2}\n1|FS|1700000000|a, b\n2||0|\n4|S|0|\n`);
  });
});

Deno.test("openPlainStatus() upgrades a format 1 file to format 2 when it may write", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    await Deno.writeTextFile(path, `${MAGIC1}\n7:SR\n8:\n`);
    const readOnly = await openPlainStatus(path, {
      fsync: false,
      create: false,
      journalPath: `${dir}/j`,
    });
    assert.deepEqual([...await readOnly.read()], [[7, "RS"], [8, ""]]);
    await readOnly.close();
    assert.equal(await Deno.readTextFile(path), `${MAGIC1}\n7:SR\n8:\n`, "dry run: untouched");
    const store = await openPlainStatus(path, {
      fsync: true,
      create: true,
      journalPath: `${dir}/j`,
    });
    assert.equal(await Deno.readTextFile(path), `${MAGIC2}\n7|RS|0|\n8||0|\n`);
    await store.close();
  });
});

Deno.test("openPlainStatus() without create writes nothing and refuses apply()", async () => {
  await withDir(async (dir) => {
    const store = await openPlainStatus(`${dir}/s/INBOX`, {
      fsync: true,
      create: false,
      journalPath: `${dir}/j/INBOX`,
    });
    assert.equal((await store.read()).size, 0);
    await assert.rejects(store.apply({ set: [[1, "S"]] }), TypeError);
    await store.close();
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("openPlainStatus() refuses a corrupt file with the path and fix, and leaves it alone", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/INBOX`;
    const text = `${MAGIC2}\n1|S|0|\n2|S\n`;
    await Deno.writeTextFile(path, text);
    await assert.rejects(
      openPlainStatus(path, { fsync: true, create: true, journalPath: `${dir}/j` }),
      (error) => {
        assert.ok(error instanceof FolderError);
        assert.equal(error.message, `Cannot read status file "${path}": line 3 is corrupt: "2|S"`);
        assert.match(error.hint!, new RegExp(`move "${path}" away; the next sync rebuilds`));
        return true;
      },
    );
    await Deno.writeFile(`${dir}/Bad`, new Uint8Array([0xff, 0xfe, 0x0a]));
    await assert.rejects(
      openPlainStatus(`${dir}/Bad`, { fsync: true, create: true, journalPath: `${dir}/j` }),
      /Cannot read status file ".*\/Bad": it is not UTF-8 text/,
    );
    assert.equal(await Deno.readTextFile(path), text);
    assert.deepEqual(await listDir(dir), ["Bad", "INBOX"]);
  });
});

Deno.test("a plain status killed after apply() replays its journal at the next open", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/LocalStatus/INBOX`;
    const journalPath = `${dir}/LocalStatus-journal/INBOX`;
    await Deno.mkdir(`${dir}/LocalStatus`);
    await Deno.writeTextFile(path, `${MAGIC2}\n1||0|\n2|S|0|\n`);
    // A child applies two batches, says so, and is killed before close().
    const code = `
      import { openPlainStatus } from "${PLAIN_MODULE}";
      const store = await openPlainStatus(${JSON.stringify(path)}, {
        fsync: true, create: true, journalPath: ${JSON.stringify(journalPath)},
      });
      await store.apply({ set: [[3, "F"], [1, "S"]] });
      await store.apply({ remove: [2] });
      console.log("applied");
      await new Promise(() => setInterval(() => {}, 1000));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "-A", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value).trim(), "applied");
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    await child.status;
    assert.equal(await Deno.readTextFile(path), `${MAGIC2}\n1||0|\n2|S|0|\n`, "file not saved");

    // A torn block appended by the crash is ignored.
    await Deno.writeTextFile(journalPath, "+9|S\n=1 ", { append: true });
    const readOnly = await openPlainStatus(path, { fsync: true, create: false, journalPath });
    assert.deepEqual([...await readOnly.read()], [[1, "S"], [3, "F"]]);
    await readOnly.close();
    assert.ok(await exists(journalPath), "a dry run leaves the journal");

    const store = await openPlainStatus(path, { fsync: true, create: true, journalPath });
    assert.equal(await Deno.readTextFile(path), `${MAGIC2}\n1|S|0|\n3|F|0|\n`, "saved at open");
    assert.equal(await exists(journalPath), false);
    await store.apply({ set: [[4, ""]] });
    await store.close();
    assert.equal(await Deno.readTextFile(path), `${MAGIC2}\n1|S|0|\n3|F|0|\n4||0|\n`);
  });
});

Deno.test("openStatusStore() imports a plain cache into sqlite on the first sqlite run and keeps it", async () => {
  await withDir(async (meta) => {
    const files = statusFiles(meta, "Mail", "INBOX");
    await Deno.mkdir(`${meta}/Account-Mail/LocalStatus`, { recursive: true });
    const plain = `${MAGIC2}\n1||0|\n2|S|1700000000|Inbox, work\n`;
    await Deno.writeTextFile(files.plain, plain);

    const dry = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: true,
      create: false,
    });
    assert.deepEqual([...await dry.read()], [[1, ""], [2, "S"]], "a dry run reads the plain cache");
    await dry.close();
    assert.equal(await exists(files.sqlite), false, "and writes nothing");

    const store = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: true,
      create: true,
    });
    assert.deepEqual([...await store.read()], [[1, ""], [2, "S"]]);
    await store.apply({ set: [[3, "F"]] });
    await store.close();
    assert.deepEqual(query(files.sqlite, "SELECT * FROM status ORDER BY id"), [
      { id: 1, flags: "", mtime: 0, labels: "" },
      { id: 2, flags: "S", mtime: 1700000000, labels: "Inbox, work" },
      { id: 3, flags: "F", mtime: 0, labels: "" },
    ]);
    assert.deepEqual(query(files.sqlite, "SELECT * FROM metadata"), [
      { key: "db_version", value: "2" },
    ]);
    assert.equal(mode(await Deno.stat(files.sqlite)), 0o600);
    assert.equal(await Deno.readTextFile(files.plain), plain, "the plain cache stays as it was");
    assert.deepEqual(await listDir(`${meta}/Account-Mail/LocalStatus-sqlite`), ["INBOX"]);

    // Once the sqlite file exists, the plain file is never read again.
    await Deno.writeTextFile(files.plain, `${MAGIC2}\n99|S|0|\n`);
    const next = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: true,
      create: true,
    });
    assert.deepEqual([...(await next.read()).keys()], [1, 2, 3]);
    await next.close();
  });
});

Deno.test("openStatusStore() imports a journal left by a crashed plain run into sqlite", async () => {
  await withDir(async (meta) => {
    const files = statusFiles(meta, "Mail", "INBOX");
    const plain = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "plain",
      fsync: false,
      create: true,
    });
    await plain.close();
    const fileText = await Deno.readTextFile(files.plain);
    // What a killed plain run leaves: the old file and a journal holding one batch.
    const journal = await openPlainStatus(files.plain, {
      fsync: false,
      create: true,
      journalPath: files.journal,
    });
    await journal.apply({ set: [[5, "S"]] });
    const journalText = await Deno.readTextFile(files.journal);
    await journal.close();
    await Deno.writeTextFile(files.plain, fileText);
    await Deno.writeTextFile(files.journal, journalText);

    const store = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: true,
      create: true,
    });
    assert.deepEqual([...await store.read()], [[5, "S"]]);
    await store.close();
  });
});

Deno.test("openStatusStore() with backend plain imports an existing sqlite cache", async () => {
  await withDir(async (meta) => {
    const files = statusFiles(meta, "Mail", "INBOX");
    const sqlite = await openSqliteStatus(files.sqlite, { fsync: false, create: true });
    await sqlite.apply({ set: [[1, "S"], [2, "FR"]] });
    await sqlite.close();

    const dry = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "plain",
      fsync: true,
      create: false,
    });
    assert.deepEqual([...await dry.read()], [[1, "S"], [2, "FR"]]);
    await dry.close();
    assert.equal(await exists(files.plain), false);

    const store = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "plain",
      fsync: true,
      create: true,
    });
    assert.deepEqual([...await store.read()], [[1, "S"], [2, "FR"]]);
    await store.close();
    assert.equal(await Deno.readTextFile(files.plain), `${MAGIC2}\n1|S|0|\n2|FR|0|\n`);
    assert.ok(await exists(files.sqlite), "the sqlite cache stays");
  });
});

Deno.test("removeStatusStore() removes the files of both backends, so nothing is imported back", async () => {
  await withDir(async (meta) => {
    const files = statusFiles(meta, "Mail", "INBOX");
    const plain = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "plain",
      fsync: false,
      create: true,
    });
    await plain.apply({ set: [[1, "S"]] });
    await plain.close();
    const sqlite = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: false,
      create: true,
    });
    await sqlite.close();
    await removeStatusStore(meta, "Mail", "INBOX");
    for (const path of [files.plain, files.journal, files.sqlite]) {
      assert.equal(await exists(path), false, path);
    }
    const fresh = await openStatusStore(meta, "Mail", "INBOX", {
      backend: "sqlite",
      fsync: false,
      create: true,
    });
    assert.equal((await fresh.read()).size, 0);
    await fresh.close();
    await removeStatusStore(meta, "Mail", "Other"); // nothing there: no error
  });
});
