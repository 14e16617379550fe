// deno-lint-ignore-file no-console
/**
 * Console renderers: `basic` (OfflineIMAP's Noninteractive.Basic: one line per event),
 * `quiet` (errors and warnings only), and `ttyui` (for now the basic output; it will add
 * interactive prompts). With `main.ts`, the only code that prints.
 *
 * @module
 */

import { UserFacingError } from "../errors.ts";
import type { AccountSummary, SyncCounts, SyncEvents } from "./events.ts";
import type { FolderPlan } from "../sync/types.ts";

/** UI names accepted by `-u` and `ui =` today (case-insensitive, dotted forms reduced). */
export const UI_NAMES = ["ttyui", "basic", "quiet", "machineui", "syslog"] as const;
/** UI names OfflineIMAP has that are not available yet. */
export const PLANNED_UI_NAMES = ["blinkenlights"] as const;

/** Output streams (injectable for tests). */
export interface ConsoleOutput {
  out(line: string): void;
  err(line: string): void;
}

const STDIO: ConsoleOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/**
 * Renders an error for the user: the message, the hint on its own line, and with `verbose` the
 * cause chain and stack. Errors that are not {@link UserFacingError}s from our own code
 * (TypeError, RangeError, ...) are bugs and are reported as such.
 */
export function formatError(error: Error, verbose: boolean): string[] {
  const lines: string[] = [];
  const userFacing = error instanceof UserFacingError;
  const bug = !userFacing && (error instanceof TypeError || error instanceof RangeError ||
    error instanceof ReferenceError || error instanceof SyntaxError);
  if (bug) {
    lines.push(`ERROR: internal error (a bug, please report it): ${error.message}`);
  } else {
    lines.push(`ERROR: ${error.message}`);
  }
  if (userFacing && error.hint) lines.push(`  hint: ${error.hint}`);
  if (verbose || bug) {
    let cause: unknown = error.cause;
    while (cause instanceof Error) {
      lines.push(`  caused by ${cause.name}: ${cause.message}`);
      cause = cause.cause;
    }
    if (verbose && error.stack) lines.push(...error.stack.split("\n").slice(1));
  }
  return lines;
}

function describeCounts(c: SyncCounts): string {
  const parts: string[] = [];
  if (c.downloaded) parts.push(`${c.downloaded} downloaded`);
  if (c.uploaded) parts.push(`${c.uploaded} uploaded`);
  if (c.flagged) parts.push(`${c.flagged} flag changes`);
  if (c.deletedLocal) parts.push(`${c.deletedLocal} deleted locally`);
  if (c.deletedRemote) parts.push(`${c.deletedRemote} deleted on server`);
  return parts.length > 0 ? parts.join(", ") : "no changes";
}

function describePlan(plan: FolderPlan): string[] {
  const lines: string[] = [];
  for (const action of plan.actions) {
    switch (action.kind) {
      case "copyToLocal":
        lines.push(`[DRYRUN] Copy ${action.messages.length} messages from server to local`);
        break;
      case "copyToRemote":
        lines.push(`[DRYRUN] Copy ${action.messages.length} messages from local to server`);
        break;
      case "changeFlags":
        lines.push(
          `[DRYRUN] ${action.add ? `Adding flags ${action.add}` : ""}${
            action.add && action.remove ? " and " : ""
          }${
            action.remove ? `Removing flags ${action.remove}` : ""
          } on ${action.uids.length} ${action.side} messages`,
        );
        break;
      case "delete":
        lines.push(`[DRYRUN] Delete ${action.uids.length} ${action.side} messages`);
        break;
      case "record":
      case "forget":
        break;
    }
  }
  if (lines.length === 0) lines.push("[DRYRUN] nothing to do");
  return lines;
}

/** Creates the renderer named `name` (already validated). */
export function createConsoleUi(
  name: string,
  options: { debug: ReadonlySet<string>; verbose: boolean; output?: ConsoleOutput },
): SyncEvents {
  const io = options.output ?? STDIO;
  const quiet = name === "quiet";
  const info = (line: string) => {
    if (!quiet) io.out(line);
  };
  return {
    accountStart: (account) => info(`*** Processing account ${account}`),
    accountDone: (s: AccountSummary) =>
      info(
        `*** Finished account ${s.account}: ${s.folders} folders, ${
          describeCounts(s.counts)
        }, ${s.errors} errors, ${s.seconds.toFixed(1)} s`,
      ),
    folderStart: () => {},
    folderDone: (account, folder, counts, skipped) =>
      info(
        skipped
          ? `Skipping ${folder} [${account}] (not changed)`
          : `Folder ${folder} [${account}]: ${describeCounts(counts)}`,
      ),
    folderCreated: (account, side, folder, dryRun) =>
      info(`${dryRun ? "[DRYRUN] " : ""}Creating folder ${folder} [${account}, ${side}]`),
    plan: (account, folder, plan) => {
      for (const line of describePlan(plan)) io.out(`${line} in folder ${folder} [${account}]`);
    },
    error: (account, error) => {
      const lines = formatError(error, options.verbose);
      if (account) lines[0] = lines[0]!.replace(/^ERROR: /, `ERROR: [${account}] `);
      for (const line of lines) io.err(line);
    },
    warning: (message) => io.err(`WARNING: ${message}`),
    debug: (channel, message) => {
      if (options.debug.has(channel)) io.err(`DEBUG[${channel}]: ${message}`);
    },
  };
}
