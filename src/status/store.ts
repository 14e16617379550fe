/**
 * The status store: per folder, the flags both sides agreed on at the last sync, keyed by the
 * remote UID (OfflineIMAP's LocalStatus). It is the base of the three-way comparison.
 *
 * @module
 */

import type { FlagLetters } from "../repository/folder.ts";

/** One batch of changes, applied atomically. */
export interface StatusBatch {
  /** UIDs to record (or re-record) with their agreed flags. */
  readonly set?: ReadonlyArray<readonly [uid: number, flags: FlagLetters]>;
  /** UIDs to forget. */
  readonly remove?: readonly number[];
}

/**
 * The status of one folder. The executor calls {@link StatusStore.apply} only after both
 * sides hold a change, so a crash leaves the store describing a state both sides reached.
 */
export interface StatusStore {
  /** Reads every record: UID → agreed flags. */
  read(): Promise<Map<number, FlagLetters>>;
  /** Applies one batch durably (sqlite: one committed transaction). */
  apply(batch: StatusBatch): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
