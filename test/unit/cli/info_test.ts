import assert from "node:assert/strict";
import { parseIni } from "../../../src/config/ini.ts";
import { resolveConfig, type ResolveOptions } from "../../../src/config/schema.ts";
import type { Config, ImapRepositoryConfig } from "../../../src/config/types.ts";
import { formatInfo, MASK } from "../../../src/cli/info.ts";

const FIXTURES = new URL("../../fixtures/config/", import.meta.url);
const ENV = { vars: { HOME: "/home/u" }, cwd: "/" };

function resolveText(text: string, opts: ResolveOptions = {}): Config {
  return resolveConfig(parseIni(text, "/rc"), "/rc", {
    env: ENV,
    isFile: () => true,
    fileMode: () => 0o600,
    ...opts,
  }).config;
}

function fixture(name: string, opts: ResolveOptions = {}): Config {
  return resolveText(Deno.readTextFileSync(new URL(name, FIXTURES)), opts);
}

/** Replaces the remote repository's compiled expressions, as the interpreter would give them. */
function withRemote(config: Config, patch: Partial<ImapRepositoryConfig>): Config {
  const accounts = new Map(
    [...config.accounts].map(([name, a]) => [name, { ...a, remote: { ...a.remote, ...patch } }]),
  );
  return { ...config, accounts };
}

Deno.test("formatInfo() prints settings, then each repository's folders with -f applied", () => {
  const config = fixture("manual_folderfilter_list.rc", { folders: ["INBOX", "Lists"] });
  const listings = new Map<string, string[] | Error>([
    ["R", ["INBOX", "Trash", "Lists"]],
    ["L", new Error('Cannot read "/home/u/Mail": no such directory')],
  ]);
  assert.equal(
    formatInfo(config, listings, { version: "0.1.0" }),
    `offlineimap-ts 0.1.0: configuration "/rc"
[general]
  accounts = A
  metadata = /home/u/.offlineimap
  ui = ttyui
  maxsyncaccounts = 1
  socktimeout = 0
  fsync = yes
  dry-run = no
  ignore-readonly = no
  mbnames = disabled

Account "A"
  localrepository = L
  remoterepository = R
  status_backend = sqlite
  max_delete_ratio = 0.5
  autorefresh = 0 (run once)
  quick = 0
  maildir-windows-compatible = no
  utf8foldernames = no

Remote repository "R": type IMAP
  remotehost = imap.example.org
  remoteport = 993
  ssl = yes
  starttls = yes
  sslcacertfile = OS-DEFAULT (system store)
  remoteuser = me
  password = from ~/.netrc or /etc/netrc, else prompt (ttyui only)
  auth_mechanisms = GSSAPI, XOAUTH2, CRAM-MD5, PLAIN, LOGIN
  allow_plaintext_auth = no
  subscribedonly = no
  maxconnections = 1
  expunge = yes
  holdconnectionopen = no
  keepalive = 0
  singlethreadperfolder = no
  retrycount = 2
  readonly = no
  createfolders = yes
  sync_deletes = yes
  dynamic_folderfilter = no
  folderfilter = lambda f: f in ['INBOX', 'Lists']
  folderincludes = []
  Folders (3):
    INBOX
    Trash (disabled)
    Lists

Local repository "L": type Maildir
  localfolders = /home/u/Mail
  sep = .
  restoreatime = no
  utime_from_header = no
  filename_use_mail_timestamp = no
  readonly = no
  createfolders = yes
  sync_deletes = yes
  dynamic_folderfilter = no
  Folders: cannot list them: Cannot read "/home/u/Mail": no such directory
`,
  );
});

Deno.test("formatInfo() shows translations, disabled and included folders, and errors", () => {
  const base = fixture("minimal.rc");
  const config = withRemote(base, {
    nametrans: (name) => {
      if (name === "Bad") throw new Error("NameError: name 'x' is not defined");
      return name.replace(/^INBOX\./, "");
    },
    nametransSource: "lambda f: re.sub(r'^INBOX\\.', '', f)",
    folderFilter: (name) => name !== "INBOX.Trash",
    folderFilterSource: "lambda f: f != 'INBOX.Trash'\nand True",
    folderIncludes: ["INBOX.Trash", "debian.user"],
    folderIncludesSource: "['INBOX.Trash', 'debian.user']",
  });
  const text = formatInfo(
    config,
    new Map([["main-remote", ["INBOX", "INBOX.Sent", "INBOX.Trash", "INBOX.Spam", "Bad"]]]),
    { details: new Map([["main-remote", ["Server greeting: * OK Dovecot ready."]]]) },
  );
  assert.match(
    text,
    / {2}folderfilter = lambda f: f != 'INBOX.Trash'\n {6}and True\n {2}folderincludes = \['INBOX.Trash', 'debian.user'\]\n {2}nametrans = lambda f: re.sub\(r'\^INBOX\\\.', '', f\)\n {2}Server greeting: \* OK Dovecot ready.\n {2}Folders \(5\):\n {4}INBOX\n {4}INBOX.Sent -> Sent\n {4}INBOX.Trash -> Trash\n {4}INBOX.Spam -> Spam\n {4}Bad -> nametrans failed: NameError: name 'x' is not defined\n {4}debian.user \(included\)\n/,
  );
  // A local repository that was not listed is said so.
  assert.match(
    text,
    /Local repository "main-local": type Maildir\n( {2}.*\n)* {2}Folders: not listed\n$/,
  );
  const filtered = formatInfo(
    withRemote(base, { folderFilter: (name) => name === "INBOX" }),
    new Map([["main-remote", ["INBOX", "Sent"]]]),
  );
  assert.match(filtered, / {4}INBOX\n {4}Sent \(disabled\)\n/);
});

Deno.test("formatInfo() masks every secret", () => {
  const config = resolveText(
    `[general]\naccounts = A\n[Account A]\nlocalrepository = L\nremoterepository = R\n` +
      `[Repository L]\ntype = IMAP\nremotehost = l.example\nremotepass = Sup3rS3cret\n` +
      `[Repository R]\ntype = Gmail\nremoteuser = me@gmail.com\noauth2_client_id = cid\n` +
      `oauth2_client_secret = CL1ENTs3cret\noauth2_refresh_token = R3fresh\n`,
  );
  const text = formatInfo(config, new Map());
  for (const secret of ["Sup3rS3cret", "CL1ENTs3cret", "R3fresh"]) {
    assert.ok(!text.includes(secret), `${secret} is shown`);
  }
  assert.match(text, new RegExp(`  password = ${MASK.replaceAll("*", "\\*")}\n`));
  assert.match(
    text,
    / {2}oauth2 = refresh token \*+, client id set, client secret \*+, token URL https:\/\/accounts\.google\.com\/o\/oauth2\/token\n/,
  );
  assert.match(text, /Remote repository "R": type Gmail\n {2}remotehost = imap.gmail.com\n/);
  assert.match(text, /Local repository "L": type IMAP\n/);
});

Deno.test("formatInfo() shows the new and the Python-valued options where set", () => {
  const config = resolveText(
    `[general]\naccounts = A\n[Account A]\nlocalrepository = L\nremoterepository = R\n` +
      `maxage = 2024-01-31\nautorefresh = 5\nfilterheaders = X-A, X-B\nmax_delete_ratio = 1\n` +
      `[Repository L]\ntype = Maildir\nlocalfolders = /m\ncustomflag_a = $Label1\n` +
      `[Repository R]\ntype = IMAP\nremotehost = h\nremotepassfile = ~/pw\n` +
      `preauthtunnel = ssh h imapd\nssl_version = tls1_2\n`,
    { now: new Date(2024, 5, 1) },
  );
  const text = formatInfo(config, new Map([["L", []]]));
  for (
    const line of [
      "  max_delete_ratio = 1",
      "  autorefresh = 5 minutes",
      "  maxage = messages since 2024-01-31",
      "  filterheaders = X-A, X-B",
      "  customflags = a=$Label1",
      "  preauthtunnel = ssh h imapd",
      "  password = none (preauthtunnel)",
      "  tls minimum = TLSv1.2",
      "  Folders (0):",
    ]
  ) {
    assert.ok(text.includes(`${line}\n`), line);
  }
});

Deno.test("formatInfo() reports a nametrans + folderfilter config as compiled", () => {
  const config = fixture("py_regex.rc");
  const text = formatInfo(
    config,
    new Map([
      ["R", ["INBOX", "Work/2021", "INBOX/Spam", "Junk"]],
      ["L", ["lists.rust", "Inbox", "archive"]],
    ]),
  );
  assert.match(
    text,
    / {2}Folders \(4\):\n {4}INBOX\n {4}Work\/2021 -> 2021.Work\n {4}INBOX\/Spam -> Spam.INBOX \(disabled\)\n {4}Junk \(disabled\)\n/,
  );
  assert.match(
    text,
    / {2}Folders \(3\):\n {4}lists.rust\n {4}Inbox -> INBOX \(disabled\)\n {4}archive \(disabled\)\n$/,
  );
});
