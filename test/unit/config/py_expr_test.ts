import assert from "node:assert/strict";
import { AccountError, ConfigError } from "../../../src/errors.ts";
import {
  callPython,
  type CommandRequest,
  type CommandResult,
  compileCopyIgnore,
  compileEvalOAuth2,
  compileExpression,
  compileFolderFilter,
  compileFolderSort,
  compileIntEval,
  compileMbnamesFilter,
  compileMbnamesSortKey,
  compileNametrans,
  compileNewmailHook,
  compileStringEval,
  evaluateString,
  evaluateStringList,
  type ExpressionHooks,
  namespaceOf,
  percentFormatMapping,
  pyRepr,
  type PythonBridge,
  PythonError,
  type PythonReply,
  type PythonRequest,
} from "../../../src/config/py_expr.ts";

const REMOTE = { option: "nametrans", section: "Repository Remote" };
const FILTER = { option: "folderfilter", section: "Repository Remote" };
const PASS = { option: "remotepasseval", section: "Repository Remote" };

function causeOf(error: unknown): PythonError {
  const cause = (error as Error).cause;
  assert.ok(cause instanceof PythonError, `no PythonError cause in ${error}`);
  return cause;
}

function throwsConfig(fn: () => unknown, message: string | RegExp): PythonError | undefined {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => {
    caught = e;
    return e instanceof ConfigError;
  });
  const text = (caught as Error).message;
  if (typeof message === "string") assert.equal(text, message);
  else assert.match(text, message);
  const cause = (caught as Error).cause;
  return cause instanceof PythonError ? cause : undefined;
}

const EMPTY = new Uint8Array();
const encoder = new TextEncoder();

/** A runner that records requests and answers from a table, asynchronously. */
function fakeRunner(outputs: Record<string, string>): {
  hooks: ExpressionHooks;
  runs: CommandRequest[];
} {
  const runs: CommandRequest[] = [];
  const answer = (request: CommandRequest): CommandResult => {
    runs.push(request);
    const key = request.argv.join(" ");
    if (!(key in outputs)) return { status: 127, stdout: EMPTY, stderr: EMPTY, notFound: true };
    return { status: 0, stdout: encoder.encode(outputs[key]), stderr: EMPTY };
  };
  return {
    runs,
    hooks: {
      runCommand: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return answer(request);
      },
      runCommandSync: answer,
    },
  };
}

/** A pythonfile bridge answering from JavaScript functions, counting requests. */
function fakeBridge(
  globals: Record<string, (...args: unknown[]) => unknown> | { unavailable: string },
): { bridge: PythonBridge; requests: PythonRequest[] } {
  const requests: PythonRequest[] = [];
  const refs: ((...args: unknown[]) => unknown)[] = [];
  const reply = (request: PythonRequest): PythonReply => {
    requests.push(request);
    if ("unavailable" in globals) throw new Error("not started");
    if (request.op === "get") {
      const fn = globals[request.name] as (...args: unknown[]) => unknown;
      refs.push(fn);
      return { ok: { $ref: refs.length, type: "function", callable: true, repr: request.name } };
    }
    if (request.op === "call") {
      try {
        const out = refs[request.ref - 1]!(...request.args);
        return { ok: out as string };
      } catch (e) {
        return { error: { type: "ValueError", message: (e as Error).message, traceback: "" } };
      }
    }
    return { error: { type: "AttributeError", message: "no", traceback: "" } };
  };
  return {
    requests,
    bridge: {
      path: "/home/me/.offlineimap.py",
      globals: () =>
        "unavailable" in globals
          ? { unavailable: globals.unavailable as string }
          : { names: new Set(Object.keys(globals)) },
      requestSync: reply,
      request: (request) => Promise.resolve(reply(request)),
    },
  };
}

// -- errors --------------------------------------------------------------------------------

Deno.test("compileNametrans() names the option, section, column and construct of a refused construct", () => {
  throwsConfig(
    () => compileNametrans("lambda n: (yield n)", REMOTE),
    'Cannot evaluate option "nametrans" in section "Repository Remote": column 12: "yield" is not supported',
  );
});

Deno.test("compileExpression() reports line and column in a multi-line value", () => {
  const cause = throwsConfig(
    () => compileExpression("lambda n: n in [\n'a',\n'b' +]", REMOTE),
    'Cannot evaluate option "nametrans" in section "Repository Remote": line 3, column 6: invalid syntax: unexpected "]"',
  );
  assert.equal(cause?.type, "SyntaxError");
});

Deno.test("compileExpression() refuses statements, assignments and unsafe names with the construct named", () => {
  const table: [string, RegExp][] = [
    ["import os", /column 1: "import" is not supported$/],
    ["x = 1", /column 3: "=" \(assignment\) is not supported$/],
    ["lambda n: (n := 1)", /column 14: ":=" \(assignment expression\) is not supported$/],
    ["lambda n: f'{n}'", /column 11: f-strings are not supported$/],
    [
      "lambda n: n.__class__",
      /column 13: "__class__" is not supported \(double-underscore name\)$/,
    ],
    ["lambda n: __import__('os')", /column 11: "__import__" is not supported/],
    ["lambda n: '\\N{BULLET}'", /named Unicode escapes/],
  ];
  for (const [source, message] of table) {
    const cause = throwsConfig(() => compileExpression(source, REMOTE), message);
    assert.equal(cause?.unsupported, true, source);
  }
});

Deno.test("compileExpression() refuses dangerous builtins when they are called", () => {
  for (const name of ["eval", "exec", "getattr", "open", "print", "globals"]) {
    const f = compileExpression(`lambda n: ${name}(n)`, REMOTE);
    assert.throws(
      () => callPython(f, ["x"], REMOTE),
      (e: unknown) =>
        e instanceof AccountError && causeOf(e).unsupported &&
        (e as Error).message.includes(`"${name}" is not supported`),
      name,
    );
  }
});

Deno.test("compileExpression() gives Python 2 forms a hint with the Python 3 replacement", () => {
  const hints: [string, RegExp][] = [
    ["print 'x'", /print\(\.\.\.\)/],
    ["lambda n: `n`", /repr\(x\)/],
    ["lambda n: n <> 'a'", /!=/],
    ["lambda (a, b): a", /tuple parameters/],
  ];
  for (const [source, hint] of hints) {
    assert.throws(
      () => compileExpression(source, REMOTE),
      (e: unknown) => e instanceof ConfigError && hint.test(e.hint ?? ""),
      source,
    );
  }
  const decode = compileNametrans("lambda f: f.decode('imap4-utf-7')", REMOTE);
  assert.throws(
    () => decode("INBOX"),
    (e: unknown) =>
      e instanceof AccountError &&
      e.message ===
        'Cannot evaluate option "nametrans" in section "Repository Remote" for folder "INBOX": ' +
          "column 13: AttributeError: 'str' object has no attribute 'decode'" &&
      /already text/.test(e.hint ?? ""),
  );
});

Deno.test("compileNametrans() turns a runtime error into an AccountError naming the folder", () => {
  const f = compileNametrans("lambda n: n + 1", REMOTE);
  assert.throws(
    () => f("INBOX"),
    (e: unknown) =>
      e instanceof AccountError &&
      e.message ===
        'Cannot evaluate option "nametrans" in section "Repository Remote" for folder "INBOX": ' +
          'column 11: TypeError: can only concatenate str (not "int") to str' &&
      causeOf(e).type === "TypeError",
  );
});

Deno.test("compileExpression() reports regex errors as re.error with Python's message", () => {
  const f = compileNametrans("lambda f: re.sub('a(?i)b', 'x', f)", REMOTE);
  assert.throws(
    () => f("ab"),
    (e: unknown) =>
      e instanceof AccountError && causeOf(e).type === "re.error" &&
      e.message.endsWith("re.error: global flags not at the start of the expression at position 1"),
  );
});

Deno.test("compileExpression() accepts a lambda split outside brackets (DECISIONS.md #12)", () => {
  const f = compileFolderFilter("lambda f: f in\n['INBOX', 'Sent']", FILTER);
  assert.equal(f("Sent"), true);
  assert.equal(f("Trash"), false);
});

Deno.test("compileExpression() stops runaway and recursive expressions", () => {
  const slow = compileNametrans("lambda n: str(sum(range(10 ** 9)))", REMOTE);
  assert.throws(() => slow("x"), (e: unknown) => causeOf(e).type === "RuntimeError");
  const deep = compileNametrans("lambda n: (lambda f: f(f))(lambda f: f(f))", REMOTE);
  assert.throws(() => deep("x"), (e: unknown) => causeOf(e).type === "RecursionError");
  const big = compileNametrans("lambda n: n * 10 ** 9", REMOTE);
  assert.throws(() => big("x"), (e: unknown) => causeOf(e).type === "MemoryError");
});

// -- namespaces ----------------------------------------------------------------------------

Deno.test("namespaceOf() follows python-expressions.md §1.2", () => {
  assert.equal(namespaceOf("nametrans"), "filter");
  assert.equal(namespaceOf("sort_keyfunc"), "filter");
  assert.equal(namespaceOf("idlefolders"), "plain");
  assert.equal(namespaceOf("remotepasseval"), "eval");
  assert.equal(namespaceOf("newmail_hook"), "hook");
});

Deno.test("compileStringEval() has no re unless the pythonfile imports it", async () => {
  const f = compileStringEval("re.sub('a', 'b', 'a')", PASS);
  await assert.rejects(f(), (e: unknown) => {
    return e instanceof AccountError && causeOf(e).type === "NameError" &&
      /import it in a pythonfile/.test(e.hint ?? "");
  });
});

Deno.test("compileNametrans() has no os or subprocess, as in OfflineIMAP", () => {
  const f = compileNametrans("lambda n: os.getenv('HOME')", REMOTE);
  assert.throws(() => f("x"), (e: unknown) => causeOf(e).type === "NameError");
});

Deno.test("compileStringEval() offers os and subprocess with a warning (a superset)", async () => {
  const warnings: string[] = [];
  const { hooks, runs } = fakeRunner({ "pass show mail": "s3cret\n" });
  const f = compileStringEval("subprocess.check_output(['pass', 'show', 'mail']).strip()", PASS, {
    ...hooks,
    warn: (m) => warnings.push(m),
  });
  assert.equal(await f(), "s3cret");
  assert.equal(runs.length, 1);
  assert.deepEqual(runs[0], {
    argv: ["pass", "show", "mail"],
    captureStdout: true,
    captureStderr: false,
    input: undefined,
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /"subprocess" is provided by offlineimap-ts/);
});

Deno.test("compileStringEval() runs each command once per evaluation in async mode", async () => {
  const { hooks, runs } = fakeRunner({
    "printf a": "a",
    "printf b": "b",
    "/bin/sh -c echo c": "c\n",
  });
  const f = compileStringEval(
    "subprocess.check_output(['printf', 'a']).decode() + " +
      "subprocess.check_output(['printf', 'b']).decode() + os.popen('echo c').read()",
    PASS,
    hooks,
  );
  assert.equal(await f(), "abc\n");
  assert.equal(runs.length, 3);
  assert.equal(await f(), "abc\n");
  assert.equal(runs.length, 6);
});

Deno.test("compileStringEval() reports a failing command as CalledProcessError", async () => {
  const f = compileStringEval("subprocess.check_output(['gpg', '-d', 'x'])", PASS, {
    runCommand: () => Promise.resolve({ status: 2, stdout: EMPTY, stderr: EMPTY }),
  });
  await assert.rejects(
    f(),
    (e: unknown) =>
      e instanceof AccountError &&
      e.message.endsWith(
        "subprocess.CalledProcessError: Command '['gpg', '-d', 'x']' returned non-zero exit status 2.",
      ),
  );
});

Deno.test("compileStringEval() decodes bytes as UTF-8 and refuses other types", async () => {
  assert.equal(await compileStringEval("b'caf\\xc3\\xa9'", PASS)(), "café");
  await assert.rejects(
    compileStringEval("b'\\xff'", PASS)(),
    (e: unknown) => e instanceof AccountError && causeOf(e).type === "UnicodeDecodeError",
  );
  await assert.rejects(
    compileStringEval("42", PASS)(),
    (e: unknown) =>
      e instanceof AccountError &&
      /must give a str \(or bytes\), not a int \(42\)/.test((e as Error).message),
  );
});

Deno.test("compileStringEval() checks the syntax at once", () => {
  assert.throws(() => compileStringEval("get_password(", PASS), ConfigError);
});

Deno.test("compileIntEval() wants an int port", async () => {
  const site = { option: "remoteporteval", section: "Repository Remote" };
  assert.equal(await compileIntEval("993", site)(), 993);
  await assert.rejects(compileIntEval("'993'", site)(), AccountError);
  await assert.rejects(compileIntEval("70000", site)(), AccountError);
});

Deno.test("compileEvalOAuth2() maps None to undefined and strips newlines", async () => {
  const site = { option: "oauth2_access_token_eval", section: "Repository Remote" };
  assert.equal(await compileEvalOAuth2("None", site)(), undefined);
  assert.equal(await compileEvalOAuth2("'\\ntok\\n'", site)(), "tok");
});

Deno.test("compileStringEval() reads the environment through the env hook", async () => {
  const env: Record<string, string> = { USER: "me", HOME: "/home/me" };
  const hooks = { env: (n: string) => env[n] };
  assert.equal(
    await compileStringEval("os.environ['USER'] + os.path.expanduser('~/x')", PASS, hooks)(),
    "me/home/me/x",
  );
  await assert.rejects(
    compileStringEval("os.environ['NOPE']", PASS, hooks)(),
    (e: unknown) =>
      causeOf(e).type === "KeyError" && /KeyError: 'NOPE'$/.test((e as Error).message),
  );
});

// -- pythonfile ----------------------------------------------------------------------------

Deno.test("compileNametrans() calls a pythonfile function by its bare name", () => {
  const { bridge, requests } = fakeBridge({ translate: (n) => `acc1.${n}` });
  const f = compileNametrans("translate", REMOTE, { python: bridge });
  assert.equal(f("INBOX"), "acc1.INBOX");
  assert.deepEqual(requests[0], { op: "get", name: "translate" });
  assert.deepEqual(requests[1], { op: "call", ref: 1, args: ["INBOX"], kwargs: [] });
});

Deno.test("compileStringEval() passes keyword arguments to a pythonfile function", async () => {
  const { bridge, requests } = fakeBridge({ get_password: () => "pw" });
  const f = compileStringEval('get_password("imap", user="me")', PASS, { python: bridge });
  assert.equal(await f(), "pw");
  assert.deepEqual(requests.at(-1), {
    op: "call",
    ref: 1,
    args: ["imap"],
    kwargs: [["user", "me"]],
  });
});

Deno.test("compileNametrans() lets pythonfile globals shadow builtins, as eval does", () => {
  const { bridge } = fakeBridge({ len: () => "shadowed" });
  assert.equal(compileNametrans("lambda n: len(n)", REMOTE, { python: bridge })("x"), "shadowed");
});

Deno.test("compileNametrans() keeps re from OfflineIMAP's namespace over the pythonfile's", () => {
  const { bridge, requests } = fakeBridge({ re: () => "never" });
  assert.equal(
    compileNametrans("lambda n: re.sub('a', 'b', n)", REMOTE, { python: bridge })("a"),
    "b",
  );
  assert.equal(requests.length, 0);
});

Deno.test("compileNametrans() says python3 is missing and names the pythonfile function", () => {
  const { bridge } = fakeBridge({ unavailable: "python3 was not found (is Python 3 installed?)" });
  throwsConfig(
    () => compileNametrans("oimaptransfolder_acc1", REMOTE, { python: bridge }),
    'Cannot evaluate option "nametrans" in section "Repository Remote": column 1: NameError: ' +
      "name 'oimaptransfolder_acc1' is not defined: it would come from pythonfile " +
      '"/home/me/.offlineimap.py", but python3 was not found (is Python 3 installed?)',
  );
  // Builtins keep working without python3.
  assert.equal(compileNametrans("lambda n: n.upper()", REMOTE, { python: bridge })("a"), "A");
});

Deno.test("compileNametrans() reports an exception raised in the pythonfile", () => {
  const { bridge } = fakeBridge({
    fail: () => {
      throw new Error("no folder x");
    },
  });
  const f = compileNametrans("fail", REMOTE, { python: bridge });
  assert.throws(
    () => f("x"),
    (e: unknown) =>
      e instanceof AccountError && e.message.endsWith("ValueError: no folder x") &&
      /Raised in pythonfile "\/home\/me\/.offlineimap.py"/.test(e.hint ?? ""),
  );
});

// -- converters ----------------------------------------------------------------------------

Deno.test("compileNametrans() refuses a value that is not callable", () => {
  throwsConfig(
    () => compileNametrans("'INBOX'", REMOTE),
    'Cannot use option "nametrans" in section "Repository Remote": it must be a function of a ' +
      "folder name, not a str ('INBOX')",
  );
});

Deno.test("compileNametrans() refuses a result that is not a str", () => {
  const f = compileNametrans("lambda n: None", REMOTE);
  assert.throws(
    () => f("x"),
    (e: unknown) => e instanceof AccountError && /must give a str/.test((e as Error).message),
  );
});

Deno.test("compileFolderFilter() applies Python truthiness, match objects included", () => {
  const f = compileFolderFilter("lambda f: re.match('Projects', f)", FILTER);
  assert.equal(f("Projects/X"), true);
  assert.equal(f("Old/Projects"), false);
  assert.equal(compileFolderFilter("lambda f: f[:3]", FILTER)(""), false);
});

Deno.test("compileFolderSort() uses a cmp function, and the cmp() shim with a warning", () => {
  const warnings: string[] = [];
  const site = { option: "foldersort", section: "Repository Remote" };
  const sort = compileFolderSort("lambda x, y: -cmp(x, y)", site, {
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(["b", "c", "a"].sort(sort), ["c", "b", "a"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /cmp\(\) does not exist in Python 3/);
  const inbox = compileFolderSort(
    "lambda a, b: -1 if a == 'INBOX' else (1 if b == 'INBOX' else (a > b) - (a < b))",
    site,
  );
  assert.deepEqual(["b", "INBOX", "a"].sort(inbox), ["INBOX", "a", "b"]);
});

Deno.test("compileFolderSort() accepts a one-argument key function with a warning", () => {
  const warnings: string[] = [];
  const sort = compileFolderSort("lambda x: x.lower()", { option: "foldersort", section: "R" }, {
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(["b", "A", "c"].sort(sort), ["A", "b", "c"]);
  assert.equal(warnings.length, 1);
});

Deno.test("compileFolderSort() refuses a comparison result that is not a number", () => {
  const sort = compileFolderSort("lambda a, b: 'x'", { option: "foldersort", section: "R" });
  assert.throws(() => sort("a", "b"), AccountError);
});

Deno.test("evaluateStringList() wants a list of str", () => {
  const site = { option: "folderincludes", section: "Repository Remote" };
  assert.deepEqual(evaluateStringList("['lists.user',\n'lists.personal',\n]", site), [
    "lists.user",
    "lists.personal",
  ]);
  assert.deepEqual(evaluateStringList("('a', 'b')", site), ["a", "b"]);
  throwsConfig(() => evaluateStringList("'INBOX'", site), /it must be a list of folder names/);
  throwsConfig(() => evaluateStringList("['a', 1]", site), /it must be a list of folder names/);
});

Deno.test("compileCopyIgnore() returns UIDs, None giving none", () => {
  const site = { option: "copy_ignore_eval", section: "Repository Remote" };
  const f = compileCopyIgnore("lambda name: {'INBOX': [17, 18]}.get(name)", site);
  assert.deepEqual(f("INBOX"), [17, 18]);
  assert.deepEqual(f("Sent"), []);
  assert.throws(() => compileCopyIgnore("lambda n: ['x']", site)("INBOX"), AccountError);
});

Deno.test("evaluateString() evaluates [mbnames] header, sep and footer", () => {
  const site = { option: "sep", section: "mbnames" };
  assert.equal(evaluateString('" \\\\\\n"', site), " \\\n");
  throwsConfig(
    () => evaluateString("mailboxes", { option: "header", section: "mbnames" }),
    /NameError/,
  );
  throwsConfig(
    () => evaluateString("42", { option: "header", section: "mbnames" }),
    /must be a str/,
  );
});

Deno.test("compileMbnamesFilter() is called with the account and the folder", () => {
  const f = compileMbnamesFilter(
    "lambda acct, box: box not in ['Trash'] and acct != 'old'",
    { option: "folderfilter", section: "mbnames" },
  );
  assert.equal(f("work", "INBOX"), true);
  assert.equal(f("work", "Trash"), false);
  assert.equal(f("old", "INBOX"), false);
});

Deno.test("compileMbnamesSortKey() orders items by Python's ordering of the keys", () => {
  const compare = compileMbnamesSortKey(
    "lambda d: (d['accountname'], d['foldername'].lower())",
    { option: "sort_keyfunc", section: "mbnames" },
  );
  const items = [
    { accountname: "work", foldername: "b", localfolders: "/m" },
    { accountname: "home", foldername: "Z", localfolders: "/m" },
    { accountname: "work", foldername: "A", localfolders: "/m" },
  ];
  assert.deepEqual(items.sort(compare).map((i) => i.accountname + "/" + i.foldername), [
    "home/Z",
    "work/A",
    "work/b",
  ]);
});

Deno.test("compileNewmailHook() runs os.system through the async runner", async () => {
  const { hooks, runs } = fakeRunner({ "/bin/sh -c notify-send mail": "" });
  const hook = compileNewmailHook("lambda: os.system('notify-send mail')", {
    option: "newmail_hook",
    section: "Repository Remote",
  }, hooks);
  await hook();
  assert.deepEqual(runs.map((r) => r.argv), [["/bin/sh", "-c", "notify-send mail"]]);
  assert.equal(runs[0]!.captureStdout, false);
});

Deno.test("compileStringEval() refuses os.system outside newmail_hook", async () => {
  await assert.rejects(
    compileStringEval("os.system('true')", PASS)(),
    (e: unknown) => causeOf(e).unsupported,
  );
});

Deno.test("percentFormatMapping() formats [mbnames] peritem as Python's % does", () => {
  assert.equal(
    percentFormatMapping('"+%(accountname)s/%(foldername)s"', {
      accountname: "Work",
      foldername: "INBOX",
      localfolders: "/m",
    }),
    '"+Work/INBOX"',
  );
  assert.throws(
    () => percentFormatMapping("%(nope)s", {}),
    (e: unknown) => e instanceof PythonError && e.type === "KeyError",
  );
});

Deno.test("compileExpression() counts string length and indices in code points", () => {
  const f = compileExpression("lambda n: (len(n), n[1], n[-1], n[::-1])", REMOTE);
  assert.equal(
    pyRepr(callPython(f, ["a\u{1F600}b"], REMOTE)),
    "(3, '\u{1F600}', 'b', 'b\u{1F600}a')",
  );
});
