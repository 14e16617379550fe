/**
 * Running forever: autorefresh cycles, hooks around them, and the signals that end them.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { makeAccount, message, readFolder } from "../_helpers/account.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Starts the program in the background, as `offlineimap` left running from a terminal. */
function spawnDaemon(config: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "-c", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: "/nonexistent" },
  }).spawn();
}

/** Makes sure the daemon is gone and its pipes are drained (no leaked resources). */
async function stopDaemon(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.output().catch(() => {});
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

Deno.test("autorefresh syncs again after the interval and SIGUSR2 ends the loop cleanly", async () => {
  const server = await dovecot();
  const user = server.newUser("daemon");
  await server.seed(user, "INBOX", message("dm-1"));
  const account = await makeAccount(server, user);
  const hookLog = `${account.dir}/hooks.log`;
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace(
        "remoterepository = Remote",
        `remoterepository = Remote\nautorefresh = 0.02\npresynchook = echo "pre $OIMAP_ACCOUNT_NAME $OFFLINEIMAPSYNCMODE" >> ${hookLog}\npostsynchook = echo post >> ${hookLog}`,
      ),
    );
    const child = spawnDaemon(account.config);
    try {
      assert.ok(
        await waitFor(
          async () => (await readFolder(`${account.mail}/INBOX`).catch(() => [])).length === 1,
          10_000,
        ),
        "first cycle synced",
      );
      await server.seed(user, "INBOX", message("dm-2"));
      assert.ok(
        await waitFor(async () => (await readFolder(`${account.mail}/INBOX`)).length === 2, 10_000),
        "a later cycle picked up the new message",
      );
      child.kill("SIGUSR2");
      const status = await child.status;
      assert.equal(status.code, 0);
    } finally {
      await stopDaemon(child);
    }
    const hooks = (await Deno.readTextFile(hookLog)).trim().split("\n");
    assert.equal(hooks[0], "pre Test full");
    assert.ok(hooks.includes("post"), "postsynchook ran");
    assert.ok(hooks.filter((l) => l.startsWith("pre")).length >= 2, "hooks ran every cycle");
  } finally {
    await account.remove();
  }
});

Deno.test("idlefolders: a message arriving during the sleep is synced at once through IDLE", async () => {
  const server = await dovecot();
  const user = server.newUser("idle");
  await server.seed(user, "INBOX", message("idle-1"));
  const account = await makeAccount(server, user, { remote: "idlefolders = ['INBOX']" });
  try {
    const text = await Deno.readTextFile(account.config);
    // A long autorefresh: only IDLE can bring the second message in time.
    await Deno.writeTextFile(
      account.config,
      text.replace("remoterepository = Remote", "remoterepository = Remote\nautorefresh = 10"),
    );
    const child = spawnDaemon(account.config);
    try {
      assert.ok(
        await waitFor(
          async () => (await readFolder(`${account.mail}/INBOX`).catch(() => [])).length === 1,
          10_000,
        ),
        "first cycle synced",
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.seed(user, "INBOX", message("idle-2"));
      assert.ok(
        await waitFor(async () => (await readFolder(`${account.mail}/INBOX`)).length === 2, 8_000),
        "IDLE brought the new message in during the sleep",
      );
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0);
    } finally {
      await stopDaemon(child);
    }
  } finally {
    await account.remove();
  }
});

Deno.test("autorefresh recovers after a cycle whose login failed", async () => {
  const server = await dovecot();
  const user = server.newUser("recover");
  await server.seed(user, "INBOX", message("rc-1"));
  const account = await makeAccount(server, user);
  const passFile = `${account.dir}/password`;
  try {
    await Deno.writeTextFile(passFile, "wrong-password\n", { mode: 0o600 });
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace(`remotepass = ${server.password}`, `remotepassfile = ${passFile}`)
        .replace("remoterepository = Remote", "remoterepository = Remote\nautorefresh = 0.02"),
    );
    const child = spawnDaemon(account.config);
    try {
      // Let the first cycle fail, then fix the password: a later cycle must log in again.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal((await readFolder(`${account.mail}/INBOX`).catch(() => [])).length, 0);
      await Deno.writeTextFile(passFile, `${server.password}\n`);
      assert.ok(
        await waitFor(
          async () => (await readFolder(`${account.mail}/INBOX`).catch(() => [])).length === 1,
          10_000,
        ),
        "a later cycle synced",
      );
      child.kill("SIGUSR2");
      await child.status;
    } finally {
      await stopDaemon(child);
    }
  } finally {
    await account.remove();
  }
});
