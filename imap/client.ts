/**
 * ImapClient: one connection, tagged commands, one reader loop that dispatches responses to the
 * commands waiting for them, pipelining up to a depth cap, streamed FETCH bodies, STARTTLS.
 *
 * Every command method writes to the wire at once and returns a promise, so callers pipeline
 * by starting several commands before awaiting them.
 *
 * @module
 */

import { encodeCommand } from "./encoder.ts";
import type { Arg, Segment } from "./encoder.ts";
import {
  ImapAuthError,
  ImapCommandError,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
} from "./errors.ts";
import { DEFAULT_LIMITS, Framer } from "./framer.ts";
import type { FramerLimits, LiteralSink } from "./framer.ts";
import { LiteralPipe } from "./literal_pipe.ts";
import { parseResponse } from "./parser.ts";
import { connectTransport, spawnTunnel } from "./transport.ts";
import type { TlsOptions, Transport } from "./transport.ts";
import type { FetchData, ListEntry, MailboxInfo, Response, ResponseCode } from "./types.ts";

/** How to reach the server. */
export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  /**
   * `tls`: implicit TLS. `starttls`: plain, then STARTTLS (required: a server that does not
   * offer it is refused). `plain`: no encryption at all.
   */
  readonly security: "tls" | "starttls" | "plain";
  readonly tls?: TlsOptions;
  readonly family?: 4 | 6;
  readonly timeoutMs?: number;
  /** Run this shell command and speak IMAP over its stdin/stdout instead of a socket. */
  readonly tunnel?: string;
  /** Commands in flight at most (isync's PipelineDepth). Default 32. */
  readonly maxInFlight?: number;
  readonly limits?: FramerLimits;
  /** Protocol trace, secrets masked: called with `C: ...` and `S: ...` lines. */
  readonly log?: (line: string) => void;
  /** Unsolicited responses (EXISTS, EXPUNGE, FETCH, ...) nobody waits for. */
  readonly onUnsolicited?: (response: Response) => void;
}

/** The tagged completion of a command. */
export interface Completion {
  readonly code?: ResponseCode;
  readonly text: string;
}

/** A message of a streamed FETCH. */
export interface FetchedMessage {
  readonly seq: number;
  /** The UID when the server sent it before the body (every server we know does). */
  readonly uid?: number;
  /** Flags when sent before the body. */
  readonly flags?: string[];
  readonly internalDate?: Date;
  /** Size of the body literal in bytes. */
  readonly size: number;
  /** The body straight from the socket: read it to the end or cancel it. */
  readonly body: ReadableStream<Uint8Array>;
  /** Every item of the response, once it has been read completely. */
  readonly data: Promise<FetchData>;
}

interface Pending {
  readonly tag: string;
  readonly name: string;
  readonly claim?: (response: Response) => boolean;
  resolve(completion: Completion): void;
  reject(error: Error): void;
  /** Set for STARTTLS: the reader stops after this command's OK until the upgrade is done. */
  readonly pauseAfter?: boolean;
}

const ENCODER = new TextEncoder();
const BODY_LITERAL = /(?:BODY|BINARY)\[\](?:<\d+>)? \{\d+\}$|RFC822 \{\d+\}$/i;
const FETCH_PREFIX = /^\* (\d+) FETCH \(/;

/** An IMAP4rev1 connection. Create with {@link ImapClient.connect}; end with `logout()`. */
export class ImapClient {
  #transport: Transport;
  #framer: Framer;
  #options: ClientOptions;
  #capabilities = new Set<string>();
  #pending: Pending[] = [];
  #tagCounter = 0;
  #writeChain: Promise<void> = Promise.resolve();
  #continuation: { owner: Pending; resolve: (text: string | null) => void } | undefined;
  #closedError: Error | undefined;
  #readerDone: Promise<void> = Promise.resolve();
  #paused: Promise<void> | undefined;
  #slots: Array<() => void> = [];
  #inFlight = 0;
  #bodyHandler: ((line: Uint8Array, size: number) => LiteralSink | undefined) | undefined;
  #greeting: Response | undefined;
  #enabled = new Set<string>();
  #selected: string | undefined;

  private constructor(transport: Transport, options: ClientOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#framer = new Framer(transport, options.limits ?? DEFAULT_LIMITS);
  }

  /**
   * Connects, reads the greeting, and for `starttls` upgrades and re-reads capabilities.
   * Resolves in the not-authenticated state (or authenticated after PREAUTH, see
   * {@link ImapClient.preauthenticated}). Throws ImapConnectionError / ImapTlsError.
   */
  static async connect(options: ClientOptions): Promise<ImapClient> {
    const transport = options.tunnel ? spawnTunnel(options.tunnel) : await connectTransport({
      host: options.host,
      port: options.port,
      security: options.security === "tls" ? "tls" : "plain",
      tls: options.tls,
      family: options.family,
      timeoutMs: options.timeoutMs,
    });
    const client = new ImapClient(transport, options);
    try {
      await client.#start();
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  async #start(): Promise<void> {
    const first = await this.#framer.next();
    if (!first) throw new ImapConnectionError("Server closed the connection before its greeting");
    this.#logResponse(first.lines);
    const greeting = parseResponse(first);
    if (greeting.kind !== "status" || greeting.status === "NO" || greeting.status === "BAD") {
      throw new ImapProtocolError(`Server greeting is not OK or PREAUTH: ${first.lines[0]}`);
    }
    if (greeting.status === "BYE") {
      throw new ImapConnectionError(`Server refused the connection: ${greeting.text}`);
    }
    this.#greeting = greeting;
    this.#absorbCode(greeting.code);
    this.#readerDone = this.#readLoop();
    if (this.#options.security === "starttls" && !this.#options.tunnel) {
      if (greeting.status === "PREAUTH") {
        // go-imap's rule: a PREAUTH greeting leaves no chance to upgrade; refusing beats
        // talking in clear text on a connection the user asked to encrypt.
        throw new ImapTlsError(
          "Server greeted with PREAUTH, so STARTTLS is impossible; refusing the cleartext session",
          "starttls",
        );
      }
      if (this.#capabilities.size === 0) await this.capability();
      if (!this.#capabilities.has("STARTTLS")) {
        throw new ImapTlsError(
          `Server "${this.#options.host}:${this.#options.port}" does not offer STARTTLS`,
          "starttls",
        );
      }
      await this.#startTls();
    }
    if (this.#capabilities.size === 0) await this.capability();
  }

  /** The greeting text. */
  get greeting(): string {
    return this.#greeting && "text" in this.#greeting ? this.#greeting.text : "";
  }

  /** True when the greeting was PREAUTH (already authenticated, e.g. a preauth tunnel). */
  get preauthenticated(): boolean {
    return this.#greeting?.kind === "status" && this.#greeting.status === "PREAUTH";
  }

  /** Whether the connection is encrypted (TLS, STARTTLS, or a tunnel). */
  get secure(): boolean {
    return this.#transport.secure;
  }

  /** Current capabilities, upper case. */
  get capabilities(): ReadonlySet<string> {
    return this.#capabilities;
  }

  /** Whether the server advertises `name` (case-insensitive). */
  has(name: string): boolean {
    return this.#capabilities.has(name.toUpperCase());
  }

  /** The mailbox currently selected, if any. */
  get selected(): string | undefined {
    return this.#selected;
  }

  async #startTls(): Promise<void> {
    let release!: () => void;
    this.#paused = new Promise<void>((resolve) => release = resolve);
    try {
      await this.#command("STARTTLS", [], { pauseAfter: true });
      if (this.#framer.buffered > 0 || this.#transport.buffered > 0) {
        throw new ImapTlsError(
          "Refusing STARTTLS: the server sent plaintext data after its OK, which could be injected",
          "starttls",
        );
      }
      await this.#transport.startTls(
        { ...this.#options.tls, servername: this.#options.tls?.servername ?? this.#options.host },
      );
      // RFC 3501 6.2.1: capabilities learnt before TLS must be discarded.
      this.#capabilities.clear();
    } finally {
      this.#paused = undefined;
      release();
    }
    await this.capability();
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.#paused) await this.#paused;
        const raw = await this.#framer.next((line, size) => this.#literalPolicy(line, size));
        if (!raw) {
          throw new ImapConnectionError("Connection closed by the server");
        }
        this.#logResponse(raw.lines, raw.literals);
        this.#dispatch(parseResponse(raw));
      }
    } catch (error) {
      this.#shutdown(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #literalPolicy(line: Uint8Array, size: number): LiteralSink | undefined {
    if (!this.#bodyHandler) return undefined;
    return this.#bodyHandler(line, size);
  }

  #logResponse(lines: Uint8Array[], literals: Array<Uint8Array | null> = []): void {
    const log = this.#options.log;
    if (!log) return;
    const decoder = new TextDecoder();
    let text = "";
    lines.forEach((line, i) => {
      text += decoder.decode(line);
      const literal = literals[i];
      if (literal !== undefined) {
        text += literal === null ? "<streamed>" : `<${literal.length} bytes>`;
      }
    });
    // AUTHENTICATE challenges are not secret, but responses to them are; see #writeSegments.
    log(`S: ${text}`);
  }

  #dispatch(response: Response): void {
    switch (response.kind) {
      case "tagged": {
        const index = this.#pending.findIndex((p) => p.tag === response.tag);
        if (index < 0) {
          throw new ImapProtocolError(`Server answered unknown tag "${response.tag}"`);
        }
        const [pending] = this.#pending.splice(index, 1);
        this.#absorbCode(response.code);
        if (this.#continuation?.owner === pending) {
          // The command ended (typically NO/BAD) while its writer waited for "+".
          const waiter = this.#continuation;
          this.#continuation = undefined;
          waiter?.resolve(null);
        }
        if (response.status === "OK") {
          pending!.resolve({ code: response.code, text: response.text });
        } else {
          pending!.reject(
            new ImapCommandError(
              pending!.name,
              response.status,
              response.text,
              response.code?.name,
            ),
          );
        }
        return;
      }
      case "continuation": {
        const waiter = this.#continuation;
        this.#continuation = undefined;
        if (!waiter) throw new ImapProtocolError(`Unexpected continuation: ${response.text}`);
        waiter.resolve(response.text);
        return;
      }
      case "capability":
        this.#capabilities = new Set(response.capabilities.map((c) => c.toUpperCase()));
        break;
      case "status":
        this.#absorbCode(response.code);
        if (response.status === "BYE") {
          this.#closedError ??= new ImapConnectionError(
            `Server closed the session: ${response.text}`,
          );
        }
        if (response.code?.name === "ALERT") this.#options.onUnsolicited?.(response);
        break;
      case "enabled":
        for (const c of response.capabilities) this.#enabled.add(c.toUpperCase());
        break;
    }
    for (const pending of this.#pending) {
      if (pending.claim?.(response)) return;
    }
    if (response.kind !== "capability") this.#options.onUnsolicited?.(response);
  }

  #absorbCode(code: ResponseCode | undefined): void {
    if (code?.name === "CAPABILITY") {
      this.#capabilities = new Set(
        code.args.filter((a): a is string => typeof a === "string").map((c) => c.toUpperCase()),
      );
    }
  }

  #shutdown(error: Error): void {
    const final = this.#closedError ?? error;
    this.#closedError = final;
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.reject(final);
    const waiter = this.#continuation;
    this.#continuation = undefined;
    waiter?.resolve(null);
    for (const wake of this.#slots.splice(0)) wake();
    this.#transport.close();
  }

  async #acquireSlot(): Promise<void> {
    const max = this.#options.maxInFlight ?? 32;
    while (this.#inFlight >= max) {
      await new Promise<void>((resolve) => this.#slots.push(resolve));
      if (this.#closedError) throw this.#closedError;
    }
    this.#inFlight++;
  }

  #releaseSlot(): void {
    this.#inFlight--;
    this.#slots.shift()?.();
  }

  /**
   * Sends a command and resolves with its tagged OK. `claim` sees untagged responses while the
   * command is in flight and returns true for those it consumes. Throws ImapCommandError on NO
   * or BAD, ImapConnectionError when the connection ends.
   */
  #command(
    name: string,
    args: readonly Arg[],
    options: {
      claim?: (r: Response) => boolean;
      pauseAfter?: boolean;
      onContinuation?: (text: string) => Promise<Uint8Array | null>;
    } = {},
  ): Promise<Completion> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const tag = `A${++this.#tagCounter}`;
    const segments = encodeCommand(tag, name, args, {
      literalPlus: this.has("LITERAL+") ||
        (this.has("LITERAL-") && args.every((a) => !("stream" in a) || a.stream.size <= 4096)),
      utf8: this.#enabled.has("UTF8=ACCEPT"),
    });
    return new Promise<Completion>((resolve, reject) => {
      const pending: Pending = {
        tag,
        name,
        claim: options.claim,
        pauseAfter: options.pauseAfter,
        resolve: (c) => {
          this.#releaseSlot();
          resolve(c);
        },
        reject: (e) => {
          this.#releaseSlot();
          reject(e);
        },
      };
      const send = async () => {
        await this.#acquireSlot();
        if (this.#closedError) {
          this.#releaseSlot();
          throw this.#closedError;
        }
        this.#pending.push(pending);
        await this.#writeSegments(segments, pending, options.onContinuation);
      };
      const written = this.#writeChain.then(send);
      // Writes are serialised (bytes of two commands must not interleave); a failed write
      // fails its command and the connection, not the chain.
      this.#writeChain = written.catch(() => {});
      written.catch((error) => {
        const index = this.#pending.indexOf(pending);
        if (index >= 0) {
          this.#pending.splice(index, 1);
          pending.reject(error);
        } else reject(error);
        if (error instanceof ImapConnectionError) this.#shutdown(error);
      });
    });
  }

  /** Waits for "+" addressed to `owner`; null when the command ended or the connection died. */
  #waitContinuation(owner: Pending): Promise<string | null> {
    if (this.#closedError || !this.#pending.includes(owner)) return Promise.resolve(null);
    return new Promise<string | null>((resolve) => {
      this.#continuation = { owner, resolve };
    });
  }

  async #writeSegments(
    segments: Segment[],
    pending: Pending,
    onContinuation?: (text: string) => Promise<Uint8Array | null>,
  ): Promise<void> {
    const log = this.#options.log;
    for (const segment of segments) {
      if (segment.kind === "text") {
        log?.(`C: ${segment.log.replace(/\r\n$/, "")}`);
        await this.#transport.write(segment.bytes);
        continue;
      }
      if (segment.sync && await this.#waitContinuation(pending) === null) return;
      log?.(`C: <${segment.secret ? "secret " : ""}literal ${segment.size} bytes>`);
      if (segment.bytes) {
        await this.#transport.write(segment.bytes);
      } else if (segment.open) {
        let sent = 0;
        for await (const chunk of segment.open()) {
          sent += chunk.length;
          if (sent > segment.size) break;
          await this.#transport.write(chunk);
        }
        if (sent !== segment.size) {
          // The byte count was promised in the literal header: the connection is now unusable.
          const error = new ImapProtocolError(
            `Literal source produced ${sent} bytes instead of the announced ${segment.size}`,
          );
          this.#shutdown(error);
          throw error;
        }
      }
    }
    if (onContinuation) {
      // SASL exchange: answer each "+" until the tagged response arrives.
      for (;;) {
        const text = await this.#waitContinuation(pending);
        if (text === null) break;
        const answer = await onContinuation(text);
        log?.("C: <secret authentication data>");
        await this.#transport.write(answer ?? ENCODER.encode("*\r\n"));
      }
    }
  }

  /** CAPABILITY: refreshes {@link ImapClient.capabilities}. */
  async capability(): Promise<ReadonlySet<string>> {
    await this.#command("CAPABILITY", []);
    return this.#capabilities;
  }

  /** NOOP: lets the server report changes (to `onUnsolicited`). */
  async noop(): Promise<void> {
    await this.#command("NOOP", []);
  }

  /** LOGIN. The password is never logged. Throws ImapAuthError when refused. */
  async login(user: string, password: string): Promise<void> {
    try {
      await this.#command("LOGIN", [{ secret: { string: user } }, {
        secret: { string: password },
      }]);
    } catch (error) {
      throw authError("LOGIN", error);
    }
    await this.#refreshCapabilitiesAfterAuth();
  }

  /**
   * AUTHENTICATE with a SASL mechanism. `respond` gets each server challenge (decoded) and
   * returns the client response (raw bytes, base64-encoded here). With SASL-IR the initial
   * response goes on the command line.
   */
  async authenticate(
    mechanism: string,
    initial: Uint8Array | undefined,
    respond: (challenge: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  ): Promise<void> {
    const args: Arg[] = [{ atom: mechanism }];
    let initialPending = initial;
    if (initial !== undefined && this.has("SASL-IR")) {
      args.push({ secret: { atom: initial.length === 0 ? "=" : base64(initial) } });
      initialPending = undefined;
    }
    try {
      await this.#command("AUTHENTICATE", args, {
        onContinuation: async (text) => {
          let answer: Uint8Array;
          if (initialPending !== undefined) {
            answer = initialPending;
            initialPending = undefined;
          } else {
            answer = await respond(unbase64(text.trim()));
          }
          return ENCODER.encode(`${base64(answer)}\r\n`);
        },
      });
    } catch (error) {
      throw authError(`AUTHENTICATE ${mechanism}`, error);
    }
    await this.#refreshCapabilitiesAfterAuth();
  }

  async #refreshCapabilitiesAfterAuth(): Promise<void> {
    // Servers often send new capabilities in the OK code (absorbed already); ask otherwise.
    await this.capability();
  }

  /** ENABLE (RFC 5161). Returns what the server enabled. */
  async enable(...capabilities: string[]): Promise<ReadonlySet<string>> {
    await this.#command("ENABLE", capabilities.map((atom) => ({ atom })));
    return this.#enabled;
  }

  /** Capabilities the server ENABLEd. */
  get enabled(): ReadonlySet<string> {
    return this.#enabled;
  }

  /** LIST (or LSUB) `reference` `pattern`. Names come back as the server sent them. */
  async list(
    reference: string,
    pattern: string,
    command: "LIST" | "LSUB" = "LIST",
  ): Promise<ListEntry[]> {
    const entries: ListEntry[] = [];
    await this.#command(command, [{ string: reference }, { string: pattern }], {
      claim: (r) => {
        if (r.kind === "list" && r.command === command) {
          entries.push(r.entry);
          return true;
        }
        return false;
      },
    });
    return entries;
  }

  /**
   * SELECT (or EXAMINE with `readOnly`). With `condstore`, asks for HIGHESTMODSEQ.
   */
  async select(
    mailbox: string,
    options: { readOnly?: boolean; condstore?: boolean } = {},
  ): Promise<MailboxInfo> {
    let exists = 0;
    let uidValidity: number | undefined;
    let uidNext: number | undefined;
    let highestModseq: bigint | undefined;
    let flags: string[] = [];
    let permanentFlags: string[] = [];
    const args: Arg[] = [{ string: mailbox }];
    if (options.condstore && this.has("CONDSTORE")) args.push({ atom: "(CONDSTORE)" });
    this.#selected = undefined;
    const completion = await this.#command(options.readOnly ? "EXAMINE" : "SELECT", args, {
      claim: (r) => {
        if (r.kind === "exists") exists = r.count;
        else if (r.kind === "flags") flags = r.flags;
        else if (r.kind === "status" && r.status === "OK" && r.code) {
          const arg = r.code.args[0];
          switch (r.code.name) {
            case "UIDVALIDITY":
              uidValidity = Number(arg);
              break;
            case "UIDNEXT":
              uidNext = Number(arg);
              break;
            case "HIGHESTMODSEQ":
              highestModseq = BigInt(String(arg));
              break;
            case "PERMANENTFLAGS":
              permanentFlags = Array.isArray(arg) ? arg.map(String) : [];
              break;
            default:
              return false;
          }
        } else if (r.kind !== "recent") return false;
        return true;
      },
    });
    if (uidValidity === undefined || !Number.isSafeInteger(uidValidity)) {
      throw new ImapProtocolError(`SELECT "${mailbox}" returned no UIDVALIDITY`);
    }
    this.#selected = mailbox;
    return {
      name: mailbox,
      readOnly: options.readOnly === true || completion.code?.name === "READ-ONLY",
      exists,
      uidValidity,
      uidNext,
      flags,
      permanentFlags,
      highestModseq,
    };
  }

  /**
   * UID FETCH of metadata (no bodies): one command, every response collected.
   * `items` e.g. `["UID", "FLAGS", "RFC822.SIZE"]`. `set` is a UID set string.
   */
  async uidFetch(set: string, items: readonly string[], modifiers?: string): Promise<FetchData[]> {
    const out: FetchData[] = [];
    const args: Arg[] = [{ atom: set }, { atom: `(${items.join(" ")})` }];
    if (modifiers) args.push({ atom: modifiers });
    await this.#command("UID FETCH", args, {
      claim: (r) => {
        if (r.kind === "fetch") {
          out.push(r.data);
          return true;
        }
        return false;
      },
    });
    return out;
  }

  /**
   * UID FETCH with `BODY.PEEK[]`, streaming each body from the socket. Yields one message per
   * body; read (or cancel) its `body` before asking for the next one: the connection waits
   * for you. An unread body is discarded when the iteration moves on. Only one streaming fetch
   * may run at a time on a connection (other commands may be pipelined beside it).
   */
  async *uidFetchBodies(
    set: string,
    items: readonly string[] = ["UID", "FLAGS", "INTERNALDATE"],
  ): AsyncGenerator<FetchedMessage> {
    if (this.#bodyHandler) throw new Error("Only one streaming FETCH per connection at a time");
    const queue: FetchedMessage[] = [];
    const waiting = new Map<number, { resolve: (d: FetchData) => void; pipe: LiteralPipe }>();
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: Error | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    this.#bodyHandler = (line, size) => {
      const text = new TextDecoder().decode(line);
      const prefix = FETCH_PREFIX.exec(text);
      if (!prefix || !BODY_LITERAL.test(text)) return undefined;
      const seq = Number(prefix[1]);
      const known = parsePrefixItems(text);
      const pipe = new LiteralPipe();
      let resolveData!: (d: FetchData) => void;
      const data = new Promise<FetchData>((resolve) => resolveData = resolve);
      data.catch(() => {});
      waiting.set(seq, { resolve: resolveData, pipe });
      queue.push({ seq, size, body: pipe.readable, data, ...known });
      notify();
      return pipe;
    };
    const done = this.#command(
      "UID FETCH",
      [{ atom: set }, { atom: `(${[...items, "BODY.PEEK[]"].join(" ")})` }],
      {
        claim: (r) => {
          if (r.kind !== "fetch") return false;
          const entry = waiting.get(r.data.seq);
          if (entry) {
            waiting.delete(r.data.seq);
            entry.resolve(r.data);
          } else {
            // The body came as a quoted string or NIL (tiny or empty message): deliver it whole.
            const body = r.data.sections.get("BODY[]");
            if (body === undefined) return false;
            const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
            queue.push({
              seq: r.data.seq,
              uid: r.data.uid,
              flags: r.data.flags,
              internalDate: r.data.internalDate,
              size: bytes.length,
              body: new ReadableStream<Uint8Array>({
                start(controller) {
                  if (bytes.length > 0) controller.enqueue(bytes);
                  controller.close();
                },
              }),
              data: Promise.resolve(r.data),
            });
            notify();
          }
          return true;
        },
      },
    );
    done.then(() => {
      finished = true;
      notify();
    }, (error) => {
      failure = error;
      finished = true;
      for (const { pipe } of waiting.values()) pipe.fail(error);
      notify();
    });
    let current: FetchedMessage | undefined;
    try {
      for (;;) {
        if (current) {
          // Whatever the consumer left unread is drained so the reader can go on.
          await current.body.cancel().catch(() => {});
          current = undefined;
        }
        const next = queue.shift();
        if (next) {
          current = next;
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => wake = resolve);
      }
      if (failure) throw failure;
    } finally {
      if (current) await current.body.cancel().catch(() => {});
      if (!finished) {
        // The consumer stopped early: drain the rest without keeping it.
        for (const m of queue) await m.body.cancel().catch(() => {});
        await done.catch(() => {});
      }
      this.#bodyHandler = undefined;
    }
  }

  /** UID STORE `set` `+FLAGS.SILENT`/`-FLAGS.SILENT` (flags). */
  async uidStore(
    set: string,
    operation: "+" | "-" | "",
    flags: readonly string[],
    options: { silent?: boolean; unchangedSince?: bigint } = {},
  ): Promise<FetchData[]> {
    const out: FetchData[] = [];
    const args: Arg[] = [{ atom: set }];
    if (options.unchangedSince !== undefined) {
      args.push({ atom: `(UNCHANGEDSINCE ${options.unchangedSince})` });
    }
    args.push({ atom: `${operation}FLAGS${options.silent === false ? "" : ".SILENT"}` });
    args.push({ list: flags.map((atom) => ({ atom })) });
    await this.#command("UID STORE", args, {
      claim: (r) => {
        if (r.kind === "fetch") {
          out.push(r.data);
          return true;
        }
        return false;
      },
    });
    return out;
  }

  /** UID SEARCH with raw criteria atoms/strings. Returns UIDs. */
  async uidSearch(criteria: readonly Arg[]): Promise<number[]> {
    const out: number[] = [];
    await this.#command("UID SEARCH", criteria, {
      claim: (r) => {
        if (r.kind === "search") {
          out.push(...r.numbers);
          return true;
        }
        return false;
      },
    });
    return out;
  }

  /**
   * APPEND a message streamed from `open()` (called once, must yield exactly `size` bytes,
   * CRLF line endings). Returns the APPENDUID code values when the server sends them.
   */
  async append(
    mailbox: string,
    message: {
      readonly size: number;
      readonly open: () => ReadableStream<Uint8Array>;
      readonly flags?: readonly string[];
      readonly date?: Date;
    },
  ): Promise<{ uidValidity: number; uid: number } | undefined> {
    const args: Arg[] = [{ string: mailbox }];
    if (message.flags && message.flags.length > 0) {
      args.push({ list: message.flags.map((atom) => ({ atom })) });
    }
    if (message.date) args.push({ atom: `"${formatInternalDate(message.date)}"` });
    args.push({ stream: { size: message.size, open: message.open } });
    const completion = await this.#command("APPEND", args);
    const code = completion.code;
    if (code?.name === "APPENDUID") {
      const uidValidity = Number(code.args[0]);
      const uid = Number(code.args[1]);
      if (Number.isSafeInteger(uid) && uid > 0) return { uidValidity, uid };
    }
    return undefined;
  }

  /** CREATE. */
  async create(mailbox: string): Promise<void> {
    await this.#command("CREATE", [{ string: mailbox }]);
  }

  /** DELETE a mailbox. */
  async deleteMailbox(mailbox: string): Promise<void> {
    await this.#command("DELETE", [{ string: mailbox }]);
  }

  /** RENAME. */
  async rename(from: string, to: string): Promise<void> {
    await this.#command("RENAME", [{ string: from }, { string: to }]);
  }

  /** SUBSCRIBE / UNSUBSCRIBE. */
  async subscribe(mailbox: string, subscribed = true): Promise<void> {
    await this.#command(subscribed ? "SUBSCRIBE" : "UNSUBSCRIBE", [{ string: mailbox }]);
  }

  /** STATUS with the given items. */
  async status(mailbox: string, items: readonly string[]): Promise<Map<string, bigint>> {
    let result = new Map<string, bigint>();
    await this.#command("STATUS", [{ string: mailbox }, { atom: `(${items.join(" ")})` }], {
      claim: (r) => {
        if (r.kind === "mailboxStatus") {
          result = r.items;
          return true;
        }
        return false;
      },
    });
    return result;
  }

  /** EXPUNGE (every \Deleted message). Returns expunged sequence numbers. */
  async expunge(): Promise<number[]> {
    const out: number[] = [];
    await this.#command("EXPUNGE", [], {
      claim: (r) => {
        if (r.kind === "expunge") {
          out.push(r.seq);
          return true;
        }
        return r.kind === "vanished";
      },
    });
    return out;
  }

  /** UID EXPUNGE (UIDPLUS): only the given \Deleted messages. */
  async uidExpunge(set: string): Promise<void> {
    await this.#command("UID EXPUNGE", [{ atom: set }], {
      claim: (r) => r.kind === "expunge" || r.kind === "vanished",
    });
  }

  /** CHECK. */
  async check(): Promise<void> {
    await this.#command("CHECK", []);
  }

  /** CLOSE (expunges silently) or UNSELECT. */
  async close_(expunge = false): Promise<void> {
    await this.#command(expunge || !this.has("UNSELECT") ? "CLOSE" : "UNSELECT", []);
    this.#selected = undefined;
  }

  /** LOGOUT, then closes the connection. Never throws. */
  async logout(): Promise<void> {
    if (!this.#closedError) {
      await this.#command("LOGOUT", [], { claim: (r) => r.kind === "status" && r.status === "BYE" })
        .catch(() => {});
    }
    this.close();
    await this.#readerDone.catch(() => {});
  }

  /** Closes the connection at once. */
  close(): void {
    this.#shutdown(new ImapConnectionError("Connection closed"));
  }
}

function authError(what: string, error: unknown): Error {
  if (error instanceof ImapCommandError) {
    return new ImapAuthError(
      `${what} refused by the server: ${error.code ? `[${error.code}] ` : ""}${error.text}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Extracts UID, FLAGS and INTERNALDATE that precede the body literal in a FETCH line. */
function parsePrefixItems(
  line: string,
): { uid?: number; flags?: string[]; internalDate?: Date } {
  const out: { uid?: number; flags?: string[]; internalDate?: Date } = {};
  const uid = /[( ]UID (\d+)/i.exec(line);
  if (uid) out.uid = Number(uid[1]);
  const flags = /[( ]FLAGS \(([^)]*)\)/i.exec(line);
  if (flags) out.flags = flags[1]!.split(" ").filter((f) => f.length > 0);
  return out;
}

const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/** Formats a date as an IMAP date-time in UTC: `17-Jul-1996 09:44:25 +0000`. */
export function formatInternalDate(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(date.getUTCDate())}-${MONTH_NAMES[date.getUTCMonth()]}-${date.getUTCFullYear()} ${
    p(date.getUTCHours())
  }:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function unbase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new ImapProtocolError(`Server challenge is not base64: "${text.slice(0, 60)}"`);
  }
}
