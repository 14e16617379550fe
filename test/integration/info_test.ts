/**
 * The `--info` report built from real folder lists: the repositories of a resolved
 * configuration are opened and listed against the test Dovecot (as main.ts does for --info),
 * then formatted by formatInfo().
 */

import assert from "node:assert/strict";
import { dovecot } from "../_helpers/dovecot.ts";
import { makeAccount, message } from "../_helpers/account.ts";
import { readConfig } from "../../src/config/load.ts";
import { resolveConfig, type ResolveOptions } from "../../src/config/schema.ts";
import type { Config } from "../../src/config/types.ts";
import { formatInfo, gatherListings } from "../../src/cli/info.ts";
import { openAccount } from "../../src/repository/open.ts";

/** Lists every repository of `config` through the real repository code. */
async function listAll(config: Config) {
  return await gatherListings(config, async (account, role) => {
    const opened = openAccount(account, config.general, { dryRun: true });
    const repo = role === "remote" ? opened.remote : opened.local;
    try {
      return (await repo.listFolders()).map((f) => f.name);
    } finally {
      await opened.local.close();
      await opened.remote.close();
    }
  });
}

async function resolve(path: string, opts: ResolveOptions = {}): Promise<Config> {
  return resolveConfig(await readConfig(path), path, opts).config;
}

Deno.test("the --info report lists the server's folders with -f applied, password masked", async () => {
  const server = await dovecot();
  const user = server.newUser("info");
  for (const box of ["INBOX", "Lists", "Spam"]) await server.seed(user, box, message(`i-${box}`));
  const account = await makeAccount(server, user);
  try {
    const config = await resolve(account.config, { folders: ["INBOX", "Lists"] });
    const text = formatInfo(config, await listAll(config));
    assert.match(text, /Remote repository "Remote": type IMAP\n {2}remotehost = localhost\n/);
    assert.match(text, / {2}folderfilter = lambda f: f in \['INBOX', 'Lists'\]\n/);
    const remoteFolders = /Remote repository[\s\S]*? {2}Folders \((\d+)\):\n((?: {4}.*\n)*)/.exec(
      text,
    );
    assert.ok(remoteFolders, text);
    const lines = remoteFolders[2]!.trimEnd().split("\n").map((l) => l.trim()).sort();
    assert.deepEqual(lines, ["INBOX", "Lists", "Spam (disabled)"]);
    assert.ok(!text.includes(server.password), "password masked");
    // The local Maildir does not exist yet: an empty list or the reason, never a crash.
    assert.match(text, /Local repository "Local": type Maildir\n( {2}.*\n)* {2}Folders/);
  } finally {
    await account.remove();
  }
});

Deno.test("the --info report shows nametrans and folderfilter results from the server", async () => {
  const server = await dovecot();
  const user = server.newUser("infotrans");
  // Dovecot's separator here is ".".
  for (const box of ["INBOX", "Work.2021", "Junk"]) await server.seed(user, box, message(box));
  const account = await makeAccount(server, user, {
    remote: "nametrans = lambda name: re.sub(r'^(?P<top>[^.]+)\\.(?P<rest>.*)$', " +
      "r'\\g<rest>_\\g<top>', name)\n" +
      "folderfilter = lambda box: not re.match('.*(junk|spam)$', box, re.I)",
  });
  try {
    const config = await resolve(account.config);
    const text = formatInfo(config, await listAll(config));
    const remote = /Remote repository[\s\S]*? {2}Folders \(\d+\):\n((?: {4}.*\n)*)/.exec(text);
    assert.ok(remote, text);
    const lines = remote[1]!.trimEnd().split("\n").map((l) => l.trim()).sort();
    assert.deepEqual(lines, ["INBOX", "Junk (disabled)", "Work.2021 -> 2021_Work"]);
  } finally {
    await account.remove();
  }
});
