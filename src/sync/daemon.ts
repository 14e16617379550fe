/**
 * The account loop: one sync, or with `autorefresh` a sync every N minutes until stopped, with
 * quick syncs in between (`quick = N`), hooks around each cycle, and signals (SIGUSR1: sync now,
 * SIGUSR2: finish and exit, SIGTERM/SIGINT: stop as soon as possible).
 *
 * @module
 */

import type { AccountResult, AccountSyncContext } from "./account.ts";
import { syncAccount } from "./account.ts";

/** Shared by all accounts of a run; set from signal handlers in `main.ts`. */
export class RunControl {
  /** SIGTERM/SIGINT/SIGHUP: start nothing new. */
  stopRequested = false;
  /** SIGUSR2: finish the current sync, then exit instead of sleeping. */
  finishRequested = false;
  #wakers = new Set<() => void>();

  /** Ends every sleep now (SIGUSR1, or a stop). */
  wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }

  /** Sleeps `ms`, or less when woken. Resolves true when woken early. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#wakers.delete(wake);
        resolve(false);
      }, ms);
      this.#wakers.add(wake);
    });
  }
}

/**
 * The sleep between cycles: IDLE on `idlefolders` (each change syncs that folder at once) and
 * NOOPs every `keepalive` seconds, until the sleep ends or a signal wakes it.
 */
async function sleepWatching(
  ctx: Omit<AccountSyncContext, "quick">,
  settings: LoopSettings,
  control: RunControl,
  syncFolder: (folder: string) => Promise<void>,
): Promise<boolean> {
  const abort = new AbortController();
  const idle = settings.idleFolders ?? [];
  const watching = idle.length > 0 && ctx.remote.watch
    ? ctx.remote.watch(idle, syncFolder, abort.signal)
    : Promise.resolve();
  const keepalive = (settings.keepalive ?? 0) > 0 && ctx.remote.keepAlive
    ? setInterval(() => void ctx.remote.keepAlive!().catch(() => {}), settings.keepalive! * 1000)
    : undefined;
  try {
    return await control.sleep(settings.autorefresh * 60_000);
  } finally {
    clearInterval(keepalive);
    abort.abort();
    await watching;
  }
}

/** Loop settings of one account. */
export interface LoopSettings {
  /** Minutes between syncs; 0: sync once. */
  readonly autorefresh: number;
  /** 0: always full; -1: always quick; N: N quick syncs after each full one. */
  readonly quick: number;
  readonly preSyncHook?: string;
  readonly postSyncHook?: string;
  /** Keep connections open between cycles (`holdconnectionopen`). */
  readonly holdConnectionOpen: boolean;
  /** `idlefolders`: remote folders watched with IDLE during the sleep. */
  readonly idleFolders?: readonly string[];
  /** `keepalive` seconds: NOOP on held connections during the sleep (0: off). */
  readonly keepalive?: number;
  /** Called after every cycle (mbnames is written here). */
  readonly afterCycle?: (result: AccountResult) => Promise<void>;
  /**
   * Takes the account lock for one cycle (OfflineIMAP's `<metadata>/<account>.lock`, taken at
   * the start of each cycle and released at its end, so another process may sync during the
   * sleep). Throws when another process holds it.
   */
  readonly lock?: () => Promise<{ release(): Promise<void> }>;
  /** Runs a hook; injectable. Reports through the context's events. */
  readonly runHook: (
    command: string,
    name: "presynchook" | "postsynchook",
    mode: "quick" | "full",
  ) => Promise<void>;
}

/** Totals over every cycle of the account. */
export interface LoopResult {
  errors: number;
  uidValidityErrors: number;
  /** Three consecutive failed cycles ended an autorefreshing account. */
  gaveUp: boolean;
}

/**
 * Runs the account until it is done (one cycle without autorefresh). An account-level failure
 * ends a cycle; with autorefresh the account retries, giving up after three failures in a row
 * (OfflineIMAP's rule).
 */
export async function runAccount(
  ctx: Omit<AccountSyncContext, "quick">,
  settings: LoopSettings,
  control: RunControl,
): Promise<LoopResult> {
  const total: LoopResult = { errors: 0, uidValidityErrors: 0, gaveUp: false };
  let cycle = 0;
  let failuresInARow = 0;
  let forceFull = false;
  try {
    for (;;) {
      const quick = !forceFull &&
        (settings.quick < 0 || (settings.quick > 0 && cycle % (settings.quick + 1) !== 0));
      forceFull = false;
      const mode = quick ? "quick" : "full";
      if (settings.preSyncHook && !ctx.dryRun && !control.stopRequested) {
        await settings.runHook(settings.preSyncHook, "presynchook", mode);
      }
      let lock: { release(): Promise<void> } | undefined;
      try {
        lock = await settings.lock?.();
      } catch (error) {
        // Another instance syncs this account: an account-level error for this cycle.
        total.errors++;
        ctx.events.error(ctx.name, error instanceof Error ? error : new Error(String(error)));
        failuresInARow++;
        if (settings.autorefresh <= 0 || failuresInARow >= 3) {
          total.gaveUp = failuresInARow >= 3;
          break;
        }
        await control.sleep(settings.autorefresh * 60_000);
        if (control.stopRequested || control.finishRequested) break;
        continue;
      }
      let result: AccountResult;
      try {
        result = await syncAccount({
          ...ctx,
          quick,
          stopping: () => control.stopRequested,
        });
        await ctx.local.finishCycle?.();
      } finally {
        await lock?.release();
      }
      total.errors += result.errors;
      total.uidValidityErrors += result.uidValidityErrors;
      await settings.afterCycle?.(result);
      const accountFailed = result.accountError;
      failuresInARow = accountFailed ? failuresInARow + 1 : 0;
      if (
        settings.postSyncHook && !accountFailed && !ctx.dryRun && !control.stopRequested
      ) {
        await settings.runHook(settings.postSyncHook, "postsynchook", mode);
      }
      if (!settings.holdConnectionOpen || settings.autorefresh <= 0) {
        await ctx.remote.close().catch(() => {});
      }
      cycle++;
      if (settings.autorefresh <= 0 || control.stopRequested || control.finishRequested) break;
      if (failuresInARow >= 3) {
        total.gaveUp = true;
        break;
      }
      const woken = await sleepWatching(ctx, settings, control, (folder) =>
        syncAccount({
          ...ctx,
          quick: false,
          onlyRemoteFolders: new Set([folder]),
          stopping: () => control.stopRequested,
        }).then((result) => {
          total.errors += result.errors;
          total.uidValidityErrors += result.uidValidityErrors;
        }));
      if (control.stopRequested || control.finishRequested) break;
      // A SIGUSR1 wake-up makes the next sync a full one and restarts the quick counter.
      if (woken) {
        forceFull = true;
        cycle = 0;
      }
    }
  } finally {
    await ctx.remote.close().catch(() => {});
    await ctx.local.close().catch(() => {});
  }
  return total;
}
