import assert from "node:assert/strict";
import { parseIni } from "../../../src/config/ini.ts";
import { resolveConfig } from "../../../src/config/schema.ts";
import {
  canPrompt,
  insecureFileWarning,
  resolveHost,
  resolvePassword,
  resolvePort,
  resolveUser,
} from "../../../src/config/passwords.ts";
import type { ImapRepositoryConfig } from "../../../src/config/types.ts";
import { AccountError } from "../../../src/errors.ts";

/** The remote repository of a one-account config with `lines` added to it. */
function repo(lines = "", patch: Partial<ImapRepositoryConfig> = {}): ImapRepositoryConfig {
  const text = "[general]\naccounts = A\n[Account A]\nlocalrepository = L\n" +
    "remoterepository = R\n[Repository L]\ntype = Maildir\nlocalfolders = /m\n" +
    `[Repository R]\ntype = IMAP\nremotehost = imap.example.org\n${lines}\n`;
  const { config } = resolveConfig(parseIni(text, "/rc"), "/rc", {
    env: { vars: { HOME: "/home/u" }, cwd: "/" },
    fileMode: () => 0o600,
  });
  const remote = config.accounts.get("A")?.remote;
  assert.ok(remote);
  return { ...remote, ...patch };
}

async function rejectsAccount(promise: Promise<unknown>, message: string | RegExp) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof AccountError, `expected an AccountError, got ${e}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "oimap-pw-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NO_NETRC = { netrcFiles: [] as string[] };

Deno.test("resolvePassword() returns remotepass, and nothing for a preauthtunnel", async () => {
  assert.equal(
    await resolvePassword(repo("remotepass = s3cret"), { interactive: false }),
    "s3cret",
  );
  assert.equal(
    await resolvePassword(repo("preauthtunnel = ssh h imapd"), { interactive: false }),
    "",
  );
});

Deno.test("resolvePassword() evaluates remotepasseval each time, wrapping its errors", async () => {
  let calls = 0;
  const r = repo("", {
    password: { kind: "eval", evaluate: () => Promise.resolve(`pw${++calls}`) },
  });
  assert.equal(await resolvePassword(r, { interactive: false }), "pw1");
  assert.equal(await resolvePassword(r, { interactive: false }), "pw2");
  const failing = repo("", {
    password: { kind: "eval", evaluate: () => Promise.reject(new Error("gpg: decryption failed")) },
  });
  await rejectsAccount(
    resolvePassword(failing, { interactive: false }),
    'Cannot evaluate option "remotepasseval" in section "Repository R": gpg: decryption failed',
  );
});

Deno.test("resolvePassword() reads the first line of remotepassfile, stripped", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pw`, "  p@ss word \t\nsecond line\n", { mode: 0o600 });
    const r = repo(`remotepassfile = ${dir}/pw`);
    assert.equal(await resolvePassword(r, { interactive: false }), "p@ss word");
    await Deno.writeTextFile(`${dir}/empty`, "\n", { mode: 0o600 });
    await rejectsAccount(
      resolvePassword(repo(`remotepassfile = ${dir}/empty`), { interactive: false }),
      `Password file "${dir}/empty" is empty`,
    );
  });
});

Deno.test("resolvePassword() names an unreadable password file and the option", async () => {
  await rejectsAccount(
    resolvePassword(repo("remotepassfile = /nonexistent/pw"), { interactive: false }),
    'Cannot read password file "/nonexistent/pw": no such file',
  );
  try {
    await resolvePassword(repo("remotepassfile = /nonexistent/pw"), { interactive: false });
  } catch (error) {
    assert.equal((error as AccountError).hint, "Fix remotepassfile in [Repository R]");
  }
});

Deno.test("resolvePassword() warns once about a password file others can read", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/pw`;
    await Deno.writeTextFile(path, "pw\n");
    await Deno.chmod(path, 0o644);
    const warnings: string[] = [];
    const r = repo(`remotepassfile = ${path}`);
    await resolvePassword(r, { interactive: false, warn: (w) => warnings.push(w) });
    await resolvePassword(r, { interactive: false, warn: (w) => warnings.push(w) });
    assert.deepEqual(warnings, [
      `Password file "${path}" is readable by group or others (mode 0644): run chmod 600 "${path}"`,
    ]);
  });
});

Deno.test("resolvePassword() takes the host's netrc entry, then default, if the user matches", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/.netrc`;
    const system = `${dir}/etc-netrc`;
    await Deno.writeTextFile(
      home,
      "machine imap.example.org login alice password fromhome\ndefault login bob password dflt\n",
      { mode: 0o600 },
    );
    await Deno.writeTextFile(system, "machine imap.example.org login carol password fromsys\n", {
      mode: 0o600,
    });
    const files = { netrcFiles: [home, system] };
    const r = repo();
    assert.deepEqual(r.password, { kind: "netrc", host: "imap.example.org" });
    assert.equal(await resolvePassword(r, { interactive: false, ...files }), "fromhome");
    assert.equal(
      await resolvePassword(r, { interactive: false, user: "alice", ...files }),
      "fromhome",
    );
    // The user does not match ~/.netrc's entry: /etc/netrc is tried next.
    assert.equal(
      await resolvePassword(r, { interactive: false, user: "carol", ...files }),
      "fromsys",
    );
    // The evaluated host (remotehosteval) is the one looked up: default entry.
    assert.equal(
      await resolvePassword(r, { interactive: false, host: "other.org", user: "bob", ...files }),
      "dflt",
    );
    await rejectsAccount(
      resolvePassword(r, { interactive: false, user: "dave", uiName: "basic", ...files }),
      'No password for user "dave" on "imap.example.org" (repository "R")',
    );
  });
});

Deno.test("resolvePassword() warns about a .netrc others can read and rejects a broken one", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/.netrc`;
    await Deno.writeTextFile(path, "machine imap.example.org login a password p\n");
    await Deno.chmod(path, 0o640);
    const warnings: string[] = [];
    await resolvePassword(repo(), {
      interactive: false,
      netrcFiles: [path],
      warn: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, [
      `Netrc file "${path}" is readable by group or others (mode 0640): run chmod 600 "${path}"`,
    ]);
    await Deno.writeTextFile(path, "machine imap.example.org passwd p\n");
    await rejectsAccount(
      resolvePassword(repo(), { interactive: false, netrcFiles: [path] }),
      `Cannot read netrc "${path}" line 1: bad follower token "passwd"`,
    );
  });
});

Deno.test("resolvePassword() fails without a TTY UI, naming the options that would help", async () => {
  for (const [lines, ui] of [["", "basic"], ["remotepass =", "quiet"], ["", "ttyui"]] as const) {
    try {
      await resolvePassword(repo(`remoteuser = me\n${lines}`), {
        interactive: false,
        user: "me",
        uiName: ui,
        ...NO_NETRC,
      });
      assert.fail("expected an error");
    } catch (error) {
      assert.ok(error instanceof AccountError);
      assert.equal(
        error.message,
        'No password for user "me" on "imap.example.org" (repository "R")',
      );
      assert.match(
        error.hint ?? "",
        /^Set remotepass, remotepassfile or remotepasseval in \[Repository R\], or add "machine imap\.example\.org login USER password SECRET" to ~\/\.netrc/,
      );
      assert.match(
        error.hint ?? "",
        ui === "ttyui" ? /ttyui only asks on a terminal/ : new RegExp(`the ${ui} UI never asks`),
      );
    }
  }
});

Deno.test("resolvePassword() prompts on a TTY UI, and again after a failure", async () => {
  const asked: string[] = [];
  const prompt = (message: string) => {
    asked.push(message);
    return Promise.resolve("typed");
  };
  assert.equal(
    await resolvePassword(repo("remotepass ="), {
      interactive: true,
      prompt,
      user: "me",
      ...NO_NETRC,
    }),
    "typed",
  );
  // A stored password that failed is not used again: the user is asked.
  assert.equal(
    await resolvePassword(repo("remotepass = wrong"), {
      interactive: true,
      prompt,
      user: "me",
      previousError: "Authentication failed",
    }),
    "typed",
  );
  assert.deepEqual(asked, [
    'Enter password for user "me" on "imap.example.org" (repository "R"): ',
    'Authentication failed\nEnter password for user "me" on "imap.example.org" (repository "R"): ',
  ]);
});

Deno.test("resolveUser() takes remoteusereval, remoteuser, then the netrc login", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/.netrc`;
    await Deno.writeTextFile(path, "machine imap.example.org login fromnetrc password p\n", {
      mode: 0o600,
    });
    const files = { netrcFiles: [path] };
    assert.equal(await resolveUser(repo("remoteuser = me"), files), "me");
    assert.equal(
      await resolveUser(repo("remoteuser = me", { userEval: () => Promise.resolve("ev") }), files),
      "ev",
    );
    assert.equal(await resolveUser(repo(), files), "fromnetrc");
    assert.equal(await resolveUser(repo(), { netrcFiles: [] }), undefined);
    assert.equal(await resolveUser(repo("preauthtunnel = x\nremoteuser = me"), files), undefined);
  });
});

Deno.test("resolveHost() and resolvePort() prefer the eval options", async () => {
  assert.equal(await resolveHost(repo()), "imap.example.org");
  assert.equal(
    await resolveHost(repo("", { hostEval: () => Promise.resolve("evaluated.example") })),
    "evaluated.example",
  );
  // An empty evaluation falls back to remotehost, as in OfflineIMAP.
  assert.equal(
    await resolveHost(repo("", { hostEval: () => Promise.resolve("") })),
    "imap.example.org",
  );
  await rejectsAccount(
    resolveHost(repo("", { host: "", hostEval: () => Promise.resolve("") })),
    'No remote host for repository "R" specified',
  );
  assert.equal(await resolvePort(repo("remoteport = 1993")), 1993);
  assert.equal(await resolvePort(repo("", { portEval: () => Promise.resolve(10993) })), 10993);
  await rejectsAccount(
    resolvePort(repo("", { portEval: () => Promise.resolve(0) })),
    /"remoteporteval" .* 0 is not a TCP port/,
  );
});

Deno.test("canPrompt() allows only ttyui on a terminal", () => {
  assert.equal(canPrompt("ttyui", true), true);
  assert.equal(canPrompt("TTY.TTYUI", true), true);
  assert.equal(canPrompt("ttyui", false), false);
  for (const ui of ["basic", "quiet", "machineui", "syslog", "Noninteractive.Basic"]) {
    assert.equal(canPrompt(ui, true), false, ui);
  }
});

Deno.test("insecureFileWarning() flags files readable by group or others only", () => {
  assert.equal(insecureFileWarning("/f", 0o100600, "Password file"), undefined);
  assert.equal(insecureFileWarning("/f", 0o100700, "Password file"), undefined);
  assert.equal(insecureFileWarning("/f", null, "Password file"), undefined);
  assert.equal(
    insecureFileWarning("/f", 0o100604, "Config file"),
    'Config file "/f" is readable by group or others (mode 0604): run chmod 600 "/f"',
  );
});
