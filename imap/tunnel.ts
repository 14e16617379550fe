/**
 * A command whose stdin/stdout carry the IMAP stream: OfflineIMAP's `preauthtunnel` (e.g.
 * `ssh host /usr/lib/dovecot/imap`, greeting with PREAUTH) and `transporttunnel` (e.g.
 * `openssl s_client -quiet -connect host:993`, authentication still happens).
 *
 * @module
 */

import { ImapConnectionError, ImapTlsError } from "./errors.ts";
import type { Transport } from "./transport_types.ts";

/** Most bytes of the command's stderr kept for error messages. */
const STDERR_TAIL = 2048;

/**
 * Runs `command` with `/bin/sh -c` and returns its stdin/stdout as a {@link Transport}. The
 * tunnel counts as secure: it is the user's own channel. Its stderr is kept (the last 2 KB)
 * and quoted when the tunnel fails. `close()` ends the process; `closed` resolves once it has
 * been reaped.
 */
export function spawnTunnel(command: string): Transport {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", command],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  let stderr = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(text) {
        stderr = (stderr + text).slice(-STDERR_TAIL);
      },
    }),
  ).catch(() => {});
  let closing = false;
  const failure = (what: string, error?: unknown) => {
    const tail = stderr.trim();
    return new ImapConnectionError(
      `${what} tunnel "${command}"${error ? `: ${String(error)}` : ""}${
        tail ? `; it said: ${tail}` : ""
      }`,
      { cause: error },
    );
  };
  const closed = (async () => {
    await child.status;
    await stderrDone;
  })();
  return {
    get buffered() {
      return 0;
    },
    secure: true,
    closed,
    async read() {
      try {
        const { value, done } = await reader.read();
        if (!done) return value;
      } catch (error) {
        if (closing) return null;
        throw failure("Cannot read from", error);
      }
      if (closing) return null;
      // Let the stderr of a tunnel that just died reach the message (a process that closed
      // its stdout but lives on is not waited for long).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status.then(async (status) => {
          await stderrDone;
          return status;
        }),
        new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 1000)),
      ]);
      clearTimeout(timer);
      if (status === undefined || status.success) return null;
      throw failure(`Exit code ${status.code} from`);
    },
    async write(data) {
      try {
        await writer.write(data);
      } catch (error) {
        throw failure("Cannot write to", error);
      }
    },
    startTls() {
      return Promise.reject(new ImapTlsError("STARTTLS is not possible over a tunnel", "starttls"));
    },
    close() {
      if (closing) return;
      closing = true;
      writer.close().catch(() => {});
      reader.cancel().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
    },
  };
}
