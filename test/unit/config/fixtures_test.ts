/**
 * Every file of test/fixtures/config/ parses and resolves to the expected values, asserted per
 * key: the seeds' examples, the Arch wiki's, multi-account files, [DEFAULT] and interpolation,
 * continuation lambdas, and the Python constructs real configurations use.
 *
 * Expected results of expressions were produced by Python 3 (`configparser` + `eval`, see
 * python-expressions.md). Fixtures marked `expressions` go through the Python-expression
 * interpreter (py_expr.ts), those with a `pythonfile` through a real `python3` (pythonfile.ts).
 */

import assert from "node:assert/strict";
import { parseIni } from "../../../src/config/ini.ts";
import { resolveConfig, type ResolveOptions } from "../../../src/config/schema.ts";
import type { Config } from "../../../src/config/types.ts";
import { ConfigError } from "../../../src/errors.ts";

const DIR = new URL("../../fixtures/config/", import.meta.url).pathname.replace(/\/$/, "");
/** A home directory holding the `pythonfile`s the manual's examples refer to. */
const HOME = { env: { vars: { HOME: `${DIR}/home` }, cwd: DIR } };
const KNOWN_FILES = new Set([
  "/etc/ssl/certs/ca-certificates.crt",
  "/home/u/certs/ca.pem",
  "/home/u/certs/me.pem",
  "/home/u/certs/me.key",
  "/home/user/offlineimap.py",
]);
const BASE: ResolveOptions = {
  env: { vars: { HOME: "/home/u", MAILROOT: "/srv/mail" }, cwd: DIR },
  isFile: (path) => KNOWN_FILES.has(path) || (path.startsWith(`${DIR}/`) && exists(path)),
  fileMode: () => 0o100600,
  now: new Date(2024, 2, 15, 12, 0, 0),
};

interface Case {
  readonly file: string;
  readonly opts?: ResolveOptions;
  /** Section → option → value as read (interpolated), before any resolution. */
  readonly raw?: Record<string, Record<string, string>>;
  /** Section → option → value without interpolation (`peritem` is read raw). */
  readonly uninterpolated?: Record<string, Record<string, string>>;
  /** `general.x.y` or `<account>.x.y` → resolved value. */
  readonly values?: Record<string, unknown>;
  /** Compiled callables: [path, arguments, expected result (awaited)]. */
  readonly calls?: readonly (readonly [string, readonly unknown[], unknown])[];
  /** Expected warnings; none when absent. */
  readonly warnings?: readonly (string | RegExp)[];
  /** The file must be refused with this message. */
  readonly error?: RegExp;
  /** Documents that `values` and `calls` go through the Python-expression interpreter. */
  readonly expressions?: boolean;
}

const CASES: readonly Case[] = [
  {
    file: "minimal.rc",
    values: {
      "general.accounts": ["main"],
      "general.metadata": "/home/u/.offlineimap",
      "general.ui": "ttyui",
      "main.local.localFolders": "/home/u/Maildir",
      "main.remote.host": "host.domain.tld",
      "main.remote.user": "username",
      "main.remote.port": 993,
      "main.remote.password": { kind: "netrc", host: "host.domain.tld" },
      "main.statusBackend": "sqlite",
    },
  },
  {
    file: "multi_account.rc",
    opts: { env: { vars: { HOME: "/home/u", XDG_DATA_HOME: "/data" }, cwd: "/cwd" } },
    values: {
      "general.accounts": ["Work", "Personal"],
      "general.metadata": "/data/offlineimap",
      "general.maxSyncAccounts": 2,
      "general.sockTimeout": 60,
      "general.fsync": false,
      "Work.local.sep": "/",
      "Work.local.syncDeletes": false,
      "Work.remote.reference": "INBOX",
      "Work.remote.maxConnections": 3,
      "Work.remote.expunge": false,
      "Personal.statusBackend": "plain",
      "Personal.remote.password": { kind: "plain", value: "50%off" },
      "Personal.remote.port": 143,
    },
  },
  {
    file: "default_interpolation.rc",
    raw: {
      general: { signature: "alice at mail.example.net" },
      DEFAULT: { greeting: "100% alice" },
    },
    values: {
      "A.local.localFolders": "/srv/mail/alice",
      "A.remote.host": "mail.example.net",
      "A.remote.user": "alice@example.net",
    },
    warnings: [
      /Ignoring option "greeting" in section "DEFAULT" .* unknown option/,
      /Ignoring option "signature" in section "general" .* unknown option/,
    ],
  },
  {
    file: "continuation.rc",
    raw: { "Account A": { presynchook: "echo one\necho two\n\necho three\necho four" } },
    values: {
      "A.preSyncHook": "echo one\necho two\n\necho three\necho four",
      "A.postSyncHook": undefined,
      // An indented header-like line continues the value (config-options.md §2.4).
      "A.local.localFolders": "/srv/mail\n[Repository NotAHeader]",
      "A.remote.certFingerprints": [
        "aabbccddeeff00112233445566778899aabbccdd",
        "ffeeddccbbaa99887766554433221100ffeeddcc",
      ],
    },
  },
  {
    file: "manual_minimal_4x.rc",
    values: {
      "Test.local.localFolders": "/home/u/Test",
      "Test.remote.host": "examplehost",
      "Test.remote.user": "jgoerzen",
    },
  },
  {
    file: "arch_background.rc",
    values: {
      "general.maxSyncAccounts": 1,
      "main.autorefresh": 5,
      "main.quick": 10,
      "main.remote.keepalive": 60,
      "main.remote.holdConnectionOpen": true,
    },
  },
  {
    file: "arch_cron_quiet.rc",
    values: {
      "general.ui": "quiet",
      "main.remote.password": { kind: "file", path: "/home/u/.mailpass" },
    },
  },
  {
    file: "arch_gmail.rc",
    expressions: true,
    raw: {
      "Repository gmail-remote": {
        nametrans: "lambda foldername: re.sub ('^\\[gmail\\]', 'bak',\n" +
          "re.sub ('sent_mail', 'sent',\nre.sub ('starred', 'flagged',\n" +
          "re.sub (' ', '_', foldername.lower()))))",
        folderfilter: "lambda foldername: foldername not in '[Gmail]/All Mail'",
      },
    },
    values: {
      "gmail.remote.declaredType": "Gmail",
      "gmail.remote.host": "imap.gmail.com",
      "gmail.remote.port": 993,
      "gmail.remote.caFile": "/etc/ssl/certs/ca-certificates.crt",
      "gmail.remote.password": { kind: "plain", value: "password" },
    },
    calls: [
      ["gmail.remote.nametrans", ["[Gmail]/Sent Mail"], "bak/sent"],
      ["gmail.remote.nametrans", ["[Gmail]/Starred"], "bak/flagged"],
      ["gmail.remote.nametrans", ["INBOX"], "inbox"],
      ["gmail.remote.nametrans", ["My Label"], "my_label"],
      ["gmail.remote.folderFilter", ["[Gmail]/All Mail"], false],
      ["gmail.remote.folderFilter", ["INBOX"], true],
      ["gmail.remote.folderFilter", ["Mail"], false],
      ["gmail.remote.folderFilter", ["[Gmail]/Sent Mail"], true],
    ],
  },
  {
    file: "arch_mutt_mbnames.rc",
    opts: { mbnames: true },
    expressions: true,
    raw: {
      mbnames: {
        header: '"mailboxes "',
        sep: '" "',
        footer: '"\\n"',
        filename: "~/.mutt/mailboxes",
      },
    },
    values: {
      "general.mbnames.filename": "/home/u/.mutt/mailboxes",
      "general.mbnames.header": "mailboxes ",
      "general.mbnames.sep": " ",
      "general.mbnames.footer": "\n",
      "general.mbnames.peritem": '"+%(accountname)s/%(foldername)s"',
      "general.mbnames.incremental": false,
    },
  },
  {
    file: "faq_mbnames.rc",
    raw: { mbnames: { header: '"mailboxes "' } },
    uninterpolated: { mbnames: { peritem: '"+%(accountname)s/%(foldername)s"' } },
    error: /^Option "enabled" in section "mbnames" is not supported yet$/,
  },
  {
    file: "mbnames_disabled.rc",
    raw: { mbnames: { incremental: "yes", footer: '"\\n"' } },
    values: { "general.mbnames": undefined },
  },
  {
    file: "arch_netrc.rc",
    values: {
      "main.remote.user": undefined,
      "main.remote.password": { kind: "netrc", host: "mail.myhost.de" },
    },
  },
  {
    file: "arch_keyring.rc",
    expressions: true,
    raw: {
      "Repository RemoteEmail": {
        remotepasseval: 'keyring.get_password("offlineimap","username@host.net")',
      },
    },
    values: {
      "general.pythonFile": "/home/user/offlineimap.py",
      "RemoteEmail.remote.password.kind": "eval",
    },
  },
  {
    file: "arch_inverse_nametrans.rc",
    expressions: true,
    raw: {
      "Repository foo-local": {
        nametrans: "lambda foldername: foldername.replace('bar', 'BAR')",
      },
    },
    calls: [
      ["foo.local.nametrans", ["bar"], "BAR"],
      ["foo.local.nametrans", ["foobar"], "fooBAR"],
      ["foo.remote.nametrans", ["BAR"], "bar"],
      ["foo.remote.nametrans", ["x"], "x"],
    ],
  },
  {
    file: "faq_evolution_sep.rc",
    values: {
      "Evo.local.sep": "/",
      "Evo.local.localFolders": "/home/u/.local/share/evolution/mail/offline",
      "Evo.remote.caFile": "/etc/ssl/certs/ca-certificates.crt",
    },
  },
  {
    file: "manual_folderfilter_list.rc",
    expressions: true,
    raw: {
      "Repository R": { folderfilter: "lambda foldername: foldername in ['INBOX', 'Sent']" },
    },
    calls: [
      ["A.remote.folderFilter", ["INBOX"], true],
      ["A.remote.folderFilter", ["Sent"], true],
      ["A.remote.folderFilter", ["sent"], false],
      ["A.remote.folderFilter", ["Receipts/2022"], false],
    ],
  },
  {
    file: "manual_folderfilter_list.rc",
    opts: { folders: ["INBOX", "Lists"] },
    values: {
      "A.remote.folderFilterSource": "lambda f: f in ['INBOX', 'Lists']",
      "A.remote.folderIncludes": [],
    },
    calls: [
      ["A.remote.folderFilter", ["Lists"], true],
      ["A.remote.folderFilter", ["Sent"], false],
    ],
  },
  {
    file: "manual_folderfilter_not_in.rc",
    expressions: true,
    calls: [
      ["A.remote.folderFilter", ["Trash"], false],
      ["A.remote.folderFilter", ["INBOX"], true],
      ["A.remote.folderFilter", ["Trash/old"], true],
    ],
  },
  {
    file: "manual_folderfilter_regex.rc",
    expressions: true,
    raw: {
      "Repository R": {
        folderfilter: "lambda foldername: not re.search('(^Trash$|Del)', foldername)",
      },
    },
    calls: [
      ["A.remote.folderFilter", ["Trash"], false],
      ["A.remote.folderFilter", ["Trash/2019"], true],
      ["A.remote.folderFilter", ["Deleted"], false],
      ["A.remote.folderFilter", ["INBOX"], true],
    ],
  },
  {
    file: "manual_folderfilter_multiline.rc",
    expressions: true,
    raw: {
      "Repository R": {
        folderfilter:
          "lambda foldername: foldername in\n['INBOX', 'Sent Mail', 'Deleted Items',\n" +
          "'Received']",
      },
    },
    // A SyntaxError in Python 3; accepted here (DECISIONS.md #12).
    calls: [
      ["A.remote.folderFilter", ["INBOX"], true],
      ["A.remote.folderFilter", ["Received"], true],
      ["A.remote.folderFilter", ["Trash"], false],
    ],
  },
  {
    file: "manual_folderincludes.rc",
    expressions: true,
    raw: { "Repository R": { folderincludes: "['debian.user', 'debian.personal']" } },
    values: {
      "A.remote.folderIncludes": ["debian.user", "debian.personal"],
      "A.remote.folderIncludesSource": "['debian.user', 'debian.personal']",
    },
  },
  {
    file: "manual_folderincludes.rc",
    opts: { folders: ["INBOX"] },
    values: { "A.remote.folderIncludes": [], "A.remote.folderIncludesSource": "[]" },
  },
  {
    file: "manual_nametrans_strip_inbox.rc",
    expressions: true,
    raw: {
      "Repository R": { nametrans: "lambda foldername: re.sub('^INBOX\\.', '', foldername)" },
    },
    calls: [
      ["A.remote.nametrans", ["INBOX.Drafts"], "Drafts"],
      ["A.remote.nametrans", ["INBOX"], "INBOX"],
      ["A.remote.nametrans", ["INBOX.a.b"], "a.b"],
    ],
  },
  {
    file: "manual_nametrans_dot.rc",
    expressions: true,
    calls: [
      ["A.remote.nametrans", ["INBOX"], "."],
      ["A.remote.nametrans", ["INBOX.Drafts"], ".Drafts"],
      ["A.remote.nametrans", ["Drafts"], "Drafts"],
    ],
  },
  {
    file: "manual_nametrans_separators.rc",
    expressions: true,
    calls: [
      ["A.local.nametrans", ["Sent"], "INBOX.Sent"],
      ["A.remote.nametrans", ["Sent"], "INBOX/Sent"],
    ],
  },
  {
    file: "manual_gmail_to_imap.rc",
    expressions: true,
    values: { "G.local.type": "IMAP", "G.local.host": "XXX", "G.remote.declaredType": "Gmail" },
    calls: [
      ["G.remote.nametrans", ["[Gmail]/Sent Mail"], "INBOX.[Gmail]/Sent Mail"],
      ["G.remote.nametrans", ["INBOX"], "INBOX.INBOX"],
    ],
  },
  {
    file: "manual_gmail_imap_no_expr.rc",
    values: {
      "G.local.type": "IMAP",
      "G.local.host": "other.example.org",
      "G.local.user": "ZZZ",
      "G.local.password": { kind: "plain", value: "YYY" },
      "G.local.singleThreadPerFolder": true,
      "G.remote.type": "IMAP",
      "G.remote.declaredType": "Gmail",
      "G.remote.host": "imap.gmail.com",
      "G.remote.port": 993,
      "G.remote.ssl": true,
      "G.remote.oauth2": undefined,
    },
  },
  {
    file: "manual_gmx_transpose.rc",
    expressions: true,
    raw: {
      "Repository R": {
        nametrans: "lambda folder: folder if folder in ['INBOX', 'Drafts', 'Sent'] \\\n" +
          "else re.sub(r'^', r'GMX.', folder)",
      },
    },
    calls: [
      ["A.remote.nametrans", ["INBOX"], "INBOX"],
      ["A.remote.nametrans", ["Drafts"], "Drafts"],
      ["A.remote.nametrans", ["Lists"], "GMX.Lists"],
    ],
  },
  {
    file: "manual_two_imap.rc",
    opts: HOME,
    expressions: true,
    raw: {
      "Repository acc1remote": {
        remoteusereval: 'get_username("imap.acc1.net")',
        nametrans: "oimaptransfolder_acc1",
        folderfilter: "lambda foldername: foldername in [\n'INBOX', 'Drafts', 'Sent', 'archiv']",
      },
    },
    values: {
      "general.accounts": ["acc1", "acc2"],
      "general.maxSyncAccounts": 2,
      "general.sockTimeout": 90,
      "general.pythonFile": `${DIR}/home/bin/offlineimap-helpers.py`,
      "acc1.autorefresh": 2,
      "acc2.autorefresh": 4,
      "acc1.remote.maxConnections": 2,
      "acc1.local.localFolders": `${DIR}/home/Mail/acc1`,
    },
    calls: [
      ["acc1.remote.folderFilter", ["INBOX"], true],
      ["acc1.remote.folderFilter", ["archiv"], true],
      ["acc1.remote.folderFilter", ["Trash"], false],
      ["acc1.remote.nametrans", ["INBOX"], "acc1"],
      ["acc2.remote.nametrans", ["Lists/rust"], "acc2.Lists.rust"],
      ["acc1.remote.userEval", [], "user@imap.acc1.net"],
      ["acc2.remote.password.evaluate", [], "pw-for-imap.acc2.net"],
    ],
  },
  {
    file: "manual_uw_imapd_reference.rc",
    expressions: true,
    raw: {
      "Repository GerfRemote": {
        nametrans: "lambda foldername: \\\nre.sub('^Mail/', '', foldername)",
        folderfilter: "lambda foldername: foldername in [\n'Mail/INBOX',\n" +
          "'Mail/list/zaurus-general',\n'Mail/list/zaurus-dev',\n]",
      },
    },
    values: {
      "Gerf.remote.reference": "Mail",
      "Gerf.remote.maxConnections": 1,
      "Gerf.remote.holdConnectionOpen": false,
    },
    calls: [
      ["Gerf.remote.nametrans", ["Mail/INBOX"], "INBOX"],
      ["Gerf.remote.nametrans", ["Mail/list/zaurus-dev"], "list/zaurus-dev"],
      ["Gerf.remote.nametrans", ["Other"], "Other"],
      ["Gerf.remote.folderFilter", ["Mail/INBOX"], true],
      ["Gerf.remote.folderFilter", ["Mail/Trash"], false],
    ],
  },
  {
    file: "manual_pythonfile_foldersort.rc",
    opts: HOME,
    expressions: true,
    raw: {
      "Repository foo": { foldersort: "mycmp" },
      general: { pythonfile: "~/.offlineimap.py" },
    },
    values: {
      "general.pythonFile": `${DIR}/home/.offlineimap.py`,
      "A.remote.folderSortSource": "mycmp",
    },
    calls: [
      ["A.remote.folderSort", ["list.a", "INBOX"], 1],
      ["A.remote.folderSort", ["INBOX", "zzz"], -1],
      ["A.remote.folderSort", ["b", "a"], 1],
    ],
  },
  {
    file: "manual_mutt_two_accounts.rc",
    values: {
      "general.accounts": ["Personal", "Work"],
      "Personal.local.localFolders": "/home/u/Mail/Personal",
      "Work.local.localFolders": "/home/u/Mail/Work",
      "Work.remote.user": "youremail@work.com",
    },
  },
  {
    file: "tls_client_options.rc",
    values: {
      "A.remote.caFile": "/home/u/certs/ca.pem",
      "A.remote.clientCert": "/home/u/certs/me.pem",
      "A.remote.clientKey": "/home/u/certs/me.key",
      "A.remote.tlsMinVersion": "TLSv1.2",
      "A.remote.ipv6": false,
      "A.remote.authMechanisms": ["XOAUTH2", "PLAIN"],
    },
  },
  {
    file: "tunnel_preauth.rc",
    values: {
      "A.remote.preauthTunnel": "ssh -q mailhost /usr/lib/dovecot/imap",
      "A.remote.host": "",
      "A.remote.password": { kind: "none" },
    },
  },
  {
    file: "tunnel_transport.rc",
    values: {
      "A.remote.transportTunnel": "openssl s_client -quiet -connect imap.example.org:993",
      "A.remote.ssl": false,
      "A.remote.port": 143,
      "A.remote.password": { kind: "netrc", host: "imap.example.org" },
    },
  },
  {
    file: "gmail_maildir_oauth2.rc",
    values: {
      "gmail.local.type": "Maildir",
      "gmail.local.declaredType": "GmailMaildir",
      "gmail.remote.host": "imap.gmail.com",
      "gmail.remote.authMechanisms": ["XOAUTH2"],
      "gmail.remote.oauth2.requestUrl": "https://accounts.google.com/o/oauth2/token",
      "gmail.remote.oauth2.accessToken": undefined,
    },
    calls: [
      ["gmail.remote.oauth2.clientId", [], "1234.apps.googleusercontent.com"],
      ["gmail.remote.oauth2.clientSecret", [], "s3cr3t"],
      ["gmail.remote.oauth2.refreshToken", [], "1/refresh"],
    ],
    warnings: [/Ignoring option "realdelete" .* obsolete Gmail option/],
  },
  {
    file: "account_window_hooks.rc",
    values: {
      "A.preSyncHook": "notmuch new --quiet",
      "A.postSyncHook": "~/bin/index-mail.sh",
      "A.maxSize": 2000000,
      "A.maxAge": new Date(Date.UTC(2024, 1, 14)),
      "A.maildirWindowsCompatible": true,
      "A.utf8FolderNames": true,
      "A.filterHeaders": ["X-Spam-Status", "X-Spam-Level"],
    },
  },
  {
    file: "maxage_date.rc",
    values: { "A.maxAge": new Date(Date.UTC(2024, 0, 31)) },
  },
  {
    file: "maxage_date.rc",
    opts: { now: new Date(2024, 0, 30, 12) },
    error: /^Cannot read option "maxage" in section "Account A": 2024-01-31 is in the future$/,
  },
  {
    file: "startdate_clone.rc",
    values: {
      "Clone.local.type": "IMAP",
      "Clone.remote.startDate": "2020-01-01",
      "Clone.local.startDate": undefined,
    },
  },
  {
    file: "maildir_extras.rc",
    values: {
      "A.local.localFolders": "/srv/mail/main",
      "A.local.restoreAtime": true,
      "A.local.utimeFromHeader": true,
      "A.local.filenameUseMailTimestamp": false,
      "A.local.customFlags": { a: "$label1", b: "Work" },
      "A.local.dynamicFolderFilter": true,
      "A.local.readonly": false,
    },
  },
  {
    file: "case_and_delimiters.rc",
    values: {
      "general.accounts": ["A"],
      "general.ui": "Basic",
      "A.local.localFolders": "/home/u/Mail",
      "A.remote.host": "[::1]",
      "A.remote.port": 1143,
      "A.remote.ssl": false,
      "A.remote.starttls": true,
      "A.remote.certFingerprints": ["abcdef0123456789abcdef0123456789abcdef01"],
    },
  },
  {
    file: "default_everywhere.rc",
    values: {
      "A.autorefresh": 10,
      "B.autorefresh": 0,
      "A.local.syncDeletes": false,
      "A.remote.syncDeletes": false,
      "B.local.syncDeletes": true,
      "A.local.createFolders": false,
      "A.remote.maxConnections": 2,
    },
  },
  {
    file: "interpolation_nested.rc",
    values: {
      "general.metadata": "/srv/users/carol/.offlineimap",
      "A.local.localFolders": "/srv/users/carol/mail/personal",
      "A.remote.host": "imap.example.com",
      "A.remote.user": "carol@example.com",
      "A.remote.password": { kind: "plain", value: "100%-sure%" },
    },
    // "box" and "domain" are helpers used as %(name)s: not reported as unknown.
  },
  {
    file: "comments_and_blanks.rc",
    values: {
      "general.accounts": ["A"],
      "A.preSyncHook": "echo one\necho two",
      "A.remote.user": "me # not a comment either",
    },
  },
  {
    file: "quoted_values.rc",
    values: {
      "A.local.sep": '"/"',
      "A.remote.password": { kind: "plain", value: '"secret"' },
      "A.remote.reference": "",
    },
    warnings: [
      /Option "sep" in section "Repository L" .* is enclosed in quotes/,
      /Option "remotepass" in section "Repository R" .* is enclosed in quotes/,
    ],
  },
  {
    file: "unknown_and_misplaced.rc",
    values: { "A.remote.host": "imap.example.org", "A.remote.maxConnections": 1 },
    warnings: [
      /Ignoring option "ssl" in section "general" .* belongs in IMAP \[Repository \.\.\.\]/,
      /Ignoring option "newmail_hook" in section "Account A" .* belongs in IMAP/,
      /Ignoring option "maxconnections" in section "Account A" .* belongs in/,
      /Ignoring option "postsynchook" in section "Repository L" .* belongs in \[Account/,
      /Ignoring option "remotehots" .* did you mean "remotehost"\?/,
      /Ignoring option "spamfolder" .* obsolete Gmail option/,
    ],
  },
  {
    file: "py_membership.rc",
    expressions: true,
    raw: {
      "Repository R": {
        folderfilter: "lambda box: box not in [\n'Calendar',\n'Notes'\n'Outbox',\n]",
      },
    },
    calls: [
      ["A.local.folderFilter", ["[Gmail]/All Mail"], false],
      ["A.local.folderFilter", ["INBOX"], true],
      ["A.local.folderFilter", ["Mail"], false],
      ["A.local.folderFilter", ["ail"], false],
      ["A.local.folderFilter", ["Sent"], true],
      ["A.local.nametrans", ["drafts"], "[Gmail]/Drafts"],
      ["A.local.nametrans", ["sent"], "[Gmail]/Sent Mail"],
      ["A.local.nametrans", ["INBOX"], "INBOX"],
      ["A.remote.folderFilter", ["Calendar"], false],
      ["A.remote.folderFilter", ["Notes"], true],
      ["A.remote.folderFilter", ["Outbox"], true],
      ["A.remote.folderFilter", ["NotesOutbox"], false],
      ["A.remote.nametrans", ["[Gmail]/Sent Mail"], "sent"],
      ["A.remote.nametrans", ["[Gmail]/Spam"], "[Gmail]/Spam"],
    ],
  },
  {
    file: "py_regex.rc",
    expressions: true,
    calls: [
      ["A.local.folderFilter", ["lists.linux"], true],
      ["A.local.folderFilter", ["lists"], false],
      ["A.local.folderFilter", ["my.lists.x"], false],
      ["A.local.nametrans", ["Inbox"], "INBOX"],
      ["A.local.nametrans", ["inbox/x"], "INBOX/x"],
      ["A.local.nametrans", ["MyInbox"], "MyInbox"],
      ["A.remote.folderFilter", ["Junk"], false],
      ["A.remote.folderFilter", ["INBOX/Spam"], false],
      ["A.remote.folderFilter", ["Spamalot"], true],
      ["A.remote.nametrans", ["Work/2021"], "2021.Work"],
      ["A.remote.nametrans", ["INBOX"], "INBOX"],
      ["A.remote.nametrans", ["a/b/c"], "b/c.a"],
    ],
  },
  {
    file: "py_regex_more.rc",
    expressions: true,
    calls: [
      ["A.local.folderFilter", ["INBOX"], true],
      ["A.local.folderFilter", ["Sent Mail"], false],
      ["A.local.folderFilter", ["Ünïcode_1"], true],
      ["A.local.folderFilter", [""], false],
      // re.I passed positionally is count=2.
      ["A.local.nametrans", ["banana"], "bxnxna"],
      ["A.local.nametrans", ["BANANA"], "BANANA"],
      ["A.remote.folderFilter", ["Archive/2020"], false],
      ["A.remote.folderFilter", ["Archives/x"], false],
      ["A.remote.folderFilter", ["Arch"], true],
      ["A.remote.nametrans", ["[Gmail]/Sent Mail"], "sent_mail"],
      ["A.remote.nametrans", ["INBOX"], "inbox"],
      ["A.remote.nametrans", ["Work/Big  Plan"], "big_plan"],
    ],
  },
  {
    file: "py_conditional.rc",
    expressions: true,
    calls: [
      ["A.local.folderFilter", ["INBOX"], true],
      ["A.local.nametrans", [""], "INBOX"],
      ["A.local.nametrans", [".Drafts"], "Drafts"],
      ["A.local.nametrans", [".a.b"], "a.b"],
      ["A.remote.folderFilter", ["INBOX/Drafts"], true],
      ["A.remote.folderFilter", ["INBOX/"], true],
      ["A.remote.folderFilter", [""], false],
      ["A.remote.nametrans", ["INBOX"], "INBOX"],
      ["A.remote.nametrans", ["Reports"], "INBOX.Reports"],
      ["A.remote.nametrans", ["Sent"], "Sent"],
    ],
  },
  {
    file: "py_strings.rc",
    expressions: true,
    calls: [
      ["A.local.folderFilter", ["Old mail"], false],
      ["A.local.folderFilter", ["trash"], false],
      ["A.local.folderFilter", ["INBOX"], true],
      ["A.local.nametrans", ["2021"], "Archive.2021"],
      ["A.local.nametrans", ["Drafts"], "Drafts"],
      ["A.remote.folderFilter", ["Sent"], true],
      ["A.remote.folderFilter", ["Work/SENT"], true],
      ["A.remote.folderFilter", ["inbox"], false],
      ["A.remote.nametrans", ["[Gmail]/All Mail"], "All Mail"],
      ["A.remote.nametrans", ["a / b"], "a.b"],
    ],
  },
  {
    file: "py_any_comment.rc",
    expressions: true,
    raw: { "Repository L": { folderfilter: "lambda box: box in ['INBOX'] # , 'Sent'" } },
    calls: [
      ["A.local.folderFilter", ["INBOX"], true],
      ["A.local.folderFilter", ["Sent"], false],
      ["A.remote.folderFilter", ["[Gmail]/Bin"], true],
      ["A.remote.folderFilter", ["Bin"], true],
      ["A.remote.folderFilter", ["INBOX"], false],
      ["A.remote.nametrans", ["INBOX"], "home"],
      ["A.remote.nametrans", ["Lists/rust"], "home.Lists.rust"],
    ],
  },
  {
    file: "py2_multiline_lambda.rc",
    expressions: true,
    raw: {
      "Repository L": { nametrans: "lambda folder:\nfolder.lower()" },
      "Repository R": {
        folderfilter: "lambda folder: folder not in ['Trash']\nand not folder.startswith('Spam')",
      },
    },
    calls: [
      ["A.local.nametrans", ["INBOX"], "inbox"],
      ["A.remote.folderFilter", ["Trash"], false],
      ["A.remote.folderFilter", ["Spam/x"], false],
      ["A.remote.folderFilter", ["INBOX"], true],
    ],
  },
  {
    file: "py_imap_lists.rc",
    expressions: true,
    values: {
      "A.remote.folderIncludes": ["lists.user", "lists.personal"],
      "A.remote.idleFolders": ["INBOX", "Lists"],
      "A.remote.holdConnectionOpen": true,
      "A.remote.keepalive": 1740,
      "A.remote.singleThreadPerFolder": true,
      "A.remote.maxConnections": 2,
    },
    calls: [
      ["A.remote.folderSort", ["INBOX", "Archive"], -1],
      ["A.remote.folderSort", ["Archive", "INBOX"], 1],
      ["A.remote.folderSort", ["B", "A"], 1],
      ["A.remote.folderSort", ["a", "a"], 0],
      ["A.remote.copyIgnore", ["INBOX"], [17, 18]],
      ["A.remote.copyIgnore", ["Sent"], []],
    ],
  },
  {
    file: "py_eval_options.rc",
    expressions: true,
    values: { "A.remote.host": "", "A.remote.password.kind": "eval" },
    calls: [
      ["A.remote.hostEval", [], "imap.example.org"],
      ["A.remote.portEval", [], 10993],
      ["A.remote.userEval", [], "someone@example.net"],
      ["A.remote.password.evaluate", [], "pass word"],
      ["A.remote.oauth2.accessToken", [], "token"],
    ],
    // Noted when each expression is evaluated (by the calls above).
    warnings: [
      /"remotehosteval" .* "os" is provided by offlineimap-ts; OfflineIMAP needs "import os"/,
      /"remoteporteval" .* "os" is provided/,
      /"remotepasseval" .* "subprocess" is provided/,
      /"oauth2_access_token_eval" .* "os" is provided/,
    ],
  },
  {
    file: "py_mbnames.rc",
    opts: { mbnames: true },
    expressions: true,
    raw: { mbnames: { sep: '" \\\\\\n"' } },
    uninterpolated: { mbnames: { peritem: '"+%(accountname)s/%(foldername)s"' } },
    values: {
      "general.mbnames.header": "mailboxes ",
      "general.mbnames.sep": " \\\n",
      "general.mbnames.footer": "\n",
    },
    calls: [
      ["general.mbnames.folderFilter", ["work", "Trash"], false],
      ["general.mbnames.folderFilter", ["work", "INBOX"], true],
      ["general.mbnames.folderFilter", ["old", "INBOX"], false],
    ],
  },
  {
    file: "py_pythonfile.rc",
    expressions: true,
    values: { "general.pythonFile": `${DIR}/offlineimap_helpers.py` },
    calls: [
      ["acc1.remote.nametrans", ["INBOX"], "acc1"],
      ["acc1.remote.nametrans", ["Lists/rust"], "acc1.Lists.rust"],
      ["acc1.remote.password.evaluate", [], "secret-imap.acc1.net"],
      ["acc1.remote.folderSort", ["list.a", "INBOX"], 1],
      ["acc1.remote.folderSort", ["INBOX", "zzz"], -1],
    ],
  },
];

for (const c of CASES) {
  const label = c.opts ? `${c.file} with ${Object.keys(c.opts).join(", ")}` : c.file;
  Deno.test(`fixture ${label} resolves to the expected values`, async () => {
    const path = `${DIR}/${c.file}`;
    const ini = parseIni(await Deno.readTextFile(path), path);
    for (const [section, options] of Object.entries(c.raw ?? {})) {
      for (const [key, value] of Object.entries(options)) {
        assert.equal(ini.get(section, key), value, `[${section}] ${key}`);
      }
    }
    for (const [section, options] of Object.entries(c.uninterpolated ?? {})) {
      for (const [key, value] of Object.entries(options)) {
        assert.equal(ini.get(section, key, { raw: true }), value, `[${section}] ${key}`);
      }
    }
    const opts = { ...BASE, ...c.opts };
    if (c.error) {
      assert.throws(() => resolveConfig(ini, path, opts), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, c.error as RegExp);
        return true;
      });
      return;
    }
    const resolved = resolveConfig(ini, path, opts);
    const { config, warnings } = resolved;
    try {
      for (const [key, expected] of Object.entries(c.values ?? {})) {
        assert.deepEqual(valueAt(config, key), expected, key);
      }
      for (const [key, args, expected] of c.calls ?? []) {
        const fn = valueAt(config, key);
        assert.equal(typeof fn, "function", key);
        assert.deepEqual(await (fn as (...a: unknown[]) => unknown)(...args), expected, key);
      }
    } finally {
      await resolved.close();
    }
    const patterns = c.warnings ?? [];
    assert.equal(warnings.length, patterns.length, warnings.join("\n"));
    patterns.forEach((p, i) => {
      if (typeof p === "string") assert.equal(warnings[i], p);
      else assert.match(warnings[i] ?? "", p);
    });
  });
}

Deno.test("the fixture set has at least 40 configuration files, each used", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.name.endsWith(".rc")) files.push(entry.name);
  }
  assert.ok(files.length >= 40, `${files.length} fixtures`);
  const used = new Set(CASES.map((c) => c.file));
  assert.deepEqual(files.filter((f) => !used.has(f)).sort(), []);
});

/** `general.a.b` or `<account>.a.b`. */
function valueAt(config: Config, path: string): unknown {
  const [head, ...rest] = path.split(".");
  let value: unknown = head === "general" ? config.general : config.accounts.get(head as string);
  assert.ok(value !== undefined, `no account "${head}"`);
  for (const key of rest) {
    value = (value as Record<string, unknown> | undefined)?.[key];
  }
  return value;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
