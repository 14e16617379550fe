/**
 * A folder of a *local* IMAP repository (IMAP-to-IMAP sync). The engine speaks remote UIDs;
 * this wrapper translates them to the local server's own UIDs through the {@link UidMap}, and
 * shows local messages without a pair as unassigned (keyed `L<local uid>`), so they are
 * uploaded like new Maildir files.
 *
 * @module
 */

import { MessageError } from "../errors.ts";
import type {
  FlagLetters,
  Folder,
  FolderListing,
  FolderSnapshot,
  FolderSummary,
  MessageContent,
  MessageDescription,
  MessageRef,
  Repository,
  SnapshotMessage,
  SnapshotWindow,
  StoreResult,
  UnassignedMessage,
} from "./folder.ts";
import { UidMap } from "./uid_map.ts";

/** Map entries saved at least every this many stores (a crash loses at most these pairs). */
const SAVE_EVERY = 200;

function keyOf(local: number): string {
  return `L${local}`;
}

function localOfKey(key: string): number | undefined {
  const match = /^L(\d+)$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** Wraps an IMAP folder of the local server. */
export class MappedImapFolder implements Folder {
  readonly name: string;
  #inner: Folder;
  #map: UidMap;
  #unsaved = 0;

  constructor(inner: Folder, map: UidMap) {
    this.name = inner.name;
    this.#inner = inner;
    this.#map = map;
  }

  readSummary(): Promise<FolderSummary> {
    return this.#inner.readSummary!();
  }

  async readSnapshot(window?: SnapshotWindow): Promise<FolderSnapshot> {
    const inner = await this.#inner.readSnapshot(window);
    const messages = new Map<number, SnapshotMessage>();
    const unassigned: UnassignedMessage[] = [];
    const present = new Set<number>();
    for (const [local, message] of inner.messages) {
      present.add(local);
      const remote = this.#map.remoteOf(local);
      if (remote === undefined) {
        unassigned.push({ key: keyOf(local), flags: message.flags, size: message.size });
      } else {
        messages.set(remote, { ...message, uid: remote });
      }
    }
    return { uidValidity: inner.uidValidity, messages, unassigned, storableFlags: undefined };
  }

  #toLocal(ref: MessageRef): number | undefined {
    return ref.uid !== undefined ? this.#map.localOf(ref.uid) : localOfKey(ref.key);
  }

  async readMessages(
    refs: readonly MessageRef[],
    handler: (content: MessageContent) => Promise<void>,
  ): Promise<MessageRef[]> {
    const byLocal = new Map<number, MessageRef>();
    const missing: MessageRef[] = [];
    for (const ref of refs) {
      const local = this.#toLocal(ref);
      if (local === undefined) missing.push(ref);
      else byLocal.set(local, ref);
    }
    const gone = await this.#inner.readMessages(
      [...byLocal.keys()].map((uid) => ({ uid })),
      (content) => {
        const ref = byLocal.get(content.ref.uid!)!;
        return handler({
          ref,
          flags: content.flags,
          internalDate: content.internalDate,
          networkSize: () => content.networkSize(),
          openNetwork: () => content.openNetwork(),
          openLocal: () => content.openLocal(),
        });
      },
    );
    return [...missing, ...gone.map((r) => byLocal.get(r.uid!)!)];
  }

  async storeMessage(content: MessageContent, uid: number | undefined): Promise<StoreResult> {
    const stored = await this.#inner.storeMessage(content, undefined);
    if (uid === undefined) return stored;
    if (stored.uid === null) {
      throw new MessageError(
        `Copied a message into local folder "${this.name}" but the server did not report its UID`,
        { hint: "the next run pairs it by Message-ID and size" },
      );
    }
    this.#map.set(stored.uid, uid);
    if (++this.#unsaved >= SAVE_EVERY) await this.#save();
    return { uid };
  }

  async assignUid(ref: MessageRef, uid: number): Promise<void> {
    const local = this.#toLocal(ref);
    if (local === undefined) return;
    this.#map.set(local, uid);
    if (++this.#unsaved >= SAVE_EVERY) await this.#save();
  }

  #localUids(uids: readonly number[]): number[] {
    return uids.flatMap((uid) => {
      const local = this.#map.localOf(uid);
      return local === undefined ? [] : [local];
    });
  }

  changeFlags(uids: readonly number[], add: FlagLetters, remove: FlagLetters): Promise<void> {
    return this.#inner.changeFlags(this.#localUids(uids), add, remove);
  }

  async deleteMessages(uids: readonly number[]): Promise<void> {
    const locals = this.#localUids(uids);
    await this.#inner.deleteMessages(locals);
    for (const local of locals) this.#map.deleteLocal(local);
    await this.#save();
  }

  async describeMessages(uids: readonly number[]): Promise<Map<number, MessageDescription>> {
    const out = new Map<number, MessageDescription>();
    const locals = this.#localUids(uids);
    const described = await this.#inner.describeMessages!(locals);
    for (const [local, d] of described) {
      const remote = this.#map.remoteOf(local);
      if (remote !== undefined) out.set(remote, d);
    }
    return out;
  }

  async #save(): Promise<void> {
    this.#unsaved = 0;
    await this.#map.save();
  }

  async close(): Promise<void> {
    try {
      await this.#save();
    } finally {
      await this.#inner.close();
    }
  }
}

/** A local IMAP repository: an {@link ImapRepository} whose folders carry UID maps. */
export class MappedImapRepository implements Repository {
  readonly name: string;
  #inner: Repository;
  #mapPath: (folder: string) => string;
  #fsync: boolean;

  constructor(inner: Repository, mapPath: (folder: string) => string, fsync: boolean) {
    this.name = inner.name;
    this.#inner = inner;
    this.#mapPath = mapPath;
    this.#fsync = fsync;
  }

  get sep(): string {
    return this.#inner.sep;
  }

  get writable(): boolean {
    return this.#inner.writable;
  }

  listFolders(): Promise<FolderListing[]> {
    return this.#inner.listFolders();
  }

  createFolder(name: string): Promise<string> {
    return this.#inner.createFolder(name);
  }

  async openFolder(name: string): Promise<Folder> {
    const inner = await this.#inner.openFolder(name);
    try {
      return new MappedImapFolder(inner, await UidMap.open(this.#mapPath(name), this.#fsync));
    } catch (error) {
      await inner.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
