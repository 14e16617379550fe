/**
 * A table of malformed inputs, each run through the same steps as `main.ts` (parseArgs, parseIni,
 * applyOverrides, resolveConfig): each must end in one user-facing error with a one-line
 * message (and at most a one-line hint) and OfflineIMAP's exit status: 2 for command-line
 * syntax, 1 for everything else. test/integration/cli_flags_test.ts runs a subset through the
 * real program to check that no stack trace is printed.
 */

import assert from "node:assert/strict";
import { applyOverrides, parseArgs } from "../../../src/cli/args.ts";
import { parseIni } from "../../../src/config/ini.ts";
import { readConfig } from "../../../src/config/load.ts";
import { resolveConfig } from "../../../src/config/schema.ts";
import { resolvePassword } from "../../../src/config/passwords.ts";
import { AccountError, ConfigError, UserFacingError } from "../../../src/errors.ts";

/** A valid file; rows patch it. */
const VALID = `[general]
accounts = A

[Account A]
localrepository = L
remoterepository = R

[Repository L]
type = Maildir
localfolders = /mail

[Repository R]
type = IMAP
remotehost = imap.example.org
remoteuser = me
`;

interface Row {
  readonly name: string;
  /** The file (default VALID); a function patches VALID. */
  readonly rc?: string | ((valid: string) => string);
  readonly args?: readonly string[];
  readonly message: RegExp;
  readonly exit: 1 | 2;
}

const add = (section: string, lines: string) => (valid: string) =>
  valid.replace(`[${section}]\n`, `[${section}]\n${lines}\n`);

const ROWS: readonly Row[] = [
  {
    name: "missing ]",
    rc: (v) => v.replace("[Account A]", "[Account A"),
    message: /^Cannot read config "\/rc" line 4: section header "\[Account A" has no closing "\]"$/,
    exit: 1,
  },
  {
    name: "value before any section",
    rc: (v) => `ui = basic\n${v}`,
    message: /^Cannot read config "\/rc" line 1: "ui = basic" comes before any \[section\] header$/,
    exit: 1,
  },
  {
    name: "line without = or :",
    rc: add("general", "fsync yes"),
    message: /^Cannot read config "\/rc" line 2: "fsync yes" is neither a \[section\] header nor/,
    exit: 1,
  },
  {
    name: "duplicate option",
    rc: add("general", "Accounts = B"),
    message:
      /^Cannot read config "\/rc" line 3: option "accounts" is set twice in section "general"/,
    exit: 1,
  },
  {
    name: "duplicate section",
    rc: (v) => `${v}[Account A]\nlocalrepository = X\n`,
    message: /^Cannot read config "\/rc" line \d+: section "Account A" is defined twice/,
    exit: 1,
  },
  {
    name: "bad boolean",
    rc: add("general", "fsync = maybe"),
    message: /^Cannot read option "fsync" in section "general": Not a boolean: "maybe"$/,
    exit: 1,
  },
  {
    name: "bad integer",
    rc: add("general", "maxsyncaccounts = 2 # two"),
    message: /^Cannot read option "maxsyncaccounts" in section "general": Not an integer/,
    exit: 1,
  },
  {
    name: "bad float",
    rc: add("Account A", "max_delete_ratio = half"),
    message: /^Cannot read option "max_delete_ratio" in section "Account A": Not a number/,
    exit: 1,
  },
  {
    name: "lone % in a value",
    rc: add("Repository R", "remotepass = 100%"),
    message: /^Cannot read option "remotepass" in section "Repository R": "%" must be followed/,
    exit: 1,
  },
  {
    name: "reference to a missing option",
    rc: add("Repository L", "sep = %(separator)s"),
    message: /"%\(separator\)s" refers to option "separator", which is not set$/,
    exit: 1,
  },
  {
    name: "bad lambda",
    rc: add("Repository R", "nametrans = lambda f: f +"),
    message: /"nametrans" in section "Repository R"/,
    exit: 1,
  },
  {
    name: "unknown account",
    args: ["-a", "B"],
    message: /^The account "B" does not exist$/,
    exit: 1,
  },
  {
    name: "missing [general]",
    rc: (v) => v.replace("[general]\naccounts = A\n", ""),
    message: /^Section "general" is missing from "\/rc"$/,
    exit: 1,
  },
  {
    name: "missing repository section",
    rc: (v) => v.replace("remoterepository = R", "remoterepository = Remote"),
    message: /^Cannot find section "Repository Remote" required by account "A"$/,
    exit: 1,
  },
  {
    name: "unknown repository type",
    rc: (v) => v.replace("type = IMAP", "type = POP3"),
    message: /^Cannot read option "type" in section "Repository R": "POP3" is not a valid type/,
    exit: 1,
  },
  {
    name: "missing localfolders",
    rc: (v) => v.replace("localfolders = /mail\n", ""),
    message: /^Option "localfolders" in section "Repository L" is required$/,
    exit: 1,
  },
  {
    name: "both tunnels",
    rc: add("Repository R", "preauthtunnel = ssh h imapd\ntransporttunnel = nc h 143"),
    message: /^Options "preauthtunnel" and "transporttunnel" in section "Repository R" cannot/,
    exit: 1,
  },
  {
    name: "tls_level without ssl_version",
    rc: add("Repository R", "tls_level = tls_no_ssl"),
    message: /^Option "tls_level" in section "Repository R" requires option "ssl_version"$/,
    exit: 1,
  },
  {
    name: "maxage in the future",
    rc: add("Account A", "maxage = 2999-01-01"),
    message: /^Cannot read option "maxage" in section "Account A": 2999-01-01 is in the future$/,
    exit: 1,
  },
  {
    name: "maxage not a number of days",
    rc: add("Account A", "maxage = 30 days"),
    message: /^Cannot read option "maxage" in section "Account A": "30 days" is neither/,
    exit: 1,
  },
  {
    name: "maxage with startdate",
    rc: (v) => add("Repository R", "startdate = 2020-01-01")(add("Account A", "maxage = 30")(v)),
    message: /^Options "maxage" in section "Account A" and "startdate" in section "Repository R"/,
    exit: 1,
  },
  {
    name: "bad startdate",
    rc: add("Repository L", "startdate = 01/02/2020"),
    message: /^Cannot read option "startdate" in section "Repository L": "01\/02\/2020" is not/,
    exit: 1,
  },
  {
    name: "missing CA file",
    rc: add("Repository R", "sslcacertfile = /nonexistent/ca.pem"),
    message: /CA certificate file "\/nonexistent\/ca.pem" does not exist$/,
    exit: 1,
  },
  {
    name: "port out of range",
    rc: add("Repository R", "remoteport = 99999"),
    message: /"remoteport" in section "Repository R": 99999 is not a TCP port/,
    exit: 1,
  },
  {
    name: "unknown auth mechanism",
    rc: add("Repository R", "auth_mechanisms = plain"),
    message: /unknown authentication mechanism "plain"$/,
    exit: 1,
  },
  {
    name: "bad fingerprint",
    rc: add("Repository R", "cert_fingerprint = 12:34"),
    message: /"1234" is not a hexadecimal SHA-1/,
    exit: 1,
  },
  {
    name: "refused option",
    rc: add("Account A", "synclabels = yes"),
    message: /^Option "synclabels" in section "Account A" is not supported yet$/,
    exit: 1,
  },
  {
    name: "incomplete [mbnames]",
    rc: (v) => `${v}[mbnames]\nenabled = no\nfilename = ~/m\n`,
    message: /^Option "header" in section "mbnames" is required$/,
    exit: 1,
  },
  {
    name: "-k without =",
    args: ["-k", "Account_A:autorefresh"],
    message: /^-k option needs \[SECTION:\]OPTION=VALUE, got "Account_A:autorefresh"$/,
    exit: 2,
  },
  {
    name: "-k for a missing section",
    args: ["-k", "Account_B:autorefresh=5"],
    message: /^Cannot apply -k "Account_B:autorefresh=5": section "Account B" does not exist$/,
    exit: 1,
  },
  {
    name: "-k with a lone %",
    args: ["-k", "Repository_R:remotepass=50%"],
    message: /^Cannot set option "remotepass" in section "Repository R": invalid interpolation/,
    exit: 1,
  },
  {
    name: "-k with a bad value",
    args: ["-k", "Account_A:autorefresh=soon"],
    message: /^Cannot read option "autorefresh" in section "Account A": Not a number: "soon"$/,
    exit: 1,
  },
  {
    name: "unknown flag",
    args: ["--sync-everything"],
    message: /^no such option: --sync-everything$/,
    exit: 2,
  },
  {
    name: "flag without its argument",
    args: ["-a"],
    message: /^-a option requires 1 argument$/,
    exit: 2,
  },
  {
    name: "ambiguous long option",
    args: ["--d"],
    message: /^ambiguous option: --d \(--delete-folder, --dry-run\?\)$/,
    exit: 2,
  },
];

/** The steps of main.ts up to a resolved configuration; returns the error. */
function failure(row: Row): UserFacingError {
  try {
    const cli = parseArgs(row.args ?? []);
    const text = typeof row.rc === "function" ? row.rc(VALID) : row.rc ?? VALID;
    const ini = parseIni(text, "/rc");
    applyOverrides(ini, cli);
    resolveConfig(ini, "/rc", {
      accounts: cli.accounts,
      folders: cli.folders,
      env: { vars: { HOME: "/home/u" }, cwd: "/" },
      fileMode: () => 0o600,
    });
  } catch (error) {
    assert.ok(error instanceof UserFacingError, `${row.name}: not user-facing: ${error}`);
    return error;
  }
  assert.fail(`${row.name}: no error`);
}

Deno.test("the malformed-input table has at least 20 rows", () => {
  assert.ok(ROWS.length >= 20, `${ROWS.length} rows`);
});

for (const row of ROWS) {
  Deno.test(`malformed input "${row.name}" gives one clear line and exit ${row.exit}`, () => {
    const error = failure(row);
    assert.match(error.message, row.message);
    assert.ok(!error.message.includes("\n"), "one line");
    assert.ok(!(error.hint ?? "").includes("\n"), "one-line hint");
    assert.ok(error instanceof ConfigError);
    assert.equal(error.exitCode, row.exit);
  });
}

Deno.test("malformed input: a missing and a non-UTF-8 config file exit 1 naming the file", async () => {
  await assert.rejects(readConfig("/nonexistent/rc"), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, 'Config file "/nonexistent/rc" does not exist');
    assert.equal(e.exitCode, 1);
    return true;
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/rc`, new Uint8Array([0x5b, 0x67, 0x5d, 0x0a, 0xff, 0x0a]));
    await assert.rejects(readConfig(`${dir}/rc`), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `Cannot read config "${dir}/rc" line 2: the file is not UTF-8`);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed input: an unreadable password file is an account error (exit 1)", async () => {
  const { config } = resolveConfig(
    parseIni(add("Repository R", "remotepassfile = /nonexistent/pass")(VALID), "/rc"),
    "/rc",
    { env: { vars: { HOME: "/home/u" }, cwd: "/" } },
  );
  const remote = config.accounts.get("A")?.remote;
  assert.ok(remote);
  await assert.rejects(resolvePassword(remote, { interactive: false }), (e: unknown) => {
    assert.ok(e instanceof AccountError);
    assert.equal(e.message, 'Cannot read password file "/nonexistent/pass": no such file');
    return true;
  });
});
