/**
 * The effect of each configuration-changing flag on the resolved configuration, through the
 * same steps as main.ts: parseArgs, applyOverrides, resolveConfig. (Flags that act on the run
 * rather than the configuration are tested end to end in test/integration/cli_flags_test.ts.)
 */

import assert from "node:assert/strict";
import { applyOverrides, normalizeUiName, parseArgs } from "../../../src/cli/args.ts";
import { parseIni } from "../../../src/config/ini.ts";
import { resolveConfig } from "../../../src/config/schema.ts";
import type { Config } from "../../../src/config/types.ts";

const RC = `[DEFAULT]
autorefresh = 10

[general]
accounts = Work
ui = Noninteractive.Basic

[Account Work]
localrepository = WL
remoterepository = WR
quick = 5

[Account Home]
localrepository = HL
remoterepository = HR
autorefresh = 2

[Repository WL]
type = Maildir
localfolders = /mail/work

[Repository WR]
type = IMAP
remotehost = imap.work.example
maxconnections = 3
folderincludes = []

[Repository HL]
type = Maildir
localfolders = /mail/home

[Repository HR]
type = IMAP
remotehost = imap.home.example
`;

function run(args: string[]): Config {
  const cli = parseArgs(args);
  const ini = parseIni(RC, "/rc");
  applyOverrides(ini, cli);
  return resolveConfig(ini, "/rc", {
    accounts: cli.accounts,
    folders: cli.folders,
    env: { vars: { HOME: "/home/u" }, cwd: "/" },
    fileMode: () => 0o600,
  }).config;
}

Deno.test("-a replaces [general] accounts, in its order", () => {
  assert.deepEqual([...run([]).accounts.keys()], ["Work"]);
  assert.deepEqual([...run(["-a", "Home,Work"]).accounts.keys()], ["Home", "Work"]);
});

Deno.test("-f filters the remote folders by untranslated name and empties folderincludes", () => {
  const remote = run(["-f", "INBOX,Lists/rust"]).accounts.get("Work")?.remote;
  assert.ok(remote);
  assert.equal(remote.folderFilter("INBOX"), true);
  assert.equal(remote.folderFilter("Lists/rust"), true);
  assert.equal(remote.folderFilter("Sent"), false);
  assert.deepEqual(remote.folderIncludes, []);
  // The local repository keeps its own filter.
  assert.equal(run(["-f", "INBOX"]).accounts.get("Work")?.local.folderFilter("Sent"), true);
});

Deno.test("-k overrides any option, in any section, [DEFAULT] included", () => {
  const c = run([
    "-k",
    "Account_Work:max_delete_ratio=1",
    "-k",
    "Repository_WR:maxconnections=4",
    "-k",
    "DEFAULT:autorefresh=7",
    "-k",
    "fsync=no",
  ]);
  const work = c.accounts.get("Work");
  assert.equal(work?.maxDeleteRatio, 1);
  assert.equal(work?.remote.maxConnections, 4);
  assert.equal(work?.autorefresh, 7);
  assert.equal(c.general.fsync, false);
});

Deno.test("-o removes autorefresh everywhere, also after -k set it", () => {
  assert.equal(run([]).accounts.get("Work")?.autorefresh, 10);
  const c = run(["-o", "-a", "Work,Home", "-k", "Account_Work:autorefresh=3"]);
  assert.equal(c.accounts.get("Work")?.autorefresh, 0);
  assert.equal(c.accounts.get("Home")?.autorefresh, 0);
});

Deno.test("-q makes every sync of every account quick", () => {
  assert.equal(run([]).accounts.get("Work")?.quick, 5);
  const c = run(["-q", "-a", "Work,Home"]);
  assert.equal(c.accounts.get("Work")?.quick, -1);
  assert.equal(c.accounts.get("Home")?.quick, -1);
});

Deno.test("--dry-run sets [general] dry-run", () => {
  assert.equal(run([]).general.dryRun, false);
  assert.equal(run(["--dry-run"]).general.dryRun, true);
});

Deno.test("-1, -P and -d without thread make the run single-threaded", () => {
  assert.equal(parseArgs([]).singleThread, false);
  assert.equal(parseArgs(["-1"]).singleThread, true);
  assert.equal(parseArgs(["-P", "/tmp/prof"]).singleThread, true);
  assert.equal(parseArgs(["-d", "imap"]).singleThread, true);
  assert.equal(parseArgs(["-d", "imap,thread"]).singleThread, false);
});

Deno.test("normalizeUiName() lower-cases and maps old dotted names with a warning", () => {
  assert.deepEqual(normalizeUiName("ttyui"), { name: "ttyui" });
  assert.deepEqual(normalizeUiName("Quiet"), { name: "quiet" });
  const cases: [string, string][] = [
    ["TTY.TTYUI", "ttyui"],
    ["Noninteractive.Basic", "basic"],
    ["Noninteractive.Quiet", "quiet"],
    ["Curses.Blinkenlights", "blinkenlights"],
    ["Machine.MachineUI", "machineui"],
    ["NONINTERACTIVE.BASIC", "basic"],
  ];
  for (const [old, name] of cases) {
    const ui = normalizeUiName(old);
    assert.equal(ui.name, name);
    assert.equal(ui.warning, `UI name "${old}" is an old name: write "${name}" instead`);
  }
  // -u wins over [general] ui, which is kept as written for the caller to normalise.
  assert.equal(run([]).general.ui, "Noninteractive.Basic");
  assert.equal(parseArgs(["-u", "TTY.TTYUI"]).ui, "TTY.TTYUI");
});
