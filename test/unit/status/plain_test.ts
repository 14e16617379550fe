import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { FolderError } from "../../../src/errors.ts";
import {
  crc32 as plainCrc32,
  formatPlainStatus,
  parsePlainStatus,
  type PlainRecord,
  replayJournal,
} from "../../../src/status/plain.ts";

const MAGIC2 = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT 2";
const MAGIC1 = "OFFLINEIMAP LocalStatus CACHE DATA - DO NOT MODIFY - FORMAT 1";
const JOURNAL = "OFFLINEIMAP-TS LocalStatus JOURNAL 1\n";

function record(flags: string, mtime = 0, labels = ""): PlainRecord {
  return { flags, mtime, labels };
}

/** One journal block as the store appends it. */
function block(...entries: string[]): string {
  const body = entries.map((entry) => `${entry}\n`).join("");
  return `${body}=${entries.length} ${crc32(body).toString(16)}\n`;
}

Deno.test("parsePlainStatus() reads format 2 lines with flags, mtime and labels", () => {
  const text = `${MAGIC2}\n1||0|\n2|S|0|\n3|SF|1700000000|work, \\Inbox\n`;
  const { records, version } = parsePlainStatus(text, "/m/INBOX");
  assert.equal(version, 2);
  assert.deepEqual([...records], [
    [1, record("")],
    [2, record("S")],
    [3, record("FS", 1700000000, "\\Inbox, work")],
  ]);
});

Deno.test("parsePlainStatus() reads format 1 lines as flags with no Gmail data", () => {
  const { records, version } = parsePlainStatus(`${MAGIC1}\n5:RS\n6:\n`, "/m/INBOX");
  assert.equal(version, 1);
  assert.deepEqual([...records], [[5, record("RS")], [6, record("")]]);
});

Deno.test("parsePlainStatus() trims lines, skips blank ones and reads CRLF files", () => {
  const text = `${MAGIC2}\r\n  7|T|0|  \r\n\r\n8|a|0|\r\n`;
  assert.deepEqual([...parsePlainStatus(text, "/m/x").records], [
    [7, record("T")],
    [8, record("a")],
  ]);
});

Deno.test("parsePlainStatus() accepts an empty file as an empty status, as OfflineIMAP", () => {
  assert.equal(parsePlainStatus("", "/m/x").records.size, 0);
  assert.equal(parsePlainStatus("\n", "/m/x").records.size, 0);
  assert.equal(parsePlainStatus(`${MAGIC2}\n`, "/m/x").records.size, 0);
});

Deno.test("parsePlainStatus() refuses corrupt files with a FolderError naming path and line", () => {
  const cases: Array<[string, RegExp]> = [
    ["garbage\n1||0|\n", /unknown first line "garbage"/],
    [`${MAGIC2}\n1||0|\n2|S|0\n`, /line 3 is corrupt: "2\|S\|0"/],
    [`${MAGIC2}\n1|S|0|a|b\n`, /line 2 is corrupt/],
    [`${MAGIC2}\nx|S|0|\n`, /line 2 is corrupt/],
    [`${MAGIC2}\n0|S|0|\n`, /line 2 is corrupt/],
    [`${MAGIC2}\n4294967296|S|0|\n`, /line 2 is corrupt/],
    [`${MAGIC2}\n-3|S|0|\n`, /line 2 is corrupt/],
    [`${MAGIC2}\n3|S|soon|\n`, /line 2 is corrupt/],
    [`${MAGIC1}\n3|S|0|\n`, /line 2 is corrupt/],
    [`${MAGIC1}\n3:S:x\n`, /line 2 is corrupt/],
    [`${MAGIC2.replace("2", "3")}\n`, /unknown first line/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parsePlainStatus(text, "/m/LocalStatus/INBOX"), (error) => {
      assert.ok(error instanceof FolderError, text);
      assert.match(error.message, /^Cannot read status file "\/m\/LocalStatus\/INBOX": /);
      assert.match(error.message, pattern);
      assert.match(error.hint ?? "", /move "\/m\/LocalStatus\/INBOX" away/);
      return true;
    });
  }
});

Deno.test("formatPlainStatus() writes OfflineIMAP's saveall() lines in UID order", () => {
  const records = new Map([
    [10, record("S")],
    [2, record("", 0, "")],
    [3, record("FS", 1700000000, "Inbox, work")],
  ]);
  assert.equal(
    formatPlainStatus(records),
    `${MAGIC2}\n2||0|\n3|FS|1700000000|Inbox, work\n10|S|0|\n`,
  );
  assert.equal(formatPlainStatus(new Map()), `${MAGIC2}\n`);
});

Deno.test("formatPlainStatus() output parses back to the same records", () => {
  const records = new Map([[1, record("DFPRSTa")], [4294967295, record("", -5, "a, b")]]);
  assert.deepEqual(parsePlainStatus(formatPlainStatus(records), "/x").records, records);
});

Deno.test("replayJournal() applies complete blocks in order, keeping Gmail fields on update", () => {
  const records = new Map([[1, record("", 99, "L")], [2, record("S")]]);
  replayJournal(JOURNAL + block("+1|S", "+3|") + block("-2", "+3|FS"), records);
  assert.deepEqual([...records], [[1, record("S", 99, "L")], [3, record("FS")]]);
});

Deno.test("replayJournal() stops at a torn or damaged block and ignores the rest", () => {
  const good = block("+1|S");
  const cases = [
    good + "+2|S\n", // entries without their closing line
    good + block("+2|S").slice(0, -1), // closing line without its newline
    good + block("+2|S").replace("+2|S", "+2|F"), // checksum does not match
    good + block("+2|S").replace("=1 ", "=2 "), // count does not match
    good + "+2|S\n=1 zz\n" + block("+3|S"), // a later good block after a bad one
  ];
  for (const tail of cases) {
    const records = new Map<number, PlainRecord>();
    replayJournal(JOURNAL + tail, records);
    assert.deepEqual([...records], [[1, record("S")]], JSON.stringify(tail));
  }
  const untouched = new Map([[9, record("S")]]);
  replayJournal("OFFLINEIMAP-TS LocalStat", untouched);
  replayJournal("", untouched);
  assert.deepEqual([...untouched], [[9, record("S")]]);
});

Deno.test("crc32() equals zlib's CRC-32 of the UTF-8 bytes", () => {
  for (const text of ["", "a", "1|FS|0|\n2|S|0|", "Entwürfe|€|𝄞", "x".repeat(10_000)]) {
    assert.equal(plainCrc32(text), crc32(text), JSON.stringify(text.slice(0, 20)));
  }
});
