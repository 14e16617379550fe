/**
 * The IMAP side of an account behind the {@link Repository} interface. This is where a folder
 * becomes a mailbox: folder names are passed to the server verbatim (OfflineIMAP keeps the
 * modified UTF-7 form), flags are translated between Maildir letters and IMAP flags.
 *
 * @module
 */

import {
  authenticateWith,
  decodeMailboxName,
  encodeMailboxName,
  ImapAuthError,
  ImapClient,
  ImapCommandError,
  ImapConnectionError,
  ImapTlsError,
  refreshAccessToken,
} from "../../imap/mod.ts";
import type { ImapRepositoryConfig } from "../config/types.ts";
import { AccountError, FolderError } from "../errors.ts";
import { ImapFolder } from "./imap_folder.ts";
import { resolveHost, resolvePassword, resolvePort, resolveUser } from "../config/passwords.ts";
import type { Folder, FolderListing, FolderSummary, Repository } from "./folder.ts";

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
  /** `customflag_*` of the local Maildir (keywords → letters on download). */
  readonly customFlags?: Readonly<Record<string, string>>;
  /** Whether a password may be asked on the terminal (ttyui only). */
  readonly interactive?: boolean;
  /** UI name, for "this UI cannot ask" messages. */
  readonly uiName?: string;
  /** Warnings (insecure password files). */
  readonly warn?: (message: string) => void;
}

/** Opens the repository's connection (lazily) and serves its folders. */
export class ImapRepository implements Repository {
  readonly name: string;
  readonly writable: boolean;
  #config: ImapRepositoryConfig;
  #runtime: ImapRuntime;
  #pool: ConnectionPool;
  #token: { value: string; renewAt: number } | undefined;
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
    const section = `[Repository ${config.name}]`;
    const read = this.#runtime.readTextFile ?? Deno.readTextFile;
    const readOption = async (path: string | undefined, option: string) => {
      if (path === undefined) return undefined;
      try {
        return await read(path);
      } catch (error) {
        throw new AccountError(`Cannot read ${option} "${path}": ${errorText(error)}`, {
          cause: error,
          hint: `fix ${option} in ${section}`,
        });
      }
    };
    const ca = await readOption(config.caFile, "sslcacertfile");
    const cert = await readOption(config.clientCert, "sslclientcert");
    const key = await readOption(config.clientKey, "sslclientkey");
    const host = await resolveHost(config);
    const port = await resolvePort(config);
    const where = `"${host}:${port}"`;
    const tunnel = config.preauthTunnel !== undefined
      ? { command: config.preauthTunnel, kind: "preauth" as const }
      : config.transportTunnel !== undefined
      ? { command: config.transportTunnel, kind: "transport" as const }
      : undefined;
    const security = config.ssl ? "tls" : config.starttls ? "starttls" : "plain";
    if (security === "plain" && tunnel === undefined && !config.allowPlaintextAuth) {
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
        host,
        port,
        security,
        tls: {
          ca,
          cert,
          key,
          fingerprints: config.certFingerprints,
          minVersion: config.tlsMinVersion,
          servername: host,
        },
        family: config.ipv6 === undefined ? undefined : config.ipv6 ? 6 : 4,
        tunnel,
        allowInsecureAuth: config.allowPlaintextAuth,
        timeoutMs: this.#runtime.sockTimeout * 1000,
        log: this.#runtime.log,
      });
    } catch (error) {
      throw connectError(error, config, section, host, port);
    }
    let user: string | undefined;
    try {
      if (!client.preauthenticated) {
        user = await resolveUser(config, { host, warn: this.#runtime.warn });
        if (user === undefined) {
          throw new AccountError(`No user name for ${where}`, {
            hint: `set remoteuser in ${section} (or a login in ~/.netrc)`,
          });
        }
        const mechanisms = config.authMechanisms.filter((m) => m !== "GSSAPI");
        if (mechanisms.length === 0) {
          throw new AccountError(`GSSAPI authentication is not supported`, {
            hint: `add XOAUTH2, CRAM-MD5, PLAIN or LOGIN to auth_mechanisms in ${section}`,
          });
        }
        const accessToken = await this.#accessToken(mechanisms);
        const needsPassword = mechanisms.some((m) => m !== "XOAUTH2") &&
          !(accessToken !== undefined && mechanisms[0] === "XOAUTH2" && client.has("AUTH=XOAUTH2"));
        const password = needsPassword
          ? await resolvePassword(config, {
            interactive: this.#runtime.interactive ?? false,
            uiName: this.#runtime.uiName,
            user,
            host,
            warn: this.#runtime.warn,
          })
          : undefined;
        await authenticateWith(client, mechanisms, {
          user,
          password,
          accessToken,
          authzid: config.remoteIdentity,
        });
      }
    } catch (error) {
      await client.logout();
      if (error instanceof ImapAuthError) {
        throw new AccountError(`Cannot log in to ${where} as "${user}": ${error.message}`, {
          cause: error,
          hint: `check remoteuser and the password options in ${section}`,
        });
      }
      throw error instanceof AccountError
        ? error
        : connectError(error, config, section, host, port);
    }
    return client;
  }

  /** The XOAUTH2 access token: fixed, or fetched with the refresh token (cached until half-life). */
  async #accessToken(mechanisms: readonly string[]): Promise<string | undefined> {
    const oauth = this.#config.oauth2;
    if (oauth === undefined || !mechanisms.includes("XOAUTH2")) return undefined;
    const fixed = await oauth.accessToken?.();
    if (fixed) return fixed;
    if (this.#token && this.#token.renewAt > Date.now()) return this.#token.value;
    const refresh = await oauth.refreshToken?.();
    if (!refresh) return undefined;
    const section = `[Repository ${this.#config.name}]`;
    if (!oauth.requestUrl) {
      throw new AccountError(`No OAuth2 token endpoint for repository "${this.#config.name}"`, {
        hint: `set oauth2_request_url in ${section}`,
      });
    }
    let token;
    try {
      // The library does the form POST (with a timeout, never showing the secrets).
      token = await refreshAccessToken({
        url: oauth.requestUrl,
        clientId: (await oauth.clientId?.()) ?? "",
        clientSecret: await oauth.clientSecret?.(),
        refreshToken: refresh,
      });
    } catch (error) {
      throw new AccountError(errorText(error), {
        cause: error,
        hint: `check the oauth2_* options in ${section}`,
      });
    }
    // Renewed when half of its lifetime has passed (OfflineIMAP's rule; 1 h when unknown).
    const lifetime = token.expiresAt ? token.expiresAt.getTime() - Date.now() : 3600_000;
    this.#token = { value: token.accessToken, renewAt: Date.now() + lifetime / 2 };
    return this.#token.value;
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

  async createFolder(name: string): Promise<string> {
    // With a reference, OfflineIMAP creates `<reference><sep><name>`, and LIST shows it so.
    // A reference that already ends with the separator does not get a second one.
    const reference = this.#config.reference;
    const full = reference === "" || name === ""
      ? name
      : reference.endsWith(this.#sep)
      ? `${reference}${name}`
      : `${reference}${this.#sep}${name}`;
    if (this.#runtime.dryRun) {
      this.#dryRunFolders.add(full);
      return full;
    }
    await this.withConnection((client) => this.#create(client, this.#wire(full)));
    return full;
  }

  /**
   * STATUS of every named folder, pipelined on one connection: UIDVALIDITY, MESSAGES, UIDNEXT
   * and, with CONDSTORE, HIGHESTMODSEQ. A folder the server refuses, or the one selected on that
   * connection (RFC 3501 advises against STATUS there), is left out; a broken connection throws.
   */
  async readSummaries(names: readonly string[]): Promise<Map<string, FolderSummary>> {
    const summaries = new Map<string, FolderSummary>();
    if (names.length === 0) return summaries;
    await this.withConnection(async (client) => {
      const items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY"];
      if (client.has("CONDSTORE")) items.push("HIGHESTMODSEQ");
      const wanted = names.filter((name) => client.selected !== this.#wire(name));
      const results = await Promise.allSettled(
        wanted.map((name) => client.status(this.#wire(name), items)),
      );
      for (const [i, result] of results.entries()) {
        if (result.status === "rejected") {
          if (result.reason instanceof ImapCommandError) continue;
          throw result.reason;
        }
        const { uidValidity, messages, uidNext, highestModseq } = result.value;
        if (uidValidity === undefined || messages === undefined) continue;
        summaries.set(wanted[i]!, { uidValidity, exists: messages, uidNext, highestModseq });
      }
    });
    return summaries;
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

  /**
   * IDLE on each folder in turn-taking loops until `signal` aborts (OfflineIMAP's
   * `idlefolders`): any untagged response ends the wait, the connection goes back to the pool,
   * `onChange` runs (a sync of that folder), and IDLE starts again. IDLE is renewed every 29
   * minutes (RFC 2177). A server without IDLE is polled with NOOP every `keepalive` seconds.
   */
  async watch(
    folders: readonly string[],
    onChange: (folder: string) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const watchOne = async (folder: string) => {
      while (!signal.aborted) {
        let changed = false;
        await this.withConnection(async (client) => {
          await client.select(this.#wire(folder), { readOnly: true });
          if (!client.has("IDLE")) {
            await sleepUnless(signal, Math.max(30, this.#config.keepalive || 60) * 1000);
            await client.noop();
            return;
          }
          let wake!: () => void;
          const woken = new Promise<void>((resolve) => wake = resolve);
          const handle = await client.idle((response) => {
            if (
              response.kind === "exists" || response.kind === "expunge" ||
              response.kind === "fetch" || response.kind === "vanished"
            ) {
              changed = true;
              wake();
            }
          });
          const onAbort = () => wake();
          signal.addEventListener("abort", onAbort, { once: true });
          // A stop that came while SELECT or IDLE was on its way fired before the listener.
          if (signal.aborted) wake();
          const renew = setTimeout(wake, 29 * 60_000);
          try {
            await woken;
          } finally {
            clearTimeout(renew);
            signal.removeEventListener("abort", onAbort);
            await handle.done();
          }
        });
        if (changed && !signal.aborted) await onChange(folder);
      }
    };
    await Promise.all(folders.map((folder) =>
      watchOne(folder).catch(() => {
        // A broken watch ends quietly: the next autorefresh cycle syncs the folder anyway.
      })
    ));
  }

  /** NOOP on every idle pooled connection (`keepalive`). */
  async keepAlive(): Promise<void> {
    await this.#pool.forEachIdle((client) => client.noop());
  }

  /** Deletes a folder on the server (`--delete-folder`). */
  async deleteFolder(name: string): Promise<void> {
    await this.withConnection((client) => client.deleteMailbox(this.#wire(name))).catch((error) => {
      if (error instanceof AccountError) throw error;
      throw new AccountError(
        `Cannot delete folder "${name}" on "${this.#config.host}": ${errorText(error)}`,
        {
          cause: error,
        },
      );
    });
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
      this.#runtime.customFlags,
    );
  }

  async close(): Promise<void> {
    await this.#pool.closeAll();
  }
}

/** Waits `ms` or until `signal` aborts. */
function sleepUnless(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
    if (signal.aborted) done();
  });
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

  /** Runs `job` on each idle connection; one that fails is dropped. */
  async forEachIdle(job: (client: ImapClient) => Promise<void>): Promise<void> {
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map(async (client) => {
      try {
        await job(client);
        this.#idle.push(client);
      } catch {
        client.close();
        this.#count--;
      }
    }));
  }

  async closeAll(): Promise<void> {
    // A failure belongs to this cycle: the next one (autorefresh) connects afresh.
    this.#failure = undefined;
    const idle = this.#idle.splice(0);
    this.#count -= idle.length;
    await Promise.all(idle.map((client) => client.logout()));
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function connectError(
  error: unknown,
  config: ImapRepositoryConfig,
  section: string,
  host = config.host,
  port = config.port,
): Error {
  const where = `"${host}:${port}"`;
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
