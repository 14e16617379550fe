/**
 * `-s` and `ui = syslog`: events go to the system log through the `logger` command (util-linux,
 * present on every Debian-like system), tagged `offlineimap`, with the program's PID.
 *
 * @module
 */

import type { SyncEvents } from "./events.ts";
import { createConsoleUi } from "./console.ts";

/** A renderer writing to syslog, plus `close()` which waits for `logger` to finish. */
export function openSyslog(
  options: { debug: ReadonlySet<string>; verbose: boolean },
): { events: SyncEvents; close(): Promise<void> } {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("logger", {
      args: ["-t", "offlineimap", `--id=${Deno.pid}`],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot log to syslog: the "logger" command cannot run: ${String(error)}`);
  }
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let pending = Promise.resolve();
  const write = (line: string) => {
    pending = pending.then(() => writer.write(encoder.encode(`${line}\n`))).catch(() => {});
  };
  const events = createConsoleUi("basic", {
    debug: options.debug,
    verbose: options.verbose,
    output: { out: write, err: write },
  });
  return {
    events,
    async close() {
      await pending;
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}
