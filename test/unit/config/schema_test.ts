import { type ConfigPart as Part, configText } from "../../_helpers/config.ts";
import assert from "node:assert/strict";
import { parseIni } from "../../../src/config/ini.ts";
import { compileFolderFilter } from "../../../src/config/expressions.ts";
import {
  AUTH_MECHANISMS,
  resolveConfig,
  type ResolveOptions,
  splitAccountList,
} from "../../../src/config/schema.ts";
import type { ImapRepositoryConfig, MaildirRepositoryConfig } from "../../../src/config/types.ts";
import { ConfigError } from "../../../src/errors.ts";

const FIXTURES = new URL("../../fixtures/config/", import.meta.url);
const ENV = { vars: { HOME: "/home/u", XDG_DATA_HOME: "/data" }, cwd: "/cwd" };
const CA_FILES = new Set(["/etc/ca.pem", "/cwd/certs/ca.pem", "/home/u/ca.pem"]);
const BASE: ResolveOptions = { env: ENV, isFile: (path) => CA_FILES.has(path) };

function resolveFixture(name: string, opts: ResolveOptions = {}) {
  const path = `/fixtures/${name}`;
  const text = Deno.readTextFileSync(new URL(name, FIXTURES));
  return resolveConfig(parseIni(text, path), path, { ...BASE, ...opts });
}

function resolveText(text: string, opts: ResolveOptions = {}) {
  return resolveConfig(parseIni(text, "/rc"), "/rc", { ...BASE, ...opts });
}

const config = configText;

function throwsConfig(fn: () => unknown, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

function remoteOf(text: string, opts: ResolveOptions = {}): ImapRepositoryConfig {
  return resolveText(text, opts).config.accounts.get("A")?.remote as ImapRepositoryConfig;
}

function localOf(text: string, opts: ResolveOptions = {}): MaildirRepositoryConfig {
  return resolveText(text, opts).config.accounts.get("A")?.local as MaildirRepositoryConfig;
}

Deno.test("resolveConfig() resolves the Arch wiki's minimal config with every default", () => {
  const { config, warnings } = resolveFixture("minimal.rc");
  assert.deepEqual(warnings, []);
  assert.equal(config.path, "/fixtures/minimal.rc");
  assert.deepEqual(config.general, {
    accounts: ["main"],
    metadata: "/home/u/.offlineimap",
    ui: "ttyui",
    fsync: true,
    maxSyncAccounts: 1,
    sockTimeout: 0,
    dryRun: false,
    pythonFile: undefined,
    ignoreReadonly: false,
  });
  assert.deepEqual([...config.accounts.keys()], ["main"]);
  const account = config.accounts.get("main");
  assert.ok(account);
  assert.equal(account.name, "main");
  assert.equal(account.statusBackend, "sqlite");
  assert.equal(account.maxDeleteRatio, 0.5);

  const local = account.local as MaildirRepositoryConfig;
  assert.equal(local.type, "Maildir");
  assert.equal(local.name, "main-local");
  assert.equal(local.localFolders, "/home/u/Maildir");
  assert.equal(local.sep, ".");
  assert.equal(local.readonly, false);
  assert.equal(local.createFolders, true);
  assert.equal(local.syncDeletes, true);
  assert.equal(local.nametrans("INBOX.Sent"), "INBOX.Sent");
  assert.equal(local.folderFilter("anything"), true);
  assert.equal(local.nametransSource, undefined);
  assert.equal(local.folderFilterSource, undefined);

  const remote = account.remote;
  assert.equal(remote.type, "IMAP");
  assert.equal(remote.name, "main-remote");
  assert.equal(remote.host, "host.domain.tld");
  assert.equal(remote.port, 993);
  assert.equal(remote.ssl, true);
  assert.equal(remote.starttls, true);
  assert.equal(remote.caFile, undefined);
  assert.deepEqual(remote.certFingerprints, []);
  assert.equal(remote.user, "username");
  assert.deepEqual(remote.password, { kind: "netrc", host: "host.domain.tld" });
  assert.equal(remote.allowPlaintextAuth, false);
  assert.deepEqual(remote.authMechanisms, ["GSSAPI", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN"]);
  assert.equal(remote.remoteIdentity, undefined);
  assert.equal(remote.reference, "");
  assert.equal(remote.expunge, true);
  assert.equal(remote.maxConnections, 1);
  assert.equal(remote.readonly, false);
  assert.equal(remote.createFolders, true);
  assert.equal(remote.syncDeletes, true);
});

Deno.test("resolveConfig() resolves a multi-account config with DEFAULT and interpolation", () => {
  const { config, warnings } = resolveFixture("multi_account.rc");
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.general, {
    accounts: ["Work", "Personal"],
    metadata: "/data/offlineimap",
    ui: "basic",
    fsync: false,
    maxSyncAccounts: 2,
    sockTimeout: 60,
    dryRun: false,
    pythonFile: undefined,
    ignoreReadonly: false,
  });
  // The inactive account "Old" (autorefresh, maxage) is never read.
  assert.deepEqual([...config.accounts.keys()], ["Work", "Personal"]);

  const work = config.accounts.get("Work");
  assert.ok(work);
  assert.equal(work.maxDeleteRatio, 0.25);
  assert.equal(work.statusBackend, "sqlite");
  const workLocal = work.local as MaildirRepositoryConfig;
  assert.equal(workLocal.localFolders, "/home/u/Mail/work");
  assert.equal(workLocal.sep, "/");
  assert.equal(workLocal.syncDeletes, false);
  assert.equal(work.remote.host, "imap.example.org");
  assert.equal(work.remote.port, 1993);
  assert.equal(work.remote.user, "me@example.org");
  assert.deepEqual(work.remote.password, { kind: "file", path: "/home/u/.secrets/work" });
  assert.deepEqual(work.remote.certFingerprints, [
    "abcdef0123456789abcdef0123456789abcdef01",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  ]);
  assert.deepEqual(work.remote.authMechanisms, ["PLAIN", "LOGIN"]);
  assert.equal(work.remote.reference, "INBOX");
  assert.equal(work.remote.maxConnections, 3);
  assert.equal(work.remote.expunge, false);

  const personal = config.accounts.get("Personal");
  assert.ok(personal);
  assert.equal(personal.statusBackend, "plain");
  assert.equal(personal.maxDeleteRatio, 0.5);
  assert.equal(personal.local.readonly, true);
  assert.equal((personal.local as MaildirRepositoryConfig).localFolders, "/home/u/Mail/personal");
  assert.equal(personal.remote.host, "mail.example.org");
  assert.equal(personal.remote.ssl, false);
  assert.equal(personal.remote.starttls, false);
  assert.equal(personal.remote.port, 143);
  assert.equal(personal.remote.allowPlaintextAuth, true);
  assert.deepEqual(personal.remote.password, { kind: "plain", value: "50%off" });
  assert.equal(personal.remote.remoteIdentity, "admin");
  assert.equal(personal.remote.createFolders, false);
  assert.equal(personal.remote.caFile, undefined);
});

Deno.test("resolveConfig() resolves interpolation against the section being read", () => {
  const { config } = resolveFixture("default_interpolation.rc");
  const account = config.accounts.get("A");
  assert.ok(account);
  assert.equal((account.local as MaildirRepositoryConfig).localFolders, "/srv/mail/alice");
  assert.equal(account.remote.host, "mail.example.net");
  assert.equal(account.remote.user, "alice@example.net");
});

Deno.test("resolveConfig() lets -a choose the accounts, in its order, without duplicates", () => {
  const { config } = resolveFixture("multi_account.rc", { accounts: ["Personal", "Work", "Work"] });
  assert.deepEqual([...config.accounts.keys()], ["Personal", "Work"]);
  // The file's list is still reported (--mbnames-prune needs it).
  assert.deepEqual(config.general.accounts, ["Work", "Personal"]);
  // -a also works without [general].
  const noGeneral = resolveText(withoutGeneral(), { accounts: ["A"] }).config;
  assert.equal(noGeneral.general.ui, "ttyui");
  assert.deepEqual(noGeneral.general.accounts, []);
  assert.deepEqual([...noGeneral.accounts.keys()], ["A"]);
});

function withoutGeneral(): string {
  return config().replace("[general]\naccounts = A\n", "");
}

Deno.test("resolveConfig() rejects an unknown account before resolving any", () => {
  const error = throwsConfig(
    () => resolveFixture("multi_account.rc", { accounts: ["Work", "work"] }),
    'The account "work" does not exist',
  );
  assert.equal(error.exitCode, 1);
  assert.equal(error.hint, "Valid accounts are: Work, Personal, Old");
  // "A ,B" gives "A " (left-strip only), which does not exist.
  throwsConfig(
    () => resolveText(config().replace("accounts = A", "accounts = A ,A")),
    'The account "A " does not exist',
  );
  const none = throwsConfig(
    () => resolveText("[general]\naccounts = X\n"),
    'The account "X" does not exist',
  );
  assert.match(none.hint ?? "", /No account is defined/);
});

Deno.test("splitAccountList() splits on commas and left-strips each item only", () => {
  assert.deepEqual(splitAccountList("A, B,C ,"), ["A", "B", "C ", ""]);
});

Deno.test("resolveConfig() requires [general] and its accounts option", () => {
  throwsConfig(() => resolveText(withoutGeneral()), 'Section "general" is missing from "/rc"');
  throwsConfig(
    () => resolveText(config().replace("accounts = A", "")),
    'Option "accounts" in section "general" is required',
  );
});

Deno.test("resolveConfig() reads the [general] options with their types", () => {
  const { config: c } = resolveText(
    config({
      general: "metadata = meta/${XDG_DATA_HOME}/$NOPE\nfsync = off\nmaxsyncaccounts = 3\n" +
        "socktimeout = -5\ndry-run = yes\nui = Curses.Blinkenlights",
    }),
  );
  assert.deepEqual(c.general, {
    accounts: ["A"],
    metadata: "/cwd/meta/data/$NOPE",
    ui: "Curses.Blinkenlights",
    fsync: false,
    maxSyncAccounts: 3,
    sockTimeout: 0,
    dryRun: true,
    pythonFile: undefined,
    ignoreReadonly: false,
  });
  throwsConfig(
    () => resolveText(config({ general: "maxsyncaccounts = 0" })),
    'Cannot read option "maxsyncaccounts" in section "general": 0 is less than 1',
  );
  const error = throwsConfig(
    () => resolveText(config({ general: "fsync = y" })),
    'Cannot read option "fsync" in section "general": Not a boolean: "y"',
  );
  assert.equal(error.hint, 'Use yes or no (line 3 of "/rc")');
});

Deno.test("resolveConfig() requires the account's repositories and their sections", () => {
  throwsConfig(
    () => resolveText(config().replace("localrepository = L", "")),
    'Option "localrepository" in section "Account A" is required',
  );
  throwsConfig(
    () => resolveText(config().replace("remoterepository = R", "")),
    'Option "remoterepository" in section "Account A" is required',
  );
  const error = throwsConfig(
    () => resolveText(config().replace("remoterepository = R", "remoterepository = X")),
    'Cannot find section "Repository X" required by account "A"',
  );
  assert.match(error.hint ?? "", /remoterepository in \[Account A\]/);
});

Deno.test("resolveConfig() checks repository types case-sensitively, per side", () => {
  throwsConfig(
    () => resolveText(config().replace("type = IMAP", "type = imap")),
    'Cannot read option "type" in section "Repository R": "imap" is not a valid type for ' +
      'remote repositories (account "A")',
  );
  const maildirRemote = throwsConfig(
    () => resolveText(config().replace("type = IMAP", "type = Maildir")),
    /"Maildir" is not a valid type for remote repositories/,
  );
  assert.match(maildirRemote.hint ?? "", /Use one of: IMAP, Gmail/);
  throwsConfig(
    () => resolveText(config().replace("type = IMAP", "")),
    'Option "type" in section "Repository R" is required',
  );
  throwsConfig(
    () => resolveText(config().replace("type = Maildir", "type = Gmail")),
    /"Gmail" is not a valid type for local repositories/,
  );
});

Deno.test("resolveConfig() accepts a local IMAP repository (IMAP-to-IMAP)", () => {
  const text = config().replace(
    "type = Maildir\nlocalfolders = ~/Maildir",
    "type = IMAP\nremotehost = local.example.org\nremoteuser = me\nremotepass = pw",
  );
  const account = resolveText(text).config.accounts.get("A");
  assert.ok(account);
  const local = account.local as ImapRepositoryConfig;
  assert.equal(local.type, "IMAP");
  assert.equal(local.host, "local.example.org");
  assert.equal(local.port, 993);
  assert.equal(local.user, "me");
  assert.deepEqual(local.password, { kind: "plain", value: "pw" });
  throwsConfig(
    () => resolveText(text.replace("[Repository L]", "maxage = 3\n[Repository L]")),
    'Option "maxage" in section "Account A" is not supported on IMAP-to-IMAP sync',
  );
});

Deno.test("resolveConfig() gives Gmail repositories Gmail's defaults", () => {
  const text = config().replace("type = IMAP\nremotehost = imap.example.org", "type = Gmail")
    .replace("type = Maildir", "type = GmailMaildir");
  const { config: c, warnings } = resolveText(
    text + "\nssl = no\noauth2_refresh_token = tok\npreauthtunnel = ssh x imapd",
  );
  const account = c.accounts.get("A");
  assert.ok(account);
  assert.equal(account.remote.type, "IMAP");
  assert.equal(account.remote.declaredType, "Gmail");
  assert.equal(account.remote.host, "imap.gmail.com");
  // Gmail's port stays 993 even with ssl = no, as in OfflineIMAP.
  assert.equal(account.remote.port, 993);
  assert.equal(account.remote.oauth2?.requestUrl, "https://accounts.google.com/o/oauth2/token");
  assert.equal(account.remote.preauthTunnel, undefined);
  assert.equal((account.local as MaildirRepositoryConfig).declaredType, "GmailMaildir");
  assert.equal(account.local.type, "Maildir");
  assert.match(warnings[0] ?? "", /Ignoring option "preauthtunnel" .* Gmail repositories never/);
  const refused = throwsConfig(
    () => resolveText(text.replace("[Repository L]", "synclabels = yes\n[Repository L]")),
    'Option "synclabels" in section "Account A" is not supported yet',
  );
  assert.match(refused.hint ?? "", /Gmail label synchronisation/);
});

Deno.test("resolveConfig() validates status_backend and max_delete_ratio", () => {
  const account = (extra: string) =>
    resolveText(config({ account: extra })).config.accounts.get("A");
  assert.equal(account("status_backend = plain")?.statusBackend, "plain");
  assert.equal(account("status_backend = sqlite")?.statusBackend, "sqlite");
  throwsConfig(
    () => account("status_backend = SQLite"),
    'Cannot read option "status_backend" in section "Account A": "SQLite" is neither ' +
      '"sqlite" nor "plain"',
  );
  assert.equal(account("max_delete_ratio = 1")?.maxDeleteRatio, 1);
  assert.equal(account("max_delete_ratio = 1e-2")?.maxDeleteRatio, 0.01);
  for (const bad of ["0", "1.5", "-0.5", "nan"]) {
    throwsConfig(
      () => account(`max_delete_ratio = ${bad}`),
      /^Cannot read option "max_delete_ratio" in section "Account A": .* is not between 0/,
    );
  }
  throwsConfig(() => account("max_delete_ratio = half"), /Not a number: "half"/);
});

Deno.test("resolveConfig() reads the Maildir options", () => {
  const local = localOf(config({ local: "sep = /\nreadonly = true\ncreatefolders = no" }));
  assert.equal(local.sep, "/");
  assert.equal(local.readonly, true);
  assert.equal(local.createFolders, false);
  assert.equal(localOf(config().replace("~/Maildir", "rel/../mail")).localFolders, "/cwd/mail");
  throwsConfig(
    () => resolveText(config().replace("localfolders = ~/Maildir", "")),
    'Option "localfolders" in section "Repository L" is required',
  );
  throwsConfig(
    () => resolveText(config().replace("localfolders = ~/Maildir", "localfolders =")),
    /"localfolders" .* the value is empty/,
  );
  throwsConfig(() => resolveText(config({ local: "sep =" })), /"sep" .* the value is empty/);
});

Deno.test("resolveConfig() warns that quotes around a value are kept", () => {
  const { config: c, warnings } = resolveText(config({ local: 'sep = "/"' }));
  assert.equal((c.accounts.get("A")?.local as MaildirRepositoryConfig).sep, '"/"');
  assert.deepEqual(warnings, [
    'Option "sep" in section "Repository L" (line 11 of "/rc") is enclosed in quotes, which ' +
    "are kept as part of the value; remove them unless they are meant",
  ]);
  const pass = resolveText(config({ remote: 'remotepass = "secret"' })).warnings;
  assert.equal(pass.length, 1);
  assert.doesNotMatch(pass[0] ?? "", /secret/);
});

Deno.test("resolveConfig() reads the IMAP connection options", () => {
  assert.equal(remoteOf(config({ remote: "ssl = no" })).port, 143);
  assert.equal(remoteOf(config({ remote: "remoteport = 10993" })).port, 10993);
  throwsConfig(
    () => resolveText(config({ remote: "remoteport = 70000" })),
    /"remoteport" .* 70000 is not a TCP port/,
  );
  throwsConfig(
    () => resolveText(config().replace("remotehost = imap.example.org", "")),
    'Option "remotehost" in section "Repository R" is required',
  );
  const r = remoteOf(
    config({
      remote: 'reference = ""\nremote_identity = boss\nmaxconnections = 2\nexpunge = off',
    }),
  );
  assert.equal(r.reference, "");
  assert.equal(r.remoteIdentity, "boss");
  assert.equal(r.maxConnections, 2);
  assert.equal(r.expunge, false);
  assert.equal(remoteOf(config({ remote: 'reference = "INBOX."' })).reference, "INBOX.");
  throwsConfig(
    () => resolveText(config({ remote: "maxconnections = 0" })),
    /"maxconnections" .* 0 is less than 1/,
  );
});

Deno.test("resolveConfig() resolves sslcacertfile and refuses a missing file", () => {
  assert.equal(remoteOf(config({ remote: "sslcacertfile = OS-DEFAULT" })).caFile, undefined);
  assert.equal(remoteOf(config({ remote: "sslcacertfile = /etc/ca.pem" })).caFile, "/etc/ca.pem");
  assert.equal(
    remoteOf(config({ remote: "sslcacertfile = certs/ca.pem" })).caFile,
    "/cwd/certs/ca.pem",
  );
  assert.equal(
    remoteOf(config({ remote: "sslcacertfile = $HOME/ca.pem" })).caFile,
    "/home/u/ca.pem",
  );
  const error = throwsConfig(
    () => resolveText(config({ remote: "sslcacertfile = ~/nope.pem" })),
    'Cannot read option "sslcacertfile" in section "Repository R": CA certificate file ' +
      '"/home/u/nope.pem" does not exist',
  );
  assert.match(error.hint ?? "", /OS-DEFAULT/);
});

Deno.test("resolveConfig() normalises cert_fingerprint and refuses non-fingerprints", () => {
  const r = remoteOf(
    config({ remote: `cert_fingerprint = ${"AA:".repeat(19)}AA , ,${"0".repeat(128)}` }),
  );
  assert.deepEqual(r.certFingerprints, ["aa".repeat(20), "0".repeat(128)]);
  throwsConfig(
    () => resolveText(config({ remote: "cert_fingerprint = abcd" })),
    /"cert_fingerprint" .* "abcd" is not a hexadecimal SHA-1/,
  );
});

Deno.test("resolveConfig() validates auth_mechanisms case-sensitively", () => {
  assert.deepEqual(AUTH_MECHANISMS, ["GSSAPI", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN"]);
  assert.deepEqual(
    remoteOf(config({ remote: "auth_mechanisms = CRAM-MD5,PLAIN,  LOGIN " })).authMechanisms,
    ["CRAM-MD5", "PLAIN", "LOGIN"],
  );
  const lower = throwsConfig(
    () => resolveText(config({ remote: "auth_mechanisms = plain" })),
    'Cannot read option "auth_mechanisms" in section "Repository R": unknown authentication ' +
      'mechanism "plain"',
  );
  assert.match(lower.hint ?? "", /write "PLAIN"/);
  throwsConfig(
    () => resolveText(config({ remote: "auth_mechanisms = DIGEST-MD5" })),
    /unknown authentication mechanism "DIGEST-MD5"/,
  );
});

Deno.test("resolveConfig() takes the password from remotepass, then remotepassfile", () => {
  assert.deepEqual(
    remoteOf(config({ remote: "remotepass = p%%w\nremotepassfile = ~/f" })).password,
    { kind: "plain", value: "p%w" },
  );
  // An empty remotepass still wins (OfflineIMAP then prompts).
  assert.deepEqual(remoteOf(config({ remote: "remotepass =\nremotepassfile = ~/f" })).password, {
    kind: "plain",
    value: "",
  });
  // remotepassfile gets ~ expansion only, no $VAR.
  assert.deepEqual(remoteOf(config({ remote: "remotepassfile = ~/$HOME/pw" })).password, {
    kind: "file",
    path: "/home/u/$HOME/pw",
  });
  throwsConfig(
    () => resolveText(config({ remote: "remotepass = 100%" })),
    /Cannot read option "remotepass" in section "Repository R": "%" must be followed/,
  );
});

Deno.test("resolveConfig() warns when allow_plaintext_auth cannot apply", () => {
  const { warnings } = resolveText(config({ remote: "allow_plaintext_auth = yes" }));
  assert.deepEqual(warnings, [
    'Option "allow_plaintext_auth" in section "Repository R" has no effect: it only applies ' +
    "with ssl = no and starttls = no",
  ]);
});

Deno.test("resolveConfig() compiles nametrans and folderfilter, DEFAULT included", () => {
  const remote = remoteOf(
    config({
      remote: "nametrans = lambda f: re.sub(r'^INBOX\\.', '', f)\n" +
        "folderfilter = lambda f: f not in ['Trash']",
    }),
  );
  assert.equal(remote.nametrans("INBOX.Sent"), "Sent");
  assert.equal(remote.nametransSource, "lambda f: re.sub(r'^INBOX\\.', '', f)");
  assert.equal(remote.folderFilter("Trash"), false);
  assert.equal(remote.folderFilter("INBOX"), true);
  // [DEFAULT] applies to every repository, local ones included.
  const local = localOf(`[DEFAULT]\nnametrans = lambda f: f.lower()\n${config()}`);
  assert.equal(local.nametrans("INBOX"), "inbox");
  assert.equal(
    compileFolderFilter("lambda f: f.startswith('A')", {
      option: "folderfilter",
      section: "Repository X",
      writtenIn: "Repository X",
      path: "/rc",
    }, {})("Archive"),
    true,
  );
});

Deno.test("resolveConfig() names option, section, column and line of a broken expression", () => {
  const error = throwsConfig(
    () => resolveText(config({ remote: "nametrans = lambda f: f +" })),
    'Cannot evaluate option "nametrans" in section "Repository R": column 14: unexpected end ' +
      "of the expression",
  );
  assert.equal(error.hint, 'See line 15 of "/rc"');
  throwsConfig(
    () => resolveText(`[DEFAULT]\nfolderfilter = lambda f: f[\n${config()}`),
    /^Cannot evaluate option "folderfilter" in section "DEFAULT": column 12: /,
  );
  throwsConfig(
    () => resolveText(config({ remote: "folderincludes = 'INBOX'" })),
    /^Cannot use option "folderincludes" in section "Repository R": it must be a list/,
  );
  // Errors when a compiled function runs are account errors, naming the folder.
  const remote = remoteOf(config({ remote: "folderfilter = lambda f: f.decode('utf-8')" }));
  assert.throws(
    () => remote.folderFilter("INBOX"),
    /Cannot evaluate option "folderfilter" in section "Repository R" for folder "INBOX": /,
  );
});

Deno.test("resolveConfig() applies -f to the remote repository only, over its filters", () => {
  const remote = remoteOf(
    config({ remote: "folderfilter = lambda f: False\nfolderincludes = ['X']" }),
    { folders: ["INBOX", " Sent", "it's"] },
  );
  assert.equal(remote.folderFilter("INBOX"), true);
  assert.equal(remote.folderFilter(" Sent"), true);
  assert.equal(remote.folderFilter("Sent"), false);
  assert.equal(remote.folderFilter("it's"), true);
  assert.equal(remote.folderFilterSource, `lambda f: f in ['INBOX', ' Sent', "it's"]`);
  const local = localOf(config(), { folders: ["INBOX"] });
  assert.equal(local.folderFilter("Other"), true);
  const filtered = localOf(config({ local: "folderfilter = lambda f: f != 'Spam'" }), {
    folders: ["INBOX"],
  });
  assert.equal(filtered.folderFilter("Spam"), false, "the local folderfilter still applies");
});

Deno.test("resolveConfig() refuses options that would change behaviour, unless no-op", () => {
  const refused: [Part, string, string][] = [
    ["account", "synclabels = yes", "Account A"],
    ["account", "proxy = SOCKS5:localhost:9050", "Account A"],
    ["account", "authproxy = HTTP:proxy:3128", "Account A"],
    ["general", "update-keyring = yes", "general"],
    ["remote", "usecompression = yes", "Repository R"],
    ["remote", "decodefoldernames = yes", "Repository R"],
  ];
  for (const [where, line, section] of refused) {
    const key = line.split(" =")[0];
    const error = throwsConfig(
      () => resolveText(config({ [where]: line })),
      `Option "${key}" in section "${section}" is not supported yet`,
    );
    assert.match(error.hint ?? "", /line \d+ of "\/rc"/, line);
  }
  const accepted = [
    ["account", "synclabels = no\nproxy =\nauthproxy ="],
    ["local", "folderincludes = []"],
    ["remote", "idlefolders = []\nusecompression = no\ndecodefoldernames = no"],
    ["general", "ignore-keyring = yes\nupdate-keyring = no"],
  ] as const;
  for (const [where, lines] of accepted) {
    assert.deepEqual(resolveText(config({ [where]: lines })).warnings, [], lines);
  }
});

Deno.test("resolveConfig() compiles newmail_hook to a callable, and an empty one to none", () => {
  const remoteOf = (line: string) => {
    const remote = resolveText(config({ remote: line })).config.accounts.get("A")!.remote;
    assert.equal(remote.type, "IMAP");
    return remote.type === "IMAP" ? remote : undefined;
  };
  assert.equal(
    typeof remoteOf("newmail_hook = lambda: os.system('true')")?.newmailHook,
    "function",
  );
  assert.equal(remoteOf("newmail_hook =")?.newmailHook, undefined);
  throwsConfig(() => remoteOf("newmail_hook = 'not callable'"), /newmail_hook/);
});

Deno.test("resolveConfig() refuses a behaviour-changing option inherited from DEFAULT", () => {
  throwsConfig(
    () => resolveText(`[DEFAULT]\nsynclabels = yes\n${config()}`),
    'Option "synclabels" in section "DEFAULT" is not supported yet',
  );
  throwsConfig(
    () =>
      resolveText(
        `${config()}\n[mbnames]\nenabled = yes\nfilename = ~/m\nheader = "m "\n` +
          `peritem = +%(foldername)s\nsep = " "\nfooter = "\\n"\n`,
      ),
    'Option "enabled" in section "mbnames" is not supported yet',
  );
});

Deno.test("resolveConfig() warns about obsolete and ineffective options by name", () => {
  const { warnings } = resolveText(
    config({
      local: "foldersort = lambda x, y: -cmp(x, y)",
      remote: "realdelete = no\ntrashfolder = [Gmail]/Trash\nsep = /\nremotefile = ~/pw",
      account: "labelsheader = X-Label\nskipsleep = no",
    }),
  );
  assert.deepEqual(warnings, [
    'Ignoring option "labelsheader" in section "Account A" (line 7 of "/rc"): it has no ' +
    "effect without synclabels",
    'Ignoring option "skipsleep" in section "Account A" (line 8 of "/rc"): it is internal to ' +
    "OfflineIMAP, not a configuration option",
    'Ignoring option "foldersort" in section "Repository L" (line 12 of "/rc"): only IMAP ' +
    "repositories sort folders (OfflineIMAP ignores it too)",
    'Ignoring option "realdelete" in section "Repository R" (line 16 of "/rc"): it is an ' +
    "obsolete Gmail option without effect (in OfflineIMAP too)",
    'Ignoring option "trashfolder" in section "Repository R" (line 17 of "/rc"): it is an ' +
    "obsolete Gmail option without effect (in OfflineIMAP too)",
    'Ignoring option "sep" in section "Repository R" (line 18 of "/rc"): IMAP repositories ' +
    "use the server's separator",
    'Ignoring option "remotefile" in section "Repository R" (line 19 of "/rc"): it is not an ' +
    'option (a typo in OfflineIMAP\'s sample file): did you mean "remotepassfile"?',
  ]);
});

Deno.test("resolveConfig() warns about unknown options with a suggestion", () => {
  const { warnings } = resolveText(
    `[DEFAULT]\nmaildir = ~/M\nfoo = 1\n${
      config({
        remote: "foldrfilter = lambda f: True\nremotehots = x\nzzzzzzzz = 1",
        local: "localfolder = %(maildir)s",
      })
    }`,
  );
  assert.deepEqual(warnings, [
    'Ignoring option "foo" in section "DEFAULT" (line 3 of "/rc"): unknown option',
    'Ignoring option "localfolder" in section "Repository L" (line 14 of "/rc"): unknown ' +
    'option, did you mean "localfolders"?',
    'Ignoring option "foldrfilter" in section "Repository R" (line 18 of "/rc"): unknown ' +
    'option, did you mean "folderfilter"?',
    'Ignoring option "remotehots" in section "Repository R" (line 19 of "/rc"): unknown ' +
    'option, did you mean "remotehost"?',
    'Ignoring option "zzzzzzzz" in section "Repository R" (line 20 of "/rc"): unknown option',
  ]);
});

Deno.test("resolveConfig() does not warn about helper options used in %(name)s", () => {
  const { warnings } = resolveText(
    config({ remote: "me = joe\nremoteuser = %(me)s@example.org" }),
  );
  assert.deepEqual(warnings, []);
});

Deno.test("resolveConfig() warns about options in the wrong section and ignores them", () => {
  const { config: c, warnings } = resolveText(
    config({ general: "ssl = no", account: "maxconnections = 4" }),
  );
  assert.equal(c.accounts.get("A")?.remote.ssl, true);
  assert.deepEqual(warnings, [
    'Ignoring option "ssl" in section "general" (line 3 of "/rc"): it belongs in IMAP ' +
    "[Repository ...] sections",
    'Ignoring option "maxconnections" in section "Account A" (line 7 of "/rc"): it belongs ' +
    "in Maildir [Repository ...] or IMAP [Repository ...] sections",
  ]);
});

Deno.test("resolveConfig() warns about sections ignored only for their case or spaces", () => {
  const { warnings } = resolveText(
    `${config()}\n[General]\nui = basic\n[account B]\n[ mbnames ]\n[ui.Curses.Blinkenlights]\n`,
  );
  assert.deepEqual(warnings, [
    'Ignoring section "[General]" (line 16 of "/rc"): section names are case and space ' +
    'sensitive, did you mean "[general]"?',
    'Ignoring section "[account B]" (line 18 of "/rc"): section names are case and space ' +
    'sensitive, did you mean "[Account B]"?',
    'Ignoring section "[ mbnames ]" (line 19 of "/rc"): section names are case and space ' +
    'sensitive, did you mean "[mbnames]"?',
  ]);
});

Deno.test("resolveConfig() only reads the sections of active accounts", () => {
  const text = `${config()}\n[Account B]\nlocalrepository = Nope\nautorefresh = x%\n`;
  assert.deepEqual([...resolveText(text).config.accounts.keys()], ["A"]);
  throwsConfig(
    () => resolveText(text, { accounts: ["B"] }),
    'Option "remoterepository" in section "Account B" is required',
  );
});
