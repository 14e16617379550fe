/**
 * Runs a {@link FolderPlan}: the only sync code with effects.
 *
 * Order and durability rules (isync's, and the reason nothing is lost):
 * - Actions run in plan order: copies, then flags, then deletions.
 * - The status store records a change only after both sides hold it. A crash after a copy but
 *   before its record leaves the message on both sides under the same UID; the next plan sees
 *   "on both sides, not in status" and only records it: no duplicate, no transfer.
 * - A deletion is forgotten in the status only after the side deleted it; a crash in between
 *   leaves "in status, gone from both sides", which the next plan forgets.
 * - Status writes are batched: what the actions of a plan completed is committed in one
 *   transaction at the end, and every {@link RECORD_BATCH} copies on the way, so a 20,000-message
 *   download is not 20,000 commits and a folder with a few changes of each kind is one. Deferring
 *   a record is always safe: a crash before it leaves both sides agreeing, which the next plan
 *   only records (or forgets). Local files are made durable (`flush`) before each commit.
 *
 * @module
 */

import { MessageError } from "../errors.ts";
import type { FlagLetters, Folder, MessageRef } from "../repository/folder.ts";
import type { StatusStore } from "../status/store.ts";
import type { SyncCounts } from "../ui/events.ts";
import { emptyCounts } from "../ui/events.ts";
import type { FolderPlan, Side } from "./types.ts";

/** Copies recorded per status transaction. */
const RECORD_BATCH = 200;

/** What the executor works on. */
export interface ExecuteContext {
  readonly local: Folder;
  readonly remote: Folder;
  readonly status: StatusStore;
  /** Called for each message-level failure; the folder goes on. */
  readonly onMessageError: (error: MessageError) => void;
}

/** Result of executing a plan. */
export interface ExecuteResult {
  readonly counts: SyncCounts;
  /** Message-level failures (already reported through `onMessageError`). */
  readonly messageErrors: number;
  /** Copies without the `S` flag that both sides now hold (for `newmail_hook`), per direction. */
  readonly unseenCopied: { readonly toLocal: number; readonly toRemote: number };
}

/**
 * Executes `plan`. Throws FolderError (or connection errors) when the folder cannot go on; the
 * status then holds exactly the changes that completed.
 */
export async function executePlan(plan: FolderPlan, ctx: ExecuteContext): Promise<ExecuteResult> {
  const counts = emptyCounts();
  let messageErrors = 0;
  const unseenCopied = { toLocal: 0, toRemote: 0 };
  const failedUids = new Set<number>();
  const side = (s: Side) => s === "local" ? ctx.local : ctx.remote;
  /** Status changes both sides already hold: flags to record, or null to forget. */
  const pending = new Map<number, FlagLetters | null>();
  let pendingCopies = 0;
  const record = (entries: ReadonlyArray<readonly [number, FlagLetters]>) => {
    for (const [uid, flags] of entries) pending.set(uid, flags);
  };
  const forget = (uids: readonly number[]) => {
    for (const uid of uids) pending.set(uid, null);
  };
  const commit = async () => {
    if (pending.size === 0) return;
    await ctx.local.flush?.();
    const set: Array<readonly [number, FlagLetters]> = [];
    const remove: number[] = [];
    for (const [uid, flags] of pending) {
      if (flags === null) remove.push(uid);
      else set.push([uid, flags]);
    }
    pending.clear();
    pendingCopies = 0;
    await ctx.status.apply({ set, remove });
  };
  /** Records copies, committing once {@link RECORD_BATCH} of them are pending. */
  const recordCopies = async (entries: ReadonlyArray<readonly [number, FlagLetters]>) => {
    record(entries);
    pendingCopies += entries.length;
    if (pendingCopies >= RECORD_BATCH) await commit();
  };
  const fail = (error: unknown, uid?: number) => {
    if (!(error instanceof MessageError)) throw error;
    messageErrors++;
    if (uid !== undefined) failedUids.add(uid);
    ctx.onMessageError(error);
  };

  try {
    for (const action of plan.actions) {
      switch (action.kind) {
        case "copyToRemote": {
          for (const message of action.messages) {
            try {
              let stored: number | null | undefined;
              const missing = await ctx.local.readMessages([message.ref], async (content) => {
                stored = (await ctx.remote.storeMessage(content, undefined)).uid;
              });
              if (missing.length > 0) continue; // vanished locally meanwhile: next run decides
              if (stored === null || stored === undefined) {
                throw new MessageError(
                  `Uploaded a message to folder "${ctx.remote.name}" but the server did not report its UID`,
                  {
                    hint:
                      "the message stays local; the next run pairs it with the server copy by Message-ID and size (a message without Message-ID is uploaded again)",
                  },
                );
              }
              await ctx.local.assignUid(message.ref, stored);
              counts.uploaded++;
              if (!message.flags.includes("S")) unseenCopied.toRemote++;
              await recordCopies([[stored, message.flags]]);
            } catch (error) {
              fail(error);
            }
          }
          break;
        }
        case "copyToLocal": {
          const flagsByUid = new Map(action.messages.map((m) => [m.uid, m.flags]));
          let batch: Array<readonly [number, string]> = [];
          const refs: MessageRef[] = action.messages.map((m) => ({ uid: m.uid }));
          await ctx.remote.readMessages(refs, async (content) => {
            const uid = content.ref.uid!;
            const flags = flagsByUid.get(uid) ?? content.flags;
            try {
              await ctx.local.storeMessage({
                ref: content.ref,
                flags,
                internalDate: content.internalDate,
                networkSize: () => content.networkSize(),
                openNetwork: () => content.openNetwork(),
                openLocal: () => content.openLocal(),
              }, uid);
              batch.push([uid, flags]);
              counts.downloaded++;
              if (!flags.includes("S")) unseenCopied.toLocal++;
              if (batch.length >= RECORD_BATCH) {
                const done = batch;
                batch = [];
                await ctx.local.flush?.();
                await recordCopies(done);
              }
            } catch (error) {
              fail(error, uid);
            }
          });
          if (batch.length > 0) {
            try {
              await ctx.local.flush?.();
            } catch (error) {
              // A file that could not be synced or renamed: the batch stays unrecorded (the
              // files that made it are paired again by the next run).
              fail(error);
              break;
            }
            await recordCopies(batch);
          }
          break;
        }
        case "changeFlags": {
          const uids = action.uids.filter((uid) => !failedUids.has(uid));
          try {
            await side(action.side).changeFlags(uids, action.add, action.remove);
            counts.flagged += uids.length;
          } catch (error) {
            fail(error);
            for (const uid of uids) failedUids.add(uid);
          }
          break;
        }
        case "record": {
          const entries = action.entries.filter(([uid]) => !failedUids.has(uid));
          record(entries);
          break;
        }
        case "delete": {
          await side(action.side).deleteMessages(action.uids);
          forget(action.uids);
          if (action.side === "local") counts.deletedLocal += action.uids.length;
          else counts.deletedRemote += action.uids.length;
          break;
        }
        case "forget":
          forget(action.uids);
          break;
      }
    }
  } catch (error) {
    // What completed before the failure is recorded all the same (a failed commit here only
    // leaves it to the next run, which pairs it again).
    await commit().catch(() => {});
    throw error;
  }
  await commit();
  return { counts, messageErrors, unseenCopied };
}
