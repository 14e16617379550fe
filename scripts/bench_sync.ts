// deno-lint-ignore-file no-console
/**
 * Sync benchmark (issue 6): our program against mbsync and offlineimap3 on the same seeded
 * corpus in a throwaway Dovecot. Not a test: it prints a table and can save JSON.
 *
 *   deno run -A scripts/bench_sync.ts [--preset 1k|20k] [--messages N] [--seed N]
 *     [--tools ours,mbsync,offlineimap] [--program PATH] [--repeat N] [--no-fsync]
 *     [--json FILE] [--keep]
 *
 * For each tool, on a fresh Dovecot user loaded with the same corpus (bench_corpus.ts), it
 * measures four phases: `initial` (into an empty Maildir), `nochange` (a re-sync with nothing
 * to do, right after), `later` (another re-sync with nothing to do, as a cron job sees it: after
 * a pause of `LATER_PAUSE_MS` and one unmeasured re-sync, so our Maildir stamps have settled and
 * been recorded) and `changed` (a re-sync after 1% flag changes, 1% new and 0.5% expunged
 * messages on the server). Each run reports wall time, CPU time (user + system) and peak resident memory of
 * the sync process (not of Dovecot, which runs on the same machine), and is checked afterwards:
 * per folder, local and server message counts and flag combinations must agree. A `startup` row
 * measures `--version`, the floor under every phase. Each run is preceded by a 1.5 s pause (see
 * `SETTLE_MS`); each initial sync by a `sync` and 6 s more (see `FS_SETTLE_MS`). `--repeat N`
 * repeats each tool's whole sequence on fresh users and reports medians (all runs are in the
 * JSON). `--no-fsync` turns off every tool's per-message fsync
 * (all default to on), to separate the disk's flush latency from the rest.
 *
 * `--program` runs another build of our program (a `.ts`/`.js` file through `deno run -A`, or
 * a compiled binary); the default is main.ts. Tools that are not installed are skipped unless
 * named in `--tools`; `bash scripts/bench_deps.sh` installs them. `--keep` leaves the work
 * directory (configs, Maildirs, status) in place and prints where.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startDovecot } from "./dovecot.ts";
import { CORPUS_FOLDERS } from "./bench_corpus.ts";
import { applyServerChanges, loadCorpus, readServerState } from "./bench_imap.ts";
import {
  compareStates,
  isToolInstalled,
  type Measurement,
  measureRun,
  prepareTool,
  readLocalState,
  readToolVersion,
  TOOL_NAMES,
  type ToolName,
  versionCommand,
} from "./bench_tools.ts";

const PRESETS: Record<string, number> = { "1k": 1_000, "20k": 20_000 };
/** Pause before each measured run, see its use. */
const SETTLE_MS = 1500;
/**
 * Before each initial sync: dirty buffers are written (`sync`) and the file system is left alone
 * this long. ext4 without a journal (as on the workplace VMs) skips inodes freed in the last 5 s
 * (5 min while their table block is dirty) when it creates a file, which made the first tool
 * after a deletion (an earlier benchmark's clean-up, a test suite) pay up to a millisecond of
 * kernel time per file.
 */
const FS_SETTLE_MS = 6000;
/**
 * Before the `later` phase: longer than our Maildir stamps take to be trusted (5 s, see
 * `STAMP_SETTLE_MS` in src/repository/maildir.ts), as between two runs of a cron job.
 */
const LATER_PAUSE_MS = 6500;
const SYNC_PHASES = ["initial", "nochange", "later", "changed"] as const;
/** `startup` is `--version`: the floor under every phase (process start, module loading). */
const PHASES = ["startup", ...SYNC_PHASES] as const;
type Phase = typeof PHASES[number];

interface Result {
  tool: ToolName;
  phase: Phase;
  /** 1-based run number, see `--repeat`. */
  run: number;
  /** The machine's 1-minute load average when the run started: other work skews timings. */
  loadAverage: number;
  wallSeconds: number;
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  peakMb: number;
  exitCode: number;
  check: string;
  output: string;
}

const USAGE = `usage: deno run -A scripts/bench_sync.ts [--preset 1k|20k] [--messages N] [--seed N]
  [--tools ours,mbsync,offlineimap] [--program PATH] [--repeat N] [--no-fsync]
  [--json FILE] [--keep]`;

function fail(message: string): never {
  console.error(`bench_sync: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function log(message: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    preset: { type: "string", default: "1k" },
    messages: { type: "string" },
    seed: { type: "string", default: "1" },
    tools: { type: "string" },
    program: { type: "string" },
    json: { type: "string" },
    repeat: { type: "string", default: "1" },
    "no-fsync": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const messages = values.messages !== undefined
  ? Number(values.messages)
  : PRESETS[values.preset] ?? fail(`unknown preset "${values.preset}"`);
if (!Number.isInteger(messages) || messages < 1) fail(`bad --messages "${values.messages}"`);
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) fail(`bad --seed "${values.seed}"`);
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) fail(`bad --repeat "${values.repeat}"`);
const program = values.program ?? new URL("../main.ts", import.meta.url).pathname;
const preset = values.messages !== undefined ? `${messages} messages` : values.preset;

const tools: ToolName[] = [];
for (const name of values.tools?.split(",") ?? TOOL_NAMES) {
  if (!(TOOL_NAMES as readonly string[]).includes(name)) fail(`unknown tool "${name}"`);
  const tool = name as ToolName;
  if (await isToolInstalled(tool)) {
    tools.push(tool);
  } else if (values.tools !== undefined) {
    fail(`"${tool}" is not installed (run "bash scripts/bench_deps.sh")`);
  } else {
    log(`skipping ${tool}: not installed (run "bash scripts/bench_deps.sh")`);
  }
}

const versions: Record<string, string> = {};
// The first run of a script also fills Deno's module cache: keep that out of the timings.
for (const tool of tools) versions[tool] = await readToolVersion(tool, program);
versions.deno = Deno.version.deno;
versions.dovecot = await commandOutput(["/usr/sbin/dovecot", "--version"]);
const commit = await commandOutput([
  "git",
  "-C",
  new URL("..", import.meta.url).pathname,
  "rev-parse",
  "--short",
  "HEAD",
]);
// Several people change the tree while benchmarks run: say how far it is from the commit.
const treeChanges = await commandOutput([
  "git",
  "-C",
  new URL("..", import.meta.url).pathname,
  "diff",
  "--shortstat",
  "HEAD",
], "none");
const machine = {
  cpus: navigator.hardwareConcurrency,
  cpuModel: /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ??
    "unknown",
  memoryGb: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  kernel: Deno.osRelease(),
};

const server = await startDovecot();
const workDir = await Deno.makeTempDir({ prefix: "bench-sync-" });
const results: Result[] = [];
const corpus = { messages: 0, bytes: 0, folders: CORPUS_FOLDERS.length, loadSeconds: 0 };
let changes = { flagsChanged: 0, added: 0, expunged: 0 };
// A long run is often interrupted: still stop Dovecot and remove the Maildirs.
const onSignal = () => {
  server.signalStop();
  if (!values.keep) Deno.removeSync(workDir, { recursive: true });
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
try {
  log(
    `preset ${preset} (seed ${seed}), tools ${tools.join(", ")}, repeat ${repeat}, ` +
      `commit ${commit}`,
  );
  // Round by round (ours, mbsync, ..., then again), so that a drift of the machine's state over
  // the runs (load, the file system's memory of deletions) does not fall on one tool.
  for (let run = 1; run <= repeat; run++) {
    for (const tool of tools) await benchTool(tool, run);
  }
  console.log(renderReport());
  if (values.json !== undefined) {
    const json = {
      preset,
      seed,
      repeat,
      commit,
      treeChanges,
      machine,
      versions,
      corpus,
      changes,
      results,
    };
    await Deno.writeTextFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
    log(`wrote ${values.json}`);
  }
} finally {
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  // Removing a big corpus can outlast the harness's stop timeout; the supervisor finishes it.
  await server.stop().catch((error) => log(`stopping Dovecot: ${error}`));
  if (values.keep) log(`kept ${workDir}`);
  else await Deno.remove(workDir, { recursive: true });
}

/** One full sequence for one tool: startup cost, then the three phases on a fresh user. */
async function benchTool(tool: ToolName, run: number): Promise<void> {
  const label = repeat > 1 ? `${tool} #${run}` : tool;
  const startupLoad = await readLoadAverage();
  const startup = await measureRun(versionCommand(tool, program));
  results.push(toResult(tool, "startup", run, startupLoad, startup, "–"));
  const user = server.newUser(`bench-${tool}`);
  const dir = `${workDir}/${tool}-${run}`;
  await Deno.mkdir(dir);
  log(`${label}: loading ${messages} messages into Dovecot user "${user}"`);
  const load = await loadCorpus(server, user, seed, messages);
  Object.assign(corpus, { messages: load.messages, bytes: load.bytes, loadSeconds: load.seconds });
  log(`${label}: loaded ${(load.bytes / 1e6).toFixed(1)} MB in ${load.seconds.toFixed(1)} s`);
  const fsync = !values["no-fsync"];
  const prepared = await prepareTool(tool, { server, user, dir, program, fsync });
  for (const phase of SYNC_PHASES) {
    if (phase === "changed") {
      changes = await applyServerChanges(server, user, seed, messages);
      log(
        `${label}: server changes: ${changes.flagsChanged} flag changes, ` +
          `${changes.added} new, ${changes.expunged} expunged`,
      );
    }
    // mbsync waits for the next second when a Maildir changed in the current one (its
    // timestamp-based change detection); back-to-back runs would time that wait, not the sync.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    if (phase === "initial") {
      await new Deno.Command("sync").output();
      await new Promise((resolve) => setTimeout(resolve, FS_SETTLE_MS));
    }
    if (phase === "later") {
      await new Promise((resolve) => setTimeout(resolve, LATER_PAUSE_MS));
      const warm = await measureRun(prepared.argv, { env: prepared.env, cwd: dir });
      if (warm.exitCode !== 0) log(`${label}: unmeasured re-sync exited ${warm.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    }
    log(`${label}: ${phase} sync: ${prepared.argv.join(" ")}`);
    const loadAverage = await readLoadAverage();
    const measured = await measureRun(prepared.argv, { env: prepared.env, cwd: dir });
    const check = compareStates(
      await readServerState(server, user),
      await readLocalState(prepared.localRoot),
    );
    results.push(toResult(tool, phase, run, loadAverage, measured, check));
    log(
      `${label}: ${phase}: ${measured.wallSeconds.toFixed(2)} s wall, ` +
        `${(measured.userSeconds + measured.systemSeconds).toFixed(2)} s CPU, ` +
        `${(measured.peakKib / 1024).toFixed(1)} MB peak, exit ${measured.exitCode}, ` +
        `check: ${check}`,
    );
    if (measured.output !== "") log(`${label}: ${phase}: output:\n${measured.output}`);
  }
  if (!values.keep) await Deno.remove(dir, { recursive: true });
}

function toResult(
  tool: ToolName,
  phase: Phase,
  run: number,
  loadAverage: number,
  measured: Measurement,
  check: string,
): Result {
  return {
    tool,
    phase,
    run,
    loadAverage,
    wallSeconds: round(measured.wallSeconds, 3),
    cpuSeconds: round(measured.userSeconds + measured.systemSeconds, 2),
    userSeconds: measured.userSeconds,
    systemSeconds: measured.systemSeconds,
    peakMb: round(measured.peakKib / 1024, 1),
    exitCode: measured.exitCode,
    check,
    output: measured.output,
  };
}

async function readLoadAverage(): Promise<number> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return Number(text.split(" ")[0]) || 0;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Summary {
  tool: ToolName;
  wallSeconds: number;
  cpuSeconds: number;
  peakMb: number;
  exitCode: number;
  check: string;
}

/** The median of each measure over the runs; any failed run shows in exit and check. */
function summarize(tool: ToolName, phase: Phase): Summary | undefined {
  const runs = results.filter((r) => r.tool === tool && r.phase === phase);
  if (runs.length === 0) return undefined;
  return {
    tool,
    wallSeconds: median(runs.map((r) => r.wallSeconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    peakMb: median(runs.map((r) => r.peakMb)),
    exitCode: runs.find((r) => r.exitCode !== 0)?.exitCode ?? 0,
    check: runs.find((r) => r.check !== "ok" && r.check !== "–")?.check ?? runs[0]!.check,
  };
}

function loadRange(): string {
  const loads = results.map((r) => r.loadAverage);
  return `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`;
}

function renderReport(): string {
  const fsyncNote = values["no-fsync"] ? ", fsync off in every tool" : "";
  const versionList = Object.entries(versions).map(([k, v]) => `${k}: ${v}`).join("; ");
  const runs = repeat > 1 ? `Median of ${repeat} runs per tool, each on a fresh user` : "One run";
  const lines = [
    `Preset ${preset}: ${corpus.messages} messages, ${(corpus.bytes / 1e6).toFixed(1)} MB, ` +
    `${corpus.folders} folders, seed ${seed}${fsyncNote}; changed phase: ` +
    `${changes.flagsChanged} flag changes, ${changes.added} new, ${changes.expunged} expunged ` +
    "on the server.",
    `Commit ${commit} (uncommitted: ${treeChanges}); ${machine.cpus} CPUs ` +
    `(${machine.cpuModel}), ${machine.memoryGb} GB, Linux ${machine.kernel}; ${versionList}`,
    `${runs}; 1-minute load average at the start of the runs: ${loadRange()}.`,
    "",
    "| phase | tool | wall s | CPU s | peak MB | wall ×mbsync | CPU ×mbsync | peak ×mbsync " +
    "| exit | check |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  const ratio = (a: number, b: number | undefined) =>
    b === undefined || b === 0 ? "–" : (a / b).toFixed(2);
  for (const phase of PHASES) {
    const rows = tools.map((tool) => summarize(tool, phase)).filter((r) => r !== undefined);
    // A failed mbsync run is no baseline.
    const base = rows.find((r) =>
      r.tool === "mbsync" && r.exitCode === 0 && (r.check === "ok" || r.check === "–")
    );
    for (const r of rows) {
      lines.push(
        `| ${phase} | ${r.tool} | ${r.wallSeconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ` +
          `${r.peakMb.toFixed(1)} | ${ratio(r.wallSeconds, base?.wallSeconds)} | ` +
          `${ratio(r.cpuSeconds, base?.cpuSeconds)} | ${ratio(r.peakMb, base?.peakMb)} | ` +
          `${r.exitCode} | ${r.check} |`,
      );
    }
  }
  return lines.join("\n");
}

async function commandOutput(argv: string[], empty = "unknown"): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(stdout).trim() || empty;
  } catch {
    return "unknown";
  }
}
