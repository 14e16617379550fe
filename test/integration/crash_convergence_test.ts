/**
 * Crash convergence: the sync is SIGKILLed at random points (seeded) during an initial sync and
 * during an incremental sync with changes on both sides; one clean run afterwards must leave
 * both sides and the status agreeing, with no message lost and none duplicated (compared as
 * Message-ID multisets, with flags). The kill points are spread over the part of a run that
 * writes, as timed by clean runs on the machine at hand, and each test asserts that enough kills
 * really landed half-way through the work.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { dovecot } from "../_helpers/dovecot.ts";
import type { DovecotServer } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { flagsOf, makeAccount, message, readFolder, toLf, uidOf } from "../_helpers/account.ts";
import type { TestAccount } from "../_helpers/account.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const dec = new TextDecoder();
const FOLDERS = ["INBOX", "Work"];
/** Kills per scenario at least; with both scenarios, well over 30 kill points. */
const ROUNDS = 20;
/** Kills per scenario at most, while fewer than {@link MIN_DURING} landed during the work. */
const MAX_ROUNDS = 40;
/** Kills per scenario that must land half-way through the work. */
const MIN_DURING = 5;
/** Messages on the server before the initial sync. */
const SEEDED = 100;
/** New messages on each side before an incremental run. */
const CHANGES = 8;

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

/** Starts a sync; SIGKILLs it after `delayMs` unless it ended first. */
async function killedRun(config: string, delayMs: number): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "-c", config, "-u", "quiet"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: { HOME: "/nonexistent" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already finished
    }
  }, delayMs);
  const status = await child.status;
  clearTimeout(timer);
  return status.signal === "SIGKILL";
}

/** When, in a clean run, the sync started writing and when the run ended (ms from spawn). */
interface Timing {
  readonly firstWrite: number;
  readonly end: number;
}

/**
 * Times two clean runs of a scenario on this machine (keeping the faster), so that the kills
 * land inside the run however fast or slow the machine is. `prepare` makes a fresh copy of the
 * scenario; `written` tells, polled while the run goes on, whether it has started writing.
 */
async function calibrate(
  prepare: () => Promise<TestAccount>,
  written: (account: TestAccount) => Promise<boolean>,
): Promise<Timing> {
  let best: Timing | undefined;
  for (let i = 0; i < 2; i++) {
    const account = await prepare();
    try {
      const start = performance.now();
      let firstWrite: number | undefined;
      const run = killedRun(account.config, 60_000);
      let done = false;
      run.finally(() => done = true);
      while (!done) {
        if (firstWrite === undefined && await written(account)) {
          firstWrite = performance.now() - start;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.equal(await run, false, "a calibration run ends by itself");
      const end = performance.now() - start;
      const timing = { firstWrite: firstWrite ?? end / 2, end };
      if (best === undefined || timing.end < best.end) best = timing;
    } finally {
      await account.remove();
    }
  }
  return best!;
}

/**
 * Where the kills go: first from a little before the first write to just before the end of a
 * clean run, then moved round by round towards the moments that land half-way through the
 * work, since the machine's load (other tests run in parallel) changes how long a run takes.
 * Draws also fall a little outside the window, so that it can widen again when the load changes.
 */
class KillWindow {
  #earliest: number;
  #latest: number;

  constructor(timing: Timing) {
    this.#earliest = timing.firstWrite * 0.8;
    this.#latest = timing.end * 0.95;
  }

  /** A moment in or near the window (ms after spawn). */
  draw(random: () => number): number {
    const from = this.#earliest * 0.85;
    return Math.floor(from + (this.#latest * 1.15 - from) * random());
  }

  /** Learns from a kill at `delay`: it came before any write, during them, or after them. */
  learn(delay: number, outcome: "before" | "during" | "after"): void {
    if (outcome === "before") {
      this.#earliest = delay;
      this.#latest = Math.max(this.#latest, delay * 1.2);
    } else if (outcome === "after") {
      this.#latest = delay;
      this.#earliest = Math.min(this.#earliest, delay * 0.8);
    }
  }

  toString(): string {
    return `${Math.round(this.#earliest)}-${Math.round(this.#latest)} ms`;
  }
}

/**
 * Names of the message files in the scenario's Maildir folders, read without opening any file,
 * since a run may be renaming them meanwhile (a folder not created yet has none).
 */
function messageNames(account: TestAccount): string[] {
  const names: string[] = [];
  for (const folder of FOLDERS) {
    for (const sub of ["new", "cur"]) {
      try {
        for (const entry of Deno.readDirSync(`${account.mail}/${folder}/${sub}`)) {
          if (entry.isFile && !entry.name.startsWith(".")) names.push(entry.name);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }
  return names;
}

/** Number of message files in the Maildir folders of the scenario. */
function countLocal(account: TestAccount): number {
  return messageNames(account).length;
}

const SERVER_FLAGS: Record<string, string> = {
  "\\Seen": "S",
  "\\Flagged": "F",
  "\\Answered": "R",
  "\\Draft": "D",
};

/** Asserts both sides and the status agree: same Message-IDs once each, same flags. */
async function assertConverged(server: DovecotServer, account: TestAccount, label: string) {
  for (const folder of FOLDERS) {
    const remote = await server.listMessages(account.user, folder);
    const local = await readFolder(`${account.mail}/${folder}`);
    const remoteIds = remote.map((m) => messageId(m.body)).sort();
    const localIds = local.map((f) => messageId(f.body)).sort();
    assert.deepEqual(localIds, remoteIds, `${label} ${folder}: same messages`);
    assert.equal(new Set(remoteIds).size, remoteIds.length, `${label} ${folder}: no duplicate`);
    const byUid = new Map(remote.map((m) => [m.uid, m]));
    const db = new DatabaseSync(`${account.metadata}/Account-Test/LocalStatus-sqlite/${folder}`, {
      readOnly: true,
    });
    const status = new Map(
      (db.prepare("SELECT id, flags FROM status").all() as Array<{ id: number; flags: string }>)
        .map((r) => [r.id, r.flags]),
    );
    db.close();
    for (const file of local) {
      const uid = uidOf(file.name);
      assert.ok(uid !== undefined, `${label}: ${file.name} has a UID`);
      const twin = byUid.get(uid);
      assert.ok(twin, `${label}: UID ${uid} exists on the server`);
      assert.deepEqual(file.body, toLf(twin.body), `${label}: content of UID ${uid} complete`);
      const serverFlags = twin.flags.map((f) => SERVER_FLAGS[f] ?? "").sort().join("");
      assert.equal(flagsOf(file.name), serverFlags, `${label}: flags of UID ${uid}`);
      assert.equal(status.get(uid), serverFlags, `${label}: status of UID ${uid}`);
    }
    assert.equal(status.size, local.length, `${label} ${folder}: status has every message`);
  }
}

async function seedUser(server: DovecotServer, prefix: string, count: number): Promise<string> {
  const user = server.newUser(prefix);
  for (let i = 0; i < count; i++) {
    const folder = FOLDERS[i % FOLDERS.length]!;
    await server.seed(user, folder, message(`${user}-${i}`, `body ${i} ${"z".repeat(i * 50)}`), {
      flags: i % 3 === 0 ? ["\\Seen"] : [],
    });
  }
  return user;
}

Deno.test("a sync killed at random points of an initial sync converges on the next run", async () => {
  const server = await dovecot();
  const user = await seedUser(server, "crash-initial", SEEDED);
  const timing = await calibrate(
    () => makeAccount(server, user),
    (account) => Promise.resolve(countLocal(account) > 0),
  );
  const kills = new KillWindow(timing);
  const random = prng(20261123);
  let during = 0;
  for (let round = 0; round < ROUNDS || (during < MIN_DURING && round < MAX_ROUNDS); round++) {
    const account = await makeAccount(server, user);
    try {
      const delay = kills.draw(random);
      const wasKilled = await killedRun(account.config, delay);
      const local = countLocal(account);
      const outcome = !wasKilled || local === SEEDED ? "after" : local === 0 ? "before" : "during";
      kills.learn(delay, outcome);
      if (outcome === "during") during++;
      const clean = await runCli(["-c", account.config]);
      assert.equal(clean.code, 0, `round ${round}: ${clean.stderr}`);
      await assertConverged(server, account, `initial round ${round}`);
    } finally {
      await account.remove();
    }
  }
  assert.ok(
    during >= MIN_DURING,
    `at least ${MIN_DURING} runs were killed mid-download (${during}; ${kills})`,
  );
});

/** Local messages after the changes of an incremental scenario: 16 synced, one deleted, new. */
const PREPARED = 16 - 1 + CHANGES;

/** Seeds a user, syncs it once, then makes changes on both sides for the next run. */
async function prepareIncremental(server: DovecotServer, round: number): Promise<TestAccount> {
  const user = await seedUser(server, "crash-incr", 16);
  const account = await makeAccount(server, user);
  assert.equal((await runCli(["-c", account.config])).code, 0);
  // Changes on the server: new mail, a flag, an expunge.
  for (let i = 0; i < CHANGES; i++) {
    await server.seed(user, "INBOX", message(`${user}-srv-${i}`));
  }
  await server.setFlags(user, "Work", 2, ["\\Flagged"]);
  await server.expunge(user, "INBOX", 3);
  // Changes locally: new mail, a flag, a deletion.
  for (let i = 0; i < CHANGES; i++) {
    await Deno.writeTextFile(
      `${account.mail}/Work/new/17000000${i}.M${round}P${i}.host`,
      message(`${user}-loc-${i}`).replaceAll("\r\n", "\n"),
    );
  }
  const inbox = await readFolder(`${account.mail}/INBOX`);
  const flagged = inbox.find((f) => uidOf(f.name) === 1)!;
  await Deno.rename(flagged.path, flagged.path.replace(/:2,S?$/, ":2,RS"));
  await Deno.remove(inbox.find((f) => uidOf(f.name) === 5)!.path);
  return account;
}

/**
 * How far the local side of an incremental scenario got: "none" before the sync wrote anything
 * there, "all" once every upload has its UID and every new server message is down.
 */
function incrementalProgress(account: TestAccount): "none" | "some" | "all" {
  const files = messageNames(account);
  const withoutUid = files.filter((name) => uidOf(name) === undefined).length;
  if (withoutUid === CHANGES && files.length === PREPARED) return "none";
  if (withoutUid === 0 && files.length === PREPARED + CHANGES - 1) return "all";
  return "some";
}

Deno.test("a sync killed at random points of an incremental sync converges on the next run", async () => {
  const server = await dovecot();
  let calibrations = 0;
  const timing = await calibrate(
    () => prepareIncremental(server, ROUNDS + calibrations++),
    (account) => Promise.resolve(incrementalProgress(account) !== "none"),
  );
  const kills = new KillWindow(timing);
  const random = prng(4242);
  let during = 0;
  for (let round = 0; round < ROUNDS || (during < MIN_DURING && round < MAX_ROUNDS); round++) {
    const account = await prepareIncremental(server, round);
    try {
      const delay = kills.draw(random);
      const wasKilled = await killedRun(account.config, delay);
      const progress = incrementalProgress(account);
      const outcome = !wasKilled || progress === "all"
        ? "after"
        : progress === "none"
        ? "before"
        : "during";
      kills.learn(delay, outcome);
      if (outcome === "during") during++;
      const clean = await runCli(["-c", account.config]);
      assert.equal(clean.code, 0, `round ${round}: ${clean.stderr}`);
      await assertConverged(server, account, `incremental round ${round}`);
      const user = account.user;
      const all = (await Promise.all(FOLDERS.map((f) => server.listMessages(user, f)))).flat();
      const ids = new Set(all.map((m) => messageId(m.body)));
      for (let i = 0; i < CHANGES; i++) {
        assert.ok(ids.has(`${user}-srv-${i}@example.org`), "server's new mail kept");
        assert.ok(ids.has(`${user}-loc-${i}@example.org`), "local new mail kept");
      }
      assert.equal(all.length, 16 + 2 * CHANGES - 2, `round ${round}: exactly the two deletions`);
    } finally {
      await account.remove();
    }
  }
  assert.ok(
    during >= MIN_DURING,
    `at least ${MIN_DURING} runs were killed half-way through the changes (${during}; ${kills})`,
  );
});
