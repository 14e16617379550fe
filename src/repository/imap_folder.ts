/**
 * One IMAP mailbox behind the {@link Folder} interface: flags translated between Maildir
 * letters and IMAP flags, bodies streamed, STOREs pipelined.
 *
 * @module
 */

import { ImapCommandError, ImapConnectionError } from "../../imap/mod.ts";
import type { ImapClient } from "../../imap/mod.ts";
import type { FetchedMessage, MailboxInfo } from "../../imap/mod.ts";
import { compressUids } from "../../imap/uid_set.ts";
import type { ImapRepositoryConfig } from "../config/types.ts";
import { FolderError, MessageError } from "../errors.ts";
import { imapFlagsToLetters, lettersToImapFlags } from "../sync/flags.ts";
import { crlfToLf } from "./line_endings.ts";
import { findMessageId, rewriteHeader, splitHeader } from "./headers.ts";
import type {
  FlagLetters,
  Folder,
  FolderSnapshot,
  FolderSummary,
  MessageContent,
  MessageDescription,
  MessageRef,
  SnapshotMessage,
  SnapshotWindow,
  StoreResult,
} from "./folder.ts";

/** A stream of `head` followed by everything of `rest`. */
function concatStreams(
  head: Uint8Array,
  rest: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  const reader = rest.getReader();
  let sentHead = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentHead) {
        sentHead = true;
        if (head.length > 0) return controller.enqueue(head);
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An IMAP date (`1-Feb-2024`) of the UTC day of `date`. */
function imapDate(date: Date): string {
  return `${date.getUTCDate()}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()}`;
}

/** How many UIDs go into one UID STORE command line. */
const STORE_BATCH = 500;
/** How many messages one streamed UID FETCH asks for. */
const FETCH_BATCH = 250;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A selected mailbox on a connection lent by the repository's pool. */
export class ImapFolder implements Folder {
  readonly name: string;
  #client: ImapClient;
  #config: ImapRepositoryConfig;
  #info: MailboxInfo | undefined;
  #flags = new Map<number, FlagLetters>();

  #release: (broken: boolean) => void;
  #filterHeaders: readonly string[];
  /** `customflag_*` of the local Maildir: keywords shown as lower-case letters there. */
  #customFlags: Readonly<Record<string, string>>;
  #broken = false;

  constructor(
    name: string,
    client: ImapClient,
    config: ImapRepositoryConfig,
    release: (broken: boolean) => void,
    filterHeaders: readonly string[] = [],
    customFlags: Readonly<Record<string, string>> = {},
  ) {
    this.#filterHeaders = filterHeaders;
    this.#customFlags = customFlags;
    this.name = name;
    this.#client = client;
    this.#config = config;
    this.#release = release;
  }

  async #select(): Promise<MailboxInfo> {
    if (this.#info && this.#client.selected === this.name) return this.#info;
    try {
      this.#info = await this.#client.select(this.name, {
        readOnly: this.#config.readonly,
        condstore: true,
      });
      return this.#info;
    } catch (error) {
      throw this.#folderError("Cannot select", error);
    }
  }

  #folderError(what: string, error: unknown): Error {
    if (error instanceof ImapConnectionError) {
      this.#broken = true;
      return error;
    }
    return new FolderError(
      `${what} folder "${this.name}" on "${this.#config.host}": ${errorText(error)}`,
      {
        cause: error,
      },
    );
  }

  async readSummary(): Promise<FolderSummary> {
    this.#info = undefined;
    const info = await this.#select();
    return {
      uidValidity: info.uidValidity,
      exists: info.exists,
      uidNext: info.uidNext,
      highestModseq: info.highestModseq,
    };
  }

  knownSnapshot(listing: ReadonlyMap<number, FlagLetters>): FolderSnapshot {
    const info = this.#info;
    if (info === undefined || this.#client.selected !== this.name) {
      throw new Error(`knownSnapshot() of "${this.name}" before readSummary()`);
    }
    const messages = new Map<number, SnapshotMessage>();
    for (const [uid, flags] of listing) {
      messages.set(uid, { uid, flags });
      this.#flags.set(uid, flags);
    }
    return this.#snapshot(info, messages, new Set());
  }

  async changedSnapshot(
    listing: ReadonlyMap<number, FlagLetters>,
    since: bigint,
  ): Promise<FolderSnapshot> {
    const info = this.#info;
    if (info === undefined || this.#client.selected !== this.name) {
      throw new Error(`changedSnapshot() of "${this.name}" before readSummary()`);
    }
    const messages = new Map<number, SnapshotMessage>();
    if (info.exists === 0) return this.#snapshot(info, messages, new Set());
    for (const [uid, flags] of listing) messages.set(uid, { uid, flags });
    let complete = true;
    try {
      // New messages and flag changes both raise a message's mod-sequence above `since`.
      const changed = await this.#client.uidFetch("1:*", ["UID", "FLAGS"], { changedSince: since });
      for (const item of changed) {
        if (item.uid === undefined) continue;
        const flags = imapFlagsToLetters(item.flags ?? [], { customFlags: this.#customFlags });
        messages.set(item.uid, { uid: item.uid, flags });
      }
      if (messages.size !== info.exists) {
        // Something went away (or the listing was not the whole folder): drop what the server
        // no longer has, by its UID list, which is much smaller than a flag listing.
        const present = new Set(await this.#client.uidSearch([{ atom: "ALL" }]));
        for (const uid of messages.keys()) if (!present.has(uid)) messages.delete(uid);
        // Messages neither listed nor changed: the listing was not what the server had.
        complete = messages.size === present.size;
      }
    } catch (error) {
      throw this.#folderError("Cannot list messages of", error);
    }
    if (!complete) return await this.readSnapshot();
    for (const [uid, message] of messages) this.#flags.set(uid, message.flags);
    return this.#snapshot(info, messages, new Set());
  }

  #snapshot(
    info: MailboxInfo,
    messages: Map<number, SnapshotMessage>,
    hidden: Set<number>,
  ): FolderSnapshot {
    const canKeywords = info.permanentFlags.includes("\\*") ||
      info.permanentFlags.some((f) => f.toLowerCase() === "$forwarded");
    return {
      uidValidity: info.uidValidity,
      messages,
      unassigned: [],
      storableFlags: canKeywords ? "DFPRST" : "DFRST",
      hidden,
      readOnly: info.readOnly,
    };
  }

  async firstUidSince(date: Date): Promise<number> {
    const info = await this.#selectFresh();
    const uids = await this.#client.uidSearch([{ atom: "SINCE" }, { atom: imapDate(date) }])
      .catch((error) => {
        throw this.#folderError("Cannot search messages of", error);
      });
    if (uids.length > 0) return uids.reduce((a, b) => Math.min(a, b));
    if (info.uidNext !== undefined) return info.uidNext;
    // No UIDNEXT (a pre-IMAP4rev1 server): one past the highest UID there is.
    if (info.exists === 0) return 1;
    const last = await this.#client.uidFetch("*", ["UID"]).catch((error) => {
      throw this.#folderError("Cannot list messages of", error);
    });
    return Math.max(0, ...last.map((item) => item.uid ?? 0)) + 1;
  }

  async readSnapshot(window: SnapshotWindow = {}): Promise<FolderSnapshot> {
    const info = this.#info && this.#client.selected === this.name
      ? this.#info
      : await this.#selectFresh();
    const messages = new Map<number, SnapshotMessage>();
    const hidden = new Set<number>();
    if (info.exists > 0) {
      const items = ["UID", "FLAGS"];
      if (window.maxSize !== undefined) items.push("RFC822.SIZE");
      // Pipelined: the SEARCH for the maxage window travels with the FETCH.
      const since = window.since === undefined ? undefined : this.#client.uidSearch([
        { atom: "SINCE" },
        { atom: imapDate(window.since) },
      ]);
      const [data, recent] = await Promise.all([this.#client.uidFetch("1:*", items), since])
        .catch((error) => {
          throw this.#folderError("Cannot list messages of", error);
        });
      const inWindow = recent === undefined ? undefined : new Set(recent);
      for (const item of data) {
        if (item.uid === undefined) continue;
        const tooBig = window.maxSize !== undefined && (item.size ?? 0) >= window.maxSize;
        const tooOld = (window.minUid !== undefined && item.uid < window.minUid) ||
          (inWindow !== undefined && !inWindow.has(item.uid));
        if (tooBig || tooOld) {
          hidden.add(item.uid);
          continue;
        }
        const flags = imapFlagsToLetters(item.flags ?? [], { customFlags: this.#customFlags });
        messages.set(item.uid, { uid: item.uid, flags, size: item.size });
        this.#flags.set(item.uid, flags);
      }
    }
    return this.#snapshot(info, messages, hidden);
  }

  async #selectFresh(): Promise<MailboxInfo> {
    this.#info = undefined;
    return await this.#select();
  }

  async readMessages(
    refs: readonly MessageRef[],
    handler: (content: MessageContent) => Promise<void>,
  ): Promise<MessageRef[]> {
    const uids = refs.flatMap((r) => r.uid === undefined ? [] : [r.uid]).sort((a, b) => a - b);
    if (uids.length === 0) return [];
    await this.#select();
    const seen = new Set<number>();
    try {
      // One UID FETCH per FETCH_BATCH messages: whatever a command keeps per message lives
      // only until its batch ends, so memory does not grow with the folder.
      for (let i = 0; i < uids.length; i += FETCH_BATCH) {
        const set = compressUids(uids.slice(i, i + FETCH_BATCH));
        for await (const message of this.#client.uidFetchBodies(set)) {
          if (message.uid === undefined) {
            throw new FolderError(
              `Server "${this.#config.host}" sent a message body before its UID in folder "${this.name}"`,
            );
          }
          seen.add(message.uid);
          await handler(this.#content(message));
        }
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
      flags: message.flags
        ? imapFlagsToLetters(message.flags, { customFlags: this.#customFlags })
        : this.#flags.get(uid) ?? "",
      internalDate: message.internalDate,
      networkSize: () => Promise.resolve(message.size),
      openNetwork: take,
      openLocal: () => crlfToLf(take()),
    };
  }

  /**
   * APPENDs the message. With UIDPLUS the UID comes from APPENDUID. Without it, the message
   * carries an `X-OfflineIMAP: <n>-<random>` header field (OfflineIMAP's way) and is found
   * again with `UID SEARCH HEADER`; the field is the only byte the server copy differs by.
   */
  async storeMessage(content: MessageContent, _uid: number | undefined): Promise<StoreResult> {
    const info = await this.#select();
    const size = await content.networkSize();
    const flags = lettersToImapFlags(content.flags).filter((flag) =>
      !flag.startsWith("$") || info.permanentFlags.includes("\\*") ||
      info.permanentFlags.some((f) => f.toLowerCase() === flag.toLowerCase())
    );
    const uidPlus = this.#client.has("UIDPLUS");
    const marker = uidPlus
      ? undefined
      : `${Date.now() % 4294967296}-${Math.floor(Math.random() * 10_000_000_000)}`;
    const field = marker === undefined ? undefined : `X-OfflineIMAP: ${marker}`;
    const filter = this.#filterHeaders;
    try {
      let message: { size: number; open: () => ReadableStream<Uint8Array> };
      if (field === undefined && filter.length === 0) {
        message = { size, open: () => content.openNetwork() };
      } else {
        // The header changes (filterheaders, the X-OfflineIMAP marker): read it first, so the
        // literal's size is known before the APPEND line goes out.
        const { header, rest } = await splitHeader(content.openNetwork());
        const rewritten = rewriteHeader(header, filter, field);
        message = {
          size: size - header.length + rewritten.length,
          open: () => concatStreams(rewritten, rest),
        };
      }
      const result = await this.#client.append(this.name, {
        ...message,
        flags,
        date: content.internalDate,
      });
      this.#info = undefined;
      if (uidPlus) {
        // An APPENDUID of another UIDVALIDITY would name a message of a different epoch.
        return { uid: result && result.uidValidity === info.uidValidity ? result.uid : null };
      }
      await this.#select();
      const found = await this.#client.uidSearch([
        { atom: "HEADER" },
        { string: "X-OfflineIMAP" },
        { string: marker! },
      ]);
      return { uid: found.length === 1 ? found[0]! : null };
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

  async describeMessages(uids: readonly number[]): Promise<Map<number, MessageDescription>> {
    const out = new Map<number, MessageDescription>();
    if (uids.length === 0) return out;
    await this.#select();
    const data = await this.#client.uidFetch(compressUids(uids), [
      "UID",
      "RFC822.SIZE",
      "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-OFFLINEIMAP)]",
    ]).catch((error) => {
      throw this.#folderError("Cannot read message headers of", error);
    });
    for (const item of data) {
      if (item.uid === undefined || item.size === undefined) continue;
      const section = [...item.sections.values()][0];
      const header = section instanceof Uint8Array ? new TextDecoder().decode(section) : "";
      // Our own upload marker is the one difference from the local file: size without it.
      const marker = /^X-OfflineIMAP:[^\r\n]*\r\n/im.exec(header)?.[0];
      const size = item.size - (marker ? new TextEncoder().encode(marker).length : 0);
      out.set(item.uid, { size, messageId: findMessageId(header) });
    }
    return out;
  }

  close(): Promise<void> {
    this.#release(this.#broken);
    this.#release = () => {};
    return Promise.resolve();
  }
}
