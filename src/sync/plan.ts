/**
 * The folder-sync planner: decides everything about one folder from plain data, with no I/O
 * (`STYLE.md` §2.3). The executor (`execute.ts`) carries the plan out.
 *
 * Pure: `import type` only, no `Deno.*`, no `node:*` (`STYLE.md` §2.1 rule 3).
 *
 * @module
 */

import type { FlagLetters, MessageRef } from "../repository/folder.ts";
import type {
  FlagConflict,
  FolderPlan,
  FolderSyncInput,
  PlanOptions,
  PlanRefusal,
  Side,
  SyncAction,
} from "./types.ts";
import { flagDiff, flagIntersect, flagUnion, mergeFlags, sortFlags } from "./flags.ts";

/**
 * A pass deleting at most this many messages on one side is never refused by the mass-deletion
 * guard: emptying a one-message folder (a Drafts folder after sending) is everyday use, while
 * the guard is meant for folders that suddenly read as empty.
 */
const UNGUARDED_DELETIONS = 1;

/** Decisions collected while walking the UIDs, before they are shaped into actions. */
interface Draft {
  readonly copyToRemote: Array<{ ref: MessageRef; flags: FlagLetters }>;
  readonly copyToLocal: Array<{ uid: number; flags: FlagLetters }>;
  readonly pair: Array<[number, FlagLetters]>;
  readonly changeRemote: Map<string, FlagGroup>;
  readonly changeLocal: Map<string, FlagGroup>;
  readonly record: Array<[number, FlagLetters]>;
  readonly deleteLocal: number[];
  readonly deleteRemote: number[];
  readonly forget: number[];
  readonly conflicts: FlagConflict[];
}

interface FlagGroup {
  readonly add: FlagLetters;
  readonly remove: FlagLetters;
  readonly uids: number[];
}

/**
 * Plans the sync of one folder: OfflineIMAP's remote→local and local→remote passes
 * (`sync-algorithm.md` §3.1, §3.2) folded into one list of actions, with the changes of
 * DECISIONS.md #1, #2 and #3. Deterministic: UIDs ascend, unassigned messages are ordered by key.
 *
 * Per message, with R the remote snapshot, L the local one and S the status:
 * - in R only: `copyToLocal` with R's flags;
 * - in L only, or unassigned: `copyToRemote` with L's flags;
 * - in R and L, not in S: a `record` of R's flags pairs them, then local wins: a remote
 *   `changeFlags` makes R equal L, and a second `record` stores L's flags. Recording R's flags
 *   first keeps "local wins" true if the run stops before the remote change;
 * - in S and L, not R: local `delete` when the remote repository has `sync_deletes`, else nothing;
 * - in S and R, not L: remote `delete` when the local repository has `sync_deletes`, else nothing;
 * - in S only: `forget`;
 * - in R, L and S: three-way merge ({@link mergeFlags}); `changeFlags` per side, one action per
 *   distinct (add, remove) pair, then a `record` of every UID whose status changes.
 *
 * Sides that are not writable receive nothing (no copy, flag change or deletion into them), and
 * the status never claims such a change: with a read-only remote the status keeps R's flags and
 * local flag changes stay pending; with a read-only Maildir it keeps L's flags and remote flag
 * changes stay pending. `forget` and the pairing `record` only touch the status.
 *
 * Letters outside `remoteStorableFlags` (e.g. `P` without `$Forwarded`, custom letters) never
 * appear in a remote `changeFlags`; the remote side counts as unchanged for them, so the local
 * value always wins and is what the status records (DECISIONS.md #3: never stripped).
 *
 * Refusals (no actions at all):
 * - `savedRemoteUidValidity` is defined and differs from the remote's (DECISIONS.md #1);
 * - mass deletion (DECISIONS.md #2): with `maxDeleteRatio < 1`, the deletions planned on one side
 *   number more than {@link UNGUARDED_DELETIONS} and more than `maxDeleteRatio` × (status size).
 *   Since a ratio below 1 makes "all of them" exceed it, a side that reads as empty is refused
 *   too, except for a folder whose status knows a single message. `max_delete_ratio = 1.0`
 *   (or `-k Account_<name>:max_delete_ratio=1.0` for one run) disables the guard.
 *
 * Action order: copyToRemote, copyToLocal, record (pairing), changeFlags (remote, then local),
 * record (merged flags), delete (local, then remote), forget. Empty actions are left out.
 *
 * @example
 * ```ts
 * const plan = planFolder({
 *   folder: "INBOX",
 *   remote: { uidValidity: 7, messages: new Map([[1, { uid: 1, flags: "S" }]]), unassigned: [] },
 *   local: { uidValidity: 42, messages: new Map(), unassigned: [] },
 *   status: new Map(),
 *   savedRemoteUidValidity: undefined,
 *   options: {
 *     localWritable: true,
 *     remoteWritable: true,
 *     localSyncDeletes: true,
 *     remoteSyncDeletes: true,
 *     maxDeleteRatio: 0.5,
 *     remoteStorableFlags: "DFRST",
 *   },
 * });
 * // plan.actions: [{ kind: "copyToLocal", messages: [{ uid: 1, flags: "S" }] }]
 * ```
 */
export function planFolder(input: FolderSyncInput): FolderPlan {
  const { remote, savedRemoteUidValidity } = input;
  if (savedRemoteUidValidity !== undefined && savedRemoteUidValidity !== remote.uidValidity) {
    return refuse({
      reason:
        `UIDVALIDITY changed on the remote side (was ${savedRemoteUidValidity}, now ${remote.uidValidity})`,
      hint: `The server renumbered this folder; see README "UIDVALIDITY changed"`,
      uidValidity: true,
    });
  }

  const draft = draftFolder(input);
  const known = input.status.size;
  const refusal = checkDeletions("local", draft.deleteLocal.length, known, input.options) ??
    checkDeletions("remote", draft.deleteRemote.length, known, input.options);
  if (refusal !== undefined) return refuse(refusal);
  return { actions: shapeActions(draft), conflicts: draft.conflicts };
}

function refuse(refusal: PlanRefusal): FolderPlan {
  return { actions: [], refusal, conflicts: [] };
}

function draftFolder(input: FolderSyncInput): Draft {
  const { local, remote, status, options } = input;
  const draft: Draft = {
    copyToRemote: [],
    copyToLocal: [],
    pair: [],
    changeRemote: new Map(),
    changeLocal: new Map(),
    record: [],
    deleteLocal: [],
    deleteRemote: [],
    forget: [],
    conflicts: [],
  };

  const unassigned = [...local.unassigned].sort((a, b) => compareStrings(a.key, b.key));
  if (options.remoteWritable) {
    for (const message of unassigned) {
      draft.copyToRemote.push({ ref: { key: message.key }, flags: message.flags });
    }
  }

  const uids = new Set([...remote.messages.keys(), ...local.messages.keys(), ...status.keys()]);
  for (const uid of [...uids].sort((a, b) => a - b)) {
    const r = remote.messages.get(uid)?.flags;
    const l = local.messages.get(uid)?.flags;
    const s = status.get(uid);
    if (r !== undefined && l !== undefined) {
      // The common case, unchanged everywhere: nothing to decide (for a canonical status
      // string, draftFlags would reach the same empty result).
      if (l === s && r === s && sortFlags(s) === s) continue;
      draftFlags(draft, uid, s, l, r, options);
    } else if (r !== undefined) {
      if (s === undefined) {
        if (options.localWritable) draft.copyToLocal.push({ uid, flags: r });
      } else if (options.localSyncDeletes && options.remoteWritable) {
        draft.deleteRemote.push(uid);
      }
    } else if (l !== undefined) {
      if (s === undefined) {
        if (options.remoteWritable) draft.copyToRemote.push({ ref: { uid }, flags: l });
      } else if (options.remoteSyncDeletes && options.localWritable) {
        draft.deleteLocal.push(uid);
      }
    } else {
      draft.forget.push(uid);
    }
  }
  return draft;
}

/** Decides the flags of a message present on both sides. */
function draftFlags(
  draft: Draft,
  uid: number,
  s: FlagLetters | undefined,
  l: FlagLetters,
  r: FlagLetters,
  options: PlanOptions,
): void {
  const storable = options.remoteStorableFlags;
  const { localWritable, remoteWritable } = options;
  // The remote as the merge sees it: what it can store, plus the base's value for the rest,
  // so unstorable letters count as unchanged there and the local value decides them.
  const remoteView = flagUnion(flagIntersect(r, storable), flagDiff(s ?? l, storable));
  let base = s;
  if (base === undefined) {
    base = remoteView;
    draft.pair.push([uid, base]);
    if (remoteWritable) {
      for (const { flag, kept } of mergeFlags(undefined, l, remoteView).conflicts) {
        draft.conflicts.push({ uid, flag, kept });
      }
    }
  }
  const merged = mergeFlags(base, l, remoteView).merged;

  const localTarget = localWritable ? merged : l;
  addToGroup(draft.changeLocal, uid, flagDiff(localTarget, l), flagDiff(l, localTarget));
  if (remoteWritable) {
    const mergedStorable = flagIntersect(merged, storable);
    addToGroup(
      draft.changeRemote,
      uid,
      flagDiff(mergedStorable, r),
      flagDiff(flagIntersect(r, storable), mergedStorable),
    );
  }

  // The status describes what both sides hold; a side that cannot be written keeps its flags,
  // and its pending difference must stay visible to the next run.
  let next: FlagLetters;
  if (localWritable && remoteWritable) next = merged;
  else if (remoteWritable) next = l;
  else if (localWritable) next = flagUnion(flagIntersect(r, storable), flagDiff(merged, storable));
  else next = base;
  if (next !== base) draft.record.push([uid, next]);
}

function addToGroup(
  groups: Map<string, FlagGroup>,
  uid: number,
  add: FlagLetters,
  remove: FlagLetters,
): void {
  if (add === "" && remove === "") return;
  const key = `${add}/${remove}`;
  const group = groups.get(key);
  if (group === undefined) groups.set(key, { add, remove, uids: [uid] });
  else group.uids.push(uid);
}

function checkDeletions(
  side: Side,
  count: number,
  known: number,
  options: PlanOptions,
): PlanRefusal | undefined {
  const ratio = options.maxDeleteRatio;
  if (ratio >= 1 || count <= UNGUARDED_DELETIONS || count <= ratio * known) return undefined;
  const other = side === "local" ? "server" : "local folder";
  return {
    reason: `Mass deletion refused on the ${side} side: ${count} of ${known} known messages ` +
      `would be deleted, more than max_delete_ratio ${ratio} allows`,
    hint: `If they really were deleted from the ${other}, set max_delete_ratio = 1.0 in the ` +
      `account (once: -k Account_<name>:max_delete_ratio=1.0); if the ${other} was emptied by ` +
      `mistake, restore it first`,
    uidValidity: false,
  };
}

function shapeActions(draft: Draft): SyncAction[] {
  const actions: SyncAction[] = [];
  if (draft.copyToRemote.length > 0) {
    actions.push({ kind: "copyToRemote", messages: draft.copyToRemote });
  }
  if (draft.copyToLocal.length > 0) {
    actions.push({ kind: "copyToLocal", messages: draft.copyToLocal });
  }
  if (draft.pair.length > 0) actions.push({ kind: "record", entries: draft.pair });
  for (
    const [side, groups] of [["remote", draft.changeRemote], ["local", draft.changeLocal]] as const
  ) {
    for (const { add, remove, uids } of groups.values()) {
      actions.push({ kind: "changeFlags", side, uids, add, remove });
    }
  }
  if (draft.record.length > 0) actions.push({ kind: "record", entries: draft.record });
  if (draft.deleteLocal.length > 0) {
    actions.push({ kind: "delete", side: "local", uids: draft.deleteLocal });
  }
  if (draft.deleteRemote.length > 0) {
    actions.push({ kind: "delete", side: "remote", uids: draft.deleteRemote });
  }
  if (draft.forget.length > 0) actions.push({ kind: "forget", uids: draft.forget });
  return actions;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
