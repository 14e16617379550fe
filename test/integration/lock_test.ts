/**
 * The per-account lock against other processes: a second instance of this program, a process
 * killed while holding it, and OfflineIMAP's own `lockf` lock (taken by python3 exactly as
 * OfflineIMAP's accounts.py does).
 */

import assert from "node:assert/strict";
import { acquireAccountLock } from "../../src/lock.ts";
import { AccountError } from "../../src/errors.ts";

const LOCK_MODULE = new URL("../../src/lock.ts", import.meta.url).href;
const dec = new TextDecoder();

/** OfflineIMAP 8.0's `__lock()`: open for writing (truncating), then a non-blocking lockf. */
const PYTHON_LOCK = `
import fcntl, sys
f = open(sys.argv[1], 'w')
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except IOError:
    print('busy', flush=True)
    sys.exit(3)
print('locked', flush=True)
sys.stdin.read()
`;

const HAS_PYTHON = (() => {
  try {
    return new Deno.Command("python3", { args: ["-c", "import fcntl"] }).outputSync().success;
  } catch {
    return false;
  }
})();

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lock_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A child Deno process that takes the lock, prints "locked" (or the error message), then
 * waits for its stdin to close. `permissions` chooses whether it may use FFI.
 */
function spawnDenoHolder(metadata: string, permissions: string[]): Deno.ChildProcess {
  const code = `
    import { acquireAccountLock } from "${LOCK_MODULE}";
    try {
      const lock = await acquireAccountLock(${JSON.stringify(metadata)}, "Mail");
      console.log(lock.posix ? "locked posix" : "locked flock");
      for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
      await lock.release();
    } catch (error) {
      console.log(error.message);
      Deno.exit(3);
    }
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", ...permissions, code],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

function spawnPythonHolder(path: string): Deno.ChildProcess {
  return new Deno.Command("python3", {
    args: ["-c", PYTHON_LOCK, path],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Reads the child's first output line. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  reader.releaseLock();
  return text.split("\n")[0]!;
}

async function stop(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  await child.stdin.close().catch(() => {});
  await child.stdout.cancel().catch(() => {});
  return await child.status;
}

Deno.test("acquireAccountLock() creates <metadata>/<account>.lock (dir 0700) and release() removes it", async () => {
  await withDir(async (dir) => {
    const metadata = `${dir}/meta`;
    const lock = await acquireAccountLock(metadata, "My Mail");
    try {
      assert.equal(lock.path, `${metadata}/My Mail.lock`);
      assert.equal((await Deno.stat(lock.path)).size, 0, "empty, like OfflineIMAP's");
      assert.equal((await Deno.stat(metadata)).mode! & 0o777, 0o700);
      assert.equal(lock.posix, true, "the test runs with -A, so FFI takes the POSIX lock");
    } finally {
      await lock.release();
    }
    await assert.rejects(Deno.stat(`${metadata}/My Mail.lock`), Deno.errors.NotFound);
    await lock.release(); // idempotent
    const again = await acquireAccountLock(metadata, "My Mail");
    await again.release();
  });
});

Deno.test("acquireAccountLock() refuses a second instance with an AccountError naming the holder's PID", async () => {
  await withDir(async (dir) => {
    for (const permissions of [["-A"], ["--allow-read", "--allow-write"]]) {
      const holder = spawnDenoHolder(dir, permissions);
      try {
        assert.match(await firstLine(holder), /^locked/);
        await assert.rejects(acquireAccountLock(dir, "Mail"), (error) => {
          assert.ok(error instanceof AccountError);
          assert.equal(
            error.message,
            `Cannot lock account "Mail": process ${holder.pid} holds "${dir}/Mail.lock"`,
          );
          assert.match(error.hint ?? "", /wait for it to finish or stop it \(kill \d+\)/);
          return true;
        });
      } finally {
        assert.equal((await stop(holder)).code, 0);
      }
    }
  });
});

Deno.test("acquireAccountLock() takes over the lock file of a process killed while holding it", async () => {
  await withDir(async (dir) => {
    const holder = spawnDenoHolder(dir, ["-A"]);
    assert.equal(await firstLine(holder), "locked posix");
    holder.kill("SIGKILL");
    await stop(holder);
    assert.ok((await Deno.stat(`${dir}/Mail.lock`)).isFile, "the dead process left its file");
    const lock = await acquireAccountLock(dir, "Mail");
    await lock.release();
  });
});

Deno.test({
  name: "acquireAccountLock() refuses while OfflineIMAP's lockf lock is held, with or without FFI",
  ignore: !HAS_PYTHON,
  async fn() {
    await withDir(async (dir) => {
      const python = spawnPythonHolder(`${dir}/Mail.lock`);
      try {
        assert.equal(await firstLine(python), "locked");
        await assert.rejects(
          acquireAccountLock(dir, "Mail"),
          {
            name: "AccountError",
            message: `Cannot lock account "Mail": process ${python.pid} holds "${dir}/Mail.lock"`,
          },
        );
        // Without FFI the POSIX lock is found in /proc/locks.
        const denoChild = spawnDenoHolder(dir, ["--allow-read", "--allow-write"]);
        assert.equal(
          await firstLine(denoChild),
          `Cannot lock account "Mail": process ${python.pid} holds "${dir}/Mail.lock"`,
        );
        assert.equal((await stop(denoChild)).code, 3);
      } finally {
        await stop(python);
      }
    });
  },
});

Deno.test({
  name: "an OfflineIMAP-style lockf fails while acquireAccountLock() holds the lock",
  ignore: !HAS_PYTHON,
  async fn() {
    await withDir(async (dir) => {
      const lock = await acquireAccountLock(dir, "Mail");
      try {
        const python = spawnPythonHolder(lock.path);
        assert.equal(await firstLine(python), "busy");
        assert.equal((await stop(python)).code, 3);
      } finally {
        await lock.release();
      }
      const python = spawnPythonHolder(`${dir}/Mail.lock`);
      assert.equal(await firstLine(python), "locked", "released: OfflineIMAP may run again");
      await stop(python);
    });
  },
});
