/**
 * The default byte pipe: a native Deno connection (TCP, TLS, STARTTLS). Reads are pulls, so
 * nothing is read from the kernel before the IMAP reader asks: a slow disk slows the server
 * down instead of filling memory (Deno's `node:tls` keeps reading ahead by megabytes), and no
 * plaintext byte can be read ahead of a STARTTLS upgrade.
 *
 * Native TLS cannot expose the peer certificate, pin a fingerprint, set a minimum protocol
 * version, or present a client certificate on STARTTLS: `transport.ts` uses `node:tls` then.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { describeEndpoint, errorText, ImapConnectionError, ImapTlsError } from "./errors.ts";
import type { TlsOptions, Transport, TransportOptions } from "./transport_types.ts";

/** Bytes asked for per read. */
const READ_SIZE = 64 * 1024;
/** Bytes of one read slab (see `NativeTransport.#slab`). */
const SLAB_SIZE = 512 * 1024;

/** Where distributions keep the system CA bundle (OfflineIMAP's `OS-DEFAULT` list). */
const SYSTEM_CA_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/usr/local/share/certs/ca-root-nss.crt",
  "/etc/ssl/cert.pem",
];

let systemCa: Promise<string[] | undefined> | undefined;

/**
 * The system CA bundle (read once), or undefined to use the runtime's built-in roots when no
 * bundle exists at a known place.
 */
export function systemCaCertificates(): Promise<string[] | undefined> {
  systemCa ??= (async () => {
    for (const path of SYSTEM_CA_BUNDLES) {
      try {
        return [await Deno.readTextFile(path)];
      } catch {
        // try the next location
      }
    }
    return undefined;
  })();
  return systemCa;
}

/** Trust anchors for a connection: the given CA, or the system store. */
async function trustAnchors(tls: TlsOptions): Promise<string[] | undefined> {
  return tls.ca !== undefined ? [tls.ca] : await systemCaCertificates();
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Resolves `host` to an address of the wanted family (getaddrinfo, so /etc/hosts counts). */
export async function resolveFamily(host: string, family: 4 | 6 | undefined): Promise<string> {
  if (family === undefined) return host;
  const literal = IPV4.test(host) ? 4 : host.includes(":") ? 6 : 0;
  if (literal !== 0) {
    if (literal !== family) {
      throw new ImapConnectionError(
        `Cannot connect to "${host}" over IPv${family}: it is an IPv${literal} address`,
      );
    }
    return host;
  }
  try {
    return (await lookup(host, { family })).address;
  } catch (error) {
    throw new ImapConnectionError(
      `Cannot resolve "${host}" to an IPv${family} address: ${errorText(error)}`,
      { cause: error },
    );
  }
}

/** Runs `operation`; after `ms` (0: never) calls `onTimeout` and throws a timeout error. */
async function withTimeout<T>(
  operation: Promise<T>,
  ms: number,
  onTimeout: () => void,
  message: () => string,
): Promise<T> {
  if (ms <= 0) return await operation;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ImapConnectionError(message()));
    }, ms);
  });
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A native Deno connection behind the {@link Transport} interface. */
class NativeTransport implements Transport {
  #conn: Deno.Conn;
  #host: string;
  #port: number;
  #timeoutMs: number;
  #secure: boolean;
  #closed = false;
  /**
   * Reads land in a slab, one after the other, and are handed out as views: no copy, and one
   * allocation per {@link SLAB_SIZE} bytes instead of one per (often 4 KB) TLS read. A byte is
   * never written again once handed out, so the views stay valid; a slab lives as long as a view
   * of it does.
   */
  #slab = new Uint8Array(SLAB_SIZE);
  #offset = 0;
  readonly closed: Promise<void> = Promise.resolve();

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

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    if (this.#slab.length - this.#offset < READ_SIZE) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#offset = 0;
    }
    const slab = this.#slab;
    const start = this.#offset;
    let n: number | null;
    try {
      n = await this.#conn.read(slab.subarray(start, start + READ_SIZE));
    } catch (error) {
      // close() while a read waits ends the read with BadResource/Interrupted.
      if (this.#closed) return null;
      throw new ImapConnectionError(
        `Cannot read from ${describeEndpoint(this.#host, this.#port)}: ${errorText(error)}`,
        { cause: error },
      );
    }
    if (n === null) return null;
    this.#offset = start + n;
    return slab.subarray(start, start + n);
  }

  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < data.length) offset += await this.#conn.write(data.subarray(offset));
    } catch (error) {
      throw new ImapConnectionError(
        `Cannot write to ${describeEndpoint(this.#host, this.#port)}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  async startTls(options: TlsOptions): Promise<void> {
    if (this.#secure) {
      throw new ImapTlsError("STARTTLS on a connection that is already TLS", "starttls");
    }
    this.#conn = await upgrade(
      this.#conn as Deno.TcpConn,
      this.#host,
      this.#port,
      options,
      this.#timeoutMs,
    );
    this.#secure = true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}

/** Closes a connection that may already be closed. */
function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

/** TLS over an open TCP connection, handshake done and certificate verified. */
async function upgrade(
  tcp: Deno.TcpConn,
  host: string,
  port: number,
  options: TlsOptions,
  timeoutMs: number,
): Promise<Deno.TlsConn> {
  let conn: Deno.Conn = tcp;
  try {
    const tls = await Deno.startTls(tcp, {
      hostname: options.servername ?? host,
      caCerts: await trustAnchors(options),
    });
    conn = tls;
    await withTimeout(
      tls.handshake(),
      timeoutMs,
      () => closeQuietly(conn),
      () =>
        `TLS handshake with ${describeEndpoint(host, port)} timed out after ${timeoutMs / 1000} s`,
    );
    return tls;
  } catch (error) {
    closeQuietly(conn);
    throw nativeTlsError(error, host, port);
  }
}

/** Classifies a native connect or handshake failure. */
function nativeTlsError(error: unknown, host: string, port: number): Error {
  if (error instanceof ImapConnectionError) return error;
  const text = errorText(error);
  const where = describeEndpoint(host, port);
  if (/NotValidForName|not valid for name/i.test(text)) {
    return new ImapTlsError(
      `Cannot verify certificate of ${where}: host name does not match: ${text}`,
      "hostname",
      { cause: error },
    );
  }
  if (/certificate|UnknownIssuer|Expired|BadSignature|issuer/i.test(text)) {
    return new ImapTlsError(`Cannot verify certificate of ${where}: ${text}`, "verify", {
      cause: error,
    });
  }
  if (error instanceof Deno.errors.ConnectionRefused || /refused|unreachable|reset/i.test(text)) {
    return new ImapConnectionError(`Cannot connect to ${where}: ${text}`, { cause: error });
  }
  return new ImapTlsError(`TLS handshake with ${where} failed: ${text}`, "handshake", {
    cause: error,
  });
}

/** A TCP connection, abandoned after `timeoutMs` (0: the OS's own timeout). */
async function connectTcp(options: TransportOptions): Promise<Deno.TcpConn> {
  const timeoutMs = options.timeoutMs ?? 0;
  const hostname = await resolveFamily(options.host, options.family);
  const abort = new AbortController();
  const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
  try {
    return await Deno.connect({ hostname, port: options.port, signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) {
      throw new ImapConnectionError(
        `Cannot connect to ${describeEndpoint(options.host, options.port)}: timed out after ${
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
 * Implicit TLS with a client certificate: `Deno.startTls` cannot present one, so
 * `Deno.connectTls` is used, with the timeout enforced around it.
 */
async function connectTlsWithClientCert(options: TransportOptions): Promise<Deno.TlsConn> {
  const tls = options.tls ?? {};
  const timeoutMs = options.timeoutMs ?? 0;
  const caCerts = await trustAnchors(tls);
  let conn: Deno.TlsConn | undefined;
  let timedOut = false;
  const attempt = (async () => {
    const opened = await Deno.connectTls({
      hostname: options.host,
      port: options.port,
      caCerts,
      cert: tls.cert!,
      key: tls.key!,
    });
    // A connection that completes after the timeout must still be closed.
    if (timedOut) closeQuietly(opened);
    conn = opened;
    try {
      await opened.handshake();
    } catch (error) {
      closeQuietly(opened);
      throw error;
    }
    return opened;
  })();
  attempt.catch(() => {});
  try {
    return await withTimeout(
      attempt,
      timeoutMs,
      () => {
        timedOut = true;
        closeQuietly(conn);
      },
      () =>
        `Cannot connect to ${describeEndpoint(options.host, options.port)}: timed out after ${
          timeoutMs / 1000
        } s`,
    );
  } catch (error) {
    throw nativeTlsError(error, options.host, options.port);
  }
}

/**
 * Opens a native connection. With `security: "tls"` the certificate is verified (against
 * `tls.ca` or the system store, with the host name) before this resolves. Does not support
 * fingerprints, protocol versions, or a client certificate together with `family` or STARTTLS:
 * the caller routes those to `node:tls`.
 */
export async function connectNative(options: TransportOptions): Promise<Transport> {
  const tls = options.tls ?? {};
  if (options.security === "tls" && tls.cert !== undefined) {
    return new NativeTransport(await connectTlsWithClientCert(options), options, true);
  }
  const tcp = await connectTcp(options);
  if (options.security === "plain") return new NativeTransport(tcp, options, false);
  const conn = await upgrade(tcp, options.host, options.port, tls, options.timeoutMs ?? 0);
  return new NativeTransport(conn, options, true);
}
