import assert from "node:assert/strict";
import { applyOverrides, parseArgs, USAGE } from "../../../src/cli/args.ts";
import { parseIni } from "../../../src/config/ini.ts";
import { ConfigError } from "../../../src/errors.ts";

function throwsConfig(fn: () => unknown, message: string, exitCode: number): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  assert.equal(caught.message, message);
  assert.equal(caught.exitCode, exitCode);
  return caught;
}

Deno.test("parseArgs() gives defaults for an empty command line", () => {
  assert.deepEqual(parseArgs([]), {
    help: false,
    version: false,
    versionInfo: false,
    configFile: undefined,
    accounts: undefined,
    singleThread: false,
    profileDir: undefined,
    debug: undefined,
    logFile: undefined,
    syslog: false,
    folders: undefined,
    overrides: [],
    runOnce: false,
    quick: false,
    ui: undefined,
    dryRun: false,
    info: false,
    deleteFolder: undefined,
    migrateFmd5: false,
    mbnamesPrune: false,
    ignoreKeyring: false,
    positionals: [],
    warnings: [],
  });
});

Deno.test("parseArgs() reads every flag", () => {
  const o = parseArgs([
    "-V",
    "-c",
    "~/rc",
    "-a",
    "Work, Home",
    "-1",
    "-l",
    "/tmp/log",
    "-s",
    "-f",
    "INBOX, Sent",
    "-k",
    "ui=basic",
    "-o",
    "-q",
    "-u",
    "quiet",
    "--dry-run",
    "--info",
    "--delete-folder",
    "Old",
    "--migrate-fmd5-using-nametrans",
    "--mbnames-prune",
    "--ignore-keyring",
  ]);
  assert.equal(o.versionInfo, true);
  assert.equal(o.configFile, "~/rc");
  assert.deepEqual(o.accounts, ["Work", "Home"]);
  assert.equal(o.singleThread, true);
  assert.equal(o.logFile, "/tmp/log");
  assert.equal(o.syslog, true);
  assert.deepEqual(o.folders, ["INBOX", " Sent"]);
  assert.deepEqual(o.overrides, ["ui=basic"]);
  assert.equal(o.runOnce, true);
  assert.equal(o.quick, true);
  assert.equal(o.ui, "quiet");
  assert.equal(o.dryRun, true);
  assert.equal(o.info, true);
  assert.equal(o.deleteFolder, "Old");
  assert.equal(o.migrateFmd5, true);
  assert.equal(o.mbnamesPrune, true);
  assert.equal(o.ignoreKeyring, true);
  assert.equal(o.help, false);
  assert.equal(o.version, false);
});

Deno.test("parseArgs() stops at -h/--help and --version, as optparse does", () => {
  for (const argv of [["-h", "--bogus"], ["--help"], ["-oh", "-k", "no-equals"], ["--he"]]) {
    const o = parseArgs(argv);
    assert.equal(o.help, true, argv.join(" "));
  }
  assert.equal(parseArgs(["--version", "-x"]).version, true);
  throwsConfig(() => parseArgs(["--bogus", "-h"]), "no such option: --bogus", 2);
});

Deno.test("parseArgs() accepts bundled short flags and attached values", () => {
  const o = parseArgs(["-oq1s", "-fINBOX,Sent", "-aWork", "-oqk", "x=1", "-cfile"]);
  assert.equal(o.runOnce && o.quick && o.singleThread && o.syslog, true);
  assert.deepEqual(o.folders, ["INBOX", "Sent"]);
  assert.deepEqual(o.accounts, ["Work"]);
  assert.deepEqual(o.overrides, ["x=1"]);
  assert.equal(o.configFile, "file");
  // A value is taken even when it looks like a flag.
  assert.deepEqual(parseArgs(["-f", "-o"]).folders, ["-o"]);
  assert.equal(parseArgs(["-f", "-o"]).runOnce, false);
});

Deno.test("parseArgs() accepts unique prefixes of long options and --opt=value", () => {
  assert.equal(parseArgs(["--dry"]).dryRun, true);
  assert.equal(parseArgs(["--inf"]).info, true);
  assert.equal(parseArgs(["--mb"]).mbnamesPrune, true);
  assert.equal(parseArgs(["--mig"]).migrateFmd5, true);
  assert.equal(parseArgs(["--delete=a=b"]).deleteFolder, "a=b");
  assert.equal(parseArgs(["--delete-folder", "X"]).deleteFolder, "X");
  throwsConfig(
    () => parseArgs(["--i"]),
    "ambiguous option: --i (--ignore-keyring, --info?)",
    2,
  );
});

Deno.test("parseArgs() rejects unknown options with exit code 2", () => {
  const error = throwsConfig(() => parseArgs(["-x"]), "no such option: -x", 2);
  assert.match(error.hint ?? "", /--help/);
  throwsConfig(() => parseArgs(["-ox"]), "no such option: -x", 2);
  throwsConfig(() => parseArgs(["--bogus=1"]), "no such option: --bogus", 2);
  throwsConfig(() => parseArgs(["--verbose"]), "no such option: --verbose", 2);
});

Deno.test("parseArgs() rejects missing and unexpected values with exit code 2", () => {
  throwsConfig(() => parseArgs(["-c"]), "-c option requires 1 argument", 2);
  throwsConfig(() => parseArgs(["-o", "-k"]), "-k option requires 1 argument", 2);
  throwsConfig(
    () => parseArgs(["--delete-folder"]),
    "--delete-folder option requires 1 argument",
    2,
  );
  throwsConfig(() => parseArgs(["--dry-run=yes"]), "--dry-run option does not take a value", 2);
});

Deno.test("parseArgs() ignores stray positional arguments, and -- ends the options", () => {
  const o = parseArgs(["sync", "-o", "-", "--", "-q", "x"]);
  assert.equal(o.runOnce, true);
  assert.equal(o.quick, false);
  assert.deepEqual(o.positionals, ["sync", "-", "-q", "x"]);
});

Deno.test("parseArgs() lets a repeated flag's last value win, except -k", () => {
  const o = parseArgs(["-a", "A", "-a", "B", "-k", "x=1", "-k", "Account_A:y=2"]);
  assert.deepEqual(o.accounts, ["B"]);
  assert.deepEqual(o.overrides, ["x=1", "Account_A:y=2"]);
});

Deno.test("parseArgs() treats empty values as absent where OfflineIMAP does", () => {
  const o = parseArgs([
    "-a",
    "",
    "-f",
    "",
    "-c",
    "",
    "-d",
    "",
    "-l",
    "",
    "--delete-folder=",
    "-u",
    "",
  ]);
  assert.equal(o.accounts, undefined);
  assert.equal(o.folders, undefined);
  assert.equal(o.configFile, undefined);
  assert.equal(o.debug, undefined);
  assert.equal(o.logFile, undefined);
  assert.equal(o.deleteFolder, undefined);
  assert.equal(o.ui, "");
});

Deno.test("parseArgs() splits -a with left-strip and -f without stripping", () => {
  assert.deepEqual(parseArgs(["-a", "A, B ,C"]).accounts, ["A", "B ", "C"]);
  assert.deepEqual(parseArgs(["-f", "INBOX, Sent ,a b"]).folders, ["INBOX", " Sent ", "a b"]);
});

Deno.test("parseArgs() reads -d types, warns about unknown ones and forces -1 unless thread", () => {
  const all = parseArgs(["-d", "ALL"]);
  assert.deepEqual(all.debug, ["imap", "maildir", "thread"]);
  assert.equal(all.singleThread, false);
  const some = parseArgs(["-d", "IMAP, maildir,bogus,imap"]);
  assert.deepEqual(some.debug, ["imap", "maildir"]);
  assert.deepEqual(some.warnings, ["Invalid debug type: bogus"]);
  assert.equal(some.singleThread, true);
  assert.deepEqual(parseArgs(["-d", "thread"]).debug, ["thread"]);
  assert.equal(parseArgs(["-d", "thread"]).singleThread, false);
  assert.deepEqual(parseArgs(["-d", ","]).debug, []);
});

Deno.test("parseArgs() accepts -P with a warning and runs single-threaded", () => {
  const o = parseArgs(["-P", "/tmp/prof"]);
  assert.equal(o.profileDir, "/tmp/prof");
  assert.equal(o.singleThread, true);
  assert.equal(o.warnings.length, 1);
  assert.match(o.warnings[0] ?? "", /-P/);
});

Deno.test("parseArgs() rejects a -k argument without =", () => {
  throwsConfig(
    () => parseArgs(["-k", "general:ui"]),
    '-k option needs [SECTION:]OPTION=VALUE, got "general:ui"',
    2,
  );
});

const RC = `[DEFAULT]
autorefresh = 1
[general]
accounts = Work
[Account Work]
localrepository = L
remoterepository = R
autorefresh = 5
[Account Home Box]
localrepository = L
`;

Deno.test("applyOverrides() applies -k to general, to _-named sections and to DEFAULT", () => {
  const ini = parseIni(RC, "rc");
  applyOverrides(
    ini,
    parseArgs([
      "-k",
      "UI=basic",
      "-k",
      "Account_Home_Box:Quick=a=b",
      "-k",
      "DEFAULT:extra=1",
      "-k",
      ":other=2",
      "-k",
      "general:metadata=~/meta",
    ]),
  );
  assert.equal(ini.get("general", "ui"), "basic");
  assert.equal(ini.line("general", "ui"), undefined);
  assert.equal(ini.get("Account Home Box", "quick"), "a=b");
  assert.equal(ini.get("Account Work", "extra"), "1");
  assert.equal(ini.get("Account Work", "other"), "2");
  assert.equal(ini.get("general", "metadata"), "~/meta");
});

Deno.test("applyOverrides() rejects -k for a missing section or with a lone %", () => {
  const error = throwsConfig(
    () => applyOverrides(parseIni(RC, "rc"), parseArgs(["-k", "Account Home:x=1"])),
    'Cannot apply -k "Account Home:x=1": section "Account Home" does not exist',
    1,
  );
  assert.match(error.hint ?? "", /Account_Work/);
  throwsConfig(
    () => applyOverrides(parseIni(RC, "rc"), parseArgs(["-k", "Account_Work:remotepass=50%"])),
    'Cannot set option "remotepass" in section "Account Work": invalid interpolation syntax ' +
      'in "50%" at position 2',
    1,
  );
  throwsConfig(
    () => applyOverrides(parseIni("[s]\n", "rc"), parseArgs(["-k", "ui=basic"])),
    'Cannot apply -k "ui=basic": section "general" does not exist',
    1,
  );
});

Deno.test("applyOverrides() lets -o remove autorefresh after -k set it", () => {
  const ini = parseIni(RC, "rc");
  applyOverrides(ini, parseArgs(["-o", "-k", "Account_Home_Box:autorefresh=3"]));
  assert.equal(ini.has("Account Work", "autorefresh"), false);
  assert.equal(ini.has("Account Home Box", "autorefresh"), false);
  assert.equal(ini.has("DEFAULT", "autorefresh"), false);
});

Deno.test("applyOverrides() sets quick = -1 in every account for -q", () => {
  const ini = parseIni(RC, "rc");
  applyOverrides(ini, parseArgs(["-q", "-k", "Account_Work:quick=5"]));
  assert.equal(ini.get("Account Work", "quick"), "-1");
  assert.equal(ini.get("Account Home Box", "quick"), "-1");
  assert.equal(ini.has("general", "quick"), false);
});

Deno.test("applyOverrides() sets [general] dry-run for --dry-run, creating the section", () => {
  const ini = parseIni(RC, "rc");
  applyOverrides(ini, parseArgs(["--dry-run"]));
  assert.equal(ini.getBoolean("general", "dry-run"), true);
  const bare = parseIni("[Account A]\n", "rc");
  applyOverrides(bare, parseArgs(["--dry"]));
  assert.equal(bare.getBoolean("general", "dry-run"), true);
  const untouched = parseIni(RC, "rc");
  applyOverrides(untouched, parseArgs([]));
  assert.equal(untouched.has("general", "dry-run"), false);
  assert.equal(untouched.get("Account Work", "autorefresh"), "5");
});

Deno.test("USAGE lists every flag and the new configuration options", () => {
  const flags = [
    "-h, --help",
    "--version",
    "-V",
    "-c FILE",
    "-a ACCOUNT",
    "-1",
    "-P DIR",
    "-d TYPE",
    "-l FILE",
    "-s",
    "-f FOLDER",
    "-k [SECTION:]OPTION=VALUE",
    "-o",
    "-q",
    "-u UI",
    "--dry-run",
    "--info",
    "--delete-folder NAME",
    "--migrate-fmd5-using-nametrans",
    "--mbnames-prune",
    "--ignore-keyring",
    "max_delete_ratio",
    "allow_plaintext_auth",
  ];
  for (const flag of flags) assert.ok(USAGE.includes(`  ${flag}`), flag);
  assert.ok(USAGE.startsWith("Usage: offlineimap [options]\n"));
});
