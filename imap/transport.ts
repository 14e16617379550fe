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

function describe(host: string, port: number): string {
  return `"${host}:${port}"`;
}

/**
 * A socket read in paused mode: bytes are pulled with `socket.read()` only when the IMAP reader
 * wants them, so the socket's own high-water mark stops reading from the kernel while a slow
 * disk catches up (flowing-mode `data` events plus `pause()` let megabytes pile up).
 */
class SocketTransport implements Transport {
  #socket: net.Socket;
  #host: string;
  #port: number;
  #timeoutMs: number;
  #secure: boolean;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #detach: () => void = () => {};

  constructor(socket: net.Socket, options: TransportOptions) {
    this.#socket = socket;
    this.#host = options.host;
    this.#port = options.port;
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#secure = options.security === "tls";
    this.#attach(socket);
  }

  get buffered(): number {
    return this.#socket.readableLength;
  }

  get secure(): boolean {
    return this.#secure;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #attach(socket: net.Socket): void {
    const onReadable = () => this.#notify();
    const onEnd = () => {
      this.#ended = true;
      this.#notify();
    };
    const onError = (error: Error) => {
      this.#error ??= new ImapConnectionError(
        `Connection to ${describe(this.#host, this.#port)} failed: ${error.message}`,
        { cause: error },
      );
      this.#notify();
    };
    const onTimeout = () => {
      this.#error ??= new ImapConnectionError(
        `Connection to ${describe(this.#host, this.#port)} timed out after ${
          this.#timeoutMs / 1000
        } s without data`,
      );
      socket.destroy();
      this.#notify();
    };
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
    if (this.#timeoutMs > 0) {
      socket.setTimeout(this.#timeoutMs);
      socket.on("timeout", onTimeout);
    }
    this.#detach = () => {
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      socket.off("timeout", onTimeout);
    };
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#socket.read() as Uint8Array | null;
      if (chunk !== null) return chunk;
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
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
    if (this.buffered > 0) {
      throw new ImapTlsError(
        `Refusing STARTTLS with ${
          describe(this.#host, this.#port)
        }: the server sent ${this.buffered} plaintext bytes after its response, which could be injected`,
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
    this.#attach(secured);
  }

  close(): void {
    this.#detach();
    this.#socket.destroy();
    this.#ended = true;
    this.#notify();
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

/** Bytes asked for per read of a native connection. */
const READ_SIZE = 64 * 1024;

/** Where distributions keep the system CA bundle (OfflineIMAP's `OS-DEFAULT` list). */
const SYSTEM_CA_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/usr/local/share/certs/ca-root-nss.crt",
  "/etc/ssl/cert.pem",
];

let systemCa: string[] | undefined | null = null;

/** The system CA bundle, or undefined to use the runtime's built-in roots. */
function systemCaCertificates(): string[] | undefined {
  if (systemCa !== null) return systemCa;
  systemCa = undefined;
  for (const path of SYSTEM_CA_BUNDLES) {
    try {
      systemCa = [Deno.readTextFileSync(path)];
      break;
    } catch {
      // try the next location
    }
  }
  return systemCa;
}

/**
 * A native Deno connection (TCP or TLS). Reads are pulls into a fresh buffer, so nothing is
 * read from the kernel before the IMAP reader asks: a slow disk slows the server down instead
 * of filling memory (Deno's `node:tls` keeps reading ahead by megabytes). Used whenever no
 * certificate fingerprint is pinned; pinning needs the peer certificate, which only `node:tls`
 * exposes.
 */
class NativeTransport implements Transport {
  #conn: Deno.Conn;
  #host: string;
  #port: number;
  #timeoutMs: number;
  #secure: boolean;
  #closed = false;
  #buffer = new Uint8Array(READ_SIZE);

  constructor(conn: Deno.Conn, options: TransportOptions, secure: boolean) {
    this.#conn = conn;
    this.#host = options.host;
    this.#port = options.port;
    this.#timeoutMs = options.timeoutMs ?? 0;
    this.#secure = secure;
  }

  get buffered(): number {
    return 0;
  }

  get secure(): boolean {
    return this.#secure;
  }

  async #guard<T>(operation: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    if (this.#timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        this.close();
      }, this.#timeoutMs);
    }
    try {
      return await operation;
    } catch (error) {
      if (timedOut) {
        throw new ImapConnectionError(
          `Connection to ${describe(this.#host, this.#port)} timed out after ${
            this.#timeoutMs / 1000
          } s without data`,
        );
      }
      throw new ImapConnectionError(
        `Cannot ${what} ${describe(this.#host, this.#port)}: ${errorMessage(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    // One reused read buffer; the bytes are copied out at their real size, because TLS reads
    // often return 4 KB and a fresh 64 KB buffer per read would be mostly garbage.
    const buffer = this.#buffer;
    const n = await this.#guard(this.#conn.read(buffer), "read from").catch((error) => {
      if (this.#closed && !(error.message ?? "").includes("timed out")) return null;
      throw error;
    });
    return n === null ? null : buffer.slice(0, n);
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      offset += await this.#guard(this.#conn.write(data.subarray(offset)), "write to");
    }
  }

  async startTls(options: TlsOptions): Promise<void> {
    if (this.#secure) {
      throw new ImapTlsError("STARTTLS on a connection that is already TLS", "starttls");
    }
    try {
      this.#conn = await Deno.startTls(this.#conn as Deno.TcpConn, {
        hostname: options.servername ?? this.#host,
        caCerts: options.ca !== undefined ? [options.ca] : systemCaCertificates(),
      });
      await (this.#conn as Deno.TlsConn).handshake();
    } catch (error) {
      this.close();
      throw nativeTlsError(error, this.#host, this.#port);
    }
    this.#secure = true;
  }

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

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

function nativeTlsError(error: unknown, host: string, port: number): Error {
  if (error instanceof ImapConnectionError) return error;
  const text = errorMessage(error);
  if (/NotValidForName|not valid for name/i.test(text)) {
    return new ImapTlsError(
      `Cannot verify certificate of ${describe(host, port)}: host name does not match: ${text}`,
      "hostname",
      { cause: error },
    );
  }
  if (/certificate|UnknownIssuer|Expired|BadSignature|issuer/i.test(text)) {
    return new ImapTlsError(
      `Cannot verify certificate of ${describe(host, port)}: ${text}`,
      "verify",
      {
        cause: error,
      },
    );
  }
  if (error instanceof Deno.errors.ConnectionRefused || /refused|unreachable|reset/i.test(text)) {
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

async function connectNative(options: TransportOptions): Promise<Transport> {
  const timeoutMs = options.timeoutMs ?? 0;
  const tlsOptions = options.tls ?? {};
  const abort = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
  try {
    if (options.security === "tls") {
      const conn = await Deno.connectTls({
        hostname: options.host,
        port: options.port,
        caCerts: tlsOptions.ca !== undefined ? [tlsOptions.ca] : systemCaCertificates(),
        cert: tlsOptions.cert,
        key: tlsOptions.key,
      });
      try {
        await conn.handshake();
      } catch (error) {
        conn.close();
        throw error;
      }
      return new NativeTransport(conn, options, true);
    }
    const conn = await Deno.connect({
      hostname: options.host,
      port: options.port,
      signal: abort.signal,
    });
    return new NativeTransport(conn, options, false);
  } catch (error) {
    if (abort.signal.aborted) {
      throw new ImapConnectionError(
        `Cannot connect to ${describe(options.host, options.port)}: timed out after ${
          timeoutMs / 1000
        } s`,
      );
    }
    throw nativeTlsError(error, options.host, options.port);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a connection. With `security: "tls"` the certificate is checked before this resolves;
 * no byte is sent before that. Throws {@link ImapConnectionError} or {@link ImapTlsError}.
 */
export async function connectTransport(options: TransportOptions): Promise<Transport> {
  if ((options.tls?.fingerprints ?? []).length === 0 && options.tls?.minVersion === undefined) {
    return await connectNative(options);
  }
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
