/**
 * The byte pipe under an IMAP connection: TCP (`node:net`), TLS (`node:tls`), the STARTTLS
 * upgrade, certificate and fingerprint checks, timeouts, and command tunnels.
 *
 * This is the only file of the project that touches `node:net` or `node:tls`, and the only place
 * where certificates are judged.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { createHash } from "node:crypto";
import { ImapConnectionError, ImapTlsError } from "./errors.ts";

/** How the server's certificate is checked and what we present. */
export interface TlsOptions {
  /** Name checked against the certificate and sent as SNI; defaults to the host. */
  readonly servername?: string;
  /** Trusted CA certificates (PEM text). Undefined: the system store. */
  readonly ca?: string;
  /**
   * Accepted certificate fingerprints: lower-case hex without colons, of SHA-1, SHA-224,
   * SHA-256, SHA-384 or SHA-512 over the DER certificate. When non-empty, a matching
   * fingerprint is the only check (a self-signed certificate is fine) and a mismatch is refused.
   */
  readonly fingerprints?: readonly string[];
  /** Lowest protocol version accepted. */
  readonly minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Highest protocol version offered. */
  readonly maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Client certificate and key (PEM text). */
  readonly cert?: string;
  readonly key?: string;
}

/** Where and how to connect. */
export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  /** `tls`: implicit TLS from the first byte; `plain`: cleartext (STARTTLS may follow). */
  readonly security: "tls" | "plain";
  readonly tls?: TlsOptions;
  /** 4 or 6 to force an address family. */
  readonly family?: 4 | 6;
  /** Idle timeout for connect, each read and each write, in milliseconds; 0 = none. */
  readonly timeoutMs?: number;
}

/** Reading pauses the socket above this many queued bytes, and resumes below a quarter. */
const HIGH_WATER = 1 << 20;

/** The hash names OfflineIMAP accepts for `cert_fingerprint`, by hex length. */
const FINGERPRINT_HASHES: ReadonlyArray<readonly [number, string]> = [
  [40, "sha1"],
  [56, "sha224"],
  [64, "sha256"],
  [96, "sha384"],
  [128, "sha512"],
];

/** A bidirectional byte stream with pull-style reads and backpressure. */
export interface Transport {
  /** Next chunk of bytes, or null at end of stream. Throws {@link ImapConnectionError}. */
  read(): Promise<Uint8Array | null>;
  /** Writes all bytes; resolves when handed to the OS. */
  write(data: Uint8Array): Promise<void>;
  /** Bytes received but not yet read (STARTTLS must find none: they would be injected). */
  readonly buffered: number;
  /** Upgrades to TLS in place (STARTTLS). Only for plain sockets. */
  startTls(options: TlsOptions): Promise<void>;
  /** Whether the stream is encrypted. */
  readonly secure: boolean;
  /** Closes the stream; never throws. */
  close(): void;
}

/** Computes the hex fingerprint of a DER certificate with the given hash. */
export function certificateFingerprint(der: Uint8Array, hash = "sha256"): string {
  return createHash(hash).update(der).digest("hex");
}

/** Normalises a user-written fingerprint: lower case, no colons or spaces. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/[:\s]/g, "").toLowerCase();
}

class QueueReader {
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #paused = false;
  #pause: () => void;
  #resume: () => void;

  constructor(pause: () => void, resume: () => void) {
    this.#pause = pause;
    this.#resume = resume;
  }

  get buffered(): number {
    return this.#queued;
  }

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (!this.#paused && this.#queued > HIGH_WATER) {
      this.#paused = true;
      this.#pause();
    }
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.#notify();
  }

  /** Swaps the pause/resume pair after a STARTTLS upgrade. */
  retarget(pause: () => void, resume: () => void): void {
    this.#pause = pause;
    this.#resume = resume;
    this.#paused = false;
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#queued -= chunk.length;
        if (this.#paused && this.#queued < HIGH_WATER / 4) {
          this.#paused = false;
          this.#resume();
        }
        return chunk;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function describe(host: string, port: number): string {
  return `"${host}:${port}"`;
}

class SocketTransport implements Transport {
  #socket: net.Socket;
  #queue: QueueReader;
  #host: string;
  #port: number;
  #timeoutMs: number;
  #secure: boolean;
  #detach: () => void = () => {};

  constructor(socket: net.Socket, options: TransportOptions) {
    this.#socket = socket;
    this.#host = options.host;
    this.#port = options.port;
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#secure = options.security === "tls";
    this.#queue = new QueueReader(() => socket.pause(), () => socket.resume());
    this.#attach(socket);
  }

  get buffered(): number {
    return this.#queue.buffered;
  }

  get secure(): boolean {
    return this.#secure;
  }

  #attach(socket: net.Socket): void {
    const onData = (data: Uint8Array) => this.#queue.push(data);
    const onEnd = () => this.#queue.end();
    const onClose = () => this.#queue.end();
    const onError = (error: Error) =>
      this.#queue.fail(
        new ImapConnectionError(
          `Connection to ${describe(this.#host, this.#port)} failed: ${error.message}`,
          { cause: error },
        ),
      );
    const onTimeout = () => {
      this.#queue.fail(
        new ImapConnectionError(
          `Connection to ${describe(this.#host, this.#port)} timed out after ${
            this.#timeoutMs / 1000
          } s without data`,
        ),
      );
      socket.destroy();
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onClose);
    socket.on("error", onError);
    if (this.#timeoutMs > 0) {
      socket.setTimeout(this.#timeoutMs);
      socket.on("timeout", onTimeout);
    }
    this.#detach = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onClose);
      socket.off("error", onError);
      socket.off("timeout", onTimeout);
    };
  }

  read(): Promise<Uint8Array | null> {
    return this.#queue.read();
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error?: Error | null) => {
        if (error) {
          reject(
            new ImapConnectionError(
              `Cannot write to ${describe(this.#host, this.#port)}: ${error.message}`,
              { cause: error },
            ),
          );
        } else resolve();
      });
    });
  }

  async startTls(options: TlsOptions): Promise<void> {
    if (this.#secure) {
      throw new ImapTlsError("STARTTLS on a connection that is already TLS", "starttls");
    }
    if (this.#queue.buffered > 0) {
      throw new ImapTlsError(
        `Refusing STARTTLS with ${
          describe(this.#host, this.#port)
        }: the server sent ${this.#queue.buffered} plaintext bytes after its response, which could be injected`,
        "starttls",
      );
    }
    this.#detach();
    this.#socket.setTimeout(0);
    const secured = await secureSocket(
      { socket: this.#socket },
      this.#host,
      this.#port,
      options,
      this.#timeoutMs,
    );
    this.#socket = secured;
    this.#secure = true;
    this.#queue.retarget(() => secured.pause(), () => secured.resume());
    this.#attach(secured);
  }

  close(): void {
    this.#detach();
    this.#socket.destroy();
    this.#queue.end();
  }
}

function secureSocket(
  base: { socket?: net.Socket; host?: string; port?: number; family?: number },
  host: string,
  port: number,
  options: TlsOptions,
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  const fingerprints = (options.fingerprints ?? []).map(normalizeFingerprint);
  const servername = options.servername ?? host;
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = tls.connect({
      ...base,
      servername: net.isIP(servername) ? undefined : servername,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      // With pinned fingerprints the pin is the whole check (OfflineIMAP semantics), so the
      // chain is not verified here; without, Node verifies chain and host name.
      rejectUnauthorized: fingerprints.length === 0,
      checkServerIdentity: (name, cert) =>
        tls.checkServerIdentity(net.isIP(servername) ? servername : name, cert),
    });
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };
    const timer = timeoutMs > 0
      ? setTimeout(
        () =>
          fail(
            new ImapConnectionError(
              `TLS handshake with ${describe(host, port)} timed out after ${timeoutMs / 1000} s`,
            ),
          ),
        timeoutMs,
      )
      : undefined;
    socket.once("error", (error: Error & { code?: string }) => {
      clearTimeout(timer);
      fail(tlsError(error, host, port));
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      if (settled) return;
      const der = socket.getPeerCertificate(true)?.raw as Uint8Array | undefined;
      const actual = der ? certificateFingerprint(der) : undefined;
      if (fingerprints.length > 0) {
        const ok = der !== undefined && fingerprints.some((wanted) => {
          const hash = FINGERPRINT_HASHES.find(([length]) => length === wanted.length)?.[1];
          return hash !== undefined && certificateFingerprint(der, hash) === wanted;
        });
        if (!ok) {
          return fail(
            new ImapTlsError(
              `Cannot verify certificate of ${
                describe(host, port)
              }: fingerprint does not match (server's SHA-256 fingerprint is ${
                actual ?? "unknown"
              })`,
              "fingerprint",
              { fingerprintSha256: actual },
            ),
          );
        }
      }
      settled = true;
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

const VERIFY_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
]);

function tlsError(error: Error & { code?: string }, host: string, port: number): Error {
  if (error instanceof ImapConnectionError) return error;
  const text = error.message.replace(/\.$/, "");
  if (error.code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new ImapTlsError(
      `Cannot verify certificate of ${describe(host, port)}: host name does not match: ${text}`,
      "hostname",
      { cause: error },
    );
  }
  if (
    (error.code && VERIFY_CODES.has(error.code)) || /certificate|self.signed|issuer/i.test(text)
  ) {
    return new ImapTlsError(
      `Cannot verify certificate of ${describe(host, port)}: ${text}`,
      "verify",
      { cause: error },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT/.test(error.code ?? text)) {
    return new ImapConnectionError(`Cannot connect to ${describe(host, port)}: ${text}`, {
      cause: error,
    });
  }
  return new ImapTlsError(
    `TLS handshake with ${describe(host, port)} failed: ${text}`,
    "handshake",
    {
      cause: error,
    },
  );
}

/**
 * Opens a connection. With `security: "tls"` the certificate is checked before this resolves;
 * no byte is sent before that. Throws {@link ImapConnectionError} or {@link ImapTlsError}.
 */
export async function connectTransport(options: TransportOptions): Promise<Transport> {
  const timeoutMs = options.timeoutMs ?? 0;
  if (options.security === "tls") {
    const socket = await secureSocket(
      { host: options.host, port: options.port, family: options.family },
      options.host,
      options.port,
      options.tls ?? {},
      timeoutMs,
    );
    return new SocketTransport(socket, options);
  }
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, family: options.family });
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        socket.destroy();
        reject(
          new ImapConnectionError(
            `Cannot connect to ${describe(options.host, options.port)}: timed out after ${
              timeoutMs / 1000
            } s`,
          ),
        );
      }, timeoutMs)
      : undefined;
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(
        new ImapConnectionError(
          `Cannot connect to ${describe(options.host, options.port)}: ${error.message}`,
          { cause: error },
        ),
      );
    });
  });
  return new SocketTransport(socket, options);
}

/**
 * Runs `command` with `/bin/sh -c` and speaks IMAP over its stdin/stdout (OfflineIMAP's
 * `preauthtunnel` and `transporttunnel`). The tunnel is considered secure: it is the user's
 * own channel.
 */
export function spawnTunnel(command: string): Transport {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", command],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  let closed = false;
  return {
    get buffered() {
      return 0;
    },
    secure: true,
    async read() {
      try {
        const { value, done } = await reader.read();
        return done ? null : value;
      } catch (error) {
        if (closed) return null;
        throw new ImapConnectionError(`Tunnel "${command}" failed: ${String(error)}`, {
          cause: error,
        });
      }
    },
    async write(data) {
      try {
        await writer.write(data);
      } catch (error) {
        throw new ImapConnectionError(`Cannot write to tunnel "${command}": ${String(error)}`, {
          cause: error,
        });
      }
    },
    startTls() {
      return Promise.reject(new ImapTlsError("STARTTLS is not possible over a tunnel", "starttls"));
    },
    close() {
      if (closed) return;
      closed = true;
      writer.close().catch(() => {});
      reader.cancel().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      child.status.catch(() => {});
    },
  };
}
