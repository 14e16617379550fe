import { type ConfigPart as Part, configText } from "../../_helpers/config.ts";
/**
 * Every option of config-options.md that issues 4-6 add: defaults, conversions and the rules
 * that tie options together.
 */

import assert from "node:assert/strict";
import { parseIni } from "../../../src/config/ini.ts";
import {
  IDLE_KEEPALIVE,
  parseMaxAge,
  resolveConfig,
  type ResolveOptions,
} from "../../../src/config/schema.ts";
import type {
  AccountConfig,
  ImapRepositoryConfig,
  MaildirRepositoryConfig,
} from "../../../src/config/types.ts";
import { ConfigError } from "../../../src/errors.ts";

const ENV = { vars: { HOME: "/home/u", CERTS: "/etc/certs" }, cwd: "/cwd" };
const FILES = new Set(["/home/u/.offlineimap.py", "/etc/certs/me.pem", "/cwd/me.key"]);
/** Noon local time, 2024-03-15. */
const NOW = new Date(2024, 2, 15, 12, 0, 0);
const BASE: ResolveOptions = { env: ENV, isFile: (p) => FILES.has(p), now: NOW };

const config = configText;

function resolve(text: string, opts: ResolveOptions = {}) {
  return resolveConfig(parseIni(text, "/rc"), "/rc", { ...BASE, ...opts });
}

function account(extra: Partial<Record<Part, string>>, opts: ResolveOptions = {}): AccountConfig {
  const a = resolve(config(extra), opts).config.accounts.get("A");
  assert.ok(a);
  return a;
}

function remote(lines: string): ImapRepositoryConfig {
  return account({ remote: lines }).remote;
}

function local(lines: string, general = ""): MaildirRepositoryConfig {
  return account({ local: lines, general }).local as MaildirRepositoryConfig;
}

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
  assert.equal(caught.exitCode, 1);
  return caught;
}

Deno.test("resolveConfig() gives every new account option OfflineIMAP's default", () => {
  const a = account({});
  assert.equal(a.autorefresh, 0);
  assert.equal(a.quick, 0);
  assert.equal(a.preSyncHook, undefined);
  assert.equal(a.postSyncHook, undefined);
  assert.equal(a.maxSize, undefined);
  assert.equal(a.maxAge, undefined);
  assert.equal(a.maildirWindowsCompatible, false);
  assert.equal(a.utf8FolderNames, false);
  assert.deepEqual(a.filterHeaders, []);
});

Deno.test("resolveConfig() reads autorefresh as minutes and forces negative values off", () => {
  assert.equal(account({ account: "autorefresh = 0.5" }).autorefresh, 0.5);
  assert.equal(account({ account: "autorefresh = 5" }).autorefresh, 5);
  const { config: c, warnings } = resolve(config({ account: "autorefresh = -3" }));
  assert.equal(c.accounts.get("A")?.autorefresh, 0);
  assert.deepEqual(warnings, [
    'Option "autorefresh" in section "Account A" (line 7 of "/rc") is negative: autorefresh is off',
  ]);
  throwsConfig(() => account({ account: "autorefresh = nan" }), /"nan" is not a number of minutes/);
  throwsConfig(() => account({ account: "autorefresh = 5 # min" }), /Not a number: "5 # min"/);
  // [DEFAULT] applies to every account.
  const inherited = resolve(`[DEFAULT]\nautorefresh = 2\n${config()}`).config.accounts.get("A");
  assert.equal(inherited?.autorefresh, 2);
});

Deno.test("resolveConfig() reads quick, with every negative value meaning always", () => {
  assert.equal(account({ account: "quick = 10" }).quick, 10);
  assert.equal(account({ account: "quick = -1" }).quick, -1);
  assert.equal(account({ account: "quick = -7" }).quick, -1);
  throwsConfig(() => account({ account: "quick = yes" }), /Not an integer: "yes"/);
});

Deno.test("resolveConfig() turns quick off with a warning when maxage or startdate is set", () => {
  const { config: c, warnings } = resolve(config({ account: "quick = -1\nmaxage = 30" }));
  assert.equal(c.accounts.get("A")?.quick, 0);
  assert.deepEqual(warnings, [
    'Quick syncs (-q, quick) are not supported with maxage: every sync of account "A" is a ' +
    "full sync",
  ]);
  const start = resolve(config({ account: "quick = 3", remote: "startdate = 2024-01-01" }));
  assert.equal(start.config.accounts.get("A")?.quick, 0);
  assert.match(start.warnings[0] ?? "", /not supported with startdate/);
});

Deno.test("resolveConfig() reads the hooks, an empty one being none", () => {
  const a = account({ account: "presynchook = notmuch new\npostsynchook =" });
  assert.equal(a.preSyncHook, "notmuch new");
  assert.equal(a.postSyncHook, undefined);
});

Deno.test("resolveConfig() reads maxsize in bytes and refuses sizes below 1", () => {
  assert.equal(account({ account: "maxsize = 2_000_000" }).maxSize, 2000000);
  const error = throwsConfig(
    () => account({ account: "maxsize = 0" }),
    'Cannot read option "maxsize" in section "Account A": 0 is less than 1',
  );
  assert.match(error.hint ?? "", /remove the option for no limit/);
});

Deno.test("parseMaxAge() takes days back from now in local time, as midnight UTC", () => {
  assert.deepEqual(parseMaxAge("30", "Account A", NOW), new Date(Date.UTC(2024, 1, 14)));
  assert.deepEqual(parseMaxAge(" +1 ", "Account A", NOW), new Date(Date.UTC(2024, 2, 14)));
  assert.deepEqual(parseMaxAge("2023-12-31", "Account A", NOW), new Date(Date.UTC(2023, 11, 31)));
  // Python's strptime accepts unpadded months and days.
  assert.deepEqual(parseMaxAge("2024-3-1", "Account A", NOW), new Date(Date.UTC(2024, 2, 1)));
  // Today is not in the future.
  assert.deepEqual(parseMaxAge("2024-03-15", "Account A", NOW), new Date(Date.UTC(2024, 2, 15)));
});

Deno.test("parseMaxAge() refuses zero, garbage, old years, future and impossible dates", () => {
  const cases: [string, RegExp][] = [
    ["0", /"0" is neither a number of days \(1 or more\) nor a date/],
    ["-5", /"-5" is neither/],
    ["30 days", /"30 days" is neither/],
    ["1899-12-31", /year 1899 is before 1900/],
    ["2024-03-16", /2024-03-16 is in the future/],
    ["2023-02-29", /"2023-02-29" is neither/],
    ["2024/01/01", /"2024\/01\/01" is neither/],
  ];
  for (const [value, pattern] of cases) {
    throwsConfig(() => parseMaxAge(value, "Account A", NOW), pattern);
  }
});

Deno.test("resolveConfig() resolves maxage, naming the line when it is wrong", () => {
  assert.deepEqual(account({ account: "maxage = 7" }).maxAge, new Date(Date.UTC(2024, 2, 8)));
  const error = throwsConfig(
    () => account({ account: "maxage = 2030-01-01" }),
    'Cannot read option "maxage" in section "Account A": 2030-01-01 is in the future',
  );
  assert.match(error.hint ?? "", /line 7 of "\/rc"/);
});

Deno.test("resolveConfig() refuses maxage together with startdate", () => {
  throwsConfig(
    () => account({ account: "maxage = 7", local: "startdate = 2024-01-01" }),
    'Options "maxage" in section "Account A" and "startdate" in section "Repository L" ' +
      "cannot be used together",
  );
});

Deno.test("resolveConfig() reads startdate, zero-padded, and refuses non-dates", () => {
  assert.equal(account({ remote: "startdate = 2024-1-5" }).remote.startDate, "2024-01-05");
  assert.equal(account({}).remote.startDate, undefined);
  throwsConfig(
    () => account({ local: "startdate = yesterday" }),
    'Cannot read option "startdate" in section "Repository L": "yesterday" is not a date ' +
      "(YYYY-MM-DD)",
  );
});

Deno.test("resolveConfig() reads the account's Maildir and folder-name switches", () => {
  const a = account({
    account: "maildir-windows-compatible = yes\nutf8foldernames = true\n" +
      "filterheaders = X-Keywords , X-Label,,Received",
  });
  assert.equal(a.maildirWindowsCompatible, true);
  assert.equal(a.utf8FolderNames, true);
  assert.deepEqual(a.filterHeaders, ["X-Keywords", "X-Label", "Received"]);
});

Deno.test("resolveConfig() gives the common repository options their defaults", () => {
  const a = account({});
  for (const repo of [a.local, a.remote]) {
    assert.deepEqual(repo.folderIncludes, []);
    assert.equal(repo.folderSort, undefined);
    assert.equal(repo.dynamicFolderFilter, false);
    assert.equal(repo.startDate, undefined);
    assert.equal(repo.folderIncludesSource, undefined);
  }
  assert.equal(account({ local: "dynamic_folderfilter = yes" }).local.dynamicFolderFilter, true);
  assert.deepEqual(account({ local: "folderincludes = [ ]" }).local.folderIncludes, []);
});

Deno.test("resolveConfig() reads the Maildir options, inheriting two from [general]", () => {
  const plain = local("");
  assert.equal(plain.restoreAtime, false);
  assert.equal(plain.utimeFromHeader, false);
  assert.equal(plain.filenameUseMailTimestamp, false);
  assert.deepEqual(plain.customFlags, {});
  const set = local("restoreatime = yes\nutime_from_header = on\nfilename_use_mail_timestamp = 1");
  assert.equal(set.restoreAtime, true);
  assert.equal(set.utimeFromHeader, true);
  assert.equal(set.filenameUseMailTimestamp, true);
  const inherited = local("", "utime_from_header = yes\nfilename_use_mail_timestamp = yes");
  assert.equal(inherited.utimeFromHeader, true);
  assert.equal(inherited.filenameUseMailTimestamp, true);
  const overridden = local("utime_from_header = no", "utime_from_header = yes");
  assert.equal(overridden.utimeFromHeader, false);
  throwsConfig(
    () => local("", "utime_from_header = maybe"),
    /"utime_from_header" in section "general": Not a boolean/,
  );
});

Deno.test("resolveConfig() maps customflag_<letter> to IMAP keywords", () => {
  assert.deepEqual(local("customflag_a = $Label1\ncustomflag_z = Work").customFlags, {
    a: "$Label1",
    z: "Work",
  });
  throwsConfig(
    () => local("customflag_b = two words"),
    'Cannot read option "customflag_b" in section "Repository L": "two words" is not an ' +
      "IMAP keyword",
  );
  throwsConfig(() => local("customflag_c = \\Seen"), /"\\Seen" is not an IMAP keyword/);
  // customflag_A is customflag_a (keys are lower-cased); non-letters are unknown options.
  const { warnings } = resolve(config({ local: "customflag_1 = x" }));
  assert.match(warnings[0] ?? "", /Ignoring option "customflag_1" .* unknown option/);
});

Deno.test("resolveConfig() gives every new IMAP option OfflineIMAP's default", () => {
  const r = remote("");
  assert.equal(r.declaredType, undefined);
  assert.equal(r.hostEval, undefined);
  assert.equal(r.portEval, undefined);
  assert.equal(r.userEval, undefined);
  assert.equal(r.preauthTunnel, undefined);
  assert.equal(r.transportTunnel, undefined);
  assert.equal(r.ipv6, undefined);
  assert.equal(r.tlsMinVersion, undefined);
  assert.equal(r.clientCert, undefined);
  assert.equal(r.clientKey, undefined);
  assert.equal(r.subscribedOnly, false);
  assert.equal(r.holdConnectionOpen, false);
  assert.equal(r.keepalive, 0);
  assert.deepEqual(r.idleFolders, []);
  assert.equal(r.singleThreadPerFolder, false);
  assert.equal(r.retryCount, 2);
  assert.equal(r.copyIgnore, undefined);
  assert.equal(r.oauth2, undefined);
});

Deno.test("resolveConfig() reads the IMAP behaviour switches", () => {
  const r = remote(
    "subscribedonly = yes\nholdconnectionopen = yes\nkeepalive = 60\nsinglethreadperfolder = 1\n" +
      "retrycount = 5\nipv6 = no",
  );
  assert.equal(r.subscribedOnly, true);
  assert.equal(r.holdConnectionOpen, true);
  assert.equal(r.keepalive, 60);
  assert.equal(r.singleThreadPerFolder, true);
  assert.equal(r.retryCount, 5);
  assert.equal(r.ipv6, false);
  assert.equal(remote("ipv6 = yes").ipv6, true);
  throwsConfig(() => remote("keepalive = -1"), /"keepalive" .* -1 is less than 0/);
  throwsConfig(() => remote("retrycount = 0"), /"retrycount" .* 0 is less than 1/);
});

Deno.test("resolveConfig() lets an empty idlefolders list change nothing", () => {
  const r = remote("idlefolders = []\nmaxconnections = 2");
  assert.deepEqual(r.idleFolders, []);
  assert.equal(r.holdConnectionOpen, false);
  assert.equal(r.keepalive, 0);
  assert.equal(r.maxConnections, 2);
  assert.equal(IDLE_KEEPALIVE, 1740);
});

Deno.test("resolveConfig() lets idlefolders force the connection options", () => {
  const r = remote("idlefolders = ['INBOX', 'Lists', 'Work']\nholdconnectionopen = no");
  assert.deepEqual(r.idleFolders, ["INBOX", "Lists", "Work"]);
  assert.equal(r.holdConnectionOpen, true);
  assert.equal(r.singleThreadPerFolder, true);
  assert.equal(r.keepalive, IDLE_KEEPALIVE);
  assert.equal(r.maxConnections, 3, "raised to one connection per IDLE folder");
  const set = remote("idlefolders = ['INBOX']\nkeepalive = 60\nmaxconnections = 4");
  assert.equal(set.keepalive, 60, "an explicit keepalive is kept");
  assert.equal(set.maxConnections, 4);
});

Deno.test("resolveConfig() reads the tunnels and refuses both at once", () => {
  const pre = remote("preauthtunnel = ssh -q host /usr/lib/dovecot/imap");
  assert.equal(pre.preauthTunnel, "ssh -q host /usr/lib/dovecot/imap");
  assert.deepEqual(pre.password, { kind: "none" });
  const transport = remote("transporttunnel = openssl s_client -quiet -connect h:993");
  assert.equal(transport.transportTunnel, "openssl s_client -quiet -connect h:993");
  assert.equal(transport.password.kind, "netrc");
  assert.equal(remote("preauthtunnel =").preauthTunnel, undefined);
  const error = throwsConfig(
    () => remote("preauthtunnel = a\ntransporttunnel = b"),
    'Options "preauthtunnel" and "transporttunnel" in section "Repository R" cannot both be set',
  );
  assert.match(error.hint ?? "", /Keep one/);
});

Deno.test("resolveConfig() needs no remotehost with a preauthtunnel only", () => {
  const text = config({ remote: "preauthtunnel = ssh h imapd" }).replace(
    "remotehost = imap.example.org",
    "",
  );
  const r = resolve(text).config.accounts.get("A")?.remote;
  assert.equal(r?.host, "");
  throwsConfig(
    () =>
      resolve(
        config({ remote: "transporttunnel = nc h 143" }).replace(
          "remotehost = imap.example.org",
          "",
        ),
      ),
    'Option "remotehost" in section "Repository R" is required',
  );
});

Deno.test("resolveConfig() maps tls_level and ssl_version to the lowest TLS version", () => {
  const cases: [string, ImapRepositoryConfig["tlsMinVersion"]][] = [
    ["", undefined],
    ["tls_level = tls_compat", undefined],
    ["ssl_version = tls1", "TLSv1"],
    ["ssl_version = tls1_1", "TLSv1.1"],
    ["ssl_version = tls1_2", "TLSv1.2"],
    ["ssl_version = ssl23", undefined],
    ["tls_level = tls_no_ssl\nssl_version = ssl23", "TLSv1"],
    ["tls_level = tls_secure\nssl_version = ssl23", "TLSv1.1"],
    ["tls_level = tls_secure\nssl_version = tls1_2", "TLSv1.2"],
    ["tls_level = tls_no_ssl\nssl_version = tls1", "TLSv1"],
  ];
  for (const [lines, expected] of cases) {
    assert.equal(remote(lines).tlsMinVersion, expected, lines);
  }
});

Deno.test("resolveConfig() refuses tls_level without ssl_version, and disallowed versions", () => {
  const error = throwsConfig(
    () => remote("tls_level = tls_secure"),
    'Option "tls_level" in section "Repository R" requires option "ssl_version"',
  );
  assert.match(error.hint ?? "", /ssl_version = tls1_2/);
  throwsConfig(() => remote("tls_level = high"), /unknown TLS level "high"/);
  throwsConfig(() => remote("ssl_version = tls1_3"), /unknown SSL version "tls1_3"/);
  throwsConfig(() => remote("ssl_version = ssl3"), /SSL 3.0 is insecure and not supported/);
  throwsConfig(
    () => remote("tls_level = tls_secure\nssl_version = tls1"),
    /"tls1" is not allowed by tls_level = tls_secure/,
  );
});

Deno.test("resolveConfig() resolves client certificate paths and requires the certificate", () => {
  const r = remote("sslclientcert = $CERTS/me.pem\nsslclientkey = me.key");
  assert.equal(r.clientCert, "/etc/certs/me.pem");
  assert.equal(r.clientKey, "/cwd/me.key");
  throwsConfig(
    () => remote("sslclientcert = ~/nope.pem"),
    'Cannot read option "sslclientcert" in section "Repository R": client certificate file ' +
      '"/home/u/nope.pem" does not exist',
  );
  throwsConfig(
    () => remote("sslclientkey = me.key"),
    'Option "sslclientkey" in section "Repository R" requires option "sslclientcert"',
  );
});

Deno.test("resolveConfig() reads plain OAuth2 options and needs a token URL to refresh", async () => {
  const r = remote(
    "oauth2_client_id = id\noauth2_client_secret = s3cret\noauth2_refresh_token = rt\n" +
      "oauth2_request_url = https://login.example.org/token",
  );
  assert.ok(r.oauth2);
  assert.equal(await r.oauth2.clientId?.(), "id");
  assert.equal(await r.oauth2.clientSecret?.(), "s3cret");
  assert.equal(await r.oauth2.refreshToken?.(), "rt");
  assert.equal(r.oauth2.accessToken, undefined);
  assert.equal(r.oauth2.requestUrl, "https://login.example.org/token");
  const access = remote("oauth2_access_token = at");
  assert.equal(await access.oauth2?.accessToken?.(), "at");
  throwsConfig(
    () => remote("oauth2_refresh_token = rt"),
    'Option "oauth2_request_url" in section "Repository R" is required with a refresh token',
  );
});

Deno.test("resolveConfig() reads the [general] additions", () => {
  const g = resolve(config({ general: "pythonfile = ~/.offlineimap.py\nignore-readonly = yes" }))
    .config.general;
  assert.equal(g.pythonFile, "/home/u/.offlineimap.py");
  assert.equal(g.ignoreReadonly, true);
  throwsConfig(
    () => resolve(config({ general: "pythonfile = ~/missing.py" })),
    'Cannot read option "pythonfile" in section "general": Python file "/home/u/missing.py" ' +
      "does not exist",
  );
  throwsConfig(
    () => resolve(config({ general: "ignore-keyring = sure" })),
    /"ignore-keyring" in section "general": Not a boolean/,
  );
});

Deno.test("resolveConfig() requires the [mbnames] options whenever the section exists", () => {
  const full = 'filename = ~/m\nheader = "m "\nperitem = +%(foldername)s\nsep = " "\nfooter = ""';
  const { config: c, warnings } = resolve(`${config()}\n[mbnames]\nenabled = no\n${full}\n`);
  assert.equal(c.general.mbnames, undefined);
  assert.deepEqual(warnings, []);
  const error = throwsConfig(
    () => resolve(`${config()}\n[mbnames]\nenabled = no\n`),
    'Option "filename" in section "mbnames" is required',
  );
  assert.match(error.hint ?? "", /even with enabled = no/);
  // Without the section, mbnames is simply off.
  assert.equal(resolve(config()).config.general.mbnames, undefined);
});

Deno.test("resolveConfig() resolves enabled mbnames only when the caller writes the file", () => {
  const text = `${config()}\n[mbnames]\nenabled = yes\nfilename = $CERTS/m\nheader = "m "\n` +
    'peritem = "+%(accountname)s/%(foldername)s"\nsep = " "\nfooter = "\\n"\n';
  throwsConfig(() => resolve(text), 'Option "enabled" in section "mbnames" is not supported yet');
  const mbnames = resolve(text, { mbnames: true }).config.general.mbnames;
  assert.ok(mbnames);
  assert.equal(mbnames.filename, "/etc/certs/m");
  assert.equal(mbnames.header, "m ");
  assert.equal(mbnames.sep, " ");
  assert.equal(mbnames.footer, "\n");
  assert.equal(mbnames.peritem, '"+%(accountname)s/%(foldername)s"');
  assert.equal(mbnames.incremental, false);
  assert.equal(mbnames.folderFilter("A", "Trash"), true);
  const item = (accountname: string, foldername: string) => ({
    accountname,
    foldername,
    localfolders: "/m",
  });
  assert.ok(mbnames.compare(item("A", "b"), item("B", "a")) < 0, "by account first");
  assert.ok(mbnames.compare(item("A", "b"), item("A", "a")) > 0, "then by folder");
  throwsConfig(
    () => resolve(text.replace('header = "m "', "header = m "), { mbnames: true }),
    /^Cannot evaluate option "header" in section "mbnames": /,
  );
});

Deno.test("resolveConfig() warns when a config file holding a password is readable by others", () => {
  const secret = config({ remote: "remotepass = hunter2" });
  const warnings = resolve(secret, { fileMode: () => 0o100644 }).warnings;
  assert.deepEqual(warnings, [
    'Config file "/rc" is readable by group or others (mode 0644): run chmod 600 "/rc" ' +
    "(it contains a password)",
  ]);
  assert.deepEqual(resolve(secret, { fileMode: () => 0o100600 }).warnings, []);
  assert.deepEqual(resolve(config(), { fileMode: () => 0o100644 }).warnings, []);
});

Deno.test("resolveConfig() reports expression notes raised later through lateWarning", async () => {
  const late: string[] = [];
  const { config: c, warnings } = resolve(
    config({ remote: "remotepasseval = os.environ.get('NOPE', 'pw')" }),
    { lateWarning: (w) => late.push(w) },
  );
  const source = c.accounts.get("A")?.remote.password;
  assert.equal(source?.kind, "eval");
  assert.equal(source.kind === "eval" ? await source.evaluate() : "", "pw");
  assert.deepEqual(warnings, []);
  assert.equal(late.length, 1);
  assert.match(late[0] ?? "", /"remotepasseval" .* "os" is provided by offlineimap-ts/);
});
