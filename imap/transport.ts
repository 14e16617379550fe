/**
 * The byte pipe under an IMAP connection. {@link connectTransport} picks the native Deno
 * connection (`native_transport.ts`) by default and `node:tls`/`node:net` only for what native
 * TLS cannot do: pinned fingerprints (they need the peer certificate), a minimum or maximum
 * protocol version, and a client certificate on STARTTLS or with a forced address family.
 *
 * This is the only file of the project that touches `node:net` or `node:tls`, and with
 * `native_transport.ts` the only place where certificates are judged.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { createHash } from "node:crypto";
import { describeEndpoint, ImapConnectionError, ImapTlsError } from "./errors.ts";
import { connectNative, resolveFamily, systemCaCertificates } from "./native_transport.ts";
import type { TlsOptions, Transport, TransportOptions } from "./transport_types.ts";

export type { TlsOptions, Transport, TransportOptions } from "./transport_types.ts";

/** The hash names OfflineIMAP accepts for `cert_fingerprint`, by hex length. */
const FINGERPRINT_HASHES: ReadonlyArray<readonly [number, string]> = [
  [40, "sha1"],
  [56, "sha224"],
  [64, "sha256"],
  [96, "sha384"],
  [128, "sha512"],
];

/** Computes the hex fingerprint of a DER certificate with the given hash. */
export function certificateFingerprint(der: Uint8Array, hash = "sha256"): string {
  return createHash(hash).update(der).digest("hex");
}

/** Normalises a user-written fingerprint: lower case, no colons or spaces. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/[:\s]/g, "").toLowerCase();
}

const describe = describeEndpoint;

/**
 * A `node:net`/`node:tls` socket read in paused mode: bytes are pulled with `socket.read()`
 * only when the IMAP reader wants them, so the socket's own high-water mark stops reading from
 * the kernel while a slow disk catches up (flowing-mode `data` events plus `pause()` let
 * megabytes pile up).
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
  #ca: string[] | undefined;
  #closedResolve!: () => void;
  readonly closed: Promise<void> = new Promise((resolve) => this.#closedResolve = resolve);

  constructor(socket: net.Socket, options: TransportOptions, ca: string[] | undefined) {
    this.#socket = socket;
    this.#ca = ca;
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
    const onClose = () => {
      onEnd();
      this.#closedResolve();
    };
    const onError = (error: Error) => {
      this.#error ??= new ImapConnectionError(
        `Connection to ${describe(this.#host, this.#port)} failed: ${error.message}`,
        { cause: error },
      );
      this.#notify();
    };
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
    socket.on("close", onClose);
    socket.on("error", onError);
    this.#detach = () => {
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
      socket.off("close", onClose);
      socket.off("error", onError);
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
    const plain = this.#socket;
    // The TLS socket owns the plain one from now on; "close" of the TLS socket ends both.
    const secured = await secureSocket(
      { socket: plain },
      this.#host,
      this.#port,
      options,
      this.#timeoutMs,
      options.ca !== undefined ? [options.ca] : this.#ca,
    ).catch((error) => {
      plain.destroy();
      this.#closedResolve();
      throw error;
    });
    this.#socket = secured;
    this.#secure = true;
    this.#attach(secured);
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#notify();
    if (this.#socket.destroyed && this.#socket.closed) this.#closedResolve();
  }
}

/** Opens or upgrades a `node:tls` socket and checks the certificate or the pinned fingerprint. */
function secureSocket(
  base: { socket?: net.Socket; host?: string; port?: number },
  host: string,
  port: number,
  options: TlsOptions,
  timeoutMs: number,
  ca: string[] | undefined = options.ca !== undefined ? [options.ca] : undefined,
): Promise<tls.TLSSocket> {
  const fingerprints = (options.fingerprints ?? []).map(normalizeFingerprint);
  const servername = options.servername ?? host;
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = tls.connect({
      ...base,
      servername: net.isIP(servername) ? undefined : servername,
      ca,
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
      if (fingerprints.length > 0) {
        const actual = der ? certificateFingerprint(der) : undefined;
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

/** Classifies a `node:tls` failure. */
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
  if (error.code === "ECONNRESET" || /disconnected before secure TLS/.test(text)) {
    // The TCP connection was up: the server gave up on the handshake (version, ciphers, ...).
    return new ImapTlsError(
      `TLS handshake with ${describe(host, port)} failed: the server closed the connection`,
      "handshake",
      { cause: error },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(error.code ?? text)) {
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

/** A `node:net` TCP connection, abandoned after `timeoutMs` (0: the OS's own timeout). */
async function connectNodeTcp(options: TransportOptions): Promise<net.Socket> {
  const timeoutMs = options.timeoutMs ?? 0;
  const where = describe(options.host, options.port);
  const address = await resolveFamily(options.host, options.family);
  return await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: address, port: options.port });
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        socket.destroy();
        reject(
          new ImapConnectionError(
            `Cannot connect to ${where}: timed out after ${timeoutMs / 1000} s`,
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
        new ImapConnectionError(`Cannot connect to ${where}: ${error.message}`, { cause: error }),
      );
    });
  });
}

/** Whether native Deno TLS can do everything `options` asks for. */
function nativeCan(options: TransportOptions): boolean {
  const tls = options.tls ?? {};
  if ((tls.fingerprints ?? []).length > 0) return false;
  if (tls.minVersion !== undefined || tls.maxVersion !== undefined) return false;
  // Deno.startTls cannot present a client certificate; Deno.connectTls cannot force a family.
  if (tls.cert !== undefined && (options.security === "plain" || options.family !== undefined)) {
    return false;
  }
  return true;
}

/**
 * Opens a connection. With `security: "tls"` the certificate is checked before this resolves;
 * no byte is sent before that. Throws {@link ImapConnectionError} or {@link ImapTlsError};
 * a client certificate without its key is a TypeError.
 */
export async function connectTransport(options: TransportOptions): Promise<Transport> {
  if ((options.tls?.cert === undefined) !== (options.tls?.key === undefined)) {
    throw new TypeError("Cannot use a client certificate without its key, or a key alone");
  }
  if (nativeCan(options)) return await connectNative(options);
  const ca = options.tls?.ca !== undefined ? [options.tls.ca] : await systemCaCertificates();
  if (options.security === "tls") {
    const socket = await secureSocket(
      { host: await resolveFamily(options.host, options.family), port: options.port },
      options.host,
      options.port,
      options.tls ?? {},
      options.timeoutMs ?? 0,
      ca,
    );
    return new SocketTransport(socket, options, ca);
  }
  return new SocketTransport(await connectNodeTcp(options), options, ca);
}
