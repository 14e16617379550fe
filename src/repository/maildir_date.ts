/**
 * Dates from message headers, read as OfflineIMAP reads them for `utime_from_header` and
 * `filename_use_mail_timestamp` (formats.md §1.2, §1.3): the first field of a name in the
 * header block, parsed by a port of Python's `email.utils.parsedate_tz` and `mktime_tz`, which
 * accept far more than RFC 5322 allows (day names optional, two-digit years, zone names, `.`
 * between time parts, RFC 850 dates).
 *
 * Pure: no I/O.
 *
 * @module
 */

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/** Python's table, in ±hhmm; RFC 822's military zones are left out on purpose, except Z. */
const ZONES: Record<string, number> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  AST: -400,
  ADT: -300,
  EST: -500,
  EDT: -400,
  CST: -600,
  CDT: -500,
  MST: -700,
  MDT: -600,
  PST: -800,
  PDT: -700,
};
const INTEGER = /^[+-]?[0-9]+$/;
const DAY_MS = 86_400_000;

/**
 * Parses a date header value into Unix seconds, as `mktime_tz(parsedate_tz(value))`: an
 * unknown zone or `-0000` counts as UTC. Returns undefined when Python returns None or would
 * raise (a year outside 1-9999).
 *
 * @example
 * ```ts
 * parseMailDate("Mon, 23 Nov 2026 10:00:00 +0100"); // 1795424400
 * parseMailDate("23 Nov 26 10:00 EST"); // 1795446000
 * parseMailDate("yesterday"); // undefined
 * ```
 */
export function parseMailDate(value: string): number | undefined {
  let data = value.split(/\s+/).filter((part) => part !== "");
  if (data.length === 0) return undefined;
  // The space after the day name's comma is optional.
  if (data[0]!.endsWith(",") || DAYS.includes(data[0]!.toLowerCase())) {
    data.shift();
  } else {
    const comma = data[0]!.lastIndexOf(",");
    if (comma >= 0) data[0] = data[0]!.slice(comma + 1);
  }
  if (data.length === 3) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
    const parts = data[0]!.split("-");
    if (parts.length === 3) data = [...parts, ...data.slice(1)];
  }
  if (data.length === 4) {
    const last = data[3]!;
    let at = last.indexOf("+");
    if (at === -1) at = last.indexOf("-");
    if (at > 0) data.splice(3, 1, last.slice(0, at), last.slice(at));
    else data.push("");
  }
  if (data.length < 5) return undefined;
  let [dd, mm, yy, tm, tz] = data as [string, string, string, string, string];
  if (dd === "" || mm === "" || yy === "") return undefined;
  mm = mm.toLowerCase();
  if (!MONTHS.includes(mm)) {
    [dd, mm] = [mm, dd.toLowerCase()];
    if (!MONTHS.includes(mm)) return undefined;
  }
  let month = MONTHS.indexOf(mm) + 1;
  if (month > 12) month -= 12;
  if (dd.endsWith(",")) dd = dd.slice(0, -1);
  if (yy.indexOf(":") > 0) [yy, tm] = [tm, yy];
  if (yy.endsWith(",")) {
    yy = yy.slice(0, -1);
    if (yy === "") return undefined;
  }
  if (!/^[0-9]/.test(yy)) [yy, tz] = [tz, yy];
  if (tm.endsWith(",")) tm = tm.slice(0, -1);
  let time = tm.split(":");
  if (time.length === 1 && time[0]!.includes(".")) {
    // Some mail programs separate the time's parts with dots.
    time = time[0]!.split(".");
  }
  if (time.length === 2) time.push("0");
  if (time.length !== 3) return undefined;
  const numbers = [yy, dd, ...time].map((text) => INTEGER.test(text) ? Number(text) : NaN);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  let [year, day, hours, minutes, seconds] = numbers as [number, number, number, number, number];
  if (year < 100) year += year > 68 ? 1900 : 2000;
  if (year < 1 || year > 9999) return undefined;
  // calendar.timegm() does plain arithmetic: day 0 or hour 25 roll over instead of failing.
  const firstOfMonth = Date.UTC(year, month - 1, 1);
  const utc = (firstOfMonth + (day - 1) * DAY_MS) / 1000 + hours * 3600 + minutes * 60 + seconds;
  return utc - zoneOffsetSeconds(tz);
}

/** Python's zone handling: a name from the table, else `±hhmm` as an integer; else 0. */
function zoneOffsetSeconds(tz: string): number {
  const name = tz.toUpperCase();
  const hhmm = name in ZONES ? ZONES[name]! : INTEGER.test(name) ? Number(name) : 0;
  const sign = hhmm < 0 ? -1 : 1;
  const abs = Math.abs(hhmm);
  return sign * (Math.floor(abs / 100) * 3600 + (abs % 100) * 60);
}

/**
 * The value of the first header field called `name` (case-insensitive) in `header`, the text
 * before the first empty line, with folded lines joined; undefined when there is none.
 */
export function headerField(header: string, name: string): string | undefined {
  const lines = header.split(/\r?\n/);
  const prefix = `${name.toLowerCase()}:`;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") return undefined;
    if (!line.toLowerCase().startsWith(prefix)) continue;
    let value = line.slice(prefix.length);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) value += ` ${lines[++i]!.trim()}`;
    return value.trim();
  }
  return undefined;
}
