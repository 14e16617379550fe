/**
 * Proves the Dovecot test harness (scripts/dovecot.ts, test/_helpers/dovecot.ts) against the
 * real server, talking raw IMAP over sockets so no project code is under test here.
 */

import assert from "node:assert/strict";
import { createHmac, X509Certificate } from "node:crypto";
import { startDovecot } from "../../scripts/dovecot.ts";
import { dovecot, type DovecotServer } from "../_helpers/dovecot.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Just enough IMAP to check the harness: lines, one literal, tagged completion. */
class RawImap {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #tag = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async readLine(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = decoder.decode(this.#buffer.subarray(0, end)).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      await this.#fill();
    }
  }

  async readBytes(count: number): Promise<Uint8Array> {
    while (this.#buffer.length < count) await this.#fill();
    const bytes = this.#buffer.slice(0, count);
    this.#buffer = this.#buffer.slice(count);
    return bytes;
  }

  async send(text: string): Promise<void> {
    await this.#conn.write(encoder.encode(text));
  }

  /** Sends one command; returns its untagged lines, the literals it met, and the tagged line. */
  async command(
    text: string,
  ): Promise<{ lines: string[]; literals: Uint8Array[]; done: string }> {
    const tag = `t${++this.#tag}`;
    await this.send(`${tag} ${text}\r\n`);
    const lines: string[] = [];
    const literals: Uint8Array[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line.startsWith(`${tag} `)) return { lines, literals, done: line };
      lines.push(line);
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal) literals.push(await this.readBytes(Number(literal[1])));
    }
  }

  /** Hands the socket over, e.g. to Deno.startTls; buffered bytes would be lost, so none may be. */
  release(): Deno.TcpConn {
    assert.equal(this.#buffer.length, 0);
    return this.#conn as Deno.TcpConn;
  }

  close(): void {
    this.#conn.close();
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(65536);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Error("Cannot read from the IMAP server: connection closed");
    const grown = new Uint8Array(this.#buffer.length + n);
    grown.set(this.#buffer);
    grown.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = grown;
  }
}

async function connectTls(server: DovecotServer): Promise<RawImap> {
  const caCert = await Deno.readTextFile(server.caFile);
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.tlsPort,
    caCerts: [caCert],
  });
  return new RawImap(conn);
}

/** Logs in over TLS as `user`, runs `fn`, and always closes the connection. */
async function withSession<T>(
  server: DovecotServer,
  user: string,
  fn: (imap: RawImap) => Promise<T>,
): Promise<T> {
  const imap = await connectTls(server);
  try {
    assert.match(await imap.readLine(), /^\* OK/);
    const login = await imap.command(`LOGIN "${user}" "${server.password}"`);
    assert.match(login.done, /^t\d+ OK/);
    return await fn(imap);
  } finally {
    imap.close();
  }
}

Deno.test("startDovecot() greets on tlsPort over TLS verified with caFile", async () => {
  const server = await dovecot();
  const imap = await connectTls(server);
  try {
    assert.match(await imap.readLine(), /^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
  } finally {
    imap.close();
  }
});

Deno.test("startDovecot() reports the certificate's SHA-256 and SHA-1 fingerprints", async () => {
  const server = await dovecot();
  const cert = new X509Certificate(await Deno.readTextFile(server.caFile));
  assert.equal(server.certPem, cert.toString());
  assert.equal(server.fingerprintSha256, cert.fingerprint256.replaceAll(":", "").toLowerCase());
  assert.equal(server.fingerprintSha1, cert.fingerprint.replaceAll(":", "").toLowerCase());
  assert.match(cert.subjectAltName ?? "", /DNS:localhost.*IP Address:127\.0\.0\.1/);
});

Deno.test("startDovecot() advertises STARTTLS on plainPort and upgrades to verified TLS", async () => {
  const server = await dovecot();
  const plain = new RawImap(await Deno.connect({ hostname: server.host, port: server.plainPort }));
  let imap = plain;
  try {
    assert.match(await plain.readLine(), /^\* OK \[CAPABILITY .*STARTTLS/);
    assert.match((await plain.command("STARTTLS")).done, /^t1 OK/);
    const tls = await Deno.startTls(plain.release(), {
      hostname: "localhost",
      caCerts: [server.certPem],
    });
    imap = new RawImap(tls);
    const caps = await imap.command("CAPABILITY");
    assert.match(caps.done, /OK/);
    assert.doesNotMatch(caps.lines.join("\n"), /STARTTLS/);
  } finally {
    imap.close();
  }
});

Deno.test("startDovecot() lets any user name in with the password by LOGIN and CRAM-MD5", async () => {
  const server = await dovecot();
  const imap = new RawImap(await Deno.connect({ hostname: server.host, port: server.plainPort }));
  try {
    await imap.readLine();
    assert.match((await imap.command(`LOGIN nobody.else "wrong"`)).done, /^t1 NO/);
    // CRAM-MD5 (RFC 2195) only works because the static passdb keeps a plaintext password.
    await imap.send("t2 AUTHENTICATE CRAM-MD5\r\n");
    const challenge = atob((await imap.readLine()).replace(/^\+ /, ""));
    const digest = createHmac("md5", server.password).update(challenge).digest("hex");
    await imap.send(`${btoa(`first.last-1@example.org ${digest}`)}\r\n`);
    assert.match(await imap.readLine(), /^t2 OK/);
  } finally {
    imap.close();
  }
});

Deno.test("seed() and listMessages() round-trip an 8-bit message with flags byte for byte", async () => {
  const server = await dovecot();
  const user = server.newUser();
  const message = Uint8Array.from([
    ...encoder.encode("From: a@example.org\r\nSubject: =?utf-8?q?G=C3=A4ste?=\r\n\r\n"),
    0xe4,
    0xf6,
    0xfc,
    0xff,
    0x01,
    0x7f,
    0x0d,
    0x0a, // Latin-1 and control bytes
    ...encoder.encode("line 2\r\n\r\n\r\n"),
  ]);
  await server.seed(user, "INBOX", message, { flags: ["\\Seen", "\\Flagged", "$Label1"] });
  await server.seed(user, "INBOX", "Subject: second\r\n\r\nx\r\n");

  const messages = await server.listMessages(user, "INBOX");
  assert.deepEqual(messages.map((m) => m.uid), [1, 2]);
  assert.deepEqual(messages[0]?.body, message);
  assert.deepEqual([...messages[0]?.flags ?? []].sort(), ["$Label1", "\\Flagged", "\\Seen"]);
  assert.deepEqual(messages[1]?.flags, []);
});

Deno.test("listMessages() body equals what IMAP FETCH BODY[] sends, NUL and bare LF included", async () => {
  const server = await dovecot();
  const user = server.newUser();
  const message = Uint8Array.from([...encoder.encode("Subject: raw\n\nnul:"), 0, 0x0a, 0x0c, 0x0a]);
  const internalDate = new Date("2020-01-02T03:04:05Z");
  await server.seed(user, "Raw", message, { internalDate });
  const [listed] = await server.listMessages(user, "Raw");
  await withSession(server, user, async (imap) => {
    await imap.command("EXAMINE Raw");
    const fetch = await imap.command("UID FETCH 1 (INTERNALDATE BODY.PEEK[])");
    assert.match(fetch.lines[0] ?? "", /INTERNALDATE "02-Jan-2020 03:04:05 \+0000"/);
    assert.deepEqual(listed?.body, fetch.literals[0]);
    assert.deepEqual(listed?.stored, message);
  });
});

Deno.test("changeUidValidity() changes the UIDVALIDITY that SELECT reports", async () => {
  const server = await dovecot();
  const user = server.newUser();
  await server.seed(user, "Work", "Subject: w\r\n\r\nw\r\n");
  await server.changeUidValidity(user, "Work", 424242);
  await withSession(server, user, async (imap) => {
    const select = await imap.command("SELECT Work");
    assert.ok(
      select.lines.includes("* OK [UIDVALIDITY 424242] UIDs valid"),
      select.lines.join("\n"),
    );
  });
});

Deno.test("setFlags() and expunge() change what listMessages() reports", async () => {
  const server = await dovecot();
  const user = server.newUser();
  for (const subject of ["a", "b", "c"]) {
    await server.seed(user, "INBOX", `Subject: ${subject}\r\n\r\n`, { flags: ["\\Seen", "kw"] });
  }
  await server.setFlags(user, "INBOX", 1, ["\\Answered"]);
  await server.setFlags(user, "INBOX", 3, []);
  await server.expunge(user, "INBOX", 2);
  const messages = await server.listMessages(user, "INBOX");
  assert.deepEqual(messages.map((m) => [m.uid, m.flags]), [[1, ["\\Answered"]], [3, []]]);
});

Deno.test("createMailbox() and listMailboxes() speak modified UTF-7 IMAP names", async () => {
  const server = await dovecot();
  const user = server.newUser();
  await server.createMailbox(user, "G&AOQ-ste");
  await server.createMailbox(user, "a.b");
  await server.createMailbox(user, "Tom &- Jerry");
  await assert.rejects(server.createMailbox(user, "a.b"), /Cannot create mailbox "a\.b"/);
  // "a" exists only as a \Noselect parent of "a.b" and is left out.
  assert.deepEqual(await server.listMailboxes(user), ["G&AOQ-ste", "INBOX", "Tom &- Jerry", "a.b"]);
  const entries = [];
  for await (const entry of Deno.readDir(`${server.dir}/home/${user}/Maildir`)) {
    if (entry.isDirectory && entry.name.startsWith(".")) entries.push(entry.name);
  }
  assert.deepEqual(entries.sort(), [".G&AOQ-ste", ".Tom &- Jerry", ".a.b"]);
  await assert.rejects(server.listMessages(user, "Nope"), /Cannot list messages of "Nope"/);
});

Deno.test("preauthCommand() gives a shell command that speaks IMAP in PREAUTH state", async () => {
  const server = await dovecot();
  const user = server.newUser("tunnel");
  await server.seed(user, "INBOX", "Subject: t\r\n\r\n");
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", server.preauthCommand(user)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode("a SELECT INBOX\r\nb LOGOUT\r\n"));
  await writer.close();
  const { code, stdout } = await child.output();
  const text = decoder.decode(stdout);
  assert.equal(code, 0);
  assert.match(text, /^\* PREAUTH .*Logged in as tunnel-\d+\r\n/);
  assert.match(text, /\* 1 EXISTS\r\n/);
  assert.match(text, /a OK \[READ-WRITE\]/);
});

Deno.test("startDovecot({ uidplus: false }) hides UIDPLUS from CAPABILITY", async () => {
  const server = await dovecot({ uidplus: false });
  const user = server.newUser();
  await withSession(server, user, async (imap) => {
    const caps = await imap.command("CAPABILITY");
    assert.match(caps.lines[0] ?? "", /^\* CAPABILITY IMAP4rev1 .*IDLE/);
    assert.doesNotMatch(caps.lines[0] ?? "", /UIDPLUS/);
    // Dovecot 2.3.19 keeps sending APPENDUID: only the capability is hidden.
    const append = await imap.command("APPEND INBOX {3+}\r\nabc");
    assert.match(append.done, /^t\d+ OK \[APPENDUID \d+ 1\]/);
  });
});

Deno.test("stop() closes both ports and removes the temp dir", async () => {
  const server = await startDovecot();
  await server.seed(server.newUser(), "INBOX", "Subject: s\r\n\r\n");
  await server.stop();
  await server.stop(); // idempotent
  await assert.rejects(Deno.stat(server.dir), Deno.errors.NotFound);
  for (const port of [server.plainPort, server.tlsPort]) {
    await assert.rejects(
      Deno.connect({ hostname: server.host, port }),
      Deno.errors.ConnectionRefused,
    );
  }
});

Deno.test("startDovecot() rejects with the log tail when Dovecot cannot start", async () => {
  await assert.rejects(
    startDovecot({ extraConfig: "no_such_setting = 1" }),
    /^Error: Cannot start Dovecot in "[^"]+": it exited[^]*Unknown setting: no_such_setting/,
  );
});
