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
import type { FetchedMessage, MailboxInfo } from "../../imap/mod.ts";
import { compressUids } from "../../imap/uid_set.ts";
import type { ImapRepositoryConfig } from "../config/types.ts";
import { AccountError, FolderError, MessageError } from "../errors.ts";
import { imapFlagsToLetters, lettersToImapFlags } from "../sync/flags.ts";
import { crlfToLf } from "./line_endings.ts";
import type {
  FlagLetters,
  Folder,
  FolderListing,
  FolderSnapshot,
  MessageContent,
  MessageRef,
  Repository,
  SnapshotMessage,
  StoreResult,
} from "./folder.ts";

/** Run-time settings of an IMAP repository that do not come from its section. */
export interface ImapRuntime {
  /** `socktimeout` in seconds (0: none). */
  readonly sockTimeout: number;
  /** Protocol trace, secrets already masked. */
  readonly log?: (line: string) => void;
  /** Reads a file (for `sslcacertfile` and `remotepassfile`); injectable for tests. */
  readonly readTextFile?: (path: string) => Promise<string>;
}

/** How many UIDs go into one UID STORE command line. */
const STORE_BATCH = 500;

/** Opens the repository's connection (lazily) and serves its folders. */
export class ImapRepository implements Repository {
  readonly name: string;
  readonly writable: boolean;
  #config: ImapRepositoryConfig;
  #runtime: ImapRuntime;
  #client: ImapClient | undefined;
  #connecting: Promise<ImapClient> | undefined;
  #sep = ".";

  constructor(config: ImapRepositoryConfig, runtime: ImapRuntime) {
    this.name = config.name;
    this.writable = !config.readonly;
    this.#config = config;
    this.#runtime = runtime;
  }

  /** The server's hierarchy delimiter (known after {@link ImapRepository.listFolders}). */
  get sep(): string {
    return this.#sep;
  }

  /** The connected client; connects and logs in on first use. Throws AccountError. */
  connection(): Promise<ImapClient> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().then((client) => {
      this.#client = client;
      return client;
    }, (error) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
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
    const client = await this.connection();
    const entries = await client.list(this.#config.reference, "*").catch((error) => {
      throw new AccountError(`Cannot list folders of "${this.#config.host}": ${errorText(error)}`, {
        cause: error,
      });
    });
    const delimiter = entries.find((e) => e.delimiter !== null)?.delimiter;
    if (delimiter) this.#sep = delimiter;
    return entries
      .filter((e) => !e.attributes.some((a) => /^\\(noselect|nonexistent)$/i.test(a)))
      .map((e) => ({ name: e.name }));
  }

  async createFolder(name: string): Promise<void> {
    const client = await this.connection();
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

  async openFolder(name: string): Promise<Folder> {
    return new ImapFolder(name, await this.connection(), this.#config);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#connecting = undefined;
    await client?.logout();
  }
}

class ImapFolder implements Folder {
  readonly name: string;
  #client: ImapClient;
  #config: ImapRepositoryConfig;
  #info: MailboxInfo | undefined;
  #flags = new Map<number, FlagLetters>();

  constructor(name: string, client: ImapClient, config: ImapRepositoryConfig) {
    this.name = name;
    this.#client = client;
    this.#config = config;
  }

  async #select(): Promise<MailboxInfo> {
    if (this.#info && this.#client.selected === this.name) return this.#info;
    try {
      this.#info = await this.#client.select(this.name, { readOnly: this.#config.readonly });
      return this.#info;
    } catch (error) {
      throw this.#folderError("Cannot select", error);
    }
  }

  #folderError(what: string, error: unknown): Error {
    if (error instanceof ImapConnectionError) return error;
    return new FolderError(
      `${what} folder "${this.name}" on "${this.#config.host}": ${errorText(error)}`,
      {
        cause: error,
      },
    );
  }

  async readSnapshot(): Promise<FolderSnapshot> {
    this.#info = undefined;
    const info = await this.#select();
    const messages = new Map<number, SnapshotMessage>();
    if (info.exists > 0) {
      const data = await this.#client.uidFetch("1:*", ["UID", "FLAGS"]).catch((error) => {
        throw this.#folderError("Cannot list messages of", error);
      });
      for (const item of data) {
        if (item.uid === undefined) continue;
        const flags = imapFlagsToLetters(item.flags ?? []);
        messages.set(item.uid, { uid: item.uid, flags });
        this.#flags.set(item.uid, flags);
      }
    }
    const canKeywords = info.permanentFlags.includes("\\*") ||
      info.permanentFlags.some((f) => f.toLowerCase() === "$forwarded");
    return {
      uidValidity: info.uidValidity,
      messages,
      unassigned: [],
      storableFlags: canKeywords ? "DFPRST" : "DFRST",
    };
  }

  async readMessages(
    refs: readonly MessageRef[],
    handler: (content: MessageContent) => Promise<void>,
  ): Promise<MessageRef[]> {
    const uids = refs.flatMap((r) => r.uid === undefined ? [] : [r.uid]);
    if (uids.length === 0) return [];
    await this.#select();
    const seen = new Set<number>();
    try {
      for await (const message of this.#client.uidFetchBodies(compressUids(uids))) {
        if (message.uid === undefined) {
          throw new FolderError(
            `Server "${this.#config.host}" sent a message body before its UID in folder "${this.name}"`,
          );
        }
        seen.add(message.uid);
        await handler(this.#content(message));
      }
    } catch (error) {
      if (error instanceof MessageError || error instanceof FolderError) throw error;
      throw this.#folderError("Cannot fetch messages of", error);
    }
    return uids.filter((uid) => !seen.has(uid)).map((uid) => ({ uid }));
  }

  #content(message: FetchedMessage): MessageContent {
    const uid = message.uid!;
    let used = false;
    const take = () => {
      if (used) throw new Error(`Body of UID ${uid} read twice`);
      used = true;
      return message.body;
    };
    return {
      ref: { uid },
      flags: message.flags ? imapFlagsToLetters(message.flags) : this.#flags.get(uid) ?? "",
      internalDate: message.internalDate,
      networkSize: () => Promise.resolve(message.size),
      openNetwork: take,
      openLocal: () => take().pipeThrough(crlfToLf()),
    };
  }

  async storeMessage(content: MessageContent, _uid: number | undefined): Promise<StoreResult> {
    const size = await content.networkSize();
    try {
      const result = await this.#client.append(this.name, {
        size,
        open: () => content.openNetwork(),
        flags: lettersToImapFlags(content.flags),
        date: content.internalDate,
      });
      this.#info = undefined;
      if (result && this.#client.selected === this.name) {
        // APPENDUID of a different UIDVALIDITY would name the wrong message.
      }
      return { uid: result?.uid ?? null };
    } catch (error) {
      if (error instanceof ImapCommandError) {
        throw new MessageError(
          `Cannot upload message to folder "${this.name}" on "${this.#config.host}": ${error.message}`,
          { cause: error },
        );
      }
      throw this.#folderError("Cannot upload to", error);
    }
  }

  assignUid(_ref: MessageRef, _uid: number): Promise<void> {
    return Promise.resolve();
  }

  async changeFlags(uids: readonly number[], add: FlagLetters, remove: FlagLetters): Promise<void> {
    if (uids.length === 0) return;
    await this.#select();
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < uids.length; i += STORE_BATCH) {
      const set = compressUids(uids.slice(i, i + STORE_BATCH));
      // Pipelined: every STORE is on the wire before the first answer comes back.
      if (add) jobs.push(this.#client.uidStore(set, "+", lettersToImapFlags(add)));
      if (remove) jobs.push(this.#client.uidStore(set, "-", lettersToImapFlags(remove)));
    }
    await Promise.all(jobs).catch((error) => {
      throw this.#folderError("Cannot change flags in", error);
    });
  }

  async deleteMessages(uids: readonly number[]): Promise<void> {
    if (uids.length === 0) return;
    await this.#select();
    try {
      const sets: string[] = [];
      for (let i = 0; i < uids.length; i += STORE_BATCH) {
        sets.push(compressUids(uids.slice(i, i + STORE_BATCH)));
      }
      await Promise.all(sets.map((set) => this.#client.uidStore(set, "+", ["\\Deleted"])));
      if (!this.#config.expunge) return;
      if (this.#client.has("UIDPLUS")) {
        // Only our messages: a plain EXPUNGE would also remove what other clients marked.
        await Promise.all(sets.map((set) => this.#client.uidExpunge(set)));
      } else {
        await this.#client.expunge();
      }
    } catch (error) {
      throw this.#folderError("Cannot delete messages in", error);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function connectError(error: unknown, config: ImapRepositoryConfig, section: string): Error {
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
