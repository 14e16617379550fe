/**
 * The IDLE watch of the remote repository (`idlefolders`) against Dovecot: a stop must end it
 * whenever it comes, since the daemon waits for the watch before it exits.
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { makeAccount, message } from "../_helpers/account.ts";
import { readConfig } from "../../src/config/load.ts";
import { resolveConfig } from "../../src/config/schema.ts";
import { openAccount } from "../../src/repository/open.ts";

/** Resolves within `ms`, or rejects naming `what`. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a watch stopped while its SELECT and IDLE are on the way ends at once", async () => {
  const server = await dovecot();
  const user = server.newUser("watchstop");
  await server.seed(user, "INBOX", message("ws-1"));
  const account = await makeAccount(server, user);
  const config = resolveConfig(await readConfig(account.config), account.config, {}).config;
  const opened = openAccount(config.accounts.get("Test")!, config.general, { dryRun: false });
  try {
    for (let round = 0; round < 3; round++) {
      const stop = new AbortController();
      const changes: string[] = [];
      const watching = opened.remote.watch!(["INBOX"], (folder) => {
        changes.push(folder);
        return Promise.resolve();
      }, stop.signal);
      // The stop fires before the watch has even connected (round 0) or selected.
      await new Promise((resolve) => setTimeout(resolve, round * 20));
      stop.abort();
      await within(5_000, `watch of round ${round}`, watching);
      assert.deepEqual(changes, []);
    }
  } finally {
    await opened.remote.close();
    await opened.local.close();
    await account.remove();
  }
});
