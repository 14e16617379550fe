/**
 * The executor's status bookkeeping, with in-memory folders: when it commits, and what.
 */

import assert from "node:assert/strict";
import { FolderError } from "../../../src/errors.ts";
import type { Folder, MessageContent, MessageRef } from "../../../src/repository/folder.ts";
import type { StatusBatch, StatusStore } from "../../../src/status/store.ts";
import { executePlan } from "../../../src/sync/execute.ts";
import type { FolderPlan } from "../../../src/sync/types.ts";

/** What happened, in order: "flush", "commit", and the folders' own operations. */
type Log = string[];

function memoryFolder(name: string, log: Log, failDelete = false): Folder {
  const bytes = new TextEncoder().encode("Subject: x\r\n\r\nbody\r\n");
  return {
    name,
    readSnapshot: () => Promise.resolve({ uidValidity: 1, messages: new Map(), unassigned: [] }),
    async readMessages(refs: readonly MessageRef[], handler) {
      for (const ref of refs) {
        const content: MessageContent = {
          ref,
          flags: "",
          networkSize: () => Promise.resolve(bytes.length),
          openNetwork: () => ReadableStream.from([bytes]),
          openLocal: () => ReadableStream.from([bytes]),
        };
        await handler(content);
      }
      return [];
    },
    async storeMessage(content, uid) {
      await content.openLocal().cancel();
      log.push(`${name}: store ${uid}`);
      return { uid: uid ?? 100 };
    },
    assignUid: () => Promise.resolve(),
    flush() {
      log.push(`${name}: flush`);
      return Promise.resolve();
    },
    changeFlags(uids) {
      log.push(`${name}: flags ${uids.join(",")}`);
      return Promise.resolve();
    },
    deleteMessages(uids) {
      if (failDelete) return Promise.reject(new FolderError(`${name}: cannot delete`));
      log.push(`${name}: delete ${uids.join(",")}`);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

function memoryStatus(log: Log, batches: StatusBatch[]): StatusStore {
  return {
    read: () => Promise.resolve(new Map()),
    apply(batch) {
      log.push("commit");
      batches.push(batch);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

const PLAN: FolderPlan = {
  conflicts: [],
  actions: [
    { kind: "copyToLocal", messages: [{ uid: 1, flags: "S" }, { uid: 2, flags: "" }] },
    { kind: "changeFlags", side: "local", uids: [3], add: "F", remove: "" },
    { kind: "record", entries: [[3, "FS"]] },
    { kind: "delete", side: "local", uids: [4] },
    { kind: "forget", uids: [5] },
  ],
};

Deno.test("executePlan() records a folder's copies, flag changes and deletions in one status commit after the local flush", async () => {
  const log: Log = [];
  const batches: StatusBatch[] = [];
  const result = await executePlan(PLAN, {
    local: memoryFolder("local", log),
    remote: memoryFolder("remote", log),
    status: memoryStatus(log, batches),
    onMessageError: (error) => assert.fail(error.message),
  });
  assert.equal(log.filter((entry) => entry === "commit").length, 1, log.join("; "));
  assert.equal(log.at(-1), "commit", "the commit comes last");
  assert.ok(log.indexOf("local: flush") < log.indexOf("commit"), "files durable first");
  assert.ok(log.indexOf("local: delete 4") < log.indexOf("commit"), "deleted before forgotten");
  assert.deepEqual(batches[0]?.set, [[1, "S"], [2, ""], [3, "FS"]]);
  assert.deepEqual([...(batches[0]?.remove ?? [])].sort(), [4, 5]);
  assert.equal(result.counts.downloaded, 2);
});

Deno.test("executePlan() still records what completed when a later action fails, then rethrows", async () => {
  const log: Log = [];
  const batches: StatusBatch[] = [];
  await assert.rejects(
    executePlan(PLAN, {
      local: memoryFolder("local", log, true),
      remote: memoryFolder("remote", log),
      status: memoryStatus(log, batches),
      onMessageError: (error) => assert.fail(error.message),
    }),
    /local: cannot delete/,
  );
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0]?.set, [[1, "S"], [2, ""], [3, "FS"]]);
  assert.deepEqual(batches[0]?.remove, [], "the failed deletion stays in the status");
});

Deno.test("executePlan() commits every 200 copies on the way", async () => {
  const log: Log = [];
  const batches: StatusBatch[] = [];
  const messages = Array.from({ length: 450 }, (_, i) => ({ uid: i + 1, flags: "" }));
  await executePlan({ conflicts: [], actions: [{ kind: "copyToLocal", messages }] }, {
    local: memoryFolder("local", log),
    remote: memoryFolder("remote", log),
    status: memoryStatus(log, batches),
    onMessageError: (error) => assert.fail(error.message),
  });
  assert.deepEqual(batches.map((b) => b.set?.length), [200, 200, 50]);
});
