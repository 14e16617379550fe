// deno-lint-ignore-file no-console
/**
 * `machineui`: one line per event for programs that drive the tool, in the form
 * `<event>:<account>:<folder>:<text>`, where account, folder and text are URL-encoded
 * (`encodeURIComponent`) so a colon or newline inside them never breaks a line. Errors and
 * warnings go to stderr, everything else to stdout.
 *
 * @module
 */

import type { SyncEvents } from "./events.ts";
import type { ConsoleOutput } from "./console.ts";
import { formatError } from "./console.ts";

function line(event: string, account = "", folder = "", text = ""): string {
  const e = encodeURIComponent;
  return `${event}:${e(account)}:${e(folder)}:${e(text)}`;
}

/** Creates the machine-readable renderer. */
export function createMachineUi(
  options: { debug: ReadonlySet<string>; verbose: boolean; output?: ConsoleOutput },
): SyncEvents {
  const io = options.output ?? {
    out: (l: string) => console.log(l),
    err: (l: string) => console.error(l),
  };
  return {
    accountStart: (account) => io.out(line("acctstart", account)),
    accountDone: (s) =>
      io.out(
        line(
          "acctdone",
          s.account,
          "",
          JSON.stringify({ ...s.counts, folders: s.folders, errors: s.errors, seconds: s.seconds }),
        ),
      ),
    folderStart: (account, folder) => io.out(line("folderstart", account, folder)),
    folderDone: (account, folder, counts, skipped) =>
      io.out(
        line(skipped ? "folderskipped" : "folderdone", account, folder, JSON.stringify(counts)),
      ),
    folderCreated: (account, side, folder, dryRun) =>
      io.out(line(dryRun ? "dryrun-createfolder" : "createfolder", account, folder, side)),
    plan: (account, folder, plan) =>
      io.out(line("plan", account, folder, JSON.stringify(plan.actions.map((a) => a.kind)))),
    error: (account, error) =>
      io.err(line("error", account, "", formatError(error, options.verbose).join("\n"))),
    warning: (message) => io.err(line("warn", "", "", message)),
    debug: (channel, message) => {
      if (options.debug.has(channel)) io.err(line(`debug-${channel}`, "", "", message));
    },
  };
}
