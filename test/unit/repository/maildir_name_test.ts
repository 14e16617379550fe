import assert from "node:assert/strict";
import {
  folderMd5,
  formatMaildirName,
  maildirKey,
  NameGenerator,
  parseMaildirName,
  replaceFlags,
  sortFlags,
} from "../../../src/repository/maildir_name.ts";

const INBOX = "7e33429f656f1e6e9d79b29c3f82c57e";
const SENT = "7f8c0283f16925caed8e632086b81b9c";
const COLON = { infoSep: ":" } as const;

Deno.test("folderMd5() hashes the UTF-8 bytes of the visible name", () => {
  assert.equal(folderMd5("INBOX"), INBOX);
  assert.equal(folderMd5("Sent"), SENT);
  assert.equal(folderMd5(""), "d41d8cd98f00b204e9800998ecf8427e");
  assert.equal(folderMd5("Archive.2020"), "de0779cc667bdfe1c0425afa667ac264");
  assert.equal(folderMd5("G&AOQ-ste"), "81dfa59b41e8307865c55e2250d1a7f9");
});

Deno.test("parseMaildirName() reads names OfflineIMAP wrote, as observed in formats.md", () => {
  const table: [string, string, number | undefined, string, string][] = [
    [
      `1795429240_2.16777.vm,U=1,FMD5=${INBOX}:2,`,
      INBOX,
      1,
      "",
      `1795429240_2.16777.vm,U=1,FMD5=${INBOX}`,
    ],
    [
      `1795429240_4.16777.vm,U=2,FMD5=${INBOX}:2,S`,
      INBOX,
      2,
      "S",
      `1795429240_4.16777.vm,U=2,FMD5=${INBOX}`,
    ],
    [
      `1795429240_5.16777.vm,U=3,FMD5=${INBOX}:2,FS`,
      INBOX,
      3,
      "FS",
      `1795429240_5.16777.vm,U=3,FMD5=${INBOX}`,
    ],
    [
      `1795429240_3.16777.vm,U=1,FMD5=${SENT}:2,RS`,
      SENT,
      1,
      "RS",
      `1795429240_3.16777.vm,U=1,FMD5=${SENT}`,
    ],
  ];
  for (const [name, md5, uid, flags, key] of table) {
    assert.deepEqual(parseMaildirName(name, md5, COLON), { uid, flags, key }, name);
  }
});

Deno.test("parseMaildirName() gives no UID to a name whose FMD5 belongs to another folder", () => {
  const parsed = parseMaildirName(`1_0.1.vm,U=9,FMD5=${SENT}:2,S`, INBOX, COLON);
  assert.equal(parsed.uid, undefined);
  assert.equal(parsed.flags, "S");
  assert.equal(parsed.key, `1_0.1.vm,U=9,FMD5=${SENT}`);
});

Deno.test("parseMaildirName() gives no UID to names without U= or without FMD5=", () => {
  const table = [
    "1700000001.M2P2.host:2,S", // mutt
    "1700000001.M2P2.host", // delivered by an MDA, no info
    "1700000001.R123.host,U=77:2,S", // mbsync: U= but no FMD5
    `1_0.1.vm,FMD5=${INBOX}:2,S`, // FMD5 but no U=
    `1_0.1.vm,U=,FMD5=${INBOX}:2,S`, // U= without digits
  ];
  for (const name of table) {
    assert.equal(parseMaildirName(name, INBOX, COLON).uid, undefined, name);
  }
});

Deno.test("parseMaildirName() keys a name without info by the whole name", () => {
  assert.deepEqual(parseMaildirName("1700000001.M2P2.host", INBOX, COLON), {
    uid: undefined,
    flags: "",
    key: "1700000001.M2P2.host",
  });
});

Deno.test("parseMaildirName() takes the first ,U= followed by digits", () => {
  assert.equal(parseMaildirName(`a,U=12,U=34,FMD5=${INBOX}:2,`, INBOX, COLON).uid, 12);
  assert.equal(parseMaildirName(`a,U=x,U=34,FMD5=${INBOX}:2,`, INBOX, COLON).uid, 34);
});

Deno.test("parseMaildirName() treats U=0 and UIDs beyond 32 bits as no UID", () => {
  assert.equal(parseMaildirName(`a,U=0,FMD5=${INBOX}:2,`, INBOX, COLON).uid, undefined);
  assert.equal(parseMaildirName(`a,U=4294967296,FMD5=${INBOX}:2,`, INBOX, COLON).uid, undefined);
  assert.equal(parseMaildirName(`a,U=4294967295,FMD5=${INBOX}:2,`, INBOX, COLON).uid, 4294967295);
});

Deno.test("parseMaildirName() sorts odd flag orders and keeps unknown letters", () => {
  const table: [string, string][] = [
    ["x:2,SF", "FS"],
    ["x:2,TSRPFD", "DFPRST"],
    ["x:2,baS", "Sab"],
    ["x:2,SS", "S"],
    ["x:2,S1_", "1S_"],
    ["x:2,Sä", "Sä"],
    ["x:2,S,foo", "S"], // flags stop at the first non-word character
    ["x:2,S-x:2,F", "S"], // only the first info part counts
  ];
  for (const [name, flags] of table) {
    assert.equal(parseMaildirName(name, INBOX, COLON).flags, flags, name);
  }
});

Deno.test("parseMaildirName() reads no flags from a :1, info part", () => {
  assert.deepEqual(parseMaildirName("x:1,S", INBOX, COLON), {
    uid: undefined,
    flags: "",
    key: "x",
  });
});

Deno.test("parseMaildirName() honours the ! separator of maildir-windows-compatible", () => {
  const name = `1_0.1.vm,U=5,FMD5=${INBOX}!2,RS`;
  assert.deepEqual(parseMaildirName(name, INBOX, { infoSep: "!" }), {
    uid: 5,
    flags: "RS",
    key: `1_0.1.vm,U=5,FMD5=${INBOX}`,
  });
  // With the other separator the info part is not recognised (OfflineIMAP misparses as well).
  assert.equal(parseMaildirName(name, INBOX, COLON).flags, "");
  assert.equal(parseMaildirName("x:2,S", INBOX, { infoSep: "!" }).flags, "");
});

Deno.test("maildirKey() cuts at the first info separator", () => {
  assert.equal(maildirKey("a:2,S", ":"), "a");
  assert.equal(maildirKey("a:1,x:2,S", ":"), "a");
  assert.equal(maildirKey("a!2,S", "!"), "a");
  assert.equal(maildirKey("a", ":"), "a");
});

Deno.test("sortFlags() puts upper case before lower case and drops duplicates", () => {
  assert.equal(sortFlags("SFRD"), "DFRS");
  assert.equal(sortFlags("aSbF"), "FSab");
  assert.equal(sortFlags("SSS"), "S");
  assert.equal(sortFlags(""), "");
});

Deno.test("formatMaildirName() builds OfflineIMAP's name with sorted flags", () => {
  const name = formatMaildirName({
    secs: 1795429240,
    seq: 5,
    pid: 16777,
    host: "vm",
    uid: 3,
    fmd5: INBOX,
    flags: "SF",
    infoSep: ":",
  });
  assert.equal(name, `1795429240_5.16777.vm,U=3,FMD5=${INBOX}:2,FS`);
});

Deno.test("formatMaildirName() writes :2, with no flags and replaces / in the host", () => {
  const name = formatMaildirName({
    secs: 1,
    seq: 0,
    pid: 2,
    host: "a/b.example",
    uid: 1,
    fmd5: INBOX,
    flags: "",
    infoSep: "!",
  });
  assert.equal(name, `1_0.2.a-b.example,U=1,FMD5=${INBOX}!2,`);
});

Deno.test("formatMaildirName() leaves out U= and FMD5= when there is no UID", () => {
  const name = formatMaildirName({
    secs: 1,
    seq: 0,
    pid: 2,
    host: "h",
    fmd5: INBOX,
    flags: "S",
    infoSep: ":",
  });
  assert.equal(name, "1_0.2.h:2,S");
});

Deno.test("formatMaildirName() output parses back to the same UID and flags", () => {
  const name = formatMaildirName({
    secs: 9,
    seq: 1,
    pid: 3,
    host: "h.example.org",
    uid: 42,
    fmd5: SENT,
    flags: "aTD",
    infoSep: ":",
  });
  const parsed = parseMaildirName(name, SENT, COLON);
  assert.equal(parsed.uid, 42);
  assert.equal(parsed.flags, "DTa");
});

Deno.test("replaceFlags() replaces the info part of names OfflineIMAP wrote", () => {
  const base = `1_0.1.vm,U=1,FMD5=${INBOX}`;
  assert.equal(replaceFlags(`${base}:2,`, "SF", ":"), `${base}:2,FS`);
  assert.equal(replaceFlags(`${base}:2,FS`, "", ":"), `${base}:2,`);
  assert.equal(replaceFlags(`${base}!2,S`, "RS", "!"), `${base}!2,RS`);
});

Deno.test("replaceFlags() appends an info part to names without one", () => {
  assert.equal(replaceFlags("1700000001.M2P2.host", "S", ":"), "1700000001.M2P2.host:2,S");
  assert.equal(replaceFlags("x:1,foo", "S", ":"), "x:1,foo:2,S");
});

Deno.test("replaceFlags() keeps text after a non-final info part", () => {
  assert.equal(replaceFlags("x:2,S,extra", "FS", ":"), "x:2,FS,extra");
});

Deno.test("NameGenerator.next() counts seq per second, shared by all generators", () => {
  const secs = 2_000_000_000;
  const a = new NameGenerator({ pid: 7, host: "h", now: () => secs * 1000 + 500 });
  const b = new NameGenerator({ pid: 7, host: "h", now: () => secs * 1000 });
  const first = a.next({ uid: 1, fmd5: INBOX, flags: "", infoSep: ":" });
  const second = b.next({ uid: 2, fmd5: INBOX, flags: "", infoSep: ":" });
  const other = a.next({ uid: 3, fmd5: INBOX, flags: "S", infoSep: ":", secs: secs + 1 });
  assert.equal(first, `${secs}_0.7.h,U=1,FMD5=${INBOX}:2,`);
  assert.equal(second, `${secs}_1.7.h,U=2,FMD5=${INBOX}:2,`);
  assert.equal(other, `${secs + 1}_0.7.h,U=3,FMD5=${INBOX}:2,S`);
});

Deno.test("NameGenerator.next() keeps names unique over many seconds", () => {
  const names = new Set<string>();
  let now = 1_000_000_000_000;
  const generator = new NameGenerator({ pid: 1, host: "h", now: () => now });
  for (let i = 0; i < 30_000; i++) {
    if (i % 3 === 0) now += 1000;
    names.add(generator.next({ fmd5: INBOX, flags: "", infoSep: ":" }));
  }
  assert.equal(names.size, 30_000);
});
