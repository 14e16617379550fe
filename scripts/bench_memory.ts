// deno-lint-ignore-file no-console
/**
 * Memory benchmark: peak resident memory of a sync that downloads one big message, next to the
 * same sync of a small one. Bodies are streamed, so the difference should stay far below the
 * message size (target: a 50 MB message adds at most ~20 MB).
 *
 *   deno run -A scripts/bench_memory.ts [--size-mb 50] [--program main.ts]
 *
 * Peak memory is the kernel's VmHWM of the sync process, read from /proc while it runs.
 *
 * @module
 */

import { startDovecot } from "./dovecot.ts";

const args = Deno.args;
const sizeMb = Number(args[args.indexOf("--size-mb") + 1] ?? 50) || 50;
const programIndex = args.indexOf("--program");
const program = programIndex >= 0
  ? args[programIndex + 1]!
  : new URL("../main.ts", import.meta.url).pathname;

function bigMessage(bytes: number): Uint8Array {
  const header = new TextEncoder().encode(
    "From: bench@example.org\r\nSubject: big\r\nMessage-ID: <big@bench>\r\n\r\n",
  );
  const line = new TextEncoder().encode(`${"x".repeat(74)}\r\n`);
  const out = new Uint8Array(header.length + Math.ceil(bytes / line.length) * line.length);
  out.set(header);
  for (let at = header.length; at + line.length <= out.length; at += line.length) out.set(line, at);
  return out;
}

async function peakOfSync(config: string): Promise<{ peakKb: number; seconds: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", program, "-c", config, "-u", "quiet"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let peakKb = 0;
  let done = false;
  const status = child.status.then((s) => {
    done = true;
    return s;
  });
  while (!done) {
    try {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const match = /VmHWM:\s+(\d+) kB/.exec(text);
      if (match) peakKb = Math.max(peakKb, Number(match[1]));
    } catch {
      // exited between checks
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const result = await status;
  if (!result.success) throw new Error(`sync failed with status ${result.code}`);
  return { peakKb, seconds: (performance.now() - started) / 1000 };
}

const server = await startDovecot();
const dir = await Deno.makeTempDir({ prefix: "bench-memory-" });
try {
  const results: Record<string, { peakKb: number; seconds: number }> = {};
  for (const [label, size] of [["small", 10_000], ["big", sizeMb * 1_000_000]] as const) {
    const user = server.newUser(label);
    await server.seed(user, "INBOX", bigMessage(size));
    const config = `${dir}/${label}.rc`;
    await Deno.writeTextFile(
      config,
      `[general]\naccounts = B\nmetadata = ${dir}/${label}-meta\n\n[Account B]\nlocalrepository = L\nremoterepository = R\n\n[Repository L]\ntype = Maildir\nlocalfolders = ${dir}/${label}-mail\n\n[Repository R]\ntype = IMAP\nremotehost = localhost\nremoteport = ${server.tlsPort}\nsslcacertfile = ${server.caFile}\nremoteuser = ${user}\nremotepass = ${server.password}\n`,
    );
    results[label] = await peakOfSync(config);
  }
  const small = results.small!;
  const big = results.big!;
  const deltaMb = (big.peakKb - small.peakKb) / 1024;
  console.log(`message size         peak RSS      time`);
  console.log(
    `10 KB                ${(small.peakKb / 1024).toFixed(1)} MB     ${small.seconds.toFixed(2)} s`,
  );
  console.log(
    `${sizeMb} MB                ${(big.peakKb / 1024).toFixed(1)} MB     ${
      big.seconds.toFixed(2)
    } s`,
  );
  console.log(
    `peak increase for a ${sizeMb} MB message: ${deltaMb.toFixed(1)} MB (target <= 20 MB)`,
  );
  if (deltaMb > 20) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
  await server.stop();
}
