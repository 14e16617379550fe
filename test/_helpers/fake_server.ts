/**
 * A scripted fake IMAP server over `Deno.listen`, only for behaviour no real server shows:
 * plaintext injected after STARTTLS, a truncated literal, BYE in the middle of a FETCH, a
 * literal over the limit, a server that never answers. Everything else is tested against the
 * real Dovecot (`dovecot.ts`).
 *
 * ```ts
 * await withFakeServer(async (s) => {
 *   await s.send("* OK ready\r\n");
 *   const tag = await s.command(/^CAPABILITY$/);
 *   await s.send(`* CAPABILITY IMAP4rev1\r\n${tag} OK done\r\n`);
 * }, async (port) => {
 *   const client = await ImapClient.connect({ host: "127.0.0.1", port, security: "plain" });
 *   // ...
 * });
 * ```
 *
 * @module
 */

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** The server side of one accepted connection. */
export class ScriptedConnection {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Writes text or bytes in one write (so they arrive together). */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? ENCODER.encode(data) : data;
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) return false;
    const merged = new Uint8Array(this.#buffer.length + n);
    merged.set(this.#buffer);
    merged.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = merged;
    return true;
  }

  /** The next line from the client without CRLF; throws if the client closed first. */
  async line(): Promise<string> {
    for (;;) {
      const index = this.#buffer.indexOf(0x0a);
      if (index >= 0) {
        const line = DECODER.decode(this.#buffer.subarray(0, index)).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(index + 1);
        return line;
      }
      if (!await this.#fill()) throw new Error("Fake server: the client closed the connection");
    }
  }

  /** Exactly `size` bytes from the client (a literal it sends). */
  async bytes(size: number): Promise<Uint8Array> {
    while (this.#buffer.length < size) {
      if (!await this.#fill()) throw new Error("Fake server: the client closed the connection");
    }
    const out = this.#buffer.slice(0, size);
    this.#buffer = this.#buffer.slice(size);
    return out;
  }

  /**
   * Reads a command line `<tag> <rest>` whose rest matches `pattern`, and returns the tag.
   * Throws naming the line otherwise.
   */
  async command(pattern: RegExp): Promise<string> {
    const line = await this.line();
    const match = /^(\S+) (.*)$/.exec(line);
    if (!match || !pattern.test(match[2]!)) {
      throw new Error(`Fake server: expected a command matching ${pattern}, got "${line}"`);
    }
    return match[1]!;
  }

  /** Resolves when the client has closed its side (reads until end of stream). */
  async clientClosed(): Promise<void> {
    this.#buffer = new Uint8Array(0);
    while (await this.#fill()) this.#buffer = new Uint8Array(0);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Listens on a free loopback port, runs `client(port)`, and runs `script` on the first
 * connection the client makes. Both must finish; the first error of either is thrown, and
 * the listener and connection are closed in every case (Deno's sanitizers stay on).
 */
export async function withFakeServer<T>(
  script: (connection: ScriptedConnection) => Promise<void>,
  client: (port: number) => Promise<T>,
): Promise<T> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let connection: ScriptedConnection | undefined;
  const served = (async () => {
    const conn = await listener.accept();
    listener.close();
    connection = new ScriptedConnection(conn);
    try {
      await script(connection);
    } finally {
      connection.close();
    }
  })();
  try {
    const [result, server] = await Promise.allSettled([
      client(port).finally(() => {
        // A client that failed before connecting leaves the listener waiting.
        if (connection === undefined) {
          try {
            listener.close();
          } catch {
            // closed by the accept above
          }
        }
      }),
      served,
    ]);
    if (result.status === "rejected") throw result.reason;
    if (server.status === "rejected" && !String(server.reason).includes("BadResource")) {
      throw server.reason;
    }
    return result.value;
  } finally {
    connection?.close();
  }
}
