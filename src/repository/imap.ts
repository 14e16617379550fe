/**
 * The IMAP side of an account behind the {@link Repository} interface. This is where a folder
 * becomes a mailbox: folder names are passed to the server verbatim (OfflineIMAP keeps the
 * modified UTF-7 form), flags are translated between Maildir letters and IMAP flags.
 *
 * @module
 */

import {
  authenticateWith,
  ImapAuthError,
  ImapClient,
  ImapCommandError,
  ImapConnectionError,
  ImapTlsError,
} from "../../imap/mod.ts";
import type { ImapRepositoryConfig } from "../config/types.ts";
import { AccountError, FolderError } from "../errors.ts";
import { ImapFolder } from "./imap_folder.ts";
import { decodeMailboxName, encodeMailboxName } from "../../imap/mailbox_name.ts";
import type { Folder, FolderListing, Repository } from "./folder.ts";

/** Run-time settings of an IMAP repository that do not come from its section. */
export interface ImapRuntime {
  /** `socktimeout` in seconds (0: none). */
  readonly sockTimeout: number;
  /** Protocol trace, secrets already masked. */
  readonly log?: (line: string) => void;
  /** Reads a file (for `sslcacertfile` and `remotepassfile`); injectable for tests. */
  readonly readTextFile?: (path: string) => Promise<string>;
  /** Overrides `maxconnections` (`-1` makes it 1). */
  readonly maxConnections?: number;
  /** `--dry-run`: nothing is created; a folder "created" then reads as empty. */
  readonly dryRun?: boolean;
  /** `utf8foldernames`: folder names are UTF-8 here, modified UTF-7 on the wire. */
  readonly utf8FolderNames?: boolean;
  /** `filterheaders`: header fields removed from uploaded messages. */
  readonly filterHeaders?: readonly string[];
}

/** Opens the repository's connection (lazily) and serves its folders. */
export class ImapRepository implements Repository {
  readonly name: string;
  readonly writable: boolean;
  #config: ImapRepositoryConfig;
  #runtime: ImapRuntime;
  #pool: ConnectionPool;
  #dryRunFolders = new Set<string>();
  #sep = ".";

  constructor(config: ImapRepositoryConfig, runtime: ImapRuntime) {
    this.name = config.name;
    this.writable = !config.readonly;
    this.#config = config;
    this.#runtime = runtime;
    this.#pool = new ConnectionPool(
      () => this.#connect(),
      runtime.maxConnections ?? config.maxConnections,
    );
  }

  /** The server's hierarchy delimiter (known after {@link ImapRepository.listFolders}). */
  get sep(): string {
    return this.#sep;
  }

  /** Runs `job` with a pooled, logged-in connection. Throws AccountError when none can be had. */
  async withConnection<T>(job: (client: ImapClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.acquire();
    let broken = false;
    try {
      return await job(client);
    } catch (error) {
      broken = error instanceof ImapConnectionError;
      throw error;
    } finally {
      this.#pool.release(client, broken);
    }
  }

  async #connect(): Promise<ImapClient> {
    const config = this.#config;
    const where = `"${config.host}:${config.port}"`;
    const section = `[Repository ${config.name}]`;
    const read = this.#runtime.readTextFile ?? Deno.readTextFile;
    let ca: string | undefined;
    if (config.caFile) {
      try {
        ca = await read(config.caFile);
      } catch (error) {
        throw new AccountError(`Cannot read CA file "${config.caFile}": ${errorText(error)}`, {
          cause: error,
          hint: `fix sslcacertfile in ${section}`,
        });
      }
    }
    const security = config.ssl ? "tls" : config.starttls ? "starttls" : "plain";
    if (security === "plain" && !config.allowPlaintextAuth) {
      throw new AccountError(
        `Refusing to send credentials to ${where} without encryption`,
        {
          hint:
            `use ssl = yes or starttls = yes in ${section}; to really send the password in clear text set ssl = no, starttls = no and allow_plaintext_auth = yes`,
        },
      );
    }
    let client: ImapClient;
    try {
      client = await ImapClient.connect({
        host: config.host,
        port: config.port,
        security,
        tls: { ca, fingerprints: config.certFingerprints },
        timeoutMs: this.#runtime.sockTimeout * 1000,
        log: this.#runtime.log,
      });
    } catch (error) {
      throw connectError(error, config, section);
    }
    try {
      if (!client.preauthenticated) {
        const user = config.user;
        if (user === undefined) {
          throw new AccountError(`No user name for ${where}`, {
            hint: `set remoteuser in ${section}`,
          });
        }
        const password = await this.#password(read, section);
        const mechanisms = config.authMechanisms.filter((m) => m !== "GSSAPI");
        if (mechanisms.length === 0) {
          throw new AccountError(`GSSAPI authentication is not supported`, {
            hint: `add CRAM-MD5, PLAIN or LOGIN to auth_mechanisms in ${section}`,
          });
        }
        await authenticateWith(client, mechanisms, {
          user,
          password,
          authzid: config.remoteIdentity,
        });
      }
    } catch (error) {
      await client.logout();
      if (error instanceof ImapAuthError) {
        throw new AccountError(`Cannot log in to ${where} as "${config.user}": ${error.message}`, {
          cause: error,
          hint: `check remoteuser and the password options in ${section}`,
        });
      }
      throw error instanceof AccountError ? error : connectError(error, config, section);
    }
    return client;
  }

  async #password(read: (path: string) => Promise<string>, section: string): Promise<string> {
    const source = this.#config.password;
    if (source.kind === "plain" && source.value !== "") return source.value;
    if (source.kind === "file") {
      try {
        const text = await read(source.path);
        return (text.split("\n")[0] ?? "").trim();
      } catch (error) {
        throw new AccountError(
          `Cannot read password file "${source.path}": ${errorText(error)}`,
          { cause: error, hint: `fix remotepassfile in ${section}` },
        );
      }
    }
    throw new AccountError(`No password configured for "${this.#config.host}"`, {
      hint: `set remotepass or remotepassfile in ${section}`,
    });
  }

  async listFolders(): Promise<FolderListing[]> {
    const entries = await this.withConnection((client) =>
      client.list(this.#config.reference, "*", this.#config.subscribedOnly ? "LSUB" : "LIST")
    ).catch((error) => {
      if (error instanceof AccountError) throw error;
      throw new AccountError(`Cannot list folders of "${this.#config.host}": ${errorText(error)}`, {
        cause: error,
      });
    });
    const delimiter = entries.find((e) => e.delimiter !== null)?.delimiter;
    if (delimiter) this.#sep = delimiter;
    const decode = this.#runtime.utf8FolderNames ? decodeMailboxName : (name: string) => name;
    return entries
      .filter((e) => !e.attributes.some((a) => /^\\(noselect|nonexistent)$/i.test(a)))
      .map((e) => ({ name: decode(e.name) }));
  }

  createFolder(name: string): Promise<void> {
    if (this.#runtime.dryRun) {
      this.#dryRunFolders.add(name);
      return Promise.resolve();
    }
    return this.withConnection((client) => this.#create(client, this.#wire(name)));
  }

  /** A folder name as the server knows it. */
  #wire(name: string): string {
    return this.#runtime.utf8FolderNames ? encodeMailboxName(name) : name;
  }

  async #create(client: ImapClient, name: string): Promise<void> {
    const parts = name.split(this.#sep);
    // Create missing ancestors too (OfflineIMAP does); ALREADYEXISTS is fine.
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join(this.#sep);
      try {
        await client.create(path);
      } catch (error) {
        if (error instanceof ImapCommandError && error.status === "NO") {
          if (error.code === "ALREADYEXISTS" || i < parts.length) continue;
          // Some servers say NO without a code when it exists: check before failing.
          const listed = await client.list("", path);
          if (listed.length > 0) continue;
        }
        throw new FolderError(
          `Cannot create folder "${path}" on "${this.#config.host}": ${errorText(error)}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /** Opens a folder on a connection of its own, given back to the pool by `close()`. */
  async openFolder(name: string): Promise<Folder> {
    if (this.#dryRunFolders.has(name)) return emptyFolder(name);
    const client = await this.#pool.acquire();
    return new ImapFolder(
      this.#wire(name),
      client,
      this.#config,
      (broken) => this.#pool.release(client, broken),
      this.#runtime.filterHeaders,
    );
  }

  async close(): Promise<void> {
    await this.#pool.closeAll();
  }
}

/** A folder that does not exist yet (dry run): empty, and never written. */
function emptyFolder(name: string): Folder {
  const refuse = () => Promise.reject(new Error(`Dry run: folder "${name}" does not exist`));
  return {
    name,
    readSnapshot: () => Promise.resolve({ uidValidity: 0, messages: new Map(), unassigned: [] }),
    readMessages: () => Promise.resolve([]),
    storeMessage: refuse,
    assignUid: refuse,
    changeFlags: refuse,
    deleteMessages: refuse,
    close: () => Promise.resolve(),
  };
}

/**
 * Up to `max` logged-in connections, created on demand and reused. A connection that died is
 * dropped instead of being handed out again.
 */
class ConnectionPool {
  #create: () => Promise<ImapClient>;
  #max: number;
  #idle: ImapClient[] = [];
  #count = 0;
  #waiters: Array<() => void> = [];
  #failure: Error | undefined;

  constructor(create: () => Promise<ImapClient>, max: number) {
    this.#create = create;
    this.#max = Math.max(1, max);
  }

  async acquire(): Promise<ImapClient> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const idle = this.#idle.pop();
      if (idle) return idle;
      if (this.#count < this.#max) {
        this.#count++;
        try {
          return await this.#create();
        } catch (error) {
          this.#count--;
          // Every waiter would fail the same way (wrong password, bad certificate): fail fast.
          if (error instanceof AccountError) this.#failure = error;
          this.#wakeOne();
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Gives a connection back; a `broken` one (it saw a connection error) is closed instead. */
  release(client: ImapClient, broken = false): void {
    if (broken) {
      client.close();
      this.#count--;
    } else this.#idle.push(client);
    this.#wakeOne();
  }

  #wakeOne(): void {
    this.#waiters.shift()?.();
  }

  async closeAll(): Promise<void> {
    const idle = this.#idle.splice(0);
    this.#count -= idle.length;
    await Promise.all(idle.map((client) => client.logout()));
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function connectError(error: unknown, config: ImapRepositoryConfig, section: string): Error {
  const where = `"${config.host}:${config.port}"`;
  if (error instanceof ImapTlsError) {
    let hint = `check sslcacertfile in ${section}`;
    if (error.reason === "fingerprint") {
      hint = `if you trust the new certificate, set cert_fingerprint = ${
        error.fingerprintSha256 ?? "<sha256>"
      } in ${section}`;
    } else if (error.reason === "hostname") {
      hint = `use the host name the certificate names in remotehost of ${section}`;
    } else if (error.reason === "verify") {
      hint =
        `set sslcacertfile to the CA that signed the server's certificate in ${section}, or pin it with cert_fingerprint`;
    } else if (error.reason === "starttls") {
      hint = `use ssl = yes in ${section}, or a server that offers STARTTLS`;
    }
    return new AccountError(error.message, { cause: error, hint });
  }
  if (error instanceof ImapConnectionError) {
    return new AccountError(
      `Cannot connect to ${where}: ${error.message.replace(/^Cannot connect to "[^"]*": /, "")}`,
      {
        cause: error,
        hint:
          `check remotehost, remoteport and ssl in ${section}, and that the server is reachable`,
      },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
