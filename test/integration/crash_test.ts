/**
 * Crash safety of local delivery (issue 5's acceptance): our program delivering messages of a
 * 200-message folder from Dovecot is killed with SIGKILL at 50 seeded random points: 40 random
 * moments, and 10 random write steps through the `OFFLINEIMAP_TS_TEST_CRASH_AT` hook of
 * maildir_write.ts (which lands a kill exactly after a `tmp/` create, a write, an fsync or a
 * rename). After each kill, `new/` and `cur/` hold only complete messages, once each, and the
 * status records only messages on disk; a fresh run then ends with exactly the server's
 * messages (Message-ID multisets compared), none lost, none duplicated.
 *
 * Each round takes 60 random messages back out of the folder and its status, so the killed run
 * has them to deliver again; two accounts run their rounds side by side to keep the test short.
 */

import assert from "node:assert/strict";
import { dovecot, type DovecotServer } from "../_helpers/dovecot.ts";
import type { ServerMessage } from "../../scripts/dovecot.ts";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../_helpers/cli.ts";
import { openSqliteStatus } from "../../src/status/sqlite.ts";
import { makeAccount, readFolder, type TestAccount, toLf, uidOf } from "../_helpers/account.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const COUNT = 200;
/** Messages taken back out and delivered again in each round. */
const REDELIVER = 60;
const TIMED_KILLS = 40;
const HOOK_KILLS = 10;
/** Kills that must land in the middle of a delivery, over both lanes. */
const MIN_MID_DELIVERY = (TIMED_KILLS + HOOK_KILLS) * 0.4;
/** Timed kills a lane may add when too few of its kills landed in the middle of a delivery. */
const MAX_EXTRA_KILLS = 20;
/** Crash points per delivered message: created, written, synced, renamed. */
const POINTS_PER_MESSAGE = 4;
const enc = new TextEncoder();
const dec = new TextDecoder();

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function messageId(body: Uint8Array): string {
  return /Message-ID: <([^>]+)>/i.exec(dec.decode(body))?.[1] ?? "?";
}

/** Appends `count` small messages in one PREAUTH session (LITERAL+), a few ms in all. */
async function bulkSeed(server: DovecotServer, user: string, count: number): Promise<void> {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const body =
      `From: a@example.org\r\nSubject: crash ${i}\r\nMessage-ID: <${user}-${i}@example.org>` +
      `\r\n\r\n${`line ${i} `.repeat(1 + (i % 40))}\r\n`;
    const flags = i % 3 === 0 ? "(\\Seen)" : "()";
    parts.push(`a${i} APPEND INBOX ${flags} {${enc.encode(body).length}+}\r\n${body}\r\n`);
  }
  parts.push("z LOGOUT\r\n");
  const child = new Deno.Command("sh", {
    args: ["-c", server.preauthCommand(user)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const writer = child.stdin.getWriter();
  await writer.write(enc.encode(parts.join("")));
  await writer.close();
  const { stdout } = await output;
  const oks = dec.decode(stdout).match(/^a\d+ OK/gm) ?? [];
  assert.equal(oks.length, count, "every message seeded");
}

/**
 * Starts a sync; kills it after `delayMs`, or lets the crash hook kill it at `crashAt`.
 * Returns whether it died by SIGKILL, and its stderr otherwise.
 */
async function killedRun(
  config: string,
  kill: Kill,
): Promise<{ killed: boolean; stderr: string }> {
  const env: Record<string, string> = { HOME: "/nonexistent", NO_COLOR: "1" };
  if ("crashAt" in kill) env.OFFLINEIMAP_TS_TEST_CRASH_AT = String(kill.crashAt);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "-c", config, "-u", "quiet"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env,
    clearEnv: true,
  }).spawn();
  const timer = "delayMs" in kill
    ? setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // It finished first.
      }
    }, kill.delayMs)
    : undefined;
  const { signal, stderr } = await child.output();
  clearTimeout(timer);
  return { killed: signal === "SIGKILL", stderr: dec.decode(stderr) };
}

type Kill = { delayMs: number } | { crashAt: number };
/** A kill as drawn: a moment (a fraction of the lane's delivery window) or a write step. */
type KillDraw = { fraction: number } | { crashAt: number };

/** The status as the next run reads it (a hot journal left by the kill rolled back). */
async function statusUids(account: TestAccount): Promise<Map<number, string>> {
  const path = `${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`;
  const store = await openSqliteStatus(path, { fsync: false, create: false });
  try {
    return await store.read();
  } finally {
    await store.close();
  }
}

/**
 * Checks what a crash may leave: in `new/` and `cur/` only complete messages with their
 * server UID, none twice, and status records only for messages on disk. Returns the number
 * of messages on disk.
 */
async function assertCrashSafe(
  account: TestAccount,
  byUid: Map<number, ServerMessage>,
  label: string,
): Promise<number> {
  let files;
  try {
    files = await readFolder(`${account.mail}/INBOX`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0; // killed before the folder existed
    throw error;
  }
  const uids = new Set<number>();
  for (const file of files) {
    const uid = uidOf(file.name);
    assert.ok(uid !== undefined, `${label}: ${file.name} carries a UID`);
    const twin = byUid.get(uid);
    assert.ok(twin, `${label}: UID ${uid} is on the server`);
    assert.deepEqual(file.body, toLf(twin.body), `${label}: ${file.name} is complete`);
    assert.ok(!uids.has(uid), `${label}: UID ${uid} once only`);
    uids.add(uid);
  }
  for (const uid of (await statusUids(account)).keys()) {
    assert.ok(uids.has(uid), `${label}: status records UID ${uid} only once it is on disk`);
  }
  return files.length;
}

/** After a clean run: the local folder holds exactly the server's messages. */
async function assertComplete(account: TestAccount, server: ServerMessage[], label: string) {
  const files = await readFolder(`${account.mail}/INBOX`);
  const local = files.map((f) => messageId(f.body)).sort();
  const remote = server.map((m) => messageId(m.body)).sort();
  assert.deepEqual(local, remote, `${label}: no message lost or duplicated`);
  assert.equal((await statusUids(account)).size, COUNT, `${label}: every message recorded`);
}

/**
 * Takes `count` random messages out of the local folder and the status, as if they had never
 * been delivered, so that the next run delivers them again.
 */
async function undeliver(account: TestAccount, count: number, random: () => number) {
  const files = await readFolder(`${account.mail}/INBOX`);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * files.length));
  const db = new DatabaseSync(`${account.metadata}/Account-Test/LocalStatus-sqlite/INBOX`);
  try {
    const remove = db.prepare("DELETE FROM status WHERE id = ?");
    for (const index of chosen) {
      const file = files[index]!;
      await Deno.remove(file.path);
      remove.run(uidOf(file.name)!);
    }
  } finally {
    db.close();
  }
}

/**
 * One lane of rounds on its own account: each round takes `REDELIVER` messages back out,
 * kills a sync delivering them, checks what the crash left, and lets a fresh run finish.
 *
 * A moment is drawn as a fraction of the lane's window of delivery, which starts from a
 * measured run and adapts as kills land too early (nothing delivered yet) or too late (the run
 * was over), so that the kills keep spreading over the delivery on a busy machine too.
 * When fewer than `minMidDelivery` kills hit a delivery in its middle, up to MAX_EXTRA_KILLS more
 * timed kills follow. Returns how many kills hit a run in the middle of its delivery.
 */
async function runLane(
  server: DovecotServer,
  lane: number,
  draws: readonly KillDraw[],
  random: () => number,
  minMidDelivery: number,
): Promise<number> {
  const user = server.newUser(`crash-local-${lane}`);
  await bulkSeed(server, user, COUNT);
  const onServer = await server.listMessages(user, "INBOX");
  const byUid = new Map(onServer.map((m) => [m.uid, m]));
  const account = await makeAccount(server, user);
  try {
    const first = await runCli(["-c", account.config, "-u", "quiet"]);
    assert.equal(first.code, 0, first.stderr);
    await assertComplete(account, onServer, `lane ${lane} first run`);
    // Calibration: one redelivery, start-up included.
    await undeliver(account, REDELIVER, random);
    const started = performance.now();
    const calibration = await runCli(["-c", account.config, "-u", "quiet"]);
    const duration = performance.now() - started;
    assert.equal(calibration.code, 0, calibration.stderr);
    let earliest = duration * 0.25;
    let latest = duration * 1.1;

    let midDelivery = 0;
    const runRound = async (round: number | string, draw: KillDraw) => {
      const kill: Kill = "crashAt" in draw
        ? draw
        : { delayMs: Math.round(earliest + (latest - earliest) * draw.fraction) };
      const label = `lane ${lane} round ${round} ${JSON.stringify(kill)}`;
      await undeliver(account, REDELIVER, random);
      const { killed, stderr } = await killedRun(account.config, kill);
      if ("crashAt" in kill) assert.ok(killed, `${label}: the hook killed the run: ${stderr}`);
      const onDisk = await assertCrashSafe(account, byUid, label);
      if (killed && onDisk > COUNT - REDELIVER && onDisk < COUNT) midDelivery++;
      if ("delayMs" in kill) {
        // Too late (the run was over, or its delivery was): move the end of the window in;
        // too early (nothing delivered yet): move its start out.
        if (!killed || onDisk >= COUNT) {
          latest = Math.max(earliest + 20, (latest + kill.delayMs) / 2);
        } else if (onDisk <= COUNT - REDELIVER) {
          earliest = Math.min(latest - 20, (earliest + kill.delayMs) / 2);
        }
      }
      const clean = await runCli(["-c", account.config, "-u", "quiet"]);
      assert.equal(clean.code, 0, `${label}: ${clean.stderr}`);
      await assertComplete(account, onServer, label);
    };
    for (const [round, draw] of draws.entries()) await runRound(round, draw);
    // A busy machine can push the delivery around the window: a few more timed kills until
    // enough of them landed in the middle of it.
    for (let extra = 0; midDelivery < minMidDelivery && extra < MAX_EXTRA_KILLS; extra++) {
      await runRound(`extra ${extra}`, { fraction: random() });
    }
    return midDelivery;
  } finally {
    await account.remove();
  }
}

Deno.test("delivery killed at 40 random moments and 10 random write steps loses and duplicates nothing", async () => {
  const server = await dovecot();
  const random = prng(20261124);
  const draws: KillDraw[] = [];
  for (let i = 0; i < TIMED_KILLS; i++) draws.push({ fraction: random() });
  for (let i = 0; i < HOOK_KILLS; i++) {
    draws.push({ crashAt: 1 + Math.floor(random() * REDELIVER * POINTS_PER_MESSAGE) });
  }
  // Two lanes on two accounts run side by side: the runs mostly wait for the disk and Dovecot.
  const lanes = [0, 1].map((lane) =>
    runLane(
      server,
      lane,
      draws.filter((_, i) => i % 2 === lane),
      prng(lane + 7),
      Math.ceil(MIN_MID_DELIVERY / 2),
    )
  );
  const midDelivery = (await Promise.all(lanes)).reduce((a, b) => a + b, 0);
  assert.ok(
    midDelivery >= MIN_MID_DELIVERY,
    `kills landed during the delivery (${midDelivery} of ${TIMED_KILLS + HOOK_KILLS})`,
  );
});
