import { maildirConfig } from "../_helpers/config.ts";
/**
 * Maildir options that change what lands on disk: `utime_from_header`,
 * `filename_use_mail_timestamp`, `restoreatime`, and the INBOX mapping.
 */

import assert from "node:assert/strict";
import type { MaildirRepositoryConfig } from "../../src/config/types.ts";
import type { MessageContent } from "../../src/repository/folder.ts";
import { MaildirRepository } from "../../src/repository/maildir.ts";

const encoder = new TextEncoder();
/** `Mon, 23 Nov 2026 10:00:00 +0100` as Python's mktime_tz(parsedate_tz()) reads it. */
const DATE = "Mon, 23 Nov 2026 10:00:00 +0100";
const DATE_SECS = 1795424400;
const OLD = new Date("2001-02-03T04:05:06Z");

function repository(
  root: string,
  config: Partial<MaildirRepositoryConfig> = {},
): MaildirRepository {
  return new MaildirRepository(maildirConfig(root, config), { fsync: true, hostname: "testhost" });
}

async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "maildir_options_test_" });
  try {
    await body(`${dir}/mail`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Content whose local form arrives in pieces of `chunk` bytes (headers split across reads). */
function contentOf(text: string, flags = "", chunk = 7): MessageContent {
  const bytes = encoder.encode(text);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunk) pieces.push(bytes.slice(at, at + chunk));
  return {
    ref: { uid: 1 },
    flags,
    networkSize: () => Promise.resolve(bytes.length),
    openNetwork: () => ReadableStream.from(pieces),
    openLocal: () => ReadableStream.from(pieces),
  };
}

async function onlyFile(dir: string): Promise<{ name: string; info: Deno.FileInfo }> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.equal(names.length, 1, `one file in ${dir}: ${names}`);
  return { name: names[0]!, info: await Deno.stat(`${dir}/${names[0]}`) };
}

function secondsOf(date: Date | null): number {
  return Math.floor(date!.getTime() / 1000);
}

Deno.test("MaildirFolder.storeMessage() with utime_from_header sets atime and mtime to Date:", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, { utimeFromHeader: true });
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    const received = "x".repeat(70);
    await folder.storeMessage(
      contentOf(`Received: ${received}\nDate: ${DATE}\nSubject: s\n\nDate: not this\n`),
      5,
    );
    await folder.flush?.();
    const { info } = await onlyFile(`${root}/INBOX/new`);
    assert.equal(secondsOf(info.mtime), DATE_SECS);
    assert.equal(secondsOf(info.atime), DATE_SECS);
  });
});

Deno.test("MaildirFolder.storeMessage() keeps the download time without a usable Date:", async () => {
  await withRoot(async (root) => {
    const before = Math.floor(Date.now() / 1000);
    const repo = repository(root, { utimeFromHeader: true });
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf("Subject: none\n\nbody\n", "S"), 1);
    await folder.flush?.();
    await folder.storeMessage(contentOf("Date: someday\n\nbody\n"), 2);
    await folder.flush?.();
    await folder.storeMessage(contentOf(`Subject: x\n\nDate: ${DATE}\n`, "F"), 3);
    await folder.flush?.();
    for (const sub of ["cur", "new"]) {
      for await (const entry of Deno.readDir(`${root}/INBOX/${sub}`)) {
        const mtime = secondsOf((await Deno.stat(`${root}/INBOX/${sub}/${entry.name}`)).mtime);
        assert.ok(mtime >= before && mtime <= Date.now() / 1000 + 1, entry.name);
      }
    }
  });
});

Deno.test("MaildirFolder.storeMessage() without utime_from_header keeps the download time", async () => {
  await withRoot(async (root) => {
    const before = Math.floor(Date.now() / 1000);
    const repo = repository(root);
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf(`Date: ${DATE}\n\nbody\n`), 1);
    await folder.flush?.();
    const { name, info } = await onlyFile(`${root}/INBOX/new`);
    assert.ok(secondsOf(info.mtime) >= before);
    assert.ok(Number(name.split("_")[0]) >= before, "name from the clock");
  });
});

Deno.test("MaildirFolder.storeMessage() with filename_use_mail_timestamp names the file after Date:", async () => {
  await withRoot(async (root) => {
    const repo = repository(root, { filenameUseMailTimestamp: true });
    await repo.createFolder("INBOX");
    const folder = await repo.openFolder("INBOX");
    await folder.storeMessage(contentOf(`Subject: s\r\nDate: ${DATE}\r\n\r\nbody\r\n`, "S"), 9);
    await folder.flush?.();
    const { name, info } = await onlyFile(`${root}/INBOX/cur`);
    assert.match(name, new RegExp(`^${DATE_SECS}_\\d+\\.${Deno.pid}\\.testhost,U=9,FMD5=`));
    assert.ok(secondsOf(info.mtime) > DATE_SECS, "the mtime stays the download time");
    const snapshot = await folder.readSnapshot();
    assert.deepEqual([...snapshot.messages.keys()], [9]);
  });
});

Deno.test("MaildirFolder.storeMessage() with filename_use_mail_timestamp falls back to Delivery-date:, then the clock", async () => {
  await withRoot(async (root) => {
    const before = Math.floor(Date.now() / 1000);
    const repo = repository(root, { filenameUseMailTimestamp: true, utimeFromHeader: true });
    await repo.createFolder("A");
    await repo.createFolder("B");
    const a = await repo.openFolder("A");
    await a.storeMessage(contentOf("Delivery-date: 1 Jan 2020 00:00:00 +0000\n\nx\n"), 1);
    await a.flush?.();
    const fromDelivery = await onlyFile(`${root}/A/new`);
    assert.match(fromDelivery.name, /^1577836800_\d+\./);
    assert.ok(secondsOf(fromDelivery.info.mtime) >= before, "utime reads only Date:");
    const b = await repo.openFolder("B");
    await b.storeMessage(contentOf("Subject: no date\n\nx\n"), 1);
    await b.flush?.();
    const fromClock = await onlyFile(`${root}/B/new`);
    assert.ok(Number(fromClock.name.split("_")[0]) >= before);
  });
});

Deno.test("MaildirRepository.restoreAtimes() puts back the atimes of new/ and cur/ and keeps mtimes", async () => {
  await withRoot(async (root) => {
    const setup = repository(root);
    await setup.createFolder("INBOX");
    await setup.createFolder("Sent");
    for (const dir of ["INBOX/new", "INBOX/cur", "Sent/new", "Sent/cur"]) {
      await Deno.utime(`${root}/${dir}`, OLD, OLD);
    }
    const repo = repository(root, { restoreAtime: true });
    assert.deepEqual((await repo.listFolders()).map((f) => f.name), ["INBOX", "Sent"]);
    const inbox = await repo.openFolder("INBOX");
    await inbox.storeMessage(contentOf("Subject: a\n\nb\n"), 1);
    await inbox.flush?.();
    await inbox.readSnapshot();
    // Whatever the mount's atime policy, a reader may have moved the atimes meanwhile.
    const later = new Date("2030-01-01T00:00:00Z");
    for (const dir of ["INBOX/new", "INBOX/cur", "Sent/cur"]) {
      const info = await Deno.stat(`${root}/${dir}`);
      await Deno.utime(`${root}/${dir}`, later, info.mtime!);
    }
    const newMtime = (await Deno.stat(`${root}/INBOX/new`)).mtime!;
    assert.ok(newMtime > OLD, "the delivery changed new/");

    await repo.restoreAtimes();
    for (const dir of ["INBOX/new", "INBOX/cur", "Sent/new", "Sent/cur"]) {
      const info = await Deno.stat(`${root}/${dir}`);
      assert.equal(info.atime!.getTime(), OLD.getTime(), `${dir} atime`);
    }
    assert.equal((await Deno.stat(`${root}/INBOX/new`)).mtime!.getTime(), newMtime.getTime());
    assert.equal((await Deno.stat(`${root}/INBOX/cur`)).mtime!.getTime(), OLD.getTime());

    // Each cycle records afresh: what close() restores is the state before the next listing.
    await Deno.utime(`${root}/Sent/new`, later, OLD);
    await repo.openFolder("Sent");
    await Deno.utime(`${root}/Sent/new`, OLD, OLD);
    await repo.close();
    assert.equal((await Deno.stat(`${root}/Sent/new`)).atime!.getTime(), later.getTime());
  });
});

Deno.test("MaildirRepository.restoreAtimes() changes nothing without restoreatime", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    await Deno.utime(`${root}/INBOX/new`, OLD, OLD);
    await repo.listFolders();
    await repo.openFolder("INBOX");
    const later = new Date("2030-01-01T00:00:00Z");
    await Deno.utime(`${root}/INBOX/new`, later, OLD);
    await repo.restoreAtimes();
    await repo.close();
    assert.equal((await Deno.stat(`${root}/INBOX/new`)).atime!.getTime(), later.getTime());
  });
});

Deno.test("MaildirRepository maps INBOX to the directory INBOX, not the root", async () => {
  await withRoot(async (root) => {
    const repo = repository(root);
    await repo.createFolder("INBOX");
    await repo.createFolder("INBOX.Sent");
    assert.ok((await Deno.stat(`${root}/INBOX/cur`)).isDirectory);
    assert.ok((await Deno.stat(`${root}/INBOX.Sent/cur`)).isDirectory);
    await assert.rejects(Deno.stat(`${root}/cur`), Deno.errors.NotFound);
    assert.deepEqual((await repo.listFolders()).map((f) => f.name), ["INBOX", "INBOX.Sent"]);
    const nested = repository(`${root}-nested`, { sep: "/" });
    await nested.createFolder("INBOX/Sent");
    assert.ok((await Deno.stat(`${root}-nested/INBOX/Sent/new`)).isDirectory);
    assert.deepEqual((await nested.listFolders()).map((f) => f.name), ["INBOX/Sent"]);
    await Deno.remove(`${root}-nested`, { recursive: true });
  });
});
