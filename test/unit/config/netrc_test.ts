import assert from "node:assert/strict";
import { netrcEntryFor, parseNetrc } from "../../../src/config/netrc.ts";
import { ConfigError } from "../../../src/errors.ts";

Deno.test("parseNetrc() reads machine entries spread over lines, login or user", () => {
  const netrc = parseNetrc(
    "machine mail.myhost.de\n    login mr_smith\n    password secret\n" +
      "machine imap.example.org user bob password hunter2 account acct\n",
    "/n",
  );
  assert.deepEqual(netrcEntryFor(netrc, "mail.myhost.de"), {
    login: "mr_smith",
    account: "",
    password: "secret",
  });
  assert.deepEqual(netrcEntryFor(netrc, "imap.example.org"), {
    login: "bob",
    account: "acct",
    password: "hunter2",
  });
  assert.equal(netrcEntryFor(netrc, "other.example.org"), undefined);
});

Deno.test("netrcEntryFor() falls back to the default entry", () => {
  const netrc = parseNetrc("machine a login x password y\ndefault login anon password p\n", "/n");
  assert.equal(netrcEntryFor(netrc, "a")?.login, "x");
  assert.deepEqual(netrcEntryFor(netrc, "b"), { login: "anon", account: "", password: "p" });
});

Deno.test("parseNetrc() lets a later entry for the same machine win, as Python does", () => {
  const netrc = parseNetrc("machine h login one password 1\nmachine h login two password 2", "/n");
  assert.equal(netrcEntryFor(netrc, "h")?.login, "two");
});

Deno.test("parseNetrc() handles quotes, escapes, comments and macdef bodies", () => {
  const netrc = parseNetrc(
    [
      "# a comment line",
      'machine h login "john doe" password "pa ss\\"word" # trailing comment',
      "macdef init",
      "cd /pub",
      "machine fake login no",
      "",
      "machine after login yes password p\\ q",
    ].join("\n"),
    "/n",
  );
  assert.deepEqual(netrcEntryFor(netrc, "h"), {
    login: "john doe",
    account: "",
    password: 'pa ss"word',
  });
  // The macro body is skipped up to the empty line.
  assert.equal(netrcEntryFor(netrc, "fake"), undefined);
  assert.equal(netrcEntryFor(netrc, "after")?.password, "p q");
});

Deno.test("parseNetrc() rejects what Python's netrc rejects, naming file and line", () => {
  const cases: [string, string][] = [
    ["login x", 'Cannot read netrc "/n" line 1: bad toplevel token "login"'],
    ["machine h\n  passwd x", 'Cannot read netrc "/n" line 2: bad follower token "passwd"'],
    [
      "macdef m\nbody",
      'Cannot read netrc "/n" line 2: macro definition missing null line terminator',
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNetrc(text, "/n"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      return true;
    });
  }
});
