/**
 * The core of a client: one connection, tags, the pending-command table, one reader loop that
 * dispatches responses to the commands waiting for them, pipelining up to a depth cap, and the
 * greeting and STARTTLS. Writing one command is `write_command.ts`, timeouts are
 * `reply_timer.ts`. Commands (`commands/*.ts`) are built on {@link Connection.run}; the
 * public API is `ImapClient`.
 *
 * @module
 */

import { encodeCommand } from "./encoder.ts";
import type { Arg, Segment } from "./encoder.ts";
import { writeCommand } from "./write_command.ts";
import {
  describeEndpoint,
  ImapByeError,
  ImapCommandError,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
  showBytes,
} from "./errors.ts";
import { Framer } from "./framer.ts";
import type { LiteralPolicy, LiteralSink, RawResponse } from "./framer.ts";
import type { ClientOptions, CommandOptions, Completion } from "./options.ts";

import { parseResponse } from "./parser.ts";
import { connectTransport } from "./transport.ts";
import type { Transport } from "./transport.ts";
import { spawnTunnel } from "./tunnel.ts";
import { ReplyTimer } from "./reply_timer.ts";
import type { Response, ResponseCode } from "./types.ts";

export type { ClientOptions, CommandOptions, Completion, ContinuationReply } from "./options.ts";

interface Pending {
  readonly tag: string;
  readonly name: string;
  readonly options: CommandOptions;
  resolve(completion: Completion): void;
  reject(error: Error): void;
}

const DECODER = new TextDecoder();
const DEFAULT_IN_FLIGHT = 32;

/** One IMAP connection. Create with {@link Connection.open}. */
export class Connection {
  readonly options: ClientOptions;
  #transport: Transport;
  #framer: Framer;
  #capabilities = new Set<string>();
  #capabilityUpdates = 0;
  #enabled = new Set<string>();
  #pending: Pending[] = [];
  #tagCounter = 0;
  #writeChain: Promise<void> = Promise.resolve();
  #continuation: { owner: Pending; resolve: (text: string | null) => void } | undefined;
  #closedError: Error | undefined;
  #readerDone: Promise<void> = Promise.resolve();
  #paused: Promise<void> | undefined;
  #slots: Array<() => void> = [];
  /** Woken whenever a command completes (exclusive commands wait on it). */
  #completions: Array<() => void> = [];
  #inFlight = 0;
  #greeting: Extract<Response, { kind: "status" }> | undefined;
  #selected: string | undefined;
  #awaitingGreeting = true;
  #timer: ReplyTimer;
  #policy: LiteralPolicy = (lines, size, literals) => this.#literalPolicy(lines, size, literals);

  private constructor(transport: Transport, options: ClientOptions) {
    this.#transport = transport;
    this.options = options;
    this.#timer = new ReplyTimer(
      options.timeoutMs ?? 0,
      () => this.#pending.length > 0 || this.#awaitingGreeting,
      () => this.#shutdown(this.#timeoutError()),
    );
    this.#framer = new Framer(
      { read: () => this.#timer.read(() => this.#transport.read()) },
      options.limits,
    );
  }

  /**
   * Connects, reads the greeting, and for `starttls` upgrades and re-reads capabilities.
   * Resolves in the not-authenticated state, or authenticated after PREAUTH. Throws
   * ImapConnectionError (ImapTlsError, ImapByeError) or ImapProtocolError; nothing is left
   * open then.
   */
  static async open(options: ClientOptions): Promise<Connection> {
    const transport = options.tunnel
      ? spawnTunnel(options.tunnel.command)
      : await connectTransport({
        host: options.host,
        port: options.port,
        security: options.security === "tls" ? "tls" : "plain",
        tls: options.tls,
        family: options.family,
        timeoutMs: options.timeoutMs,
      });
    const connection = new Connection(transport, options);
    try {
      await connection.#start();
      return connection;
    } catch (error) {
      connection.#shutdown(error instanceof Error ? error : new Error(String(error)));
      await connection.#readerDone;
      await transport.closed;
      throw error;
    }
  }

  get #where(): string {
    return this.options.tunnel
      ? `tunnel "${this.options.tunnel.command}"`
      : describeEndpoint(this.options.host, this.options.port);
  }

  async #start(): Promise<void> {
    const first = await this.#framer.next();
    this.#awaitingGreeting = false;
    this.#timer.update();
    if (!first) {
      throw this.#closedError ??
        new ImapConnectionError(`${this.#where} closed the connection before its greeting`);
    }
    this.#logResponse(first);
    const greeting = parseResponse(first);
    if (greeting.kind !== "status" || greeting.status === "NO" || greeting.status === "BAD") {
      throw new ImapProtocolError(
        `Greeting of ${this.#where} is not OK or PREAUTH: ${showBytes(first.lines[0]!)}`,
      );
    }
    if (greeting.status === "BYE") throw new ImapByeError(greeting.text, greeting.code?.name);
    this.#greeting = greeting;
    this.#absorbCode(greeting.code);
    this.#readerDone = this.#readLoop();
    const tunnel = this.options.tunnel;
    if (tunnel?.kind === "preauth" && greeting.status !== "PREAUTH") {
      throw new ImapProtocolError(
        `Preauth ${this.#where} greeted with ${greeting.status} instead of PREAUTH`,
      );
    }
    if (this.options.security === "starttls" && !tunnel) {
      if (greeting.status === "PREAUTH") {
        // go-imap's rule: a PREAUTH greeting leaves no chance to upgrade; refusing beats
        // talking in clear text on a connection the user asked to encrypt.
        throw new ImapTlsError(
          `Refusing the session with ${this.#where}: it greeted with PREAUTH, so STARTTLS is impossible`,
          "starttls",
        );
      }
      if (this.#capabilities.size === 0) await this.capability();
      if (!this.has("STARTTLS")) {
        throw new ImapTlsError(`Server ${this.#where} does not offer STARTTLS`, "starttls");
      }
      await this.#startTls();
    }
    if (this.#capabilities.size === 0) await this.capability();
  }

  /** The greeting response. */
  get greeting(): Extract<Response, { kind: "status" }> | undefined {
    return this.#greeting;
  }

  /** Whether the stream is encrypted (TLS, STARTTLS, or a tunnel). */
  get secure(): boolean {
    return this.#transport.secure;
  }

  /** Current capabilities, upper case. */
  get capabilities(): ReadonlySet<string> {
    return this.#capabilities;
  }

  /** Counts capability lists received; lets a command see whether its reply carried one. */
  get capabilityUpdates(): number {
    return this.#capabilityUpdates;
  }

  /** Whether the server advertises `name` (case-insensitive). */
  has(name: string): boolean {
    return this.#capabilities.has(name.toUpperCase());
  }

  /** Capabilities the server ENABLEd, upper case. */
  get enabled(): ReadonlySet<string> {
    return this.#enabled;
  }

  /** The mailbox currently selected (as the caller named it), if any. */
  get selected(): string | undefined {
    return this.#selected;
  }

  set selected(mailbox: string | undefined) {
    this.#selected = mailbox;
  }

  /** Set while an IDLE is active: the read timeout does not apply then. */
  set idling(value: boolean) {
    this.#timer.idling = value;
  }

  /** The error that ended the connection, if it has ended. */
  get closedError(): Error | undefined {
    return this.#closedError;
  }

  /** Resolves when the reader loop has stopped and the transport released everything. */
  get closed(): Promise<void> {
    return this.#readerDone.then(() => this.#transport.closed);
  }

  /** CAPABILITY: refreshes {@link Connection.capabilities}. */
  async capability(): Promise<ReadonlySet<string>> {
    await this.run("CAPABILITY", []);
    return this.#capabilities;
  }

  async #startTls(): Promise<void> {
    let release!: () => void;
    this.#paused = new Promise<void>((resolve) => release = resolve);
    try {
      // The reader stops after the OK (#paused), so not one byte after it is read as IMAP.
      await this.run("STARTTLS", []);
      if (this.#framer.buffered > 0 || this.#transport.buffered > 0) {
        throw new ImapTlsError(
          `Refusing STARTTLS with ${this.#where}: the server sent plaintext data after its OK, which could be injected`,
          "starttls",
        );
      }
      await this.#transport.startTls(
        { ...this.options.tls, servername: this.options.tls?.servername ?? this.options.host },
      );
      // RFC 3501 6.2.1: capabilities learnt before TLS must be discarded.
      this.#capabilities.clear();
    } catch (error) {
      // Shut down before the reader resumes, so not one buffered byte gets parsed.
      this.#shutdown(error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      this.#paused = undefined;
      release();
    }
    await this.capability();
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.#paused) {
          await this.#paused;
          if (this.#closedError) throw this.#closedError;
        }
        const raw = await this.#framer.next(this.#policy);
        if (!raw) {
          throw this.#closedError ??
            new ImapConnectionError(`${this.#where} closed the connection`);
        }
        if (this.options.log) this.#logResponse(raw);
        this.#dispatch(parseResponse(raw));
      }
    } catch (error) {
      this.#shutdown(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #literalPolicy(
    lines: readonly Uint8Array[],
    size: number,
    literals: readonly (Uint8Array | null)[],
  ): LiteralSink | undefined {
    for (const pending of this.#pending) {
      const sink = pending.options.literal?.(lines, size, literals);
      if (sink) return sink;
    }
    return undefined;
  }

  #logResponse(raw: RawResponse): void {
    const log = this.options.log;
    if (!log) return;
    let text = "";
    raw.lines.forEach((line, i) => {
      text += DECODER.decode(line);
      const literal = raw.literals[i];
      if (literal !== undefined) {
        text += literal === null ? "<streamed>" : `<${literal.length} bytes>`;
      }
    });
    log(`S: ${text}`);
  }

  #dispatch(response: Response): void {
    switch (response.kind) {
      case "tagged":
        return this.#complete(response);
      case "continuation": {
        const waiter = this.#continuation;
        this.#continuation = undefined;
        if (!waiter) throw new ImapProtocolError(`Unexpected continuation: "${response.text}"`);
        waiter.resolve(response.text);
        return;
      }
      case "capability":
        this.#capabilities = new Set(response.capabilities.map((c) => c.toUpperCase()));
        this.#capabilityUpdates++;
        break;
      case "status":
        this.#absorbCode(response.code);
        if (response.status === "BYE") {
          this.#closedError ??= new ImapByeError(response.text, response.code?.name);
        }
        break;
      case "enabled":
        for (const c of response.capabilities) this.#enabled.add(c.toUpperCase());
        break;
    }
    for (const pending of this.#pending) {
      if (pending.options.claim?.(response)) return;
    }
    if (response.kind !== "capability") this.options.onUnsolicited?.(response);
  }

  #complete(response: Extract<Response, { kind: "tagged" }>): void {
    const index = this.#pending.findIndex((p) => p.tag === response.tag);
    if (index < 0) throw new ImapProtocolError(`Server answered unknown tag "${response.tag}"`);
    const pending = this.#pending[index]!;
    this.#pending.splice(index, 1);
    for (const wake of this.#completions.splice(0)) wake();
    this.#timer.update();
    this.#absorbCode(response.code);
    if (this.#continuation?.owner === pending) {
      // The command ended (typically NO/BAD) while its writer waited for "+".
      const waiter = this.#continuation;
      this.#continuation = undefined;
      waiter.resolve(null);
    }
    if (response.status === "OK") {
      pending.resolve({ code: response.code, text: response.text });
    } else {
      pending.reject(
        new ImapCommandError(pending.name, response.status, response.text, response.code?.name),
      );
    }
  }

  #absorbCode(code: ResponseCode | undefined): void {
    if (code?.name === "CAPABILITY") {
      this.#capabilities = new Set(
        code.args.filter((a): a is string => typeof a === "string").map((c) => c.toUpperCase()),
      );
      this.#capabilityUpdates++;
    }
  }

  #shutdown(error: Error): void {
    const final = this.#closedError ?? error;
    this.#closedError = final;
    this.#timer.cancel();
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.reject(final);
    const waiter = this.#continuation;
    this.#continuation = undefined;
    waiter?.resolve(null);
    for (const wake of this.#slots.splice(0)) wake();
    for (const wake of this.#completions.splice(0)) wake();
    this.#transport.close();
  }

  #timeoutError(): ImapConnectionError {
    return new ImapConnectionError(
      `Connection to ${this.#where} timed out after ${
        (this.options.timeoutMs ?? 0) / 1000
      } s without data`,
    );
  }

  async #acquireSlot(): Promise<void> {
    const max = this.options.maxInFlight ?? DEFAULT_IN_FLIGHT;
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

  /** How big a literal may be sent without waiting for "+". */
  #maxNonSyncLiteral(): number {
    if (this.has("LITERAL+")) return Infinity;
    return this.has("LITERAL-") ? 4096 : -1;
  }

  /**
   * Sends a command and resolves with its tagged OK. The command is encoded at once (so a bad
   * argument throws before anything is queued) and written as soon as the commands before it
   * are written and a pipelining slot is free. Rejects with ImapCommandError on NO or BAD,
   * ImapConnectionError when the connection ends, ImapProtocolError for an argument with CR,
   * LF or NUL.
   */
  run(name: string, args: readonly Arg[], options: CommandOptions = {}): Promise<Completion> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const tag = `A${++this.#tagCounter}`;
    let segments: Segment[];
    try {
      segments = encodeCommand(tag, name, args, {
        maxNonSyncLiteral: this.#maxNonSyncLiteral(),
        utf8: this.#enabled.has("UTF8=ACCEPT"),
      });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Completion>((resolve, reject) => {
      const pending: Pending = {
        tag,
        name,
        options,
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
        const key = options.exclusive;
        while (key !== undefined && this.#pending.some((p) => p.options.exclusive === key)) {
          await new Promise<void>((resolve) => this.#completions.push(resolve));
          if (this.#closedError) throw this.#closedError;
        }
        await this.#acquireSlot();
        if (this.#closedError) {
          this.#releaseSlot();
          throw this.#closedError;
        }
        this.#pending.push(pending);
        this.#timer.update();
        try {
          await writeCommand(segments, {
            write: (bytes) => this.#timer.write(() => this.#transport.write(bytes)),
            expectContinuation: () => this.#expectContinuation(pending),
            log: this.options.log,
          }, options.onContinuation);
        } catch (error) {
          // Part of the command may be on the wire: the connection cannot be trusted any more.
          // The command fails with the real cause (a file that could not be read, ...).
          const index = this.#pending.indexOf(pending);
          if (index >= 0) {
            this.#pending.splice(index, 1);
            pending.reject(error instanceof Error ? error : new Error(String(error)));
          }
          this.#shutdown(
            error instanceof ImapConnectionError ? error : new ImapConnectionError(
              `Connection to ${this.#where} abandoned: sending ${name} failed: ${
                error instanceof Error ? error.message : String(error)
              }`,
              { cause: error },
            ),
          );
        }
      };
      // Writes are serialised (bytes of two commands must not interleave); a failed write
      // fails its command and the connection, not the chain.
      const written = this.#writeChain.then(send);
      this.#writeChain = written.catch(() => {});
      written.catch(reject);
    });
  }

  /**
   * Registers the waiter for the next "+" before the bytes that provoke it are written, so a
   * fast server cannot answer before anyone listens. Null: the command ended or the
   * connection died.
   */
  #expectContinuation(owner: Pending): Promise<string | null> {
    if (this.#closedError || !this.#pending.includes(owner)) return Promise.resolve(null);
    return new Promise<string | null>((resolve) => {
      this.#continuation = { owner, resolve };
    });
  }

  /** LOGOUT, then closes the connection and waits until it is released. Never throws. */
  async logout(): Promise<void> {
    if (!this.#closedError) {
      await this.run("LOGOUT", [], {
        claim: (r) => r.kind === "status" && r.status === "BYE",
      }).catch(() => {});
    }
    this.close();
    await this.closed;
  }

  /** Closes the connection at once; pending commands fail with ImapConnectionError. */
  close(): void {
    this.#shutdown(new ImapConnectionError(`Connection to ${this.#where} closed by the client`));
  }
}
