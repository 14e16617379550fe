/**
 * Every command-line flag, end to end through the real program against the test Dovecot: what
 * it changes in a run. And a representative subset of the malformed-input table
 * (test/unit/config/malformed_test.ts): one ERROR line, OfflineIMAP's exit status, no stack
 * trace.
 *
 * Flags main.ts does not implement yet are checked to be refused loudly; when a run shows one
 * is implemented, its test asserts the effect instead (see `refusedYet`).
 */

import assert from "node:assert/strict";
import { dovecot, type DovecotServer } from "../_helpers/dovecot.ts";
import { runCli } from "../_helpers/cli.ts";
import { makeAccount, message, readFolder } from "../_helpers/account.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function assertCleanError(stderr: string, pattern: RegExp): void {
  const errorLines = stderr.split("\n").filter((l) => l.startsWith("ERROR"));
  assert.equal(errorLines.length, 1, stderr);
  assert.match(errorLines[0]!, pattern);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(stderr, /internal error/);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A config with two accounts, One and Two, for two users of `server`. */
async function twoAccounts(server: DovecotServer, users: [string, string], extra = "") {
  const dir = await Deno.makeTempDir({ prefix: "oimap-flags-" });
  const repos = users.map((user, i) => {
    const n = ["One", "Two"][i];
    return `[Account ${n}]\nlocalrepository = ${n}Local\nremoterepository = ${n}Remote\n\n` +
      `[Repository ${n}Local]\ntype = Maildir\nlocalfolders = ${dir}/mail${n}\n\n` +
      `[Repository ${n}Remote]\ntype = IMAP\nremotehost = localhost\n` +
      `remoteport = ${server.tlsPort}\nsslcacertfile = ${server.caFile}\n` +
      `remoteuser = ${user}\nremotepass = ${server.password}\n`;
  });
  const config = `${dir}/rc`;
  await Deno.writeTextFile(
    config,
    `[general]\naccounts = One, Two\nmetadata = ${dir}/meta\nui = basic\n${extra}\n\n` +
      repos.join("\n"),
    { mode: 0o600 },
  );
  return { dir, config, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** True when main.ts still refuses `flag` as "not supported yet" (exit 1, one line). */
function refusedYet(result: { code: number; stderr: string }, flag: string): boolean {
  if (!result.stderr.includes(`Option ${flag} is not supported yet`)) return false;
  assert.equal(result.code, 1);
  assertCleanError(result.stderr, new RegExp(`Option ${flag} is not supported yet`));
  return true;
}

Deno.test("-h and --help print the usage and exit 0", async () => {
  for (const flag of ["-h", "--help", "--he"]) {
    const result = await runCli([flag, "--no-such-flag"]);
    assert.equal(result.code, 0, flag);
    assert.match(result.stdout, /^Usage: offlineimap \[options\]\n/);
    assert.match(result.stdout, / {2}-k \[SECTION:\]OPTION=VALUE/);
  }
});

Deno.test("--version prints the bare version and -V the versions of the runtime", async () => {
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const info = await runCli(["-V"]);
  assert.equal(info.code, 0);
  assert.match(info.stdout, /^offlineimap-ts v\d+\.\d+\.\d+, Deno v[\d.]+, V8 v[\d.]+/);
});

Deno.test("-c reads the given file; without it the XDG file wins over ~/.offlineimaprc", async () => {
  const server = await dovecot();
  const user = server.newUser("flagc");
  await server.seed(user, "INBOX", message("c-1"));
  const account = await makeAccount(server, user);
  const home = await Deno.makeTempDir({ prefix: "oimap-home-" });
  try {
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
    await Deno.mkdir(`${home}/xdg/offlineimap`, { recursive: true });
    await Deno.copyFile(account.config, `${home}/xdg/offlineimap/config`);
    await Deno.writeTextFile(`${home}/.offlineimaprc`, "this file is not read\n");
    const xdg = await runCli([], { HOME: home, XDG_CONFIG_HOME: `${home}/xdg` });
    assert.equal(xdg.code, 0, xdg.stderr);
    const fallback = await runCli([], { HOME: home, XDG_CONFIG_HOME: `${home}/none` });
    assert.equal(fallback.code, 1);
    assertCleanError(fallback.stderr, new RegExp(`Cannot read config "${home}/\\.offlineimaprc"`));
  } finally {
    await account.remove();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("-a syncs only the named accounts", async () => {
  const server = await dovecot();
  const users: [string, string] = [server.newUser("flaga1"), server.newUser("flaga2")];
  for (const user of users) await server.seed(user, "INBOX", message(`a-${user}`));
  const setup = await twoAccounts(server, users);
  try {
    const result = await runCli(["-c", setup.config, "-a", "Two"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await exists(`${setup.dir}/mailOne`), false, "account One untouched");
    assert.equal((await readFolder(`${setup.dir}/mailTwo/INBOX`)).length, 1);
  } finally {
    await setup.remove();
  }
});

Deno.test("-f syncs only the listed remote folders, by untranslated name", async () => {
  const server = await dovecot();
  const user = server.newUser("flagf");
  await server.seed(user, "INBOX", message("f-1"));
  await server.seed(user, "Lists", message("f-2"));
  await server.seed(user, "Spam", message("f-3"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "-f", "INBOX,Lists"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
    assert.equal((await readFolder(`${account.mail}/Lists`)).length, 1);
    assert.equal(await exists(`${account.mail}/Spam`), false);
  } finally {
    await account.remove();
  }
});

Deno.test("-k overrides an option of any section for this run", async () => {
  const server = await dovecot();
  const user = server.newUser("flagk");
  await server.seed(user, "INBOX", message("k-1"));
  const account = await makeAccount(server, user);
  try {
    const other = `${account.dir}/elsewhere`;
    const result = await runCli([
      "-c",
      account.config,
      "-k",
      `Repository_Local:localfolders=${other}`,
      "-k",
      "ui=quiet",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFolder(`${other}/INBOX`)).length, 1);
    assert.equal(await exists(account.mail), false);
    assert.equal(result.stdout, "", "ui=quiet from -k prints nothing");
  } finally {
    await account.remove();
  }
});

Deno.test("-o runs once even with autorefresh set", async () => {
  const server = await dovecot();
  const user = server.newUser("flago");
  await server.seed(user, "INBOX", message("o-1"));
  const account = await makeAccount(server, user);
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace("[Account Test]\n", "[Account Test]\nautorefresh = 60\n"),
    );
    // Without -o this run would never end: the timeout turns a regression into a failure.
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "-c", account.config, "-o"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { HOME: "/nonexistent", NO_COLOR: "1" },
      clearEnv: true,
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
  } finally {
    await account.remove();
  }
});

Deno.test("-q makes the sync quick: an unchanged folder is skipped", async () => {
  const server = await dovecot();
  const user = server.newUser("flagq");
  await server.seed(user, "INBOX", message("q-1"));
  const account = await makeAccount(server, user);
  try {
    assert.equal((await runCli(["-c", account.config])).code, 0);
    const full = await runCli(["-c", account.config]);
    assert.doesNotMatch(full.stdout, /Skipping INBOX/);
    const quick = await runCli(["-c", account.config, "-q"]);
    assert.equal(quick.code, 0, quick.stderr);
    assert.match(quick.stdout, /Skipping INBOX \[Test\] \(not changed\)/);
  } finally {
    await account.remove();
  }
});

Deno.test("-u chooses the UI case-insensitively; old dotted names work; unknown names exit 1", async () => {
  const server = await dovecot();
  const user = server.newUser("flagu");
  await server.seed(user, "INBOX", message("u-1"));
  const account = await makeAccount(server, user);
  try {
    const basic = await runCli(["-c", account.config, "-u", "BASIC"]);
    assert.equal(basic.code, 0, basic.stderr);
    assert.notEqual(basic.stdout, "", "basic reports progress");
    const quiet = await runCli(["-c", account.config, "-u", "Noninteractive.Quiet"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "", "quiet prints nothing on success");
    const unknown = await runCli(["-c", account.config, "-u", "fancy"]);
    assert.equal(unknown.code, 1);
    assertCleanError(unknown.stderr, /UI "fancy" does not exist/);
  } finally {
    await account.remove();
  }
});

Deno.test("-d imap traces the protocol with the password masked; unknown types warn", async () => {
  const server = await dovecot();
  const user = server.newUser("flagd");
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "-d", "imap,bogus"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /C: A\d+ (LOGIN|AUTHENTICATE)/);
    assert.ok(!result.stderr.includes(server.password), "password masked");
    assert.match(result.stderr + result.stdout, /Invalid debug type: bogus/);
    const plain = await runCli(["-c", account.config]);
    assert.doesNotMatch(plain.stderr, /C: A\d+/, "no trace without -d");
  } finally {
    await account.remove();
  }
});

Deno.test("-1 uses one connection even with maxconnections = 3", async () => {
  const server = await dovecot();
  const user = server.newUser("flag1");
  for (const box of ["INBOX", "A", "B", "C"]) await server.seed(user, box, message(`1-${box}`));
  const account = await makeAccount(server, user, { remote: "maxconnections = 3" });
  try {
    // -d thread keeps the run multi-threaded except for what -1 itself asks.
    const single = await runCli(["-c", account.config, "-1", "-d", "imap,thread"]);
    assert.equal(single.code, 0, single.stderr);
    const logins = single.stderr.match(/C: A\d+ (LOGIN|AUTHENTICATE)/g) ?? [];
    assert.equal(logins.length, 1, "one connection");
    for (const box of ["INBOX", "A", "B", "C"]) {
      assert.equal((await readFolder(`${account.mail}/${box}`)).length, 1, box);
    }
  } finally {
    await account.remove();
  }
});

Deno.test("-P is accepted with a warning and the sync still runs", async () => {
  const server = await dovecot();
  const user = server.newUser("flagp");
  await server.seed(user, "INBOX", message("p-1"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "-P", `${account.dir}/prof`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout + result.stderr, /Profiling \(-P\) is not supported/);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
  } finally {
    await account.remove();
  }
});

Deno.test("--dry-run writes nothing, locally or in the metadata", async () => {
  const server = await dovecot();
  const user = server.newUser("flagdry");
  await server.seed(user, "INBOX", message("dry-1"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "--dry-run"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\[DRYRUN\]/);
    assert.equal(await exists(account.mail), false);
    assert.equal(await exists(account.metadata), false);
  } finally {
    await account.remove();
  }
});

Deno.test("--ignore-keyring is accepted and changes nothing", async () => {
  const server = await dovecot();
  const user = server.newUser("flagkr");
  await server.seed(user, "INBOX", message("kr-1"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "--ignore-keyring"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFolder(`${account.mail}/INBOX`)).length, 1);
  } finally {
    await account.remove();
  }
});

Deno.test("--info lists settings and folders, or is refused until wired", async (t) => {
  const server = await dovecot();
  const user = server.newUser("flaginfo");
  await server.seed(user, "INBOX", message("info-1"));
  await server.seed(user, "Lists", message("info-2"));
  const account = await makeAccount(server, user);
  try {
    const result = await runCli(["-c", account.config, "--info", "-f", "INBOX"]);
    if (refusedYet(result, "--info")) {
      await t.step({
        name: "output (waiting for main.ts to call formatInfo)",
        ignore: true,
        fn() {},
      });
      return;
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Remote repository "Remote": type IMAP/);
    assert.match(result.stdout, / {4}INBOX\n {4}Lists \(disabled\)\n/);
    assert.ok(!result.stdout.includes(server.password), "password masked");
    assert.equal(await exists(account.mail), false, "--info syncs nothing");
  } finally {
    await account.remove();
  }
});

Deno.test("-l, -s, --delete-folder, --migrate-fmd5-using-nametrans, --mbnames-prune: effect or loud refusal", async (t) => {
  const server = await dovecot();
  const user = server.newUser("flagrest");
  await server.seed(user, "INBOX", message("rest-1"));
  await server.seed(user, "Old", message("rest-2"));
  const account = await makeAccount(server, user);
  try {
    const log = `${account.dir}/log`;
    const logged = await runCli(["-c", account.config, "-l", log]);
    if (!refusedYet(logged, "-l")) {
      await t.step("-l appends the log to the file", async () => {
        assert.equal(logged.code, 0, logged.stderr);
        assert.ok((await Deno.readTextFile(log)).length > 0);
      });
    }
    const syslog = await runCli(["-c", account.config, "-s"]);
    if (!refusedYet(syslog, "-s")) {
      await t.step("-s still syncs", () => assert.equal(syslog.code, 0, syslog.stderr));
    }
    const deleted = await runCli(["-c", account.config, "--delete-folder", "Old"]);
    if (!refusedYet(deleted, "--delete-folder")) {
      await t.step("--delete-folder deletes the remote folder", async () => {
        assert.equal(deleted.code, 0, deleted.stderr);
        assert.ok(!(await server.listMailboxes(user)).includes("Old"));
      });
    }
    const migrate = await runCli(["-c", account.config, "--migrate-fmd5-using-nametrans"]);
    if (!refusedYet(migrate, "--migrate-fmd5-using-nametrans")) {
      await t.step("--migrate-fmd5-using-nametrans exits 0", () => {
        assert.equal(migrate.code, 0, migrate.stderr);
      });
    }
    const prune = await runCli(["-c", account.config, "--mbnames-prune"]);
    if (!refusedYet(prune, "--mbnames-prune")) {
      await t.step("--mbnames-prune exits 0", () => assert.equal(prune.code, 0, prune.stderr));
    }
  } finally {
    await account.remove();
  }
});

// ---------------------------------------------------------------------------------------------
// Malformed input through the real program (the full table is test/unit/config/malformed_test.ts)

const MALFORMED: readonly [string, (rc: string) => string, string[], RegExp, number][] = [
  [
    "missing ]",
    (rc) => rc.replace("[Account Test]", "[Account Test"),
    [],
    /section header "\[Account Test" has no closing "\]"/,
    1,
  ],
  ["value before any section", (rc) => `ui = basic\n${rc}`, [], /comes before any \[section\]/, 1],
  [
    "duplicate option",
    (rc) => rc.replace("ui = basic", "ui = basic\nUI = quiet"),
    [],
    /option "ui" is set twice in section "general"/,
    1,
  ],
  [
    "bad boolean",
    (rc) => rc.replace("ui = basic", "ui = basic\nfsync = maybe"),
    [],
    /Not a boolean: "maybe"/,
    1,
  ],
  [
    "unknown repository type",
    (rc) => rc.replace("type = IMAP", "type = POP3"),
    [],
    /"POP3" is not a valid type for remote repositories/,
    1,
  ],
  [
    "both tunnels",
    (rc) => `${rc}preauthtunnel = ssh h imapd\ntransporttunnel = nc h 143\n`,
    [],
    /"preauthtunnel" and "transporttunnel" .* cannot both be set/,
    1,
  ],
  [
    "tls_level without ssl_version",
    (rc) => `${rc}tls_level = tls_secure\n`,
    [],
    /"tls_level" in section "Repository Remote" requires option "ssl_version"/,
    1,
  ],
  [
    "maxage in the future",
    (rc) => rc.replace("[Account Test]\n", "[Account Test]\nmaxage = 2999-12-31\n"),
    [],
    /"maxage" in section "Account Test": 2999-12-31 is in the future/,
    1,
  ],
  [
    "bad lambda",
    (rc) => `${rc}nametrans = lambda f: f +\n`,
    [],
    /"nametrans" in section "Repository Remote"/,
    1,
  ],
  ["unknown account", (rc) => rc, ["-a", "Nope"], /The account "Nope" does not exist/, 1],
  ["-k without =", (rc) => rc, ["-k", "Account_Test:autorefresh"], /-k option needs/, 2],
  [
    "-k for a missing section",
    (rc) => rc,
    ["-k", "Account_Nope:autorefresh=5"],
    /section "Account Nope" does not exist/,
    1,
  ],
  ["flag without its argument", (rc) => rc, ["-f"], /-f option requires 1 argument/, 2],
];

Deno.test("malformed input through the program: one ERROR line, the right exit status, no trace", async (t) => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("malformed"));
  try {
    const valid = await Deno.readTextFile(account.config);
    for (const [name, patch, args, pattern, code] of MALFORMED) {
      await t.step(name, async () => {
        await Deno.writeTextFile(account.config, patch(valid));
        const result = await runCli(["-c", account.config, ...args]);
        assert.equal(result.code, code, result.stderr);
        assertCleanError(result.stderr, pattern);
        assert.equal(await exists(account.mail), false, "nothing synced");
      });
    }
  } finally {
    await account.remove();
  }
});

Deno.test("an unreadable password file ends the account with exit 1 and one line", async () => {
  const server = await dovecot();
  const account = await makeAccount(server, server.newUser("passfile"));
  try {
    const text = await Deno.readTextFile(account.config);
    await Deno.writeTextFile(
      account.config,
      text.replace(`remotepass = ${server.password}`, `remotepassfile = ${account.dir}/nope`),
    );
    const result = await runCli(["-c", account.config]);
    assert.equal(result.code, 1);
    assertCleanError(result.stderr, new RegExp(`Cannot read password file "${account.dir}/nope"`));
  } finally {
    await account.remove();
  }
});
