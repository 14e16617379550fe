/**
 * The UID map of a local IMAP folder (IMAP-to-IMAP sync): which local UID holds which remote
 * UID, in OfflineIMAP's file `<metadata>/Repository-<local>/UIDMapping/<folder>`, one
 * `<local uid>:<remote uid>` line each (formats.md §2.5).
 *
 * @module
 */

/** A bidirectional map local UID ⇄ remote UID, persisted with tmp + fsync + rename. */
export class UidMap {
  readonly path: string;
  #localToRemote = new Map<number, number>();
  #remoteToLocal = new Map<number, number>();
  #dirty = false;
  #fsync: boolean;

  private constructor(path: string, fsync: boolean) {
    this.path = path;
    this.#fsync = fsync;
  }

  /** Reads the map (missing file: empty). A leftover `.tmp` from a crash is removed. */
  static async open(path: string, fsync: boolean): Promise<UidMap> {
    const map = new UidMap(path, fsync);
    await Deno.remove(`${path}.tmp`).catch(() => {});
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const line of text.split("\n")) {
      const match = /^(\d+):(\d+)$/.exec(line.trim());
      if (match) map.set(Number(match[1]), Number(match[2]));
    }
    map.#dirty = false;
    return map;
  }

  /** Remote UID of a local UID. */
  remoteOf(local: number): number | undefined {
    return this.#localToRemote.get(local);
  }

  /** Local UID of a remote UID. */
  localOf(remote: number): number | undefined {
    return this.#remoteToLocal.get(remote);
  }

  /** Pairs `local` with `remote`, replacing older pairs of either. */
  set(local: number, remote: number): void {
    const oldRemote = this.#localToRemote.get(local);
    if (oldRemote !== undefined) this.#remoteToLocal.delete(oldRemote);
    const oldLocal = this.#remoteToLocal.get(remote);
    if (oldLocal !== undefined) this.#localToRemote.delete(oldLocal);
    this.#localToRemote.set(local, remote);
    this.#remoteToLocal.set(remote, local);
    this.#dirty = true;
  }

  /** Forgets the pair of a local UID. */
  deleteLocal(local: number): void {
    const remote = this.#localToRemote.get(local);
    if (remote === undefined) return;
    this.#localToRemote.delete(local);
    this.#remoteToLocal.delete(remote);
    this.#dirty = true;
  }

  /** Writes the map when it changed. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const lines = [...this.#localToRemote].sort((a, b) => a[0] - b[0])
      .map(([l, r]) => `${l}:${r}\n`).join("");
    const tmp = `${this.path}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(lines));
      if (this.#fsync) await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, this.path);
    this.#dirty = false;
  }
}
