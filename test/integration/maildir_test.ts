import { maildirConfig } from "../_helpers/config.ts";
import assert from "node:assert/strict";
import type { MaildirRepositoryConfig } from "../../src/config/types.ts";
import { FolderError, MessageError } from "../../src/errors.ts";
import type { MessageContent, MessageRef } from "../../src/repository/folder.ts";
import {
  type MaildirOptions,
  MaildirRepository,
  STAMP_SETTLE_MS,
  unsafeFolderNameReason,
} from "../../src/repository/maildir.ts";
import { folderMd5 } from "../../src/repository/maildir_name.ts";

const INBOX_MD5 = folderMd5("INBOX");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const configFor = maildirConfig;

async function withRoot(
  body: (root: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "maildir_test_" });
  try {
    await body(`${dir}/mail`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function repository(
  root: string,
  options: Partial<MaildirOptions> = {},
  config: Partial<MaildirRepositoryConfig> = {},
): MaildirRepository {
  return new MaildirRepository(configFor(root, config), {
    fsync: true,
    hostname: "testhost",
    ...options,
  });
}

/** A message whose local form is `text`, as an IMAP source would hand it over. */
function contentOf(text: string, flags = "", ref: MessageRef = { uid: 1 }): MessageContent {
  return {
    ref,
    flags,
    networkSize: () => Promise.resolve(encoder.encode(text.replaceAll("\n", "\r\n")).length),
    openNetwork: () => ReadableStream.from([encoder.encode(text.replaceAll("\n", "\r\n"))]),
    openLocal: () =>
      ReadableStream.from([encoder.encode(text.slice(0, 3)), encoder.encode(text.slice(3))]),
  };
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

async function makeMaildir(path: string): Promise<void> {
  for (const sub of ["cur", "new", "tmp"]) await Deno.mkdir(`${path}/${sub}`, { recursive: true });
}

Deno.test("MaildirRepository.createFolder() creates root, folder, cur, new and tmp with mode 0700", async () => {
  await withRoot(async (root) => {
    const repo = repository(`${root}/deep`);
    await repo.createFolder("INBOX.Sent");
    for (
      const path of ["", "/INBOX.Sent", "/INBOX.Sent/cur", "/INBOX.Sent/new", "/INBOX.Sent/tmp"]
    ) {
      const info = await Deno.stat(`${root}/deep${path}`);
      assert.ok(info.isDirectory, path);
      assert.equal(info.mode! & 0o777, 0o700, path);
    }
    await repo.createFolder("INBOX.Sent"); // an existing folder is fine
  });
});

Deno.test("MaildirRepository.listFolders() with sep '.' lists only direct children and the root", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    assert.deepEqual(await repo.listFolders(), []); // creates the missing root
    assert.ok((await Deno.stat(root)).isDirectory);
    await makeMaildir(`${root}/INBOX`);
    await makeMaildir(`${root}/Archive.2020`);
    await makeMaildir(`${root}/.Sent`);
    await makeMaildir(`${root}/Nested/Child`); // not scanned with sep "."
    await Deno.mkdir(`${root}/Incomplete/cur`, { recursive: true });
    await Deno.writeTextFile(`${root}/file`, "");
    await makeMaildir(`${root}/elsewhere`);
    await Deno.symlink(`${root}/elsewhere`, `${root}/Linked`);
    await Deno.symlink(`${root}/Loop`, `${root}/Loop`);
    await Deno.symlink(`${root}/missing`, `${root}/Dangling`);
    assert.deepEqual((await repo.listFolders()).map((f) => f.name), [
      ".Sent",
      "Archive.2020",
      "INBOX",
      "Linked",
      "elsewhere",
    ]);
    await makeMaildir(root);
    assert.ok((await repo.listFolders()).some((f) => f.name === ""));
  });
});

Deno.test("MaildirRepository.listFolders() with sep '/' walks the tree and survives link loops", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, {}, { sep: "/" });
    await repo.createFolder("INBOX");
    await repo.createFolder("Archive/2020");
    await repo.createFolder("Archive/2020/Q1");
    await Deno.symlink(root, `${root}/Archive/loop`);
    assert.deepEqual((await repo.listFolders()).map((f) => f.name), [
      "Archive/2020",
      "Archive/2020/Q1",
      "INBOX",
    ]);
  });
});

Deno.test("MaildirRepository.createFolder() refuses unsafe names and creates nothing", async () => {
  await withRoot(async (root) => {
    const slash = repository(root, {}, { sep: "/" });
    const unsafe = [
      "/etc",
      "../outside",
      "a/../../b",
      "a/./b",
      "./a",
      "..",
      "a//b",
      "a/",
      "nul\0byte",
      "line\nbreak",
      "del\x7f",
      "INBOX/cur",
      "new",
      "x/tmp/y",
    ];
    for (const name of unsafe) {
      assert.notEqual(unsafeFolderNameReason(name), undefined, name);
      await assert.rejects(slash.createFolder(name), FolderError, name);
      await assert.rejects(slash.openFolder(name), FolderError, name);
    }
    await assert.rejects(repository(root).createFolder("../x"), /Refusing folder name "\.\.\/x"/);
    await assert.rejects(Deno.stat(root), Deno.errors.NotFound);
    for (const name of ["", "INBOX", ".Sent", "a..b", "G&AOQ-ste", "Gäste", "a/b.c"]) {
      assert.equal(unsafeFolderNameReason(name), undefined, name);
    }
  });
});

Deno.test("MaildirRepository.createFolder() takes '.' as the root folder (Maildir++ recipe)", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder(".");
    await repo.createFolder(".Drafts");
    assert.deepEqual(await listDir(root), [".Drafts", "cur", "new", "tmp"]);
    assert.deepEqual((await repo.listFolders()).map((f) => f.name), ["", ".Drafts"]);
    const folder = await repo.openFolder(".");
    assert.equal(folder.fmd5, folderMd5("."));
    await folder.storeMessage(contentOf("x\n"), 1);
    await folder.flush?.();
    assert.equal((await listDir(`${root}/new`)).length, 1);
  });
});

Deno.test("MaildirRepository.openFolder() refuses a folder without cur, new or tmp", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await Deno.mkdir(`${root}/INBOX/cur`, { recursive: true });
    await Deno.mkdir(`${root}/INBOX/new`);
    await assert.rejects(repo.openFolder("INBOX"), /is not a Maildir/);
    await assert.rejects(repo.openFolder("Missing"), FolderError);
  });
});

Deno.test("MaildirFolder.storeMessage() writes via tmp/ into new/ or cur/ with OfflineIMAP's name", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    assert.deepEqual(await folder.storeMessage(contentOf("Subject: a\n\nbody\n"), 7), { uid: 7 });
    await folder.flush?.();
    assert.deepEqual(await folder.storeMessage(contentOf("Subject: b\n\n", "SF"), 8), { uid: 8 });
    await folder.flush?.();
    const fresh = await listDir(`${root}/INBOX/new`);
    const seen = await listDir(`${root}/INBOX/cur`);
    assert.equal(fresh.length, 1);
    assert.equal(seen.length, 1);
    assert.match(
      fresh[0]!,
      new RegExp(`^\\d+_\\d+\\.${Deno.pid}\\.testhost,U=7,FMD5=${INBOX_MD5}:2,$`),
    );
    assert.match(seen[0]!, new RegExp(`,U=8,FMD5=${INBOX_MD5}:2,FS$`));
    // The next download's file is made ahead in tmp/, empty; close() removes it.
    const [spare, ...more] = await listDir(`${root}/INBOX/tmp`);
    assert.deepEqual(more, []);
    assert.equal((await Deno.stat(`${root}/INBOX/tmp/${spare}`)).size, 0);
    await folder.close();
    assert.deepEqual(await listDir(`${root}/INBOX/tmp`), []);
    assert.equal(await Deno.readTextFile(`${root}/INBOX/new/${fresh[0]}`), "Subject: a\n\nbody\n");

    // Permission 0666 minus umask, as OfflineIMAP (compare with a file made the same way).
    const probe = await Deno.open(`${root}/probe`, { write: true, createNew: true, mode: 0o666 });
    probe.close();
    const expected = (await Deno.stat(`${root}/probe`)).mode! & 0o777;
    assert.equal((await Deno.stat(`${root}/INBOX/new/${fresh[0]}`)).mode! & 0o777, expected);

    const snapshot = await folder.readSnapshot();
    assert.equal(snapshot.uidValidity, 42);
    assert.deepEqual([...snapshot.messages.values()], [
      { uid: 7, flags: "" },
      { uid: 8, flags: "FS" },
    ]);
    assert.deepEqual(snapshot.unassigned, []);
  });
});

Deno.test("MaildirFolder.storeMessage() uses FMD5 of the name through the local nametrans", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, {}, { nametrans: (name) => `Work.${name}` });
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    assert.equal(folder.fmd5, folderMd5("Work.INBOX"));
    await folder.storeMessage(contentOf("x\n"), 3);
    await folder.flush?.();
    const [name] = await listDir(`${root}/INBOX/new`);
    assert.ok(name!.includes(`,U=3,FMD5=${folderMd5("Work.INBOX")}:2,`));
  });
});

Deno.test("MaildirFolder.storeMessage() with maildir-windows-compatible writes !2,", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, { infoSep: "!" });
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf("x\n", "S"), 4);
    await folder.flush?.();
    const [name] = await listDir(`${root}/INBOX/cur`);
    assert.match(name!, /,U=4,FMD5=[0-9a-f]{32}!2,S$/);
    assert.deepEqual([...(await folder.readSnapshot()).messages.keys()], [4]);
  });
});

Deno.test("MaildirFolder.storeMessage() removes its tmp/ file when the source stream fails", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    const failing: MessageContent = {
      ...contentOf(""),
      openLocal: () =>
        new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode("partial"));
            controller.error(new Error("connection lost"));
          },
        }),
    };
    await assert.rejects(folder.storeMessage(failing, 1), /connection lost/);
    await folder.close(); // removes the file made ahead for the next message
    for (const sub of ["tmp", "new", "cur"]) {
      assert.deepEqual(await listDir(`${root}/INBOX/${sub}`), []);
    }
  });
});

Deno.test("MaildirFolder.flush() reports a missing cur/ as a MessageError naming the path", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await Deno.remove(`${root}/INBOX/cur`);
    // The rename runs on after storeMessage() returns; flush() reports its failure.
    await folder.storeMessage(contentOf("x\n", "S"), 1);
    await assert.rejects(folder.flush!(), (error) => {
      assert.ok(error instanceof MessageError);
      assert.match(error.message, /Cannot move ".*\/INBOX\/tmp\/.*" into cur\/ in folder "INBOX"/);
      return true;
    });
    await folder.close(); // removes the file made ahead for the next message
    assert.deepEqual(await listDir(`${root}/INBOX/tmp`), []);
  });
});

Deno.test("MaildirFolder.readSnapshot() lists foreign files as unassigned and hides duplicates", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const other = folderMd5("Sent");
    const files: [string, string][] = [
      ["new", "1700000001.M2P2.host"], // delivered by an MDA
      ["cur", "1700000002.M3P3.host:2,RS"], // mutt
      ["cur", "1700000003.R1.host,U=77:2,S"], // mbsync
      ["cur", `1_0.1.vm,U=5,FMD5=${other}:2,F`], // moved in from Sent
      ["new", `1_1.1.vm,U=9,FMD5=${INBOX_MD5}:2,`],
      ["cur", `1_2.1.vm,U=9,FMD5=${INBOX_MD5}:2,S`], // same UID, scanned last: wins
      ["cur", `1_3.1.vm,U=10,FMD5=${INBOX_MD5}:1,S`],
      ["cur", ".hidden:2,S"],
    ];
    for (const [sub, name] of files) {
      await Deno.writeTextFile(`${root}/INBOX/${sub}/${name}`, "x\n");
    }
    await Deno.mkdir(`${root}/INBOX/cur/subdir`);
    const folder = await repo.openFolder("INBOX");
    const snapshot = await folder.readSnapshot();
    assert.deepEqual([...snapshot.messages.values()].sort((a, b) => a.uid - b.uid), [
      { uid: 9, flags: "S" },
      { uid: 10, flags: "" },
    ]);
    assert.deepEqual(
      [...snapshot.unassigned].sort((a, b) => a.key < b.key ? -1 : 1),
      [
        { key: "1700000001.M2P2.host", flags: "" },
        { key: "1700000002.M3P3.host", flags: "RS" },
        { key: "1700000003.R1.host,U=77", flags: "S" },
        { key: `1_0.1.vm,U=5,FMD5=${other}`, flags: "F" },
      ],
    );
    assert.deepEqual(folder.hiddenDuplicates, [`new/1_1.1.vm,U=9,FMD5=${INBOX_MD5}:2,`]);
  });
});

Deno.test("MaildirFolder.readSnapshot() gives distinct keys to files sharing a unique part", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    await Deno.writeTextFile(`${root}/INBOX/new/dup:2,`, "a\n");
    await Deno.writeTextFile(`${root}/INBOX/cur/dup:2,S`, "b\n");
    const folder = await repo.openFolder("INBOX");
    const keys = (await folder.readSnapshot()).unassigned.map((m) => m.key);
    assert.deepEqual(keys, ["dup", "cur/dup:2,S"]);
    const read: string[] = [];
    await folder.readMessages(keys.map((key) => ({ key })), async (content) => {
      read.push(await new Response(content.openLocal()).text());
    });
    assert.deepEqual(read, ["a\n", "b\n"]);
  });
});

Deno.test("MaildirFolder.readSnapshot() with maxsize leaves out bigger files and reports sizes", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, { maxSize: 5 });
    await repo.createFolder("INBOX");
    await Deno.writeTextFile(`${root}/INBOX/cur/a,U=1,FMD5=${INBOX_MD5}:2,S`, "12345");
    await Deno.writeTextFile(`${root}/INBOX/cur/b,U=2,FMD5=${INBOX_MD5}:2,S`, "123456");
    const snapshot = await (await repo.openFolder("INBOX")).readSnapshot();
    assert.deepEqual([...snapshot.messages.values()], [{ uid: 1, flags: "S", size: 5 }]);
  });
});

Deno.test("MaildirFolder.changeFlags() renames files and moves them between new/ and cur/", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf("x\n"), 1);
    await folder.flush?.();
    await folder.storeMessage(contentOf("y\n", "S"), 2);
    await folder.flush?.();
    await folder.readSnapshot();
    const [before] = await listDir(`${root}/INBOX/new`);

    await folder.changeFlags([1], "SF", "");
    assert.deepEqual(await listDir(`${root}/INBOX/new`), []);
    const seen = await listDir(`${root}/INBOX/cur`);
    assert.ok(seen.includes(before!.replace(/:2,$/, ":2,FS")), seen.join());

    await folder.changeFlags([1, 2], "", "S");
    assert.deepEqual(await listDir(`${root}/INBOX/cur`), []);
    const fresh = await listDir(`${root}/INBOX/new`);
    assert.ok(fresh.includes(before!.replace(/:2,$/, ":2,F")), fresh.join());
    assert.equal(fresh.length, 2);

    const snapshot = await folder.readSnapshot();
    assert.deepEqual(snapshot.messages.get(1), { uid: 1, flags: "F" });
    assert.deepEqual(snapshot.messages.get(2), { uid: 2, flags: "" });
    await folder.changeFlags([3], "S", ""); // unknown UID: nothing to do
  });
});

Deno.test("MaildirFolder.changeFlags() finds a file a mail reader renamed meanwhile", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const name = `1_0.1.vm,U=4,FMD5=${INBOX_MD5}`;
    await Deno.writeTextFile(`${root}/INBOX/new/${name}:2,`, "x\n");
    const folder = await repo.openFolder("INBOX");
    await folder.readSnapshot();
    await Deno.rename(`${root}/INBOX/new/${name}:2,`, `${root}/INBOX/cur/${name}:2,RS`);
    await folder.changeFlags([4], "F", "");
    assert.deepEqual(await listDir(`${root}/INBOX/cur`), [`${name}:2,FRS`]);
  });
});

Deno.test("MaildirFolder.changeFlags() without a snapshot scans the folder first", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const name = `1_0.1.vm,U=4,FMD5=${INBOX_MD5}`;
    await Deno.writeTextFile(`${root}/INBOX/cur/${name}:2,S`, "x\n");
    const folder = await repo.openFolder("INBOX");
    await folder.changeFlags([4], "R", "");
    assert.deepEqual(await listDir(`${root}/INBOX/cur`), [`${name}:2,RS`]);
  });
});

Deno.test("MaildirFolder.assignUid() gives a foreign file a fresh name in the same subdirectory", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    await Deno.writeTextFile(`${root}/INBOX/new/1700000001.M2P2.host`, "mutt\n");
    await Deno.writeTextFile(`${root}/INBOX/cur/1700000002.M3P3.host:2,RS`, "seen\n");
    const folder = await repo.openFolder("INBOX");
    const snapshot = await folder.readSnapshot();
    assert.equal(snapshot.unassigned.length, 2);
    await folder.assignUid({ key: "1700000001.M2P2.host" }, 6);
    await folder.assignUid({ key: "1700000002.M3P3.host" }, 7);
    const [fresh] = await listDir(`${root}/INBOX/new`);
    const [seen] = await listDir(`${root}/INBOX/cur`);
    assert.match(fresh!, new RegExp(`^\\d+_\\d+\\.\\d+\\.testhost,U=6,FMD5=${INBOX_MD5}:2,$`));
    assert.match(seen!, new RegExp(`,U=7,FMD5=${INBOX_MD5}:2,RS$`));
    assert.equal(await Deno.readTextFile(`${root}/INBOX/new/${fresh}`), "mutt\n");

    const after = await folder.readSnapshot();
    assert.deepEqual(after.unassigned, []);
    assert.deepEqual([...after.messages.keys()].sort(), [6, 7]);
    // The index follows the rename: flags of the new UID can be changed at once.
    await folder.changeFlags([6], "S", "");
    assert.equal((await listDir(`${root}/INBOX/cur`)).length, 2);
  });
});

Deno.test("MaildirFolder.assignUid() throws a MessageError when the file is gone", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    await Deno.writeTextFile(`${root}/INBOX/new/foreign`, "x\n");
    const folder = await repo.openFolder("INBOX");
    await folder.readSnapshot();
    await Deno.remove(`${root}/INBOX/new/foreign`);
    await assert.rejects(folder.assignUid({ key: "foreign" }, 3), MessageError);
  });
});

Deno.test("MaildirFolder.deleteMessages() unlinks files and accepts files already gone", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    for (const uid of [1, 2, 3]) await folder.storeMessage(contentOf(`${uid}\n`, "S"), uid);
    await folder.flush?.();
    await folder.readSnapshot();
    const [first] = await listDir(`${root}/INBOX/cur`);
    await Deno.remove(`${root}/INBOX/cur/${first}`);
    await folder.deleteMessages([1, 2, 99]);
    assert.deepEqual([...(await folder.readSnapshot()).messages.keys()], [3]);
  });
});

Deno.test("MaildirFolder.readMessages() streams local and network forms with mtime and size", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const text = "Subject: hi\n\nline1\r\nline2\n";
    const name = `1_0.1.vm,U=5,FMD5=${INBOX_MD5}:2,FS`;
    await Deno.writeTextFile(`${root}/INBOX/cur/${name}`, text);
    const mtime = new Date("2021-03-04T05:06:07Z");
    await Deno.utime(`${root}/INBOX/cur/${name}`, mtime, mtime);
    const folder = await repo.openFolder("INBOX");
    await folder.readSnapshot();

    const seen: unknown[] = [];
    const vanished = await folder.readMessages([{ uid: 5 }, { uid: 6 }], async (content) => {
      const size = await content.networkSize();
      const network = await new Response(content.openNetwork()).text();
      seen.push({
        ref: content.ref,
        flags: content.flags,
        date: content.internalDate,
        size,
        network,
      });
    });
    const network = "Subject: hi\r\n\r\nline1\r\nline2\r\n";
    assert.deepEqual(seen, [{
      ref: { uid: 5 },
      flags: "FS",
      date: mtime,
      size: encoder.encode(network).length,
      network,
    }]);
    assert.deepEqual(vanished, [{ uid: 6 }]);

    await folder.readMessages([{ uid: 5 }], async (content) => {
      assert.equal(decoder.decode(await new Response(content.openLocal()).bytes()), text);
      assert.throws(() => content.openNetwork(), TypeError);
    });
  });
});

Deno.test("MaildirFolder.readMessages() closes the file when the handler skips the content", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf("x\n"), 1);
    await folder.flush?.();
    let called = 0;
    await folder.readMessages([{ uid: 1 }], () => {
      called++;
      return Promise.resolve();
    });
    assert.equal(called, 1); // the sanitizer fails the test if the file stayed open
  });
});

Deno.test("MaildirRepository.openFolder() removes tmp/ files older than 36 hours", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const old = new Date(Date.now() - 37 * 3600 * 1000);
    const recent = new Date(Date.now() - 35 * 3600 * 1000);
    await Deno.writeTextFile(`${root}/INBOX/tmp/old`, "debris");
    await Deno.utime(`${root}/INBOX/tmp/old`, old, old);
    await Deno.writeTextFile(`${root}/INBOX/tmp/recent`, "in progress");
    await Deno.utime(`${root}/INBOX/tmp/recent`, recent, recent);
    const folder = await repo.openFolder("INBOX");
    assert.deepEqual(await listDir(`${root}/INBOX/tmp`), ["recent"]);
    assert.deepEqual(folder.removedTmpFiles, [`${root}/INBOX/tmp/old`]);
  });
});

Deno.test("MaildirRepository in a dry run creates, writes and removes nothing", async () => {
  await withRoot(async (root) => {
    const dry = repository(root, { dryRun: true });
    assert.deepEqual(await dry.listFolders(), []);
    await dry.createFolder("INBOX");
    const created = await dry.openFolder("INBOX");
    assert.equal((await created.readSnapshot()).messages.size, 0);
    await assert.rejects(Deno.stat(root), Deno.errors.NotFound);

    const real = repository(root);
    await real.createFolder("INBOX");
    await Deno.writeTextFile(`${root}/INBOX/new/foreign`, "x\n");
    await Deno.writeTextFile(`${root}/INBOX/cur/a,U=1,FMD5=${INBOX_MD5}:2,S`, "x\n");
    const old = new Date(Date.now() - 40 * 3600 * 1000);
    await Deno.writeTextFile(`${root}/INBOX/tmp/old`, "debris");
    await Deno.utime(`${root}/INBOX/tmp/old`, old, old);

    const folder = await dry.openFolder("INBOX");
    await folder.readSnapshot();
    assert.deepEqual(await folder.storeMessage(contentOf("y\n"), 2), { uid: 2 });
    await folder.flush?.();
    await folder.assignUid({ key: "foreign" }, 3);
    await folder.changeFlags([1], "F", "S");
    await folder.deleteMessages([1]);
    assert.deepEqual(await listDir(`${root}/INBOX/new`), ["foreign"]);
    assert.deepEqual(await listDir(`${root}/INBOX/cur`), [`a,U=1,FMD5=${INBOX_MD5}:2,S`]);
    assert.deepEqual(await listDir(`${root}/INBOX/tmp`), ["old"]);
  });
});

Deno.test("MaildirRepository.folderStamp() vouches for a folder only once its last change settled", async () => {
  await withRoot(async (root) => {
    await repository(root).createFolder("INBOX");
    // Just created: the clock says now, so the change is too recent to be trusted.
    assert.equal(await repository(root).folderStamp("INBOX"), undefined);
    const later = () => Date.now() + STAMP_SETTLE_MS + 1000;
    const stamp = await repository(root, { now: later }).folderStamp("INBOX");
    assert.ok(stamp, "a settled folder has a stamp");
    assert.equal(await repository(root, { now: later }).folderStamp("INBOX"), stamp, "stable");
  });
});

Deno.test("MaildirRepository.folderStamp() moves with every file added, renamed or removed", async () => {
  await withRoot(async (root) => {
    await repository(root).createFolder("INBOX");
    let clock = Date.now() + STAMP_SETTLE_MS + 1000;
    const repo = repository(root, { now: () => clock });
    const seen = new Set<string>();
    const step = async (what: string, change: () => Promise<void>) => {
      // Past the file system's timestamp granularity, then settled again.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await change();
      clock = Date.now() + STAMP_SETTLE_MS + 1000;
      const stamp = await repo.folderStamp("INBOX");
      assert.ok(stamp, `${what}: a stamp`);
      assert.ok(!seen.has(stamp), `${what}: a new stamp`);
      seen.add(stamp);
    };
    await step("empty", () => Promise.resolve());
    const file = `${root}/INBOX/new/1700000000.M1P1.host,U=1,FMD5=${INBOX_MD5}`;
    await step("added to new/", () => Deno.writeTextFile(file, "x"));
    await step("moved to cur/", () => Deno.rename(file, `${file.replace("/new/", "/cur/")}:2,S`));
    await step(
      "renamed in cur/",
      () =>
        Deno.rename(
          `${file.replace("/new/", "/cur/")}:2,S`,
          `${file.replace("/new/", "/cur/")}:2,FS`,
        ),
    );
    await step("removed", () => Deno.remove(`${file.replace("/new/", "/cur/")}:2,FS`));
  });
});

Deno.test("MaildirRepository.folderStamp() gives none with files in tmp/, maxsize or a missing folder", async () => {
  await withRoot(async (root) => {
    await repository(root).createFolder("INBOX");
    const later = () => Date.now() + STAMP_SETTLE_MS + 1000;
    await Deno.writeTextFile(`${root}/INBOX/tmp/delivery`, "x");
    assert.equal(await repository(root, { now: later }).folderStamp("INBOX"), undefined, "tmp/");
    await Deno.remove(`${root}/INBOX/tmp/delivery`);
    assert.ok(await repository(root, { now: later }).folderStamp("INBOX"), "tmp/ empty again");
    assert.equal(
      await repository(root, { now: later, maxSize: 1000 }).folderStamp("INBOX"),
      undefined,
      "maxsize",
    );
    assert.equal(await repository(root, { now: later }).folderStamp("Gone"), undefined, "missing");
    assert.equal(await repository(root, { now: later }).folderStamp("../x"), undefined, "unsafe");
  });
});
