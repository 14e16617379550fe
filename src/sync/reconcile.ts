/**
 * Pairs local messages that have no UID yet with server messages the status does not know,
 * when they are the same message: same size in network form and same Message-ID.
 *
 * Why: an upload that reached the server but whose UID was never recorded (the program was
 * killed between APPEND and the local rename) would otherwise be uploaded again and downloaded
 * back: a duplicate on both sides (OfflineIMAP's weakness, DECISIONS.md #7). After pairing, the
 * local file is renamed with the server's UID and the planner sees one message on both sides.
 * The same pairing also avoids duplicates when a message was filed on both sides independently.
 *
 * @module
 */

import type {
  Folder,
  FolderSnapshot,
  MessageContent,
  MessageDescription,
  SnapshotMessage,
  UnassignedMessage,
} from "../repository/folder.ts";
import { findMessageId } from "../repository/headers.ts";

/** Header bytes read at most when looking for a Message-ID. */
const HEADER_LIMIT = 256 * 1024;

/** Reads a message's network form to count its size and find its Message-ID. */
export async function describeContent(content: MessageContent): Promise<MessageDescription> {
  let size = 0;
  let header = "";
  let headerDone = false;
  const decoder = new TextDecoder("latin1");
  for await (const chunk of content.openNetwork()) {
    size += chunk.length;
    if (!headerDone) {
      header += decoder.decode(chunk, { stream: true });
      const end = header.indexOf("\r\n\r\n");
      if (end >= 0) {
        header = header.slice(0, end);
        headerDone = true;
      } else if (header.length > HEADER_LIMIT) headerDone = true;
    }
  }
  return { size, messageId: findMessageId(header) };
}

/** Result of {@link reconcileUploads}: the local snapshot with paired messages given UIDs. */
export interface ReconcileResult {
  readonly local: FolderSnapshot;
  /** Pairs found: local key → remote UID. */
  readonly paired: ReadonlyMap<string, number>;
}

/**
 * Finds pairs and, unless `dryRun`, renames the local files with their server UIDs. Only
 * messages that would otherwise be uploaded (local, no UID) and downloaded (remote, in neither
 * the status nor the local folder) are considered, so an ordinary sync pays nothing.
 */
export async function reconcileUploads(
  localFolder: Folder,
  remoteFolder: Folder,
  local: FolderSnapshot,
  remote: FolderSnapshot,
  status: ReadonlyMap<number, string>,
  dryRun: boolean,
): Promise<ReconcileResult> {
  const none = { local, paired: new Map<string, number>() };
  if (local.unassigned.length === 0) return none;
  const candidates = [...remote.messages.keys()].filter((uid) =>
    !status.has(uid) && !local.messages.has(uid)
  );
  if (candidates.length === 0) return none;

  const remoteById = new Map<string, number[]>();
  const remoteDescriptions = remoteFolder.describeMessages
    ? await remoteFolder.describeMessages(candidates)
    : await describeAll(remoteFolder, candidates.map((uid) => ({ uid })));
  for (const [uid, d] of remoteDescriptions) {
    if (d.messageId === undefined) continue;
    const key = `${d.size}\0${d.messageId}`;
    remoteById.set(key, [...remoteById.get(key) ?? [], uid]);
  }
  if (remoteById.size === 0) return none;

  const localDescriptions = new Map<string, MessageDescription>();
  await localFolder.readMessages(local.unassigned.map((m) => ({ key: m.key })), async (content) => {
    localDescriptions.set(content.ref.key!, await describeContent(content));
  });

  const paired = new Map<string, number>();
  const messages = new Map<number, SnapshotMessage>(local.messages);
  const unassigned: UnassignedMessage[] = [];
  for (const message of local.unassigned) {
    const d = localDescriptions.get(message.key);
    const uids = d?.messageId === undefined
      ? undefined
      : remoteById.get(`${d.size}\0${d.messageId}`);
    const uid = uids?.shift();
    if (uid === undefined) {
      unassigned.push(message);
      continue;
    }
    if (!dryRun) await localFolder.assignUid({ key: message.key }, uid);
    paired.set(message.key, uid);
    messages.set(uid, { uid, flags: message.flags, size: message.size });
  }
  if (paired.size === 0) return none;
  return { local: { ...local, messages, unassigned }, paired };
}

async function describeAll(
  folder: Folder,
  refs: Array<{ uid: number }>,
): Promise<Map<number, MessageDescription>> {
  const out = new Map<number, MessageDescription>();
  await folder.readMessages(refs, async (content) => {
    out.set(content.ref.uid!, await describeContent(content));
  });
  return out;
}
