/**
 * offlineimap-ts: argv → config → accounts → exit status. The only place that exits.
 *
 * Exit status as OfflineIMAP: 0 when nothing failed; 1 when any error was reported (or for a
 * missing config file, unknown account or UI); 2 for command-line syntax errors and when the
 * only problems were UIDVALIDITY changes.
 *
 * @module
 */

import { applyOverrides, normalizeUiName, parseArgs, USAGE } from "./src/cli/args.ts";
import { locateConfig, readConfig } from "./src/config/load.ts";
import { resolveConfig } from "./src/config/schema.ts";
import { ConfigError } from "./src/errors.ts";
import { RunControl } from "./src/sync/daemon.ts";
import {
  deleteRemoteFolder,
  infoReport,
  migrateFmd5,
  pruneMbnamesCaches,
  syncAccounts,
} from "./src/app.ts";
import { openSyslog } from "./src/ui/syslog.ts";
import type { RunOptions } from "./src/app.ts";
import { canPrompt } from "./src/config/passwords.ts";
import { createConsoleUi, formatError, PLANNED_UI_NAMES, UI_NAMES } from "./src/ui/console.ts";
import type { SyncEvents } from "./src/ui/events.ts";
import { createMachineUi } from "./src/ui/machine.ts";
import { openLogFile } from "./src/ui/log_file.ts";
import { teeEvents } from "./src/ui/tee.ts";

/** Program version (`--version`). */
export const VERSION = "0.1.0";

function chooseUi(value: string): { name: string; warnings: string[] } {
  const { name, warning } = normalizeUiName(value);
  const warnings = warning ? [warning] : [];
  if ((UI_NAMES as readonly string[]).includes(name)) return { name, warnings };
  if ((PLANNED_UI_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`UI "${value}" is not supported yet`, {
      hint: `choose one of: ${UI_NAMES.join(", ")}`,
    });
  }
  throw new ConfigError(`UI "${value}" does not exist`, {
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
  let closeLog = (): Promise<void> | void => {};
  let closeConfig = () => Promise.resolve();
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
    const path = locateConfig(cli.configFile, {
      HOME: Deno.env.get("HOME"),
      XDG_CONFIG_HOME: Deno.env.get("XDG_CONFIG_HOME"),
    });
    const ini = await readConfig(path);
    applyOverrides(ini, cli);
    let lateWarning = (_message: string) => {};
    const resolved = resolveConfig(ini, path, {
      accounts: cli.accounts,
      folders: cli.folders,
      mbnames: true,
      lateWarning: (message) => lateWarning(message),
    });
    closeConfig = () => resolved.close();
    const { config, warnings } = resolved;
    const chosen = chooseUi(cli.ui ?? config.general.ui);
    const uiName = chosen.name;
    const debug = new Set(cli.debug ?? []);
    const ui: SyncEvents = uiName === "machineui"
      ? createMachineUi({ debug, verbose, output: { out, err } })
      : createConsoleUi(uiName === "syslog" ? "quiet" : uiName, {
        debug,
        verbose,
        output: { out, err },
      });
    const logFile = cli.logFile === undefined ? undefined : openLogFile(cli.logFile, {
      debug,
      verbose,
      version: VERSION,
      argv,
    });
    const syslog = cli.syslog || uiName === "syslog" ? openSyslog({ debug, verbose }) : undefined;
    closeLog = async () => {
      logFile?.close();
      await syslog?.close();
    };
    const sinks = [ui, logFile?.events, syslog?.events].filter((e): e is SyncEvents => !!e);
    const events = sinks.length === 1 ? ui : teeEvents(...sinks);
    lateWarning = (message) => events.warning(message);
    for (const warning of [...cli.warnings, ...warnings, ...chosen.warnings]) {
      events.warning(warning);
    }
    const options: RunOptions = {
      dryRun: cli.dryRun || config.general.dryRun,
      singleThread: cli.singleThread,
      uiName,
      interactive: canPrompt(uiName),
      traceImap: debug.has("imap"),
    };
    if (cli.info) {
      out(await infoReport(config, options, events, VERSION));
      return 0;
    }
    if (cli.mbnamesPrune) {
      const removed = await pruneMbnamesCaches(config, options);
      for (const account of removed) events.warning(`Removed the mbnames cache of "${account}"`);
      return 0;
    }
    if (cli.migrateFmd5) {
      await migrateFmd5(config, options, events);
      return 0;
    }
    if (cli.deleteFolder !== undefined) {
      await deleteRemoteFolder(config, cli.deleteFolder, options, events);
      return 0;
    }
    const control = new RunControl();
    const removeSignals = installSignals(control, events);
    let totals;
    try {
      totals = await syncAccounts(config, options, events, control);
    } finally {
      removeSignals();
    }
    const { errors, uidValidityErrors } = totals;
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
    await closeLog();
    await closeConfig();
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
