import assert from "node:assert/strict";
import { chunkUids, compressUids, parseUidSet } from "../../../imap/uid_set.ts";

Deno.test("compressUids() writes runs as ranges from unsorted input with duplicates", () => {
  const table: Array<[number[], string]> = [
    [[1], "1"],
    [[1, 2], "1:2"],
    [[1, 3], "1,3"],
    [[9, 3, 1, 2, 4, 5, 2], "1:5,9"],
    [[7, 7, 7], "7"],
    [[10, 12, 11, 20, 1, 30, 31], "1,10:12,20,30:31"],
    [[4294967295, 4294967294], "4294967294:4294967295"],
  ];
  for (const [uids, text] of table) {
    assert.equal(compressUids(uids), text, JSON.stringify(uids));
  }
});

Deno.test("compressUids() rejects an empty list", () => {
  assert.throws(() => compressUids([]), {
    name: "RangeError",
    message: "Cannot compress UIDs: the list is empty",
  });
});

Deno.test("compressUids() rejects values that are not UIDs", () => {
  for (const uid of [0, -1, 1.5, 4294967296, Number.NaN]) {
    assert.throws(() => compressUids([1, uid]), {
      name: "RangeError",
      message: `Cannot use UID "${uid}": not an integer from 1 to 4294967295`,
    });
  }
});

Deno.test("parseUidSet() expands numbers and ranges, sorted without duplicates", () => {
  const table: Array<[string, number[]]> = [
    ["1", [1]],
    ["1:5,9", [1, 2, 3, 4, 5, 9]],
    ["5:3", [3, 4, 5]],
    ["9,1,2:3,3", [1, 2, 3, 9]],
    ["4294967295", [4294967295]],
  ];
  for (const [text, uids] of table) {
    assert.deepEqual(parseUidSet(text), uids, text);
  }
});

Deno.test("parseUidSet() reads * as the given largest UID", () => {
  assert.deepEqual(parseUidSet("*", 4), [4]);
  assert.deepEqual(parseUidSet("2:*", 4), [2, 3, 4]);
  assert.deepEqual(parseUidSet("*:2", 4), [2, 3, 4]);
  assert.deepEqual(parseUidSet("6:*", 4), [4, 5, 6]);
});

Deno.test("parseUidSet() rejects * without a largest UID", () => {
  assert.throws(() => parseUidSet("1:*"), {
    name: "SyntaxError",
    message: 'Cannot parse UID set "1:*": "*" needs the largest UID in use',
  });
});

Deno.test("parseUidSet() rejects text that is not a sequence set", () => {
  const table: Array<[string, string]> = [
    ["", '"" is not a UID'],
    ["1,", '"" is not a UID'],
    [",1", '"" is not a UID'],
    ["0", '"0" is not a UID'],
    ["01", '"01" is not a UID'],
    ["-1", '"-1" is not a UID'],
    ["1 ", '"1 " is not a UID'],
    ["1:2:3", '"1:2:3" is not a number or range'],
    ["1:", '"" is not a UID'],
    ["a", '"a" is not a UID'],
    ["4294967296", '"4294967296" is larger than 4294967295'],
  ];
  for (const [text, details] of table) {
    assert.throws(() => parseUidSet(text), {
      name: "SyntaxError",
      message: `Cannot parse UID set "${text}": ${details}`,
    });
  }
});

Deno.test("parseUidSet() refuses to expand a huge set", () => {
  assert.throws(() => parseUidSet("1:4294967295"), {
    name: "RangeError",
    message: 'Cannot parse UID set "1:4294967295": more than 10000000 members',
  });
});

Deno.test("parseUidSet() rejects an invalid largest UID", () => {
  assert.throws(() => parseUidSet("1:*", 0), RangeError);
});

Deno.test("parseUidSet() reads what compressUids() writes", () => {
  const uids = [1, 2, 3, 5, 8, 9, 10, 11, 100];
  assert.deepEqual(parseUidSet(compressUids(uids)), uids);
});

Deno.test("chunkUids() keeps each set within the length limit", () => {
  assert.deepEqual(chunkUids([1, 2, 3, 10, 20, 30], 8), ["1:3,10", "20,30"]);
  assert.deepEqual(chunkUids([30, 20, 10, 3, 2, 1, 1], 6), ["1:3,10", "20,30"]);
  assert.deepEqual(chunkUids([1, 2, 3, 10, 20, 30], 100), ["1:3,10,20,30"]);
  assert.deepEqual(chunkUids([1, 3, 5], 1), ["1", "3", "5"]);
});

Deno.test("chunkUids() gives no set for no UIDs", () => {
  assert.deepEqual(chunkUids([], 10), []);
});

Deno.test("chunkUids() rejects a limit shorter than one range", () => {
  assert.throws(() => chunkUids([100, 101], 5), {
    name: "RangeError",
    message: 'Cannot split UIDs into sets of 5 characters: range "100:101" is longer',
  });
});

Deno.test("chunkUids() sets joined together equal compressUids()", () => {
  const uids: number[] = [];
  for (let uid = 1; uid < 5000; uid += uid % 7 === 0 ? 3 : 1) uids.push(uid * 13 % 4999 + 1);
  for (const maxLen of [10, 21, 100, 1000]) {
    const chunks = chunkUids(uids, maxLen);
    for (const chunk of chunks) assert.ok(chunk.length <= maxLen, chunk);
    assert.equal(chunks.join(","), compressUids(uids));
  }
});
