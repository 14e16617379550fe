/**
 * Sends every event to several renderers (the chosen UI and the `-l` log file).
 *
 * @module
 */

import type { SyncEvents } from "./events.ts";

/** An events sink forwarding to each of `targets` in order. */
export function teeEvents(...targets: SyncEvents[]): SyncEvents {
  const each = <K extends keyof SyncEvents>(key: K) => (...args: Parameters<SyncEvents[K]>) => {
    for (const target of targets) {
      (target[key] as (...a: Parameters<SyncEvents[K]>) => void)(...args);
    }
  };
  return {
    accountStart: each("accountStart"),
    accountDone: each("accountDone"),
    folderStart: each("folderStart"),
    folderDone: each("folderDone"),
    folderCreated: each("folderCreated"),
    plan: each("plan"),
    error: each("error"),
    warning: each("warning"),
    debug: each("debug"),
  };
}
