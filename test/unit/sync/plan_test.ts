import assert from "node:assert/strict";
import { planFolder } from "../../../src/sync/plan.ts";
import type {
  FlagConflict,
  FolderPlan,
  FolderSyncInput,
  PlanOptions,
  Side,
  SyncAction,
} from "../../../src/sync/types.ts";
import type { SnapshotMessage, UnassignedMessage } from "../../../src/repository/folder.ts";

const DEFAULTS: PlanOptions = {
  localWritable: true,
  remoteWritable: true,
  localSyncDeletes: true,
  remoteSyncDeletes: true,
  maxDeleteRatio: 0.5,
  remoteStorableFlags: "DFRST",
};

interface State {
  local: Map<number, string>;
  unassigned: UnassignedMessage[];
  status: Map<number, string>;
  remote: Map<number, string>;
}

function snapshotMessages(flags: ReadonlyMap<number, string>): Map<number, SnapshotMessage> {
  return new Map([...flags].map(([uid, f]) => [uid, { uid, flags: f }]));
}

function inputOf(state: State, options: Partial<PlanOptions> = {}): FolderSyncInput {
  return {
    folder: "INBOX",
    remote: { uidValidity: 1200, messages: snapshotMessages(state.remote), unassigned: [] },
    local: {
      uidValidity: 42,
      messages: snapshotMessages(state.local),
      unassigned: state.unassigned,
    },
    status: state.status,
    savedRemoteUidValidity: 1200,
    options: { ...DEFAULTS, ...options },
  };
}

/**
 * One row of an isync-style table: message UID 1 as each side and the status see it. `"-"`:
 * absent; `"new"` or `"new:FS"` (local only): a file with no UID yet, key `k1`.
 */
type Row = [
  name: string,
  local: string,
  status: string,
  remote: string,
  expected: SyncAction[],
  options?: Partial<PlanOptions>,
];

function stateOfRow(local: string, status: string, remote: string): State {
  const state: State = { local: new Map(), unassigned: [], status: new Map(), remote: new Map() };
  if (local.startsWith("new")) state.unassigned.push({ key: "k1", flags: local.slice(4) });
  else if (local !== "-") state.local.set(1, local);
  if (status !== "-") state.status.set(1, status);
  if (remote !== "-") state.remote.set(1, remote);
  return state;
}

function runTable(title: string, rows: Row[]): void {
  for (const [name, local, status, remote, expected, options] of rows) {
    Deno.test(`planFolder() ${title}: ${name}`, () => {
      const plan = planFolder(inputOf(stateOfRow(local, status, remote), options));
      assert.equal(plan.refusal, undefined);
      assert.deepEqual(plan.actions, expected);
    });
  }
}

// Action builders for UID 1.
function toLocal(flags: string): SyncAction {
  return { kind: "copyToLocal", messages: [{ uid: 1, flags }] };
}
function toRemote(flags: string, key?: string): SyncAction {
  return { kind: "copyToRemote", messages: [{ ref: key ? { key } : { uid: 1 }, flags }] };
}
function rec(flags: string): SyncAction {
  return { kind: "record", entries: [[1, flags]] };
}
function change(side: Side, add: string, remove: string, uids = [1]): SyncAction {
  return { kind: "changeFlags", side, uids, add, remove };
}
function del(side: Side, uids = [1]): SyncAction {
  return { kind: "delete", side, uids };
}
function forget(): SyncAction {
  return { kind: "forget", uids: [1] };
}

runTable("decides each case of sync-algorithm.md §3.2", [
  ["downloads a new remote message", "-", "-", "FS", [toLocal("FS")]],
  ["uploads a new local file", "new:S", "-", "-", [toRemote("S", "k1")]],
  ["uploads a new local file without flags", "new", "-", "-", [toRemote("", "k1")]],
  ["re-uploads a local message unknown to both", "RS", "-", "-", [toRemote("RS")]],
  ["pairs equal messages missing from the status", "S", "-", "S", [rec("S")]],
  ["pushes local flags of an unpaired message", "FS", "-", "S", [
    rec("S"),
    change("remote", "F", ""),
    rec("FS"),
  ]],
  ["strips remote flags an unpaired local message lacks", "S", "-", "RS", [
    rec("RS"),
    change("remote", "", "R"),
    rec("S"),
  ]],
  ["deletes locally what the server deleted", "S", "S", "-", [del("local")]],
  ["deletes on the server what was deleted locally", "-", "S", "S", [del("remote")]],
  ["forgets what is gone on both sides", "-", "S", "-", [forget()]],
  ["does nothing when nothing changed", "FS", "FS", "FS", []],
  ["does nothing for an unchanged message without flags", "", "", "", []],
  ["applies a remote flag change locally", "S", "S", "FS", [change("local", "F", ""), rec("FS")]],
  ["applies a local flag change remotely", "FS", "S", "S", [change("remote", "F", ""), rec("FS")]],
  ["applies a remote clear locally", "S", "S", "", [change("local", "", "S"), rec("")]],
  ["applies a local clear remotely", "", "S", "S", [change("remote", "", "S"), rec("")]],
  ["merges different flags set on each side", "FS", "S", "RS", [
    change("remote", "F", ""),
    change("local", "R", ""),
    rec("FRS"),
  ]],
  ["merges a local clear with a remote set", "S", "FS", "FRS", [
    change("remote", "", "F"),
    change("local", "R", ""),
    rec("RS"),
  ]],
  ["records a flag set on both sides", "F", "", "F", [rec("F")]],
  ["records a flag cleared on both sides", "", "S", "", [rec("")]],
  ["ends unset a flag cleared on one side only", "", "FS", "FS", [
    change("remote", "", "FS"),
    rec(""),
  ]],
]);

runTable("with sync_deletes off", [
  ["keeps a local message the server deleted", "S", "S", "-", [], { remoteSyncDeletes: false }],
  ["keeps a server message deleted locally", "-", "S", "S", [], { localSyncDeletes: false }],
  ["still forgets what is gone on both sides", "-", "S", "-", [forget()], {
    localSyncDeletes: false,
    remoteSyncDeletes: false,
  }],
]);

const LOCAL_RO: Partial<PlanOptions> = { localWritable: false };
runTable("with a read-only local repository", [
  ["does not download", "-", "-", "S", [], LOCAL_RO],
  ["still uploads a new local file", "new:S", "-", "-", [toRemote("S", "k1")], LOCAL_RO],
  ["still uploads a local message", "S", "-", "-", [toRemote("S")], LOCAL_RO],
  ["does not delete locally", "S", "S", "-", [], LOCAL_RO],
  ["still deletes on the server", "-", "S", "S", [del("remote")], LOCAL_RO],
  ["does not apply a remote flag change", "S", "S", "FS", [], LOCAL_RO],
  ["applies a local flag change remotely", "FS", "S", "S", [
    change("remote", "F", ""),
    rec("FS"),
  ], LOCAL_RO],
  ["keeps the status at local flags when both changed", "FS", "S", "RS", [
    change("remote", "F", ""),
    rec("FS"),
  ], LOCAL_RO],
  ["pushes local flags of an unpaired message", "FS", "-", "S", [
    rec("S"),
    change("remote", "F", ""),
    rec("FS"),
  ], LOCAL_RO],
]);

const REMOTE_RO: Partial<PlanOptions> = { remoteWritable: false };
runTable("with a read-only remote repository", [
  ["still downloads", "-", "-", "S", [toLocal("S")], REMOTE_RO],
  ["does not upload a new local file", "new:S", "-", "-", [], REMOTE_RO],
  ["does not upload a local message", "S", "-", "-", [], REMOTE_RO],
  ["still deletes locally", "S", "S", "-", [del("local")], REMOTE_RO],
  ["does not delete on the server", "-", "S", "S", [], REMOTE_RO],
  ["does not apply a local flag change", "FS", "S", "S", [], REMOTE_RO],
  ["applies a remote flag change locally", "S", "S", "FS", [
    change("local", "F", ""),
    rec("FS"),
  ], REMOTE_RO],
  ["keeps the status at remote flags when both changed", "FS", "S", "RS", [
    change("local", "R", ""),
    rec("RS"),
  ], REMOTE_RO],
  ["records an unpaired message with the remote flags only", "FS", "-", "S", [rec("S")], REMOTE_RO],
]);

const BOTH_RO: Partial<PlanOptions> = { localWritable: false, remoteWritable: false };
runTable("with both repositories read-only", [
  ["does not download", "-", "-", "S", [], BOTH_RO],
  ["does not upload", "new:S", "-", "-", [], BOTH_RO],
  ["does not delete locally", "S", "S", "-", [], BOTH_RO],
  ["does not delete on the server", "-", "S", "S", [], BOTH_RO],
  ["does not change flags", "FS", "S", "RS", [], BOTH_RO],
  ["only pairs an unpaired message", "FS", "-", "S", [rec("S")], BOTH_RO],
  ["only forgets what is gone on both sides", "-", "S", "-", [forget()], BOTH_RO],
]);

const WITH_P: Partial<PlanOptions> = { remoteStorableFlags: "DFPRST" };
runTable("with flags the server cannot store", [
  ["records a local P without sending it", "PS", "S", "S", [rec("PS")]],
  ["keeps a recorded P the server lacks", "PS", "PS", "S", []],
  ["records a local clear of P", "S", "PS", "S", [rec("S")]],
  ["uploads a new file with its P", "new:PS", "-", "-", [toRemote("PS", "k1")]],
  ["pairs an unpaired message keeping the local P", "PS", "-", "S", [rec("PS")]],
  ["keeps P while merging other flags", "PS", "PS", "FS", [change("local", "F", ""), rec("FPS")]],
  ["keeps a custom letter", "Sa", "S", "S", [rec("Sa")]],
  ["ignores a remote letter it cannot store", "S", "S", "Sa", []],
  ["sends P when the server stores $Forwarded", "PS", "S", "S", [
    change("remote", "P", ""),
    rec("PS"),
  ], WITH_P],
  ["removes P locally when the server cleared $Forwarded", "PS", "PS", "S", [
    change("local", "", "P"),
    rec("S"),
  ], WITH_P],
]);

function stateOf(rows: Array<[uid: number, local: string, status: string, remote: string]>): State {
  const state: State = { local: new Map(), unassigned: [], status: new Map(), remote: new Map() };
  for (const [uid, local, status, remote] of rows) {
    if (local !== "-") state.local.set(uid, local);
    if (status !== "-") state.status.set(uid, status);
    if (remote !== "-") state.remote.set(uid, remote);
  }
  return state;
}

Deno.test("planFolder() reports the flags an unpaired message disagrees on", () => {
  const plan = planFolder(inputOf(stateOf([[1, "FS", "-", "RS"], [2, "S", "-", "S"]])));
  const expected: FlagConflict[] = [{ uid: 1, flag: "F", kept: true }, {
    uid: 1,
    flag: "R",
    kept: false,
  }];
  assert.deepEqual(plan.conflicts, expected);
});

Deno.test("planFolder() reports no conflict when the losing side cannot be written", () => {
  const plan = planFolder(inputOf(stateOf([[1, "FS", "-", "RS"]]), REMOTE_RO));
  assert.deepEqual(plan.conflicts, []);
});

Deno.test("planFolder() reports no conflict for changes merged against the status", () => {
  const plan = planFolder(inputOf(stateOf([[1, "FS", "S", "RS"]])));
  assert.deepEqual(plan.conflicts, []);
});

Deno.test("planFolder() groups flag changes by identical change, UIDs ascending", () => {
  const state = stateOf([
    [7, "FS", "S", "S"],
    [3, "FS", "S", "S"],
    [5, "", "S", "S"],
    [1, "FS", "S", "S"],
    [2, "S", "S", "RS"],
    [9, "S", "S", "RS"],
    [4, "S", "S", "S"],
  ]);
  assert.deepEqual(planFolder(inputOf(state)).actions, [
    change("remote", "F", "", [1, 3, 7]),
    change("remote", "", "S", [5]),
    change("local", "R", "", [2, 9]),
    {
      kind: "record",
      entries: [[1, "FS"], [2, "RS"], [3, "FS"], [5, ""], [7, "FS"], [9, "RS"]],
    },
  ]);
});

Deno.test("planFolder() orders actions copy, pair, flags, record, delete, forget", () => {
  const state = stateOf([
    [1, "-", "-", "S"], // download
    [2, "S", "-", "-"], // upload
    [3, "FS", "-", "S"], // pair, then push F
    [4, "S", "S", "RS"], // remote change
    [5, "-", "S", "S"], // deleted locally
    [6, "S", "S", "-"], // deleted remotely
    [8, "-", "S", "-"], // gone
    [10, "S", "S", "S"],
    [11, "S", "S", "S"],
    [12, "S", "S", "S"],
    [13, "S", "S", "S"],
  ]);
  state.unassigned.push({ key: "k2", flags: "" }, { key: "k1", flags: "S" });
  assert.deepEqual(planFolder(inputOf(state)).actions, [
    {
      kind: "copyToRemote",
      messages: [{ ref: { key: "k1" }, flags: "S" }, { ref: { key: "k2" }, flags: "" }, {
        ref: { uid: 2 },
        flags: "S",
      }],
    },
    { kind: "copyToLocal", messages: [{ uid: 1, flags: "S" }] },
    { kind: "record", entries: [[3, "S"]] },
    change("remote", "F", "", [3]),
    change("local", "R", "", [4]),
    { kind: "record", entries: [[3, "FS"], [4, "RS"]] },
    del("local", [6]),
    del("remote", [5]),
    { kind: "forget", uids: [8] },
  ]);
});

Deno.test("planFolder() refuses a folder whose remote UIDVALIDITY changed", () => {
  const input = { ...inputOf(stateOf([[1, "S", "S", "S"], [2, "-", "-", "S"]])) };
  const plan = planFolder({ ...input, savedRemoteUidValidity: 1100 });
  assert.deepEqual(plan, {
    actions: [],
    conflicts: [],
    refusal: {
      reason: "UIDVALIDITY changed on the remote side (was 1100, now 1200)",
      hint: 'The server renumbered this folder; see README "UIDVALIDITY changed"',
      uidValidity: true,
    },
  });
});

Deno.test("planFolder() accepts any remote UIDVALIDITY on a first sync", () => {
  const plan = planFolder({
    ...inputOf(stateOf([[2, "-", "-", "S"]])),
    savedRemoteUidValidity: undefined,
  });
  assert.equal(plan.refusal, undefined);
  assert.deepEqual(plan.actions, [{ kind: "copyToLocal", messages: [{ uid: 2, flags: "S" }] }]);
});

/** A folder of `known` messages in sync, of which the first `gone` vanished on one side. */
function vanished(side: Side, known: number, gone: number): State {
  const rows: Array<[number, string, string, string]> = [];
  for (let uid = 1; uid <= known; uid++) {
    const missing = uid <= gone;
    rows.push([
      uid,
      missing && side === "local" ? "-" : "S",
      "S",
      missing && side === "remote" ? "-" : "S",
    ]);
  }
  return stateOf(rows);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

Deno.test("planFolder() refuses to empty the server after the local folder read as empty", () => {
  const plan = planFolder(inputOf(vanished("local", 10, 10)));
  assert.deepEqual(plan.actions, []);
  assert.deepEqual(plan.refusal, {
    reason: "Mass deletion refused on the remote side: 10 of 10 known messages would be deleted, " +
      "more than max_delete_ratio 0.5 allows",
    hint: "If they really were deleted from the local folder, set max_delete_ratio = 1.0 in the " +
      "account (once: -k Account_<name>:max_delete_ratio=1.0); if the local folder was emptied " +
      "by mistake, restore it first",
    uidValidity: false,
  });
});

Deno.test("planFolder() refuses to delete locally more than max_delete_ratio of a folder", () => {
  const plan = planFolder(inputOf(vanished("remote", 10, 6)));
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.refusal?.uidValidity, false);
  assert.match(plan.refusal?.reason ?? "", /^Mass deletion refused on the local side: 6 of 10 /);
  assert.match(plan.refusal?.hint ?? "", /deleted from the server/);
});

Deno.test("planFolder() deletes exactly max_delete_ratio of a folder", () => {
  const plan = planFolder(inputOf(vanished("remote", 10, 5)));
  assert.equal(plan.refusal, undefined);
  assert.deepEqual(plan.actions, [del("local", range(5))]);
});

Deno.test("planFolder() deletes everything when max_delete_ratio is 1.0", () => {
  const plan = planFolder(inputOf(vanished("local", 10, 10), { maxDeleteRatio: 1 }));
  assert.equal(plan.refusal, undefined);
  assert.deepEqual(plan.actions, [del("remote", range(10))]);
});

Deno.test("planFolder() deletes the only message of a folder despite the guard", () => {
  const plan = planFolder(inputOf(vanished("local", 1, 1)));
  assert.equal(plan.refusal, undefined);
  assert.deepEqual(plan.actions, [del("remote")]);
});

Deno.test("planFolder() refuses to empty a folder of two messages", () => {
  const plan = planFolder(inputOf(vanished("local", 2, 2)));
  assert.deepEqual(plan.actions, []);
  assert.match(plan.refusal?.reason ?? "", /: 2 of 2 known messages /);
});

Deno.test("planFolder() does not count deletions that sync_deletes = no prevents", () => {
  const plan = planFolder(inputOf(vanished("local", 10, 10), { localSyncDeletes: false }));
  assert.deepEqual(plan, { actions: [], conflicts: [] });
});

// ---------------------------------------------------------------------------------------------
// Convergence: applying a plan to a pure model of the three stores, then planning again, must
// give an empty plan.

/** Mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFlags(random: () => number, alphabet: string): string {
  return [...alphabet].filter(() => random() < 0.35).join("");
}

function randomCase(random: () => number): { state: State; options: PlanOptions } {
  const storable = random() < 0.5 ? "DFRST" : "DFPRST";
  const state: State = { local: new Map(), unassigned: [], status: new Map(), remote: new Map() };
  const count = Math.floor(random() * 8);
  for (let uid = 1; uid <= count; uid++) {
    // Local and status may hold letters the server cannot store; the server never does.
    if (random() < 0.7) state.local.set(uid, randomFlags(random, "FPRSa"));
    if (random() < 0.6) state.status.set(uid, randomFlags(random, "FPRSa"));
    if (random() < 0.7) state.remote.set(uid, randomFlags(random, storable.replace("D", "")));
  }
  for (let i = Math.floor(random() * 3); i > 0; i--) {
    state.unassigned.push({ key: `k${i}`, flags: randomFlags(random, "FPRSa") });
  }
  const options: PlanOptions = {
    localWritable: random() < 0.75,
    remoteWritable: random() < 0.75,
    localSyncDeletes: random() < 0.75,
    remoteSyncDeletes: random() < 0.75,
    maxDeleteRatio: random() < 0.8 ? 1 : 0.5,
    remoteStorableFlags: storable,
  };
  return { state, options };
}

function applyLetters(flags: string, add: string, remove: string): string {
  return [...new Set(flags + add)].filter((l) => !remove.includes(l)).sort().join("");
}

/** Carries out a plan the way the executor does, checking what the plan may ask for. */
function applyPlan(state: State, plan: FolderPlan, options: PlanOptions): void {
  let nextUid = Math.max(0, ...state.local.keys(), ...state.remote.keys(), ...state.status.keys());
  const storableOnly = (flags: string) =>
    [...flags].filter((l) => options.remoteStorableFlags.includes(l)).join("");
  for (const action of plan.actions) {
    switch (action.kind) {
      case "copyToRemote":
        assert.ok(options.remoteWritable, "upload into a read-only remote");
        for (const { ref, flags } of action.messages) {
          const uid = ++nextUid;
          state.remote.set(uid, storableOnly(flags));
          if (ref.key !== undefined) {
            state.unassigned = state.unassigned.filter((m) => m.key !== ref.key);
          } else {
            state.local.delete(ref.uid);
          }
          state.local.set(uid, flags);
          state.status.set(uid, flags);
        }
        break;
      case "copyToLocal":
        assert.ok(options.localWritable, "download into a read-only local folder");
        for (const { uid, flags } of action.messages) {
          assert.ok(!state.local.has(uid));
          state.local.set(uid, flags);
          state.status.set(uid, flags);
        }
        break;
      case "changeFlags": {
        const store = action.side === "local" ? state.local : state.remote;
        const writable = action.side === "local" ? options.localWritable : options.remoteWritable;
        assert.ok(writable, `flag change on read-only ${action.side} side`);
        if (action.side === "remote") {
          assert.equal(storableOnly(action.add + action.remove), action.add + action.remove);
        }
        assert.deepEqual(action.uids, [...action.uids].sort((a, b) => a - b));
        for (const uid of action.uids) {
          const flags = store.get(uid);
          assert.ok(flags !== undefined);
          store.set(uid, applyLetters(flags, action.add, action.remove));
        }
        break;
      }
      case "record":
        for (const [uid, flags] of action.entries) state.status.set(uid, flags);
        break;
      case "delete": {
        const store = action.side === "local" ? state.local : state.remote;
        const writable = action.side === "local" ? options.localWritable : options.remoteWritable;
        assert.ok(writable, `deletion on read-only ${action.side} side`);
        for (const uid of action.uids) {
          assert.ok(store.delete(uid));
          state.status.delete(uid);
        }
        break;
      }
      case "forget":
        for (const uid of action.uids) state.status.delete(uid);
        break;
    }
  }
}

Deno.test("planFolder() converges: planning again after applying a plan gives no action", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const random = prng(seed);
    const { state, options } = randomCase(random);
    const before = JSON.stringify(state, (_, v) => v instanceof Map ? [...v] : v);
    const first = planFolder(inputOf(state, options));
    assert.deepEqual(planFolder(inputOf(state, options)), first, `seed ${seed}: not deterministic`);
    if (first.refusal !== undefined) {
      assert.deepEqual(first.actions, [], `seed ${seed}`);
      continue;
    }
    applyPlan(state, first, options);
    const second = planFolder(inputOf(state, options));
    assert.deepEqual(second, { actions: [], conflicts: [] }, `seed ${seed}: ${before}`);
  }
});

Deno.test("planFolder() converges to equal flags when both sides are writable", () => {
  for (let seed = 1; seed <= 500; seed++) {
    const random = prng(seed);
    const { state, options: drawn } = randomCase(random);
    const options = { ...drawn, localWritable: true, remoteWritable: true };
    const plan = planFolder(inputOf(state, options));
    if (plan.refusal !== undefined) continue;
    applyPlan(state, plan, options);
    for (const [uid, flags] of state.remote) {
      const local = state.local.get(uid);
      if (local === undefined) continue;
      const storable = [...local].filter((l) => options.remoteStorableFlags.includes(l)).join("");
      assert.equal(flags, storable, `seed ${seed}, UID ${uid}`);
      assert.equal(state.status.get(uid), local, `seed ${seed}, UID ${uid}`);
    }
  }
});
