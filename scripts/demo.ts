// deno-lint-ignore-file no-console
/**
 * The demo: starts a throwaway Dovecot on 127.0.0.1 with sample mail (nested and non-ASCII
 * folders, flags, an 8-bit body), writes an `offlineimaprc` for it, runs the program to sync it
 * into a local Maildir, shows what landed, changes something on both sides and syncs again.
 *
 *   deno run -A scripts/demo.ts [--program PATH] [--keep]
 *
 * `--program` runs another build of the program (e.g. the bundled `dist/offlineimap-ts.js`);
 * `--keep` leaves the Maildir and metadata in place and prints where.
 *
 * @module
 */

import { startDovecot } from "./dovecot.ts";

const args = [...Deno.args];
const programIndex = args.indexOf("--program");
const program = programIndex >= 0
  ? args[programIndex + 1]!
  : new URL("../main.ts", import.meta.url).pathname;
const keep = args.includes("--keep");

function message(id: string, subject: string, body: string): string {
  return [
    "From: Demo Sender <sender@example.org>",
    "To: you@example.org",
    `Subject: ${subject}`,
    `Message-ID: <${id}@demo.example.org>`,
    "Date: Mon, 23 Nov 2026 09:00:00 +0000",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "",
  ].join("\r\n");
}

/** Sample mail: folder → messages with IMAP flags. */
const CORPUS: Record<string, Array<[string, string, string[]]>> = {
  "INBOX": [
    ["welcome", "Welcome to the demo", ["\\Seen"]],
    ["meeting", "Meeting on Thursday", []],
    ["invoice", "Your invoice", ["\\Seen", "\\Flagged"]],
  ],
  "Sent": [["reply", "Re: Meeting on Thursday", ["\\Seen", "\\Answered"]]],
  "Archive.2025": [["old", "Last year's news", ["\\Seen"]]],
  "G&AOQ-ste": [["guest", "Grüße aus Köln", []]],
};

async function sync(config: string, label: string): Promise<void> {
  console.log(`\n$ offlineimap -c ${config}   # ${label}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", program, "-c", config],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  if (!status.success) throw new Error(`the sync exited with status ${status.code}`);
}

async function listMaildir(root: string): Promise<void> {
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const entry of entries) {
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
      else console.log(`  ${prefix}${entry.name}`);
    }
  };
  await walk(root, "");
}

const server = await startDovecot();
const dir = await Deno.makeTempDir({ prefix: "offlineimap-demo-" });
try {
  const user = "demo";
  console.log(
    `Started Dovecot on 127.0.0.1 (imaps ${server.tlsPort}, imap+STARTTLS ${server.plainPort})`,
  );
  let count = 0;
  for (const [folder, messages] of Object.entries(CORPUS)) {
    for (const [id, subject, flags] of messages) {
      await server.seed(user, folder, message(id, subject, `This is the "${subject}" message.`), {
        flags,
      });
      count++;
    }
  }
  console.log(
    `Seeded ${count} messages in ${Object.keys(CORPUS).length} folders for user "${user}"`,
  );
  const config = `${dir}/offlineimaprc`;
  await Deno.writeTextFile(
    config,
    `[general]
accounts = Demo
metadata = ${dir}/metadata
ui = basic

[Account Demo]
localrepository = Local
remoterepository = Remote

[Repository Local]
type = Maildir
localfolders = ${dir}/Mail

[Repository Remote]
type = IMAP
remotehost = localhost
remoteport = ${server.tlsPort}
sslcacertfile = ${server.caFile}
remoteuser = ${user}
remotepass = ${server.password}
`,
  );
  await sync(config, "first sync: everything is downloaded");
  console.log(`\nLocal Maildir ${dir}/Mail:`);
  await listMaildir(`${dir}/Mail`);

  // A change on each side: mutt writes a draft, and another client flags a message.
  await Deno.writeTextFile(
    `${dir}/Mail/INBOX/new/1795430000.M1P1.demo`,
    message("local", "Written offline", "Composed while offline.").replaceAll("\r\n", "\n"),
  );
  await server.setFlags(user, "INBOX", 2, ["\\Seen", "\\Flagged"]);
  await sync(config, "a local message is uploaded, a server flag change comes down");
  await sync(config, "nothing changed: nothing to do");
  const onServer = await server.listMessages(user, "INBOX");
  console.log(`\nINBOX on the server now holds ${onServer.length} messages.`);
  if (keep) console.log(`Kept ${dir}`);
} finally {
  if (!keep) await Deno.remove(dir, { recursive: true });
  await server.stop();
}
