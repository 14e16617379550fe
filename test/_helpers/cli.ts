/**
 * Runs the program as a subprocess, as a user would: `deno run -A main.ts ...` with stdin
 * closed. stdout, stderr and the exit code are returned separately (deployctl's habit).
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What one run produced. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs main.ts with `args`; `env` is added to a minimal environment (HOME points nowhere). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: {
      HOME: "/nonexistent",
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...env,
    },
    clearEnv: true,
  }).output();
  const dec = new TextDecoder();
  return {
    code: output.code,
    stdout: dec.decode(output.stdout),
    stderr: dec.decode(output.stderr),
  };
}
