import assert from "node:assert/strict";
import {
  absolutePath,
  expandPath,
  expandUser,
  expandVars,
  locateConfig,
  readConfig,
} from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/errors.ts";

const FIXTURES = new URL("../../fixtures/config/", import.meta.url);

async function rejectsConfig(promise: Promise<unknown>, message: string): Promise<ConfigError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  assert.equal(caught.message, message);
  return caught;
}

Deno.test("locateConfig() takes -c with ~ expanded but not $VAR", () => {
  const env = { HOME: "/home/u" };
  const never = () => false;
  assert.equal(locateConfig("~/rc", env, never), "/home/u/rc");
  assert.equal(locateConfig("$HOME/rc", env, never), "$HOME/rc");
  assert.equal(locateConfig("rel/rc", env, () => true), "rel/rc");
});

Deno.test("locateConfig() prefers the XDG file to ~/.offlineimaprc when it exists", () => {
  const seen: string[] = [];
  const exists = (path: string) => {
    seen.push(path);
    return true;
  };
  assert.equal(
    locateConfig(undefined, { HOME: "/home/u", XDG_CONFIG_HOME: "/xdg" }, exists),
    "/xdg/offlineimap/config",
  );
  assert.equal(
    locateConfig(undefined, { HOME: "/home/u", XDG_CONFIG_HOME: "" }, exists),
    "/home/u/.config/offlineimap/config",
  );
  assert.deepEqual(seen, ["/xdg/offlineimap/config", "/home/u/.config/offlineimap/config"]);
  // An empty -c counts as absent, as in OfflineIMAP.
  assert.equal(locateConfig("", { HOME: "/h" }, exists), "/h/.config/offlineimap/config");
});

Deno.test("locateConfig() falls back to ~/.offlineimaprc", () => {
  assert.equal(
    locateConfig(undefined, { HOME: "/home/u/" }, () => false),
    "/home/u/.offlineimaprc",
  );
});

Deno.test("locateConfig() finds a real XDG file on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = { HOME: `${dir}/home`, XDG_CONFIG_HOME: `${dir}/xdg` };
    assert.equal(locateConfig(undefined, env), `${dir}/home/.offlineimaprc`);
    await Deno.mkdir(`${dir}/xdg/offlineimap`, { recursive: true });
    await Deno.writeTextFile(`${dir}/xdg/offlineimap/config`, "[general]\n");
    assert.equal(locateConfig(undefined, env), `${dir}/xdg/offlineimap/config`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readConfig() parses a file", async () => {
  const path = new URL("minimal.rc", FIXTURES).pathname;
  const ini = await readConfig(path);
  assert.equal(ini.path, path);
  assert.equal(ini.get("general", "accounts"), "main");
});

Deno.test("readConfig() reports a missing file with exit code 1 and a hint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const error = await rejectsConfig(
      readConfig(`${dir}/nope`),
      `Config file "${dir}/nope" does not exist`,
    );
    assert.equal(error.exitCode, 1);
    assert.match(error.hint ?? "", /-c/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readConfig() ignores a BOM and rejects bytes that are not UTF-8", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bom`, new TextEncoder().encode("\uFEFF[general]\nui = basic\n"));
    assert.equal((await readConfig(`${dir}/bom`)).get("general", "ui"), "basic");
    const latin1 = new Uint8Array([
      ...new TextEncoder().encode("[general]\nui = basic\nremotepass = caf"),
      0xe9,
      0x0a,
    ]);
    await Deno.writeFile(`${dir}/latin1`, latin1);
    await rejectsConfig(
      readConfig(`${dir}/latin1`),
      `Cannot read config "${dir}/latin1" line 3: the file is not UTF-8`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expandUser() expands ~ and ~/ only, as os.path.expanduser", () => {
  const vars = { HOME: "/home/u/" };
  assert.equal(expandUser("~", vars), "/home/u");
  assert.equal(expandUser("~/Mail", vars), "/home/u/Mail");
  assert.equal(expandUser("~bob/Mail", vars), "~bob/Mail");
  assert.equal(expandUser("/a/~/b", vars), "/a/~/b");
  assert.equal(expandUser("~/x", {}), "~/x");
  assert.equal(expandUser("~", { HOME: "/" }), "/");
});

Deno.test("expandVars() expands $NAME and ${NAME}, leaving unknown ones", () => {
  const vars = { A: "1", B_2: "two" };
  assert.equal(expandVars("$A/${B_2}/$C/${}/$", vars), "1/two/$C/${}/$");
  assert.equal(expandVars("$A.x-$B_2-y", vars), "1.x-two-y");
  assert.equal(expandVars("${A", vars), "${A");
});

Deno.test("expandPath() applies ~, then $VAR, then makes the path absolute when asked", () => {
  const env = { vars: { HOME: "/home/u", D: "data" }, cwd: "/work/dir" };
  assert.equal(expandPath("~/$D", { vars: true, env }), "/home/u/data");
  assert.equal(expandPath("~/$D", { vars: false, env }), "/home/u/$D");
  assert.equal(expandPath("$D/../x/./y", { vars: true, absolute: true, env }), "/work/dir/x/y");
  assert.equal(expandPath("~/a//b/", { vars: true, absolute: true, env }), "/home/u/a/b");
});

Deno.test("absolutePath() normalises like os.path.abspath", () => {
  assert.equal(absolutePath("/../a/../../b", "/cwd"), "/b");
  assert.equal(absolutePath("//host/x", "/cwd"), "//host/x");
  assert.equal(absolutePath("///x", "/cwd"), "/x");
  assert.equal(absolutePath(".", "/cwd"), "/cwd");
  assert.equal(absolutePath("", "/cwd"), "/cwd");
});
