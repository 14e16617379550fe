/**
 * Checks the Python-expression interpreter against real Python 3: every case of
 * test/fixtures/py_cases.json (written by scripts/gen_py_cases.py from configparser + eval, as
 * OfflineIMAP does) must give the same type and repr, or the same exception class, in both sync
 * and async evaluation. When python3 is installed, the generator is run again and its output
 * must equal the committed fixture, so the fixture cannot rot.
 */

import assert from "node:assert/strict";
import { ConfigError } from "../../../src/errors.ts";
import { parseIni } from "../../../src/config/ini.ts";
import {
  callPython,
  callPythonAsync,
  compileExpression,
  evaluateExpression,
  type ExpressionHooks,
  pyRepr,
  PythonError,
  pyTypeName,
  type PyValue,
} from "../../../src/config/py_expr.ts";
import {
  PythonFile,
  readFileForPython,
  runCommand,
  runCommandSync,
} from "../../../src/config/pythonfile.ts";

interface Outcome {
  readonly type?: string;
  readonly repr?: string;
  readonly error?: string;
}

interface Case {
  readonly id: string;
  readonly option: string;
  readonly section: string;
  readonly file: string;
  readonly source?: string;
  readonly "config_error"?: string;
  readonly value?: Outcome;
  readonly inputs?: unknown[][];
  readonly results?: Outcome[];
  readonly env?: Record<string, string>;
  readonly files?: Record<string, string>;
  readonly pythonfile?: boolean;
  readonly deviation?: string;
  readonly expected?: { refused?: boolean; value?: Outcome; results?: Outcome[] };
}

interface Fixture {
  readonly python: string;
  readonly pythonfile: string;
  readonly cases: Case[];
}

const FIXTURE_URL = new URL("../../fixtures/py_cases.json", import.meta.url);
const GENERATOR_URL = new URL("../../../scripts/gen_py_cases.py", import.meta.url);
const fixtureText = await Deno.readTextFile(FIXTURE_URL);
const fixture = JSON.parse(fixtureText) as Fixture;

function pythonVersion(): string | undefined {
  try {
    const out = new Deno.Command("python3", {
      args: ["--version"],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
    const m = /Python (\d+\.\d+)/.exec(new TextDecoder().decode(out.stdout));
    return m?.[1];
  } catch {
    return undefined;
  }
}

const PYTHON = pythonVersion();

/** Compares one outcome of ours (a value, or a thrown error) with Python's. */
function check(label: string, expected: Outcome, run: () => PyValue): void {
  let value: PyValue;
  try {
    value = run();
  } catch (error) {
    const cause = (error as Error).cause;
    if (!(cause instanceof PythonError)) throw error;
    assert.equal(
      cause.type,
      expected.error,
      `${label}: raised ${cause.type} (${(error as Error).message}), Python gives ${
        JSON.stringify(expected)
      }`,
    );
    return;
  }
  assert.equal(
    expected.error,
    undefined,
    `${label}: returned ${pyRepr(value)}, Python raises ${expected.error}`,
  );
  assert.equal(pyTypeName(value), expected.type, `${label}: type of ${pyRepr(value)}`);
  if (expected.repr !== undefined) assert.equal(pyRepr(value), expected.repr, `${label}: repr`);
}

async function checkAsync(
  label: string,
  expected: Outcome,
  run: () => Promise<PyValue>,
): Promise<void> {
  let value: PyValue;
  try {
    value = await run();
  } catch (error) {
    const cause = (error as Error).cause;
    if (!(cause instanceof PythonError)) throw error;
    assert.equal(
      cause.type,
      expected.error,
      `${label}: raised ${cause.type} (${(error as Error).message})`,
    );
    return;
  }
  assert.equal(
    expected.error,
    undefined,
    `${label}: returned ${pyRepr(value)}, Python raises ${expected.error}`,
  );
  assert.equal(pyTypeName(value), expected.type, `${label}: type`);
  if (expected.repr !== undefined) assert.equal(pyRepr(value), expected.repr, `${label}: repr`);
}

function isRefusal(error: unknown): boolean {
  const cause = (error as Error).cause;
  return cause instanceof PythonError && cause.unsupported;
}

async function runCase(c: Case, hooks: ExpressionHooks): Promise<void> {
  const ini = parseIni(c.file, "py_cases.json");
  if (c["config_error"] !== undefined) {
    assert.throws(
      () => ini.get(c.section, c.option),
      ConfigError,
      `${c.id}: the config reader accepts a lone %`,
    );
    return;
  }
  assert.equal(ini.get(c.section, c.option), c.source, `${c.id}: value after the config reader`);
  const source = c.source as string;
  const site = { option: c.option, section: c.section };
  if (c.expected?.refused) {
    let refused = false;
    try {
      const value = compileExpression(source, site, hooks);
      for (const input of c.inputs ?? []) callPython(value, input, site, hooks);
    } catch (error) {
      refused = isRefusal(error);
      if (!refused) throw error;
    }
    assert.ok(refused, `${c.id}: must be refused as unsupported`);
    return;
  }
  const expectedValue = c.expected?.value ?? c.value as Outcome;
  const expectedResults = c.expected?.results ?? c.results;
  // Sync mode, as nametrans and folderfilter are evaluated.
  let value: PyValue = null;
  let compiled = false;
  check(`${c.id} value (sync)`, expectedValue, () => {
    value = compileExpression(source, site, hooks);
    compiled = true;
    return value;
  });
  if (compiled && c.inputs !== undefined && expectedResults !== undefined) {
    c.inputs.forEach((input, i) => {
      check(
        `${c.id} input ${JSON.stringify(input)} (sync)`,
        expectedResults[i] as Outcome,
        () => callPython(value, input, site, hooks),
      );
    });
  }
  // Async mode, as the *eval options are evaluated.
  let asyncValue: PyValue = null;
  let asyncCompiled = false;
  await checkAsync(`${c.id} value (async)`, expectedValue, async () => {
    asyncValue = await evaluateExpression(source, site, hooks);
    asyncCompiled = true;
    return asyncValue;
  });
  if (asyncCompiled && c.inputs !== undefined && expectedResults !== undefined) {
    for (const [i, input] of c.inputs.entries()) {
      await checkAsync(
        `${c.id} input ${JSON.stringify(input)} (async)`,
        expectedResults[i] as Outcome,
        () => callPythonAsync(asyncValue, input, site, hooks),
      );
    }
  }
}

async function withCaseHooks(
  c: Case,
  python: PythonFile | undefined,
  body: (hooks: ExpressionHooks) => Promise<void>,
): Promise<void> {
  const env = new Map(Object.entries(c.env ?? {}));
  const dir = c.files === undefined ? undefined : await Deno.makeTempDir();
  try {
    for (const [name, content] of Object.entries(c.files ?? {})) {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, content);
      env.set(name, path);
    }
    const vars = Object.fromEntries(env);
    await body({
      env: (name) => env.get(name),
      readFile: readFileForPython,
      runCommand: (request) => runCommand(request, vars),
      runCommandSync: (request) => runCommandSync(request, vars),
      python,
    });
  } finally {
    if (dir !== undefined) await Deno.remove(dir, { recursive: true });
  }
}

const plainCases = fixture.cases.filter((c) => !c.pythonfile);
const pythonfileCases = fixture.cases.filter((c) => c.pythonfile);

for (const c of plainCases) {
  const shown = (c.source ?? c.file.split("\n")[1] ?? "").replaceAll("\n", "⏎");
  Deno.test(
    `compileExpression() agrees with Python 3 on ${c.id} (${c.option}): ${shown.slice(0, 70)}`,
    () => withCaseHooks(c, undefined, (hooks) => runCase(c, hooks)),
  );
}

Deno.test({
  name: "compileExpression() agrees with Python 3 on the cases that call into a pythonfile",
  ignore: PYTHON === undefined,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const python = new PythonFile(`${dir}/offlineimap.py`, { stderr: "null" });
    try {
      await Deno.writeTextFile(`${dir}/offlineimap.py`, fixture.pythonfile);
      for (const c of pythonfileCases) {
        await t.step(
          `${c.id}: ${c.source}`,
          () => withCaseHooks(c, python, (hooks) => runCase(c, hooks)),
        );
      }
    } finally {
      await python.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("py_cases.json has at least 150 (expression, input) cases", () => {
  const pairs = fixture.cases.reduce((n, c) => n + (c.inputs?.length ?? 1), 0);
  assert.ok(pairs >= 150, `${pairs} cases`);
});

Deno.test({
  name: "scripts/gen_py_cases.py regenerates py_cases.json unchanged",
  ignore: PYTHON !== fixture.python,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/py_cases.json`;
      const result = await new Deno.Command("python3", {
        args: [GENERATOR_URL.pathname, out],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
      const fresh = await Deno.readTextFile(out);
      if (fresh !== fixtureText) {
        const a = JSON.parse(fresh) as Fixture;
        const changed = a.cases.filter((c, i) =>
          JSON.stringify(c) !== JSON.stringify(fixture.cases[i])
        )
          .map((c) => c.id);
        assert.fail(
          `py_cases.json is stale (cases ${
            changed.join(", ")
          }): run python3 scripts/gen_py_cases.py`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
