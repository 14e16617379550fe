/**
 * The `pythonfile` bridge against a real python3 child, and the real command runner.
 */

import assert from "node:assert/strict";
import { AccountError, ConfigError } from "../../src/errors.ts";
import {
  compileExpression,
  compileNametrans,
  compileStringEval,
  pyRepr,
  type PythonError,
} from "../../src/config/py_expr.ts";
import {
  createSystemHooks,
  PythonFile,
  runCommand,
  runCommandSync,
} from "../../src/config/pythonfile.ts";

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const PYTHON = hasPython();
const SITE = { option: "nametrans", section: "Repository Local" };
const PASS = { option: "remotepasseval", section: "Repository Remote" };

const PYTHONFILE = `
import os, sys, time
LOG = os.environ["OIMAP_T_LOG"]
with open(LOG, "a") as f:
    f.write("load\\n")

def translate(name):
    with open(LOG, "a") as f:
        f.write("call " + name + "\\n")
    print("noise on stdout")
    return "acc." + name

def slow(seconds):
    time.sleep(seconds)
    return "slow"

def fast():
    return "fast"

def values():
    return [10**30, 1.5, b"\\x00\\xff", (1, "a"), {"k": None}, True]

def big():
    return "x" * 200000

def ask():
    return input()

def die():
    os._exit(3)
`;

async function withPythonFile(
  text: string,
  body: (file: PythonFile, log: string) => void | Promise<void>,
  options: { python?: string } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/log`;
  Deno.env.set("OIMAP_T_LOG", log);
  await Deno.writeTextFile(log, "");
  const file = new PythonFile(`${dir}/offlineimap.py`, { stderr: "null", ...options });
  try {
    await Deno.writeTextFile(`${dir}/offlineimap.py`, text);
    await body(file, log);
  } finally {
    await file.close();
    Deno.env.delete("OIMAP_T_LOG");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "PythonFile runs the file once and calls a function once per distinct argument",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile(PYTHONFILE, async (file, log) => {
      const hooks = { python: file };
      const f = compileNametrans("translate", SITE, hooks);
      assert.equal(f("INBOX"), "acc.INBOX");
      assert.equal(f("INBOX"), "acc.INBOX");
      assert.equal(f("Sent"), "acc.Sent");
      assert.equal(await compileStringEval("translate('INBOX')", PASS, hooks)(), "acc.INBOX");
      assert.equal(await Deno.readTextFile(log), "load\ncall INBOX\ncall Sent\n");
    });
  },
});

Deno.test({
  name: "PythonFile answers a blocking request while an async one is still running",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile(PYTHONFILE, async (file) => {
      const pending = compileStringEval("slow(0.3)", PASS, { python: file })();
      let ticked = false;
      const timer = new Promise<void>((resolve) =>
        setTimeout(() => {
          ticked = true;
          resolve();
        }, 10)
      );
      await timer;
      assert.equal(ticked, true, "the event loop kept running during the async call");
      assert.equal(compileNametrans("lambda n: fast()", SITE, { python: file })("x"), "fast");
      assert.equal(await pending, "slow");
    });
  },
});

Deno.test({
  name: "PythonFile carries Python values across the wire and grows its buffer for big ones",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile(PYTHONFILE, (file) => {
      const hooks = { python: file };
      assert.equal(
        pyRepr(compileExpression("values()", SITE, hooks)),
        "[1000000000000000000000000000000, 1.5, b'\\x00\\xff', (1, 'a'), {'k': None}, True]",
      );
      assert.equal(compileExpression("len(big())", SITE, hooks), 200000n);
      assert.equal(compileExpression("os.path.join('a', 'b')", PASS, hooks), "a/b");
      assert.throws(
        () => compileExpression("sys.__name__", PASS, hooks),
        (e: unknown) => e instanceof ConfigError && (e.cause as PythonError).unsupported,
      );
    });
  },
});

Deno.test({
  name: "PythonFile keeps its protocol when user code prints or reads stdin",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile(PYTHONFILE, (file) => {
      const hooks = { python: file };
      assert.equal(compileNametrans("translate", SITE, hooks)("x"), "acc.x");
      // stdin is the terminal or /dev/null, never the requests: input() cannot eat them.
      const ask = compileNametrans("lambda n: ask()", SITE, hooks);
      assert.throws(() => ask("x"), AccountError);
      assert.equal(compileNametrans("lambda n: fast()", SITE, hooks)("x"), "fast");
    });
  },
});

Deno.test({
  name: "PythonFile reports a child that died and keeps failing clearly",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile(PYTHONFILE, (file) => {
      const hooks = { python: file };
      assert.throws(
        () => compileNametrans("lambda n: die()", SITE, hooks)("x"),
        (e: unknown) =>
          e instanceof AccountError && /has exited/.test(e.message) &&
          (e.cause as PythonError).type === "PythonUnavailable",
      );
      assert.throws(() => compileNametrans("lambda n: fast()", SITE, hooks)("x"), AccountError);
    });
  },
});

Deno.test({
  name: "PythonFile reports a pythonfile that raises while it is loaded",
  ignore: !PYTHON,
  async fn() {
    await withPythonFile("x = 1 / 0\ndef f(n):\n    return n\n", (file) => {
      const g = file.globals();
      assert.ok("unavailable" in g);
      assert.match(g.unavailable, /the pythonfile raised ZeroDivisionError: division by zero/);
      assert.throws(
        () => compileNametrans("f", SITE, { python: file }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes("name 'f' is not defined: it would come from pythonfile") &&
          e.message.includes("ZeroDivisionError"),
      );
    });
  },
});

Deno.test("PythonFile says when python3 is missing and names the function", async () => {
  await withPythonFile(PYTHONFILE, (file) => {
    assert.throws(
      () => compileNametrans("oimaptransfolder_acc1", SITE, { python: file }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes("name 'oimaptransfolder_acc1' is not defined") &&
        e.message.includes("python3-not-installed was not found (is Python 3 installed?)") &&
        /Install python3 to call "oimaptransfolder_acc1"/.test(e.hint ?? ""),
    );
    return Promise.resolve();
  }, { python: "python3-not-installed" });
});

Deno.test("PythonFile.close() is idempotent and fine when nothing was started", async () => {
  const file = new PythonFile("/nonexistent/offlineimap.py");
  await file.close();
  await file.close();
  assert.ok("unavailable" in file.globals());
});

Deno.test({
  name: "createSystemHooks() wires the environment, commands and the pythonfile",
  ignore: !PYTHON,
  async fn() {
    const dir = await Deno.makeTempDir();
    const system = createSystemHooks({ pythonFile: `${dir}/p.py`, pythonStderr: "null" });
    try {
      await Deno.writeTextFile(`${dir}/p.py`, "def get_password(a):\n    return 'pw-' + a\n");
      await Deno.writeTextFile(`${dir}/secret`, "from-file\n");
      const hooks = system.hooks;
      assert.equal(await compileStringEval("get_password('imap')", PASS, hooks)(), "pw-imap");
      assert.equal(
        await compileStringEval(
          `subprocess.check_output(['cat', '${dir}/secret']).strip()`,
          PASS,
          hooks,
        )(),
        "from-file",
      );
      assert.equal(
        await compileStringEval(`open('${dir}/secret').read().strip()`, PASS, hooks)(),
        "from-file",
      );
      assert.equal(
        await compileStringEval("os.environ.get('HOME')", PASS, hooks)(),
        Deno.env.get("HOME"),
      );
    } finally {
      await system.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("runCommand() captures, merges stderr in order, pipes input and reports a missing program", async () => {
  const merged = await runCommand({
    argv: ["/bin/sh", "-c", "echo 1; echo 2 >&2; echo 3"],
    captureStdout: true,
    captureStderr: "stdout",
  });
  assert.equal(new TextDecoder().decode(merged.stdout), "1\n2\n3\n");
  const piped = await runCommand({
    argv: ["cat"],
    captureStdout: true,
    captureStderr: true,
    input: new TextEncoder().encode("in"),
  });
  assert.equal(new TextDecoder().decode(piped.stdout), "in");
  const failed = await runCommand({ argv: ["false"], captureStdout: true, captureStderr: true });
  assert.equal(failed.status, 1);
  const missing = await runCommand({
    argv: ["/nonexistent/cmd"],
    captureStdout: true,
    captureStderr: true,
  });
  assert.equal(missing.notFound, true);
  const sync = runCommandSync({ argv: ["printf", "s"], captureStdout: true, captureStderr: false });
  assert.equal(new TextDecoder().decode(sync.stdout), "s");
});

Deno.test("compileStringEval() turns a missing program into FileNotFoundError", async () => {
  await assert.rejects(
    compileStringEval("subprocess.check_output(['/nonexistent/cmd'])", PASS, { runCommand })(),
    (e: unknown) =>
      e instanceof AccountError &&
      e.message.endsWith(
        "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/cmd'",
      ),
  );
});
