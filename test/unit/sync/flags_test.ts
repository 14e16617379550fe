import assert from "node:assert/strict";
import {
  flagDiff,
  flagIntersect,
  flagUnion,
  hasFlag,
  imapFlagsToLetters,
  lettersToImapFlags,
  mergeFlags,
  sortFlags,
} from "../../../src/sync/flags.ts";

Deno.test("sortFlags() removes duplicates and sorts upper case before lower case", () => {
  assert.equal(sortFlags(""), "");
  assert.equal(sortFlags("SFS"), "FS");
  assert.equal(sortFlags("baTSRPFD"), "DFPRSTab");
});

Deno.test("flagUnion() and flagDiff() return canonical letter strings", () => {
  assert.equal(flagUnion("SF", "RS"), "FRS");
  assert.equal(flagUnion("", ""), "");
  assert.equal(flagDiff("FRS", "S"), "FR");
  assert.equal(flagDiff("S", "FRS"), "");
  assert.equal(flagDiff("aS", ""), "Sa");
  assert.equal(flagIntersect("FPSa", "DFRST"), "FS");
});

Deno.test("hasFlag() tests one letter", () => {
  assert.equal(hasFlag("FS", "S"), true);
  assert.equal(hasFlag("FS", "R"), false);
  assert.equal(hasFlag("FS", "FS"), false);
  assert.equal(hasFlag("FS", ""), false);
});

Deno.test("imapFlagsToLetters() maps system flags case-insensitively and drops unknown ones", () => {
  const table: Array<[string[], string]> = [
    [[], ""],
    [["\\Seen"], "S"],
    [["\\Draft", "\\Flagged", "\\Answered", "\\Seen", "\\Deleted"], "DFRST"],
    [["\\SEEN", "\\flagged"], "FS"],
    [["\\Recent", "$Junk", "NonJunk", "\\Seen"], "S"],
    [["\\Seen", "\\Seen"], "S"],
  ];
  for (const [flags, letters] of table) {
    assert.equal(imapFlagsToLetters(flags), letters, JSON.stringify(flags));
  }
});

Deno.test("imapFlagsToLetters() maps the $Forwarded keyword to P", () => {
  assert.equal(imapFlagsToLetters(["$Forwarded", "\\Seen"]), "PS");
  assert.equal(imapFlagsToLetters(["$forwarded"]), "P");
});

Deno.test("imapFlagsToLetters() maps customflag keywords case-sensitively", () => {
  const customFlags = { a: "todo", b: "$Work" };
  assert.equal(imapFlagsToLetters(["todo", "$Work", "\\Seen"], { customFlags }), "Sab");
  assert.equal(imapFlagsToLetters(["TODO"], { customFlags }), "");
});

Deno.test("lettersToImapFlags() maps letters in order and drops custom letters", () => {
  assert.deepEqual(lettersToImapFlags(""), []);
  assert.deepEqual(lettersToImapFlags("TSRFD"), [
    "\\Draft",
    "\\Flagged",
    "\\Answered",
    "\\Seen",
    "\\Deleted",
  ]);
  assert.deepEqual(lettersToImapFlags("PSab"), ["$Forwarded", "\\Seen"]);
});

Deno.test("lettersToImapFlags() and imapFlagsToLetters() round-trip the mapped letters", () => {
  assert.equal(imapFlagsToLetters(lettersToImapFlags("DFPRST")), "DFPRST");
});

Deno.test("mergeFlags() applies each side's per-flag changes against the status", () => {
  // [status, local, remote, merged]: sync-algorithm.md §3.2, letter by letter.
  const table: Array<[string, string, string, string]> = [
    ["", "", "", ""],
    ["S", "S", "S", "S"],
    ["S", "", "S", ""], // cleared locally
    ["S", "S", "", ""], // cleared remotely
    ["S", "", "", ""], // cleared on both
    ["", "F", "", "F"], // set locally
    ["", "", "F", "F"], // set remotely
    ["", "F", "F", "F"], // set on both
    ["S", "FS", "RS", "FRS"], // different flags set on each side
    ["FS", "S", "FRS", "RS"], // local cleared F, remote set R
    ["FRS", "FR", "RS", "R"], // local cleared S, remote cleared F
    ["Sa", "S", "Sa", "S"],
  ];
  for (const [status, local, remote, merged] of table) {
    assert.deepEqual(
      mergeFlags(status, local, remote),
      { merged, conflicts: [] },
      `status "${status}", local "${local}", remote "${remote}"`,
    );
  }
});

Deno.test("mergeFlags() without a status keeps local flags and reports each disagreement", () => {
  assert.deepEqual(mergeFlags(undefined, "FS", "RS"), {
    merged: "FS",
    conflicts: [{ flag: "F", kept: true }, { flag: "R", kept: false }],
  });
  assert.deepEqual(mergeFlags(undefined, "S", "S"), { merged: "S", conflicts: [] });
});
