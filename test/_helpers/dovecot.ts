/**
 * Real Dovecot for integration tests: one lazily started server per test file.
 *
 * ```ts
 * import { dovecot } from "../_helpers/dovecot.ts";
 *
 * Deno.test("fetch() streams a seeded message", async () => {
 *   const server = await dovecot(); // started by the first test that asks, then shared
 *   const user = server.newUser(); // a fresh user has an empty mail home: no cleanup needed
 *   await server.seed(user, "INBOX", "Subject: hi\r\n\r\nbody\r\n", { flags: ["\\Seen"] });
 *   // connect to server.host:server.tlsPort with caCerts [server.certPem], log in as
 *   // user / server.password, then check the result through server.listMessages(user, ...)
 * });
 * ```
 *
 * - `dovecot(options)` keeps one server per distinct options object (e.g. `{ uidplus: false }`)
 *   per test file. Files run in parallel (`deno test --parallel`) each get their own servers,
 *   on their own free ports and temp dirs.
 * - Isolation between tests comes from users, not servers: call `server.newUser()` in every
 *   test. Never stop the shared server in a test; use {@linkcode withDovecot} for a test that
 *   must own its server (to stop it, or to pass `extraConfig`).
 * - A started server holds no Deno resource (see scripts/dovecot.ts), so Deno's sanitizers stay
 *   on. The server is stopped, and its temp dir removed, when the test file's module unloads,
 *   or by its supervisor when the test process dies.
 * - A failed start is remembered: later tests asking for the same options fail at once with
 *   the same error instead of waiting 10 s each.
 *
 * @module
 */

import { type DovecotOptions, type DovecotServer, startDovecot } from "../../scripts/dovecot.ts";

export type { DovecotOptions, DovecotServer } from "../../scripts/dovecot.ts";

const servers = new Map<string, Promise<DovecotServer>>();

/**
 * The test file's shared Dovecot for `options`, started on first use.
 *
 * @throws {Error} from {@linkcode startDovecot} when the server cannot start.
 */
export function dovecot(options: DovecotOptions = {}): Promise<DovecotServer> {
  const key = JSON.stringify({
    uidplus: options.uidplus ?? true,
    extraConfig: options.extraConfig ?? "",
  });
  let server = servers.get(key);
  if (server === undefined) {
    server = startDovecot(options).then((started) => {
      // unload listeners must be synchronous: signal the supervisor and let it clean up.
      globalThis.addEventListener("unload", () => started.signalStop());
      return started;
    });
    servers.set(key, server);
  }
  return server;
}

/**
 * Runs `fn` with a server of its own and stops it (awaited) afterwards, even if `fn` throws.
 * Costs a start (~0.2 s) and a stop (~1.2 s: Dovecot's master waits for its children).
 */
export async function withDovecot<T>(
  fn: (server: DovecotServer) => Promise<T>,
  options: DovecotOptions = {},
): Promise<T> {
  const server = await startDovecot(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}
