import assert from "node:assert/strict";
import {
  mbnamesCachePath,
  parseMbnamesItems,
  pruneMbnames,
  readAllMbnames,
  renderMbnames,
  serializeMbnamesItems,
  writeAccountMbnames,
  writeMbnamesFile,
} from "../../../src/mbnames.ts";
import type { MbnamesConfig, MbnamesItem } from "../../../src/config/types.ts";
import { ConfigError } from "../../../src/errors.ts";

function mutt(filename: string, patch: Partial<MbnamesConfig> = {}): MbnamesConfig {
  return {
    filename,
    header: "mailboxes ",
    sep: " ",
    footer: "\n",
    peritem: '"+%(accountname)s/%(foldername)s"',
    incremental: false,
    folderFilter: () => true,
    compare: (a, b) =>
      a.accountname < b.accountname ? -1 : a.accountname > b.accountname ? 1 : a.foldername <
          b.foldername
        ? -1
        : a.foldername > b.foldername
        ? 1
        : 0,
    ...patch,
  };
}

const item = (accountname: string, foldername: string): MbnamesItem => ({
  accountname,
  foldername,
  localfolders: "~/Mail",
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "oimap-mbnames-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serializeMbnamesItems() writes what Python's json.dump writes", () => {
  assert.equal(
    serializeMbnamesItems([item("T", "INBOX"), item("T", "G\u00e4ste")]),
    '[{"accountname": "T", "foldername": "INBOX", "localfolders": "~/Mail"}, ' +
      '{"accountname": "T", "foldername": "G\\u00e4ste", "localfolders": "~/Mail"}]',
  );
  assert.equal(serializeMbnamesItems([]), "[]");
});

Deno.test("parseMbnamesItems() reads OfflineIMAP's cache and rejects anything else", () => {
  const text = '[{"accountname": "T", "foldername": "G\\u00e4ste", "localfolders": "~/Mail"}]';
  assert.deepEqual(parseMbnamesItems(text, "/c"), [item("T", "G\u00e4ste")]);
  for (const bad of ["{", '{"a": 1}', '[{"accountname": "T"}]']) {
    assert.throws(() => parseMbnamesItems(bad, "/c"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Cannot read mbnames cache "\/c": /);
      return true;
    });
  }
});

Deno.test("renderMbnames() gives header, sorted filtered items joined by sep, footer", () => {
  const items = [item("Work", "Sent"), item("Home", "INBOX"), item("Work", "INBOX")];
  assert.equal(
    renderMbnames(mutt("/m"), items),
    'mailboxes "+Home/INBOX" "+Work/INBOX" "+Work/Sent"\n',
  );
  assert.equal(
    renderMbnames(
      mutt("/m", {
        folderFilter: (_account, folder) => folder !== "Sent",
        peritem: "=%(foldername)s (%(localfolders)s) 100%%",
        sep: ", ",
      }),
      items,
    ),
    "mailboxes =INBOX (~/Mail) 100%, =INBOX (~/Mail) 100%\n",
  );
  assert.throws(
    () => renderMbnames(mutt("/m", { peritem: "%(nope)s" }), items),
    /^ConfigError: Cannot use option "peritem" in section "mbnames": /,
  );
});

Deno.test("writeAccountMbnames() and writeMbnamesFile() build the file from every cache", async () => {
  await withTempDir(async (dir) => {
    const meta = `${dir}/meta`;
    await writeAccountMbnames(meta, "Work", "~/Mail/work", ["INBOX", "Sent"]);
    await writeAccountMbnames(meta, "Home", "~/Mail/home", ["INBOX"]);
    assert.equal(
      await Deno.readTextFile(mbnamesCachePath(meta, "Home")),
      '[{"accountname": "Home", "foldername": "INBOX", "localfolders": "~/Mail/home"}]',
    );
    assert.equal((await Deno.stat(`${meta}/mbnames`)).mode! & 0o777, 0o755 & ~Deno.umask());
    assert.equal((await readAllMbnames(meta)).length, 3);
    await writeMbnamesFile(meta, mutt(`${dir}/mailboxes`));
    assert.equal(
      await Deno.readTextFile(`${dir}/mailboxes`),
      'mailboxes "+Home/INBOX" "+Work/INBOX" "+Work/Sent"\n',
    );
  });
});

Deno.test("the mbnames writers write nothing in a dry run", async () => {
  await withTempDir(async (dir) => {
    await writeAccountMbnames(`${dir}/meta`, "Work", "~/M", ["INBOX"], { dryRun: true });
    await writeMbnamesFile(`${dir}/meta`, mutt(`${dir}/mailboxes`), { dryRun: true });
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});

Deno.test("pruneMbnames() removes unlisted accounts' caches, or all when disabled", async () => {
  await withTempDir(async (dir) => {
    const meta = `${dir}/meta`;
    for (const account of ["Old", "Work", "Gone"]) {
      await writeAccountMbnames(meta, account, "~/M", ["INBOX"]);
    }
    assert.deepEqual(
      await pruneMbnames(meta, ["Work"], mutt(`${dir}/m`), { dryRun: true }),
      ["Gone", "Old"],
    );
    assert.equal((await readAllMbnames(meta)).length, 3, "dry run removed nothing");
    assert.deepEqual(await pruneMbnames(meta, ["Work"], mutt(`${dir}/m`)), ["Gone", "Old"]);
    assert.equal(await Deno.readTextFile(`${dir}/m`), 'mailboxes "+Work/INBOX"\n');
    assert.deepEqual(await pruneMbnames(meta, ["Work"], undefined), ["Work"]);
    assert.deepEqual(await readAllMbnames(meta), []);
    assert.deepEqual(await pruneMbnames(`${dir}/none`, [], undefined), []);
  });
});
