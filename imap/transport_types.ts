/**
 * The shapes of the byte pipe under a connection, shared by `transport.ts` (node:tls) and
 * `native_transport.ts` (Deno), and by the tunnel.
 *
 * @module
 */

/** How the server's certificate is checked and what we present. */
export interface TlsOptions {
  /** Name checked against the certificate and sent as SNI; defaults to the host. */
  readonly servername?: string;
  /** Trusted CA certificates (PEM text). Undefined: the system store. */
  readonly ca?: string;
  /**
   * Accepted certificate fingerprints: hex, with or without colons, any case, of SHA-1,
   * SHA-224, SHA-256, SHA-384 or SHA-512 over the DER certificate (told apart by length).
   * When non-empty, a matching fingerprint is the only check (a self-signed certificate is
   * fine) and a mismatch is refused with the server's SHA-256 fingerprint in the error.
   */
  readonly fingerprints?: readonly string[];
  /** Lowest protocol version accepted. */
  readonly minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Highest protocol version offered. */
  readonly maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Client certificate (PEM text); requires {@link TlsOptions.key}. */
  readonly cert?: string;
  /** Private key of the client certificate (PEM text). */
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
  /**
   * Timeout for the TCP connect and for each TLS handshake, in milliseconds; 0 = none. Read
   * and write timeouts are the connection's business (it knows when a reply is due).
   */
  readonly timeoutMs?: number;
}

/** A bidirectional byte stream with pull-style reads and backpressure. */
export interface Transport {
  /**
   * Next chunk of bytes (the caller's to keep: never reused), or null at end of stream or
   * after `close()`. Throws {@link ImapConnectionError}. One read at a time.
   */
  read(): Promise<Uint8Array | null>;
  /** Writes all bytes; resolves when handed to the OS. */
  write(data: Uint8Array): Promise<void>;
  /** Bytes received but not yet read (STARTTLS must find none: they would be injected). */
  readonly buffered: number;
  /** Upgrades to TLS in place (STARTTLS). Only for plain sockets. */
  startTls(options: TlsOptions): Promise<void>;
  /** Whether the stream is encrypted. */
  readonly secure: boolean;
  /** Closes the stream and ends a pending read; never throws. */
  close(): void;
  /** Resolves once closed and every OS resource is released (a tunnel's process reaped). */
  readonly closed: Promise<void>;
}
