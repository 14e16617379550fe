/**
 * offlineimap-ts: argv → config → accounts → exit status. The only place that exits.
 *
 * Exit status as OfflineIMAP: 0 when nothing failed; 1 when any error was reported (or for a
 * missing config file, unknown account or UI); 2 for command-line syntax errors and when the
 * only problems were UIDVALIDITY changes.
 *
 * @module
 */

import { applyOverrides, parseArgs, USAGE } from "./src/cli/args.ts";
import type { CliOptions } from "./src/cli/args.ts";
import { locateConfig, readConfig } from "./src/config/load.ts";
import { resolveConfig } from "./src/config/schema.ts";
import { ConfigError, UserFacingError } from "./src/errors.ts";
import { openAccount } from "./src/repository/open.ts";
import { runLimited } from "./src/sync/account.ts";
import { runAccount, RunControl } from "./src/sync/daemon.ts";
import { runHook } from "./src/hooks.ts";
import {
  createConsoleUi,
  formatError,
  normalizeUiName,
  PLANNED_UI_NAMES,
  UI_NAMES,
} from "./src/ui/console.ts";
import type { SyncEvents } from "./src/ui/events.ts";
import { createMachineUi } from "./src/ui/machine.ts";
import { openLogFile } from "./src/ui/log_file.ts";
import { teeEvents } from "./src/ui/tee.ts";

/** Program version (`--version`). */
export const VERSION = "0.1.0";

/** Flags that are parsed but whose feature has not landed yet: refused, never ignored. */
function refuseUnsupported(cli: CliOptions): void {
  const unsupported: Array<[boolean, string]> = [
    [cli.info, "--info"],
    [cli.deleteFolder !== undefined, "--delete-folder"],
    [cli.migrateFmd5, "--migrate-fmd5-using-nametrans"],
    [cli.mbnamesPrune, "--mbnames-prune"],
    [cli.syslog, "-s"],
  ];
  for (const [given, flag] of unsupported) {
    if (given) {
      throw new ConfigError(`Option ${flag} is not supported yet`, {
        hint: "run without it; see README.md for what is implemented",
      });
    }
  }
}

function chooseUi(name: string): string {
  const normalized = normalizeUiName(name);
  if ((UI_NAMES as readonly string[]).includes(normalized)) return normalized;
  if ((PLANNED_UI_NAMES as readonly string[]).includes(normalized)) {
    throw new ConfigError(`UI "${name}" is not supported yet`, {
      hint: `choose one of: ${UI_NAMES.join(", ")}`,
    });
  }
  throw new ConfigError(`UI "${name}" does not exist`, {
    hint: `choose one of: ${UI_NAMES.join(", ")}`,
  });
}

/**
 * Signals as OfflineIMAP: SIGUSR1 syncs sleeping accounts now; SIGUSR2 finishes the current
 * sync and exits; SIGTERM, SIGINT and SIGHUP stop as soon as possible, the third one at once.
 * Returns a function removing the listeners.
 */
function installSignals(control: RunControl, events: SyncEvents): () => void {
  let stops = 0;
  const handlers: Array<[Deno.Signal, () => void]> = [
    ["SIGUSR1", () => control.wakeAll()],
    ["SIGUSR2", () => {
      control.finishRequested = true;
      events.warning("Terminating after this sync...");
      control.wakeAll();
    }],
  ];
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    handlers.push([signal, () => {
      stops++;
      if (stops >= 3) Deno.exit(1);
      control.stopRequested = true;
      events.warning(`${signal}: stopping after the current step`);
      control.wakeAll();
    }]);
  }
  const installed: Array<[Deno.Signal, () => void]> = [];
  for (const [signal, handler] of handlers) {
    try {
      Deno.addSignalListener(signal, handler);
      installed.push([signal, handler]);
    } catch {
      // Not available on this platform.
    }
  }
  return () => {
    for (const [signal, handler] of installed) Deno.removeSignalListener(signal, handler);
  };
}

/** Output for `run` (injectable for tests). */
export interface RunIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs the program with `argv` and returns the exit status. Never throws for a user error.
 */
export async function run(argv: readonly string[], io?: RunIo): Promise<number> {
  // deno-lint-ignore no-console
  const out = io?.out ?? ((t: string) => console.log(t));
  // deno-lint-ignore no-console
  const err = io?.err ?? ((t: string) => console.error(t));
  let verbose = false;
  let closeLog = () => {};
  try {
    const cli = parseArgs(argv);
    verbose = cli.debug !== undefined;
    if (cli.help) {
      out(USAGE);
      return 0;
    }
    if (cli.version) {
      out(VERSION);
      return 0;
    }
    if (cli.versionInfo) {
      out(`offlineimap-ts v${VERSION}, Deno v${Deno.version.deno}, V8 v${Deno.version.v8}`);
      return 0;
    }
    refuseUnsupported(cli);
    const path = locateConfig(cli.configFile, {
      HOME: Deno.env.get("HOME"),
      XDG_CONFIG_HOME: Deno.env.get("XDG_CONFIG_HOME"),
    });
    const ini = await readConfig(path);
    applyOverrides(ini, cli);
    const { config, warnings } = resolveConfig(ini, path, {
      accounts: cli.accounts,
      folders: cli.folders,
    });
    const uiName = chooseUi(cli.ui ?? config.general.ui);
    const debug = new Set(cli.debug ?? []);
    const ui: SyncEvents = uiName === "machineui"
      ? createMachineUi({ debug, verbose, output: { out, err } })
      : createConsoleUi(uiName, { debug, verbose, output: { out, err } });
    const logFile = cli.logFile === undefined ? undefined : openLogFile(cli.logFile, {
      debug,
      verbose,
      version: VERSION,
      argv,
    });
    closeLog = () => logFile?.close();
    const events = logFile ? teeEvents(ui, logFile.events) : ui;
    for (const warning of [...cli.warnings, ...warnings]) events.warning(warning);
    const dryRun = cli.dryRun || config.general.dryRun;
    let errors = 0;
    let uidValidityErrors = 0;
    const singleThread = cli.singleThread;
    const control = new RunControl();
    const removeSignals = installSignals(control, events);
    try {
      await runLimited(
        [...config.accounts.values()],
        singleThread ? 1 : config.general.maxSyncAccounts,
        async (account) => {
          let opened;
          try {
            opened = openAccount(account, config.general, {
              dryRun,
              singleThread,
              imapLog: debug.has("imap") ? (line) => events.debug("imap", line) : undefined,
            });
          } catch (error) {
            if (!(error instanceof UserFacingError)) throw error;
            events.error(account.name, error);
            errors++;
            return;
          }
          const result = await runAccount({
            name: account.name,
            local: opened.local,
            remote: opened.remote,
            localConfig: account.local,
            remoteConfig: account.remote,
            metadata: opened.metadata,
            events,
            dryRun,
            maxDeleteRatio: account.maxDeleteRatio,
            folderConcurrency: singleThread ? 1 : account.remote.maxConnections,
            copyIgnore: account.remote.copyIgnore,
            window: account.maxAge || account.maxSize
              ? { since: account.maxAge, maxSize: account.maxSize }
              : undefined,
          }, {
            autorefresh: account.autorefresh,
            quick: account.quick,
            preSyncHook: account.preSyncHook,
            postSyncHook: account.postSyncHook,
            holdConnectionOpen: account.remote.holdConnectionOpen,
            runHook: async (command, name, mode) => {
              const hook = await runHook(command, name, account.name, mode);
              const output = `${hook.stdout}${hook.stderr}`.trim();
              if (output) events.debug("hooks", `${name} said: ${output}`);
              if (hook.code !== 0) {
                events.warning(
                  `${name} of account "${account.name}" exited with status ${hook.code}`,
                );
              }
            },
          }, control);
          errors += result.errors;
          uidValidityErrors += result.uidValidityErrors;
        },
      );
    } finally {
      removeSignals();
    }
    if (errors > 0) return 1;
    if (uidValidityErrors > 0) {
      err("At least one folder skipped due to UID validity problem");
      return 2;
    }
    return 0;
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    for (const line of formatError(e, verbose)) err(line);
    return e instanceof ConfigError ? e.exitCode : 1;
  } finally {
    closeLog();
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
