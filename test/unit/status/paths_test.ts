import assert from "node:assert/strict";
import {
  accountDir,
  folderFileName,
  folderFileNameCollisions,
  folderValidityPath,
  lockPath,
  repositoryDir,
  statusPlainPath,
  statusSqlitePath,
} from "../../../src/status/paths.ts";

Deno.test("folderFileName() maps folder names as OfflineIMAP's getfolderbasename", () => {
  const table: [string, string][] = [
    ["INBOX", "INBOX"],
    ["Archive.2020", "Archive.2020"],
    ["Archive/2020", "Archive.2020"],
    ["G&AOQ-ste", "G&AOQ-ste"],
    ["", "dot"],
    [".", "dot"],
    ["/", "dot"],
    ["..", ".."],
    [".Sent", ".Sent"],
    ["a/b/c", "a.b.c"],
    ["with space", "with space"],
  ];
  for (const [name, file] of table) assert.equal(folderFileName(name), file, name);
});

Deno.test("statusSqlitePath() and statusPlainPath() lie under Account-<account>", () => {
  assert.equal(accountDir("/m", "T"), "/m/Account-T");
  assert.equal(statusSqlitePath("/m", "T", "INBOX"), "/m/Account-T/LocalStatus-sqlite/INBOX");
  assert.equal(statusSqlitePath("/m", "T", "a/b"), "/m/Account-T/LocalStatus-sqlite/a.b");
  assert.equal(statusPlainPath("/m", "T", ""), "/m/Account-T/LocalStatus/dot");
});

Deno.test("folderValidityPath() lies under Repository-<repository>/FolderValidity", () => {
  assert.equal(repositoryDir("/m", "R"), "/m/Repository-R");
  assert.equal(
    folderValidityPath("/m", "My Remote", "Archive/2020"),
    "/m/Repository-My Remote/FolderValidity/Archive.2020",
  );
});

Deno.test("lockPath() is <metadata>/<account>.lock, the name used verbatim", () => {
  assert.equal(lockPath("/home/u/.offlineimap", "me@work"), "/home/u/.offlineimap/me@work.lock");
});

Deno.test("folderFileNameCollisions() groups names sharing a file", () => {
  assert.deepEqual(folderFileNameCollisions(["a.b", "INBOX", "a/b", "", "dot", "x"]), [
    ["a.b", "a/b"],
    ["", "dot"],
  ]);
  assert.deepEqual(folderFileNameCollisions(["INBOX", "INBOX", "Sent"]), []);
});
