import assert from "node:assert/strict";
import { IniFile, parseIni, parsePyFloat, parsePyInt } from "../../../src/config/ini.ts";
import { ConfigError } from "../../../src/errors.ts";

const FIXTURES = new URL("../../fixtures/config/", import.meta.url);

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, FIXTURES));
}

/** Asserts that `fn` throws a ConfigError with exactly this message; returns it. */
function throwsConfig(fn: () => unknown, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

Deno.test("parseIni() reads sections and options in file order", () => {
  const ini = parseIni(fixture("minimal.rc"), "minimal.rc");
  assert.deepEqual(ini.sections(), [
    "general",
    "Account main",
    "Repository main-local",
    "Repository main-remote",
  ]);
  assert.deepEqual(ini.keys("Account main"), [
    "localrepository",
    "remoterepository",
    "status_backend",
  ]);
  assert.equal(ini.get("general", "accounts"), "main");
  assert.equal(ini.get("Repository main-local", "localfolders"), "~/Maildir");
  assert.equal(ini.get("Repository main-remote", "remotehost"), "host.domain.tld");
  assert.equal(ini.line("Repository main-remote", "remoteuser"), 23);
  assert.equal(ini.sectionLine("Account main"), 5);
});

Deno.test("parseIni() lower-cases and right-strips keys and strips values", () => {
  const ini = parseIni("[s]\n  Accounts   =   A, B  \nUI:basic\n", "f");
  assert.deepEqual(ini.keys("s"), ["accounts", "ui"]);
  assert.equal(ini.get("s", "accounts"), "A, B");
  assert.equal(ini.get("s", "ACCOUNTS"), "A, B");
  assert.equal(ini.get("s", "ui"), "basic");
});

Deno.test("parseIni() splits at the first = or : so values may contain both", () => {
  const ini = parseIni(
    "[s]\nremotehost = [::1]\nfp: AB:CD\nk = a=b\nempty =\nfolderfilter = lambda f: f == 'x'\n",
    "f",
  );
  assert.equal(ini.get("s", "remotehost"), "[::1]");
  assert.equal(ini.get("s", "fp"), "AB:CD");
  assert.equal(ini.get("s", "k"), "a=b");
  assert.equal(ini.get("s", "empty"), "");
  assert.equal(ini.get("s", "folderfilter"), "lambda f: f == 'x'");
});

Deno.test("parseIni() keeps quotes and has no inline comments", () => {
  const ini = parseIni('[s]\nremotepass = "secret"\nmaxage = 30 # days\nui = basic ; x\n', "f");
  assert.equal(ini.get("s", "remotepass"), '"secret"');
  assert.equal(ini.get("s", "maxage"), "30 # days");
  assert.equal(ini.get("s", "ui"), "basic ; x");
});

Deno.test("parseIni() skips comment lines, even indented or inside a multi-line value", () => {
  const ini = parseIni("# top\n; top\n[s]\n  # indented\nk = a\n# c\n  ; d\n  b\n", "f");
  assert.deepEqual(ini.keys("s"), ["k"]);
  assert.equal(ini.get("s", "k"), "a\nb");
});

Deno.test("parseIni() joins continuation lines, keeping inner blank lines only", () => {
  const ini = parseIni(fixture("continuation.rc"), "continuation.rc");
  assert.equal(
    ini.get("Account A", "presynchook"),
    "echo one\necho two\n\necho three\necho four",
  );
  assert.equal(ini.get("Account A", "postsynchook"), "");
  assert.equal(ini.line("Account A", "presynchook"), 7);
  assert.equal(
    ini.get("Repository R", "cert_fingerprint"),
    "\naa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd,\n" +
      "ffeeddccbbaa99887766554433221100ffeeddcc",
  );
});

Deno.test("parseIni() reads an indented header-like line after a key as a continuation", () => {
  const ini = parseIni(fixture("continuation.rc"), "continuation.rc");
  assert.equal(ini.get("Repository L", "localfolders"), "/srv/mail\n[Repository NotAHeader]");
  assert.equal(ini.hasSection("Repository NotAHeader"), false);
});

Deno.test("parseIni() measures continuation against the key line's indentation", () => {
  const ini = parseIni("[s]\n  k = a\n    b\n  j = c\n\tt = 1\n", "f");
  assert.equal(ini.get("s", "k"), "a\nb");
  assert.equal(ini.get("s", "j"), "c");
  assert.equal(ini.get("s", "t"), "1");
  // A blank line does not end a value either.
  assert.equal(parseIni("[s]\nk = a\n\n  b\n\n", "f").get("s", "k"), "a\n\nb");
});

Deno.test("parseIni() takes the header name up to the last ], spaces and case included", () => {
  const ini = parseIni("[a]b]\n[Account X] junk\n[ general ]\n[General]\n[]]\n", "f");
  assert.deepEqual(ini.sections(), ["a]b", "Account X", " general ", "General", "]"]);
  assert.equal(ini.hasSection("general"), false);
});

Deno.test("parseIni() accepts CRLF line ends", () => {
  const ini = parseIni("[s]\r\nk = a\r\n  b\r\n", "f");
  assert.equal(ini.get("s", "k"), "a\nb");
});

Deno.test("parseIni() makes [DEFAULT] visible in every section, overridable", () => {
  const ini = parseIni("[DEFAULT]\nx = 1\ny = 2\n[s]\ny = 3\nz = 4\n[t]\n", "f");
  assert.deepEqual(ini.sections(), ["s", "t"]);
  assert.equal(ini.get("s", "x"), "1");
  assert.equal(ini.get("s", "y"), "3");
  assert.equal(ini.get("t", "y"), "2");
  assert.deepEqual(ini.keys("s"), ["y", "z", "x"]);
  assert.deepEqual(ini.ownKeys("s"), ["y", "z"]);
  assert.deepEqual(ini.keys("DEFAULT"), ["x", "y"]);
  assert.equal(ini.has("t", "x"), true);
  assert.equal(ini.has("missing", "x"), false);
  assert.equal(ini.line("t", "y"), 3);
  // [DEFAULT] may appear twice.
  assert.equal(parseIni("[DEFAULT]\na=1\n[DEFAULT]\nb=2\n[s]\n", "f").get("s", "b"), "2");
});

Deno.test("parseIni() rejects an option before any section header", () => {
  const error = throwsConfig(
    () => parseIni("# comment\n\naccounts = A\n[general]\n", "/home/u/.offlineimaprc"),
    'Cannot read config "/home/u/.offlineimaprc" line 3: "accounts = A" comes before any ' +
      "[section] header",
  );
  assert.equal(error.exitCode, 1);
  assert.match(error.hint ?? "", /section header/);
});

Deno.test("parseIni() rejects a section defined twice", () => {
  throwsConfig(
    () => parseIni("[s]\nk = 1\n\n[t]\n[s]\nj = 2\n", "f"),
    'Cannot read config "f" line 5: section "s" is defined twice (first on line 1)',
  );
});

Deno.test("parseIni() rejects an option set twice, whatever its case", () => {
  throwsConfig(
    () => parseIni("[general]\naccounts = A\nAccounts = B\n", "f"),
    'Cannot read config "f" line 3: option "accounts" is set twice in section "general" ' +
      "(first on line 2)",
  );
  throwsConfig(
    () => parseIni("[DEFAULT]\nx = 1\n[DEFAULT]\nx = 2\n", "f"),
    'Cannot read config "f" line 4: option "x" is set twice in section "DEFAULT" ' +
      "(first on line 2)",
  );
});

Deno.test("parseIni() rejects lines with no delimiter, naming the first and listing the rest", () => {
  throwsConfig(
    () => parseIni("[s]\nk = 1\nbogus\nj = 2\nalso bad\nworse\n", "f"),
    'Cannot read config "f" line 3: "bogus" is neither a [section] header nor a "key = value" ' +
      "line (also lines 5, 6)",
  );
  throwsConfig(
    () => parseIni("[s]\n= value\n", "f"),
    'Cannot read config "f" line 2: "= value" has no option name',
  );
});

Deno.test("IniFile.get() interpolates %(name)s from the section, then DEFAULT, any case", () => {
  const ini = parseIni(fixture("default_interpolation.rc"), "f");
  assert.equal(ini.get("general", "signature"), "alice at mail.example.net");
  // References are resolved in the section being read, at every depth.
  assert.equal(ini.get("Account A", "greeting"), "100% bob");
  assert.equal(ini.get("Repository L", "localfolders"), "/srv/mail/alice");
  assert.equal(ini.get("Repository R", "remoteuser"), "alice@example.net");
  assert.equal(ini.get("general", "greeting", { raw: true }), "100%% %(user)s");
});

Deno.test("IniFile.get() reports a bad % only when that option is read", () => {
  const ini = parseIni(
    "[s]\ngood = ok\npass = 100%\nref = %(nope)s\nnos = %(good)\ndeep = %(a)s\na = %(b)s\nb = %(a)s\n",
    "/x/rc",
  );
  assert.equal(ini.get("s", "good"), "ok");
  assert.equal(ini.get("s", "pass", { raw: true }), "100%");
  const error = throwsConfig(
    () => ini.get("s", "pass"),
    'Cannot read option "pass" in section "s": "%" must be followed by "%" or "(", found: "%"',
  );
  assert.match(error.hint ?? "", /%%/);
  throwsConfig(
    () => ini.get("s", "ref"),
    'Cannot read option "ref" in section "s": "%(nope)s" refers to option "nope", which is not set',
  );
  throwsConfig(
    () => ini.get("s", "nos"),
    'Cannot read option "nos" in section "s": bad interpolation variable reference "%(good)"',
  );
  throwsConfig(() => ini.get("s", "deep"), /nested more than 10 deep \(in option "[ab]"\)$/);
});

Deno.test("IniFile.get() returns undefined for a missing option or section", () => {
  const ini = parseIni("[s]\nk = v\n", "f");
  assert.equal(ini.get("s", "nope"), undefined);
  assert.equal(ini.get("nope", "k"), undefined);
  assert.equal(ini.line("s", "nope"), undefined);
  assert.deepEqual(ini.keys("nope"), []);
});

Deno.test("IniFile.getBoolean() accepts Python's words in any case and nothing else", () => {
  const ini = parseIni(
    "[s]\na = 1\nb = YES\nc = True\nd = on\ne = 0\nf = No\ng = FALSE\nh = off\nbad = y\n",
    "/rc",
  );
  for (const key of "abcd") assert.equal(ini.getBoolean("s", key), true, key);
  for (const key of "efgh") assert.equal(ini.getBoolean("s", key), false, key);
  assert.equal(ini.getBoolean("s", "missing"), undefined);
  assert.equal(ini.getBoolean("s", "missing", true), true);
  const error = throwsConfig(
    () => ini.getBoolean("s", "bad"),
    'Cannot read option "bad" in section "s": Not a boolean: "y"',
  );
  assert.equal(error.hint, 'Use yes or no (line 10 of "/rc")');
});

Deno.test("parsePyInt() follows Python's int()", () => {
  const good: [string, number][] = [
    ["42", 42],
    [" 42 ", 42],
    ["+1", 1],
    ["-3", -3],
    ["1_000", 1000],
    ["007", 7],
  ];
  for (const [text, value] of good) assert.equal(parsePyInt(text), value, text);
  for (const text of ["0x10", "10.0", "10 # days", "1__0", "_1", "1_", "", "- 1", "1e3"]) {
    assert.equal(parsePyInt(text), undefined, text);
  }
});

Deno.test("parsePyFloat() follows Python's float()", () => {
  const good: [string, number][] = [
    ["0.5", 0.5],
    [" .5", 0.5],
    ["5.", 5],
    ["1e1", 10],
    ["-2E-1", -0.2],
    ["1_0.5", 10.5],
    ["inf", Infinity],
    ["-Infinity", -Infinity],
  ];
  for (const [text, value] of good) assert.equal(parsePyFloat(text), value, text);
  assert.ok(Number.isNaN(parsePyFloat("nan")));
  for (const text of ["abc", "0.5 # x", "", ".", "1e", "0x1", "1,5"]) {
    assert.equal(parsePyFloat(text), undefined, text);
  }
});

Deno.test("IniFile.getInt() and getFloat() convert or fail with the option named", () => {
  const ini = parseIni("[s]\nn = 1_000\nf = 0.25\nbad = 30 # days\n", "/rc");
  assert.equal(ini.getInt("s", "n"), 1000);
  assert.equal(ini.getInt("s", "missing", 7), 7);
  assert.equal(ini.getFloat("s", "f"), 0.25);
  assert.equal(ini.getFloat("s", "n"), 1000);
  throwsConfig(
    () => ini.getInt("s", "bad"),
    'Cannot read option "bad" in section "s": Not an integer: "30 # days"',
  );
  throwsConfig(
    () => ini.getFloat("s", "bad"),
    'Cannot read option "bad" in section "s": Not a number: "30 # days"',
  );
});

Deno.test("IniFile.set() checks % syntax at once, lower-cases the key and forgets the line", () => {
  const ini = parseIni("[s]\nk = 1\n", "f");
  ini.set("s", "K", "%(x)s 100%%");
  assert.equal(ini.get("s", "k", { raw: true }), "%(x)s 100%%");
  assert.equal(ini.line("s", "k"), undefined);
  throwsConfig(
    () => ini.set("s", "pass", "50%off"),
    'Cannot set option "pass" in section "s": invalid interpolation syntax in "50%off" at ' +
      "position 2",
  );
  assert.equal(ini.has("s", "pass"), false);
  ini.set("DEFAULT", "d", "v");
  assert.equal(ini.get("s", "d"), "v");
  throwsConfig(
    () => ini.set("nope", "k", "v"),
    'Cannot set option "k" in section "nope": the section does not exist',
  );
});

Deno.test("IniFile.delete() removes an option from one section only", () => {
  const ini = parseIni("[DEFAULT]\na = 1\n[s]\na = 2\n", "f");
  assert.equal(ini.delete("s", "A"), true);
  assert.equal(ini.get("s", "a"), "1");
  assert.equal(ini.delete("s", "a"), false);
  assert.equal(ini.delete("nope", "a"), false);
  assert.equal(ini.delete("DEFAULT", "a"), true);
  assert.equal(ini.has("s", "a"), false);
});

Deno.test("IniFile with no data is an empty file that sections can be added to", () => {
  const ini = new IniFile("f");
  assert.deepEqual(ini.sections(), []);
  ini.addSection("general");
  ini.addSection("DEFAULT");
  assert.deepEqual(ini.sections(), ["general"]);
});

Deno.test("parseIni() names a section header without its closing ]", () => {
  for (const text of ["[general\naccounts = A", "[general]\naccounts = A\n[Account A\n"]) {
    assert.throws(() => parseIni(text, "/rc"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /^Cannot read config "\/rc" line \d: section header "\[\w+( A)?" has no closing "\]"$/,
      );
      return true;
    });
  }
  // A key that merely starts with "[" is still a key, as in Python.
  assert.equal(parseIni("[s]\n[x = 1", "/rc").get("s", "[x"), "1");
});
