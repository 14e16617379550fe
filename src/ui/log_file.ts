/**
 * `-l FILE`: a log file opened for appending, in OfflineIMAP's line format
 * `YYYY-mm-dd HH:MM:SS LEVEL: message`, written in addition to the console.
 *
 * @module
 */

import type { SyncEvents } from "./events.ts";
import { createConsoleUi } from "./console.ts";

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${
    p(date.getHours())
  }:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/**
 * Opens `path` for appending and returns a renderer writing to it, plus `close()`. Writes are
 * synchronous appends so lines survive a crash. Throws when the file cannot be opened.
 */
export function openLogFile(
  path: string,
  options: {
    debug: ReadonlySet<string>;
    verbose: boolean;
    version: string;
    argv: readonly string[];
  },
): { events: SyncEvents; close(): void } {
  const file = Deno.openSync(path, { append: true, create: true });
  const encoder = new TextEncoder();
  const write = (level: string, text: string) => {
    for (const line of text.split("\n")) {
      file.writeSync(encoder.encode(`${stamp(new Date())} ${level}: ${line}\n`));
    }
  };
  write(
    "INFO",
    `OfflineImap ${options.version} starting...\n  Deno ${Deno.version.deno}, ${Deno.build.os}\n  CLI args: ${
      options.argv.join(" ")
    }`,
  );
  const events = createConsoleUi("basic", {
    debug: options.debug,
    verbose: options.verbose,
    output: {
      out: (line) => write("INFO", line),
      err: (line) =>
        write(
          line.startsWith("ERROR") ? "ERROR" : line.startsWith("DEBUG") ? "DEBUG" : "WARNING",
          line,
        ),
    },
  });
  return { events, close: () => file.close() };
}
