import assert from "node:assert/strict";
import { headerField, parseMailDate } from "../../../src/repository/maildir_date.ts";

/** Expected values printed by Python 3.11: `mktime_tz(parsedate_tz(value))`. */
const PYTHON_RESULTS: Array<[string, number | undefined]> = [
  ["Mon, 23 Nov 2026 10:00:00 +0100", 1795424400],
  ["23 Nov 26 10:00 EST", 1795446000],
  ["Sunday, 06-Nov-94 08:49:37 GMT", 784111777],
  ["Tue,1 Jan 2019 1.2.3 -0000", 1546304523],
  ["Wed, 31 Feb 2021 25:61:61 +0000", 1614823321],
  ["Nov 5 2020 12:00:00 PDT", 1604602800],
  ["Fri, 01 Jan 0 00:00 +0000", 946684800],
  ["5 Jan 2020 10:00:00+0230", 1578209400],
  ["Thu, 13 Feb 2020 10:00:00 -0130", 1581593400],
  ["Mon, 2 Mar 2020 10:00:00 +01:00", 1583143200],
  ["Mon, 2 Mar 2020 10:00 XYZ", 1583143200],
  ["2 Mar 2020, 10:00:00 +0000", 1583143200],
  ["yesterday", undefined],
  ["", undefined],
  ["   ", undefined],
  ["Mon, 2 Foo 2020 10:00:00 +0000", undefined],
  ["Mon, 2 Mar 2020 10-00-00 +0000", undefined],
  // Python raises for a year beyond 9999; OfflineIMAP then warns and keeps the default.
  ["1 Jan 10000 00:00 +0000", undefined],
];

Deno.test("parseMailDate() gives what Python's mktime_tz(parsedate_tz()) gives", () => {
  for (const [value, expected] of PYTHON_RESULTS) {
    assert.equal(parseMailDate(value), expected, value);
  }
});

Deno.test("headerField() finds the first field by name, unfolded, only in the header block", () => {
  const message =
    "Received: x\nDATE: Mon, 2 Mar 2020\n 10:00:00 +0000\nDate: later\n\nDate: body\n";
  assert.equal(headerField(message, "Date"), "Mon, 2 Mar 2020 10:00:00 +0000");
  assert.equal(headerField(message, "Delivery-date"), undefined);
  assert.equal(headerField("Subject: x\r\n\r\nDate: body\r\n", "date"), undefined);
  assert.equal(
    headerField("Delivery-Date:  1 Jan 2020 00:00 +0000 \n\n", "delivery-date"),
    "1 Jan 2020 00:00 +0000",
  );
});
