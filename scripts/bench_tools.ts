/**
 * The sync programs scripts/bench_sync.ts compares, how each is configured for the same
 * account, how one run is measured (wall time, CPU time, peak memory), and how the local
 * Maildir a run leaves behind is checked against the server.
 *
 * @module
 */

import type { DovecotServer } from "./dovecot.ts";
import type { ServerState } from "./bench_imap.ts";

/** The programs the benchmark knows. */
export const TOOL_NAMES = ["ours", "mbsync", "offlineimap"] as const;

/** One of {@linkcode TOOL_NAMES}. */
export type ToolName = typeof TOOL_NAMES[number];

/** Where and against which account one tool runs. */
export interface ToolSetup {
  server: DovecotServer;
  user: string;
  /** An empty directory for this tool's config, Maildir and status. */
  dir: string;
  /** Our program: a `.ts`/`.js` file run with `deno run -A`, or an executable. */
  program: string;
  /**
   * Each tool's default (true) syncs every message file before it counts as stored; false
   * sets `fsync = false` (ours, offlineimap) and `FSync no` (mbsync) to measure without the
   * disk's flush latency.
   */
  fsync?: boolean;
}

/** A prepared tool: the command line of one sync run and where its Maildir is. */
export interface PreparedTool {
  argv: string[];
  /** Extra environment for the run. */
  env: Record<string, string>;
  localRoot: string;
  configFile: string;
}

const decoder = new TextDecoder();

/** True when the tool can run here: our program always, the others when on PATH. */
export async function isToolInstalled(name: ToolName): Promise<boolean> {
  if (name === "ours") return true;
  return (await runQuiet(["sh", "-c", `command -v ${name}`])).code === 0;
}

/** The tool's version line, e.g. `isync 1.4.4`. */
export async function readToolVersion(name: ToolName, program: string): Promise<string> {
  const { stdout, stderr } = await runQuiet(versionCommand(name, program));
  return (stdout.trim() || stderr.trim()).split("\n")[0] ?? "unknown";
}

/** The command line that prints the tool's version: the cost of starting it at all. */
export function versionCommand(name: ToolName, program: string): string[] {
  if (name === "ours") return [...ourCommand(program), "--version"];
  return [name, "--version"];
}

/**
 * The V8 flags `deno task compile` bakes into the binary (read from deno.json, the one place they
 * are written), so a script runs as the shipped program does.
 */
export const OUR_V8_FLAGS: readonly string[] = (() => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const compile = String(config?.tasks?.compile ?? "");
  return [...compile.matchAll(/--v8-flags=\S+/g)].map((m) => m[0]);
})();

/** The command that starts our program: a script goes through `deno run -A`. */
export function ourCommand(program: string): string[] {
  return /\.(ts|js|mjs)$/.test(program)
    ? [Deno.execPath(), "run", "-A", "--quiet", ...OUR_V8_FLAGS, program]
    : [program];
}

/**
 * Writes the tool's config for one account on {@linkcode ToolSetup.server} and returns the
 * command line of one sync run. All tools get the same account: IMAPS to localhost with the
 * server's certificate, every folder, a Maildir below `dir`, expunges propagated both ways, no
 * tuning beyond each tool's defaults.
 */
export async function prepareTool(name: ToolName, setup: ToolSetup): Promise<PreparedTool> {
  const { server, user, dir } = setup;
  const localRoot = `${dir}/mail`;
  // mbsync refuses a missing Maildir root; the others get the same empty directory.
  await Deno.mkdir(localRoot, { recursive: true });
  if (name === "mbsync") {
    const configFile = `${dir}/mbsyncrc`;
    await Deno.writeTextFile(
      configFile,
      `${setup.fsync === false ? "FSync no\n\n" : ""}IMAPAccount bench
Host localhost
Port ${server.tlsPort}
User ${user}
Pass ${server.password}
SSLType IMAPS
CertificateFile ${server.caFile}
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path ${localRoot}/
Inbox ${localRoot}/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`,
      { mode: 0o600 },
    );
    return {
      argv: ["mbsync", "-c", configFile, "-q", "-a"],
      env: { HOME: dir },
      localRoot,
      configFile,
    };
  }
  const configFile = `${dir}/offlineimaprc`;
  await Deno.writeTextFile(
    configFile,
    `[general]
accounts = Bench${setup.fsync === false ? "\nfsync = false" : ""}
metadata = ${dir}/metadata

[Account Bench]
localrepository = Local
remoterepository = Remote

[Repository Local]
type = Maildir
localfolders = ${localRoot}

[Repository Remote]
type = IMAP
remotehost = localhost
remoteport = ${server.tlsPort}
ssl = yes
sslcacertfile = ${server.caFile}
remoteuser = ${user}
remotepass = ${server.password}
`,
    // The configs hold a password: ours warns about a file others can read.
    { mode: 0o600 },
  );
  const args = ["-c", configFile, "-o", "-u", "quiet"];
  if (name === "offlineimap") {
    return { argv: ["offlineimap", ...args], env: { HOME: dir }, localRoot, configFile };
  }
  return { argv: [...ourCommand(setup.program), ...args], env: {}, localRoot, configFile };
}

/** Cost of one measured run. */
export interface Measurement {
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** Peak resident set size (max RSS / VmHWM) in KiB. */
  peakKib: number;
  exitCode: number;
  /** The last lines of stdout and stderr, for reporting failures and warnings. */
  output: string;
  /** How CPU and memory were measured. */
  method: "time" | "proc";
}

const GNU_TIME = "/usr/bin/time";

/**
 * Runs `argv` to completion and measures it: under GNU time (`%U %S %M`, from the kernel's
 * rusage of the waited-for child) when `/usr/bin/time` exists, else by polling the child's
 * `/proc/<pid>/stat` and `VmHWM` every 10 ms. Wall time is ours either way.
 */
export async function measureRun(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Measurement> {
  const haveTime = await Deno.stat(GNU_TIME).then(() => true, () => false);
  if (haveTime) {
    const timeFile = await Deno.makeTempFile({ prefix: "bench-time-" });
    try {
      const started = performance.now();
      const { code, stdout, stderr } = await new Deno.Command(GNU_TIME, {
        args: ["-f", "%e %U %S %M", "-o", timeFile, "--", ...argv],
        env: options.env,
        cwd: options.cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const wallSeconds = (performance.now() - started) / 1000;
      // GNU time writes "Command exited with non-zero status N" before the format line.
      const line = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1) ?? "";
      const [, user, system, peak] = line.split(" ").map(Number);
      return {
        wallSeconds,
        userSeconds: user ?? NaN,
        systemSeconds: system ?? NaN,
        peakKib: peak ?? NaN,
        exitCode: code,
        output: tailOf(stdout, stderr),
        method: "time",
      };
    } finally {
      await Deno.remove(timeFile);
    }
  }
  return await measureByPolling(argv, options);
}

async function measureByPolling(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string },
): Promise<Measurement> {
  const ticks = Number((await runQuiet(["getconf", "CLK_TCK"])).stdout.trim()) || 100;
  const started = performance.now();
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let done = false;
  output.finally(() => done = true);
  let cpuTicks = [0, 0];
  let peakKib = 0;
  while (!done) {
    try {
      const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      // Fields after the command name: state is field 3, utime 14 and stime 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpuTicks = [Number(fields[11]), Number(fields[12])];
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      peakKib = Math.max(peakKib, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0));
    } catch {
      // The child exited between two polls: the last sample stands.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const { code, stdout, stderr } = await output;
  return {
    wallSeconds: (performance.now() - started) / 1000,
    userSeconds: cpuTicks[0]! / ticks,
    systemSeconds: cpuTicks[1]! / ticks,
    peakKib,
    exitCode: code,
    output: tailOf(stdout, stderr),
    method: "proc",
  };
}

function tailOf(stdout: Uint8Array, stderr: Uint8Array): string {
  const text = [decoder.decode(stdout).trim(), decoder.decode(stderr).trim()]
    .filter((part) => part !== "").join("\n");
  const lines = text.split("\n");
  return lines.length > 40 ? ["...", ...lines.slice(-40)].join("\n") : text;
}

async function runQuiet(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { code, stdout, stderr } = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } catch (error) {
    return { code: 127, stdout: "", stderr: String(error) };
  }
}

/** Flag letters of a Maildir message (`DFRST`), sorted, per local folder. */
export type LocalState = Map<string, string[]>;

/**
 * Reads every Maildir below `root` (a directory holding `cur/`), keyed by its path relative to
 * `root` with `/` turned into `.`, so the layouts of all three tools (`Archive.2024` directories,
 * mbsync's nested `Archive/2024`) give the IMAP name.
 */
export async function readLocalState(root: string): Promise<LocalState> {
  const state: LocalState = new Map();
  const walk = async (dir: string, relative: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) entries.push(entry);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    const names = new Set(entries.filter((e) => e.isDirectory).map((e) => e.name));
    if (names.has("cur") && names.has("new")) {
      const letters: string[] = [];
      for (const sub of ["cur", "new"]) {
        for await (const entry of Deno.readDir(`${dir}/${sub}`)) {
          if (!entry.isFile) continue;
          const info = entry.name.lastIndexOf(":2,");
          const flags = info < 0 ? "" : entry.name.slice(info + 3).replace(/[^DFRST]/g, "");
          letters.push([...flags].sort().join(""));
        }
      }
      state.set(relative === "" ? "INBOX" : relative, letters);
    }
    for (const name of names) {
      if (name === "cur" || name === "new" || name === "tmp") continue;
      await walk(`${dir}/${name}`, relative === "" ? name : `${relative}.${name}`);
    }
  };
  await walk(root, "");
  return state;
}

const FLAG_LETTERS: Record<string, string> = {
  "\\Draft": "D",
  "\\Flagged": "F",
  "\\Answered": "R",
  "\\Seen": "S",
  "\\Deleted": "T",
};

/**
 * Compares the server's folders with the local Maildirs: message counts and the multiset of
 * flag combinations per folder (Maildir UIDs differ between tools, so messages are not matched
 * one by one). Returns `"ok"` or a short description of the first differences.
 */
export function compareStates(server: ServerState, local: LocalState): string {
  const problems: string[] = [];
  const localByName = new Map<string, string[]>();
  for (const [name, letters] of local) localByName.set(toModifiedUtf7(name), letters);
  for (const [name, entries] of server) {
    const letters = localByName.get(name);
    localByName.delete(name);
    if (letters === undefined) {
      problems.push(`"${name}" missing locally (${entries.length} on server)`);
      continue;
    }
    const serverLetters = entries.map((e) =>
      e.flags.map((f) => FLAG_LETTERS[f] ?? "").sort().join("")
    );
    if (letters.length !== serverLetters.length) {
      problems.push(`"${name}" has ${letters.length} local, ${serverLetters.length} on server`);
      continue;
    }
    const histogram = new Map<string, number>();
    for (const l of serverLetters) histogram.set(l, (histogram.get(l) ?? 0) + 1);
    for (const l of letters) histogram.set(l, (histogram.get(l) ?? 0) - 1);
    const off = [...histogram].filter(([, n]) => n !== 0);
    if (off.length > 0) {
      const moved = off.reduce((sum, [, n]) => sum + Math.max(n, 0), 0);
      problems.push(`"${name}" flags differ on ${moved} messages`);
    }
  }
  for (const [name, letters] of localByName) {
    if (letters.length > 0) problems.push(`"${name}" only local (${letters.length} messages)`);
  }
  if (problems.length === 0) return "ok";
  return problems.length > 3
    ? `${problems.slice(0, 3).join("; ")}; and ${problems.length - 3} more`
    : problems.join("; ");
}

/**
 * UTF-8 folder names (a tool that decodes names) back to modified UTF-7; ASCII stays, `&`
 * included, so a name that already is modified UTF-7 (ours, offlineimap3's) passes unchanged.
 * That is why this is not the harness's `encodeMailboxName`, which turns `&` into `&-`.
 */
function toModifiedUtf7(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    let bytes = "";
    for (const unit of pending) bytes += String.fromCharCode(unit >> 8, unit & 0xff);
    out += `&${btoa(bytes).replace(/=+$/, "").replace(/\//g, ",")}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e) {
      flush();
      out += name[i];
    } else {
      pending.push(unit);
    }
  }
  flush();
  return out;
}
