/**
 * Builds a throwaway account against the test Dovecot: a temp dir with a config file, a Maildir
 * root and a metadata directory, plus readers for what landed on disk.
 *
 * @module
 */

import type { DovecotServer } from "./dovecot.ts";

/** A test account on disk. */
export interface TestAccount {
  readonly dir: string;
  readonly config: string;
  readonly mail: string;
  readonly metadata: string;
  readonly user: string;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

/** Options that change the generated config. */
export interface AccountOptions {
  /** Extra lines for `[Repository Remote]`. */
  readonly remote?: string;
  /** Extra lines for `[Repository Local]`. */
  readonly local?: string;
  /** Extra lines for `[general]`. */
  readonly general?: string;
  /** Replace the TLS options (default: implicit TLS with the server's CA file). */
  readonly tls?: string;
}

/** Creates a config for `user` on `server` (implicit TLS verified with the server's CA). */
export async function makeAccount(
  server: DovecotServer,
  user: string,
  options: AccountOptions = {},
): Promise<TestAccount> {
  const dir = await Deno.makeTempDir({ prefix: "oimap-test-" });
  const mail = `${dir}/mail`;
  const metadata = `${dir}/meta`;
  const config = `${dir}/offlineimaprc`;
  const tls = options.tls ??
    `remoteport = ${server.tlsPort}\nssl = yes\nsslcacertfile = ${server.caFile}`;
  await Deno.writeTextFile(
    config,
    `[general]
accounts = Test
metadata = ${metadata}
ui = basic
${options.general ?? ""}

[Account Test]
localrepository = Local
remoterepository = Remote

[Repository Local]
type = Maildir
localfolders = ${mail}
${options.local ?? ""}

[Repository Remote]
type = IMAP
remotehost = localhost
${tls}
remoteuser = ${user}
remotepass = ${server.password}
${options.remote ?? ""}
`,
    { mode: 0o600 },
  );
  return {
    dir,
    config,
    mail,
    metadata,
    user,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** One file of a Maildir folder. */
export interface LocalMessage {
  readonly sub: "new" | "cur";
  readonly name: string;
  readonly path: string;
  readonly body: Uint8Array;
}

/** Every message file of a folder directory, sorted by name. */
export async function readFolder(path: string): Promise<LocalMessage[]> {
  const out: LocalMessage[] = [];
  for (const sub of ["new", "cur"] as const) {
    for await (const entry of Deno.readDir(`${path}/${sub}`)) {
      if (!entry.isFile || entry.name.startsWith(".")) continue;
      const file = `${path}/${sub}/${entry.name}`;
      out.push({ sub, name: entry.name, path: file, body: await Deno.readFile(file) });
    }
  }
  return out.sort((a, b) => a.name < b.name ? -1 : 1);
}

/** Maildir flag letters of a file name (`...:2,FS` → `"FS"`). */
export function flagsOf(name: string): string {
  return /:2,([A-Za-z]*)$/.exec(name)?.[1] ?? "";
}

/** UID of a file name (`,U=12,` → 12), or undefined. */
export function uidOf(name: string): number | undefined {
  const m = /,U=(\d+)/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** CRLF → LF, as OfflineIMAP stores messages. */
export function toLf(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) continue;
    out.push(bytes[i]!);
  }
  return new Uint8Array(out);
}

/** A small RFC 5322 message with CRLF line endings. */
export function message(id: string, body = `Body of ${id}.`): string {
  return `From: Tester <tester@example.org>\r\nTo: me@example.org\r\nSubject: Message ${id}\r\nMessage-ID: <${id}@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n${body}\r\n`;
}

/**
 * Makes a Maildir folder below `root` holding one new message without a UID (as a mail reader
 * writes it, LF line endings); returns the message's path.
 */
export async function writeLocalFolder(root: string, name: string, id: string): Promise<string> {
  for (const sub of ["cur", "new", "tmp"]) {
    await Deno.mkdir(`${root}/${name}/${sub}`, { recursive: true });
  }
  const path = `${root}/${name}/new/1700000000.M1P1.host`;
  await Deno.writeTextFile(path, message(id).replaceAll("\r\n", "\n"));
  return path;
}
