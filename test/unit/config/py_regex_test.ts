import assert from "node:assert/strict";
import {
  compileRegex,
  escapeRegex,
  execRegex,
  expandTemplate,
  groupText,
  iterateRegex,
  parseTemplate,
  RE_FLAGS,
  RegexError,
  RegexUnsupportedError,
  splitRegex,
  substituteRegex,
  toCodePointIndex,
  toUnitIndex,
} from "../../../src/config/py_regex.ts";

function sub(pattern: string, template: string, text: string, flags = 0, count = 0): string {
  const regex = compileRegex(pattern, flags);
  const parsed = parseTemplate(regex, template);
  return substituteRegex(regex, text, (m) => expandTemplate(parsed, m), count).text;
}

function search(pattern: string, text: string, flags = 0): string | undefined {
  const m = execRegex(compileRegex(pattern, flags), text, "search");
  return m === undefined ? undefined : groupText(m, 0);
}

Deno.test("compileRegex() translates Python-only syntax into JavaScript", () => {
  const table: [string, string][] = [
    ["(?P<n>a)(?P=n)", "(?<n>a)(?:\\1)"],
    ["\\Aab\\Z", "^ab$"],
    ["a$", "a(?=\\n?$)"],
    ["(?m)^a$", "(?<=^|\\n)a(?=\\n|$)"],
    [".", "[^\\n]"],
    ["(?s).", "[\\s\\S]"],
    ["\\d", "[\\p{Nd}]"],
    ["(?a)\\w", "[a-zA-Z0-9_]"],
    ["[]a]", "[\\]a]"],
    ["[^[]", "[^\\[]"],
    ["a{", "a\\{"],
    ["x}", "x\\}"],
    ["\\-\\:\\ ", "-: "],
    ["\\0\\101", "\\u{0}A"],
    ["a{,2}", "a{0,2}"],
    ["(?#comment)a", "a"],
    ["(?x) a b # comment", "ab"],
    ["(?i:a)b", "(?i:a)b"],
  ];
  for (const [python, js] of table) {
    assert.equal(compileRegex(python).source, js, python);
  }
});

Deno.test("compileRegex() reports Python's flags, groups and group names", () => {
  const r = compileRegex("(?m)(?P<year>\\d+)-(\\d+)", RE_FLAGS.IGNORECASE);
  assert.equal(r.flags, RE_FLAGS.IGNORECASE | RE_FLAGS.MULTILINE | RE_FLAGS.UNICODE);
  assert.equal(r.groups, 2);
  assert.deepEqual([...r.groupIndex], [["year", 1]]);
  assert.equal(compileRegex("(?a)x").flags, RE_FLAGS.ASCII);
  assert.equal(compileRegex("(?x)x").flags, RE_FLAGS.VERBOSE | RE_FLAGS.UNICODE);
});

Deno.test("compileRegex() rejects bad patterns with Python's re.error message and position", () => {
  const table: [string, string][] = [
    ["a(?i)b", "global flags not at the start of the expression at position 1"],
    ["a|(?i)b", "global flags not at the start of the expression at position 2"],
    ["\\q", "bad escape \\q at position 0"],
    ["[\\q]", "bad escape \\q at position 1"],
    ["\\x4", "incomplete escape \\x4 at position 0"],
    ["(?<=a+)b", "look-behind requires fixed-width pattern"],
    ["(?<=a|bc)b", "look-behind requires fixed-width pattern"],
    ["(a)\\2", "invalid group reference 2 at position 4"],
    ["(a\\1)", "cannot refer to an open group at position 2"],
    ["a**", "multiple repeat at position 2"],
    ["*a", "nothing to repeat at position 0"],
    ["\\b*", "nothing to repeat at position 2"],
    ["a{2}{3}", "multiple repeat at position 4"],
    ["a{3,2}", "min repeat greater than max repeat at position 2"],
    ["[z-a]", "bad character range z-a at position 1"],
    ["[\\d-z]", "bad character range \\d-z at position 1"],
    ["(?P<1a>x)", "bad character in group name '1a' at position 4"],
    ["(?P<a>x)(?P<a>y)", "redefinition of group name 'a' as group 2; was group 1 at position 12"],
    ["(?P=b)", "unknown group name 'b' at position 4"],
    ["(abc", "missing ), unterminated subpattern at position 0"],
    ["abc)", "unbalanced parenthesis at position 3"],
    ["[abc", "unterminated character set at position 0"],
    ["(?<x)", "unknown extension ?<x at position 1"],
    ["(?Lx)", "bad inline flags: cannot use 'L' flag with a str pattern at position 3"],
  ];
  for (const [pattern, message] of table) {
    assert.throws(
      () => compileRegex(pattern),
      (e: unknown) =>
        e instanceof RegexError && e.message === message && e.pythonType === "re.error",
      pattern,
    );
  }
});

Deno.test("compileRegex() refuses valid Python that JavaScript cannot run", () => {
  for (const pattern of ["a++", "a*+", "(?>a)", "(a)(?(1)b|c)", "\\N{BULLET}"]) {
    assert.throws(() => compileRegex(pattern), RegexUnsupportedError, pattern);
  }
  assert.throws(() => compileRegex("x", RE_FLAGS.DEBUG), RegexUnsupportedError);
  assert.throws(
    () => compileRegex("x", RE_FLAGS.LOCALE),
    (e: unknown) => e instanceof RegexError && e.pythonType === "ValueError",
  );
});

Deno.test("execRegex() gives Python's $: end of string or before a final newline", () => {
  assert.equal(search("c$", "abc\n"), "c");
  assert.equal(search("c$", "abc\n\n"), undefined);
  assert.equal(search("c\\Z", "abc\n"), undefined);
  assert.equal(sub("$", "<", "a\nb\n"), "a\nb<\n<");
  assert.equal(sub("$", "<", "a\nb\n", RE_FLAGS.MULTILINE), "a<\nb<\n<");
});

Deno.test("execRegex() treats only \\n as a line break for ., ^ and $", () => {
  assert.equal(search(".+", "a\rb\u2028c\nd"), "a\rb\u2028c");
  assert.equal(sub("^", ">", "a\nb\r\nc\rd", RE_FLAGS.MULTILINE), ">a\n>b\r\n>c\rd");
});

Deno.test("execRegex() uses Python's Unicode \\w, \\d, \\s and \\b", () => {
  assert.equal(search("\\w+", "--caf\u00e9--"), "caf\u00e9");
  assert.equal(search("\\w+", "--caf\u00e9--", RE_FLAGS.ASCII), "caf");
  assert.equal(search("\\d", "x\u0663"), "\u0663");
  assert.equal(search("\\s", "\x1c"), "\x1c");
  assert.equal(search("\\s", "\ufeff"), undefined);
  assert.equal(sub("\\b", "|", "\u00e9t\u00e9 x"), "|\u00e9t\u00e9| |x|");
  assert.equal(sub("\\B", "|", ""), "");
});

Deno.test("execRegex() anchors match at the start and fullmatch at both ends", () => {
  const r = compileRegex("a|ab");
  assert.equal(execRegex(r, "xab", "match"), undefined);
  assert.equal(groupText(execRegex(r, "ab", "match")!, 0), "a");
  assert.equal(groupText(execRegex(r, "ab", "fullmatch")!, 0), "ab");
  assert.equal(execRegex(compileRegex("^b"), "ab", "search", 1), undefined);
  assert.equal(groupText(execRegex(compileRegex("b"), "ab", "match", 1)!, 0), "b");
  assert.equal(groupText(execRegex(compileRegex("a$"), "ab", "search", 0, 1)!, 0), "a");
});

Deno.test("iterateRegex() allows a non-empty match right after an empty one (Python 3.7)", () => {
  assert.equal(sub("|b", "-", "abc"), "-a---c-");
  assert.equal(sub("x*", "-", "abxd"), "-a-b--d-");
  const spans = [...iterateRegex(compileRegex(""), "\u{1F600}a")].map((m) => m.spans[0]);
  assert.deepEqual(spans, [[0, 0], [2, 2], [3, 3]]);
});

Deno.test("substituteRegex() honours count, 0 meaning all and a negative count meaning none", () => {
  assert.equal(sub("a", "x", "banana", 0, 2), "bxnxna");
  assert.equal(sub("a", "x", "banana", 0, 0), "bxnxnx");
  assert.equal(sub("a", "x", "banana", 0, -1), "banana");
});

Deno.test("parseTemplate() expands Python templates, never JavaScript's $ patterns", () => {
  assert.equal(sub("(x)", "[\\1\\g<1>\\g<0>\\n\\-\\$&$1]", "x"), "[xxx\n\\-\\$&$1]");
  assert.equal(sub("(a)|(b)", "<\\2>", "ab"), "<><b>");
  assert.equal(sub("(?P<a>.)(?P<b>.)", "\\g<b>\\g<a>", "abcd"), "badc");
  assert.equal(sub("(x)", "\\101\\0", "x"), "A\0");
});

Deno.test("parseTemplate() rejects bad templates as Python does", () => {
  const r = compileRegex("(x)");
  const table: [string, string, string][] = [
    ["\\q", "bad escape \\q at position 0", "re.error"],
    ["\\2", "invalid group reference 2 at position 1", "re.error"],
    ["\\g<2>", "invalid group reference 2 at position 3", "re.error"],
    ["\\g<1", "missing >, unterminated name at position 3", "re.error"],
    ["\\g<a>", "unknown group name 'a'", "IndexError"],
    ["\\777", "octal escape value \\777 outside of range 0-0o377 at position 0", "re.error"],
  ];
  for (const [template, message, type] of table) {
    assert.throws(
      () => parseTemplate(r, template),
      (e: unknown) => e instanceof RegexError && e.message === message && e.pythonType === type,
      template,
    );
  }
});

Deno.test("splitRegex() includes groups, undefined for a group that did not match", () => {
  assert.deepEqual(splitRegex(compileRegex("(,)|;"), "a,b;c"), ["a", ",", "b", undefined, "c"]);
  assert.deepEqual(splitRegex(compileRegex("x*"), "axbc"), ["", "a", "", "b", "c", ""]);
  assert.deepEqual(splitRegex(compileRegex(","), "a,b,c", 1), ["a", "b,c"]);
});

Deno.test("execRegex() gives Python's lastindex: the group that closed last", () => {
  assert.equal(execRegex(compileRegex("(a)(b)"), "ab", "match")?.lastIndex, 2);
  assert.equal(execRegex(compileRegex("((a)b)"), "ab", "match")?.lastIndex, 1);
  assert.equal(execRegex(compileRegex("(a)()"), "a", "match")?.lastIndex, 2);
  assert.equal(execRegex(compileRegex("(a)(b)?"), "a", "match")?.lastIndex, 1);
  assert.equal(execRegex(compileRegex("a"), "a", "match")?.lastIndex, undefined);
});

Deno.test("escapeRegex() escapes exactly the characters Python 3.7+ escapes", () => {
  assert.equal(escapeRegex("a.b-c d_e/\u00e9#&~"), "a\\.b\\-c\\ d_e/\u00e9\\#\\&\\~");
});

Deno.test("toCodePointIndex() and toUnitIndex() convert between UTF-16 and code points", () => {
  const text = "a\u{1F600}b";
  assert.equal(toCodePointIndex(text, 3), 2);
  assert.equal(toUnitIndex(text, 2), 3);
  assert.equal(toUnitIndex(text, 10), 4);
  assert.equal(toCodePointIndex("abc", 2), 2);
});

Deno.test("compileRegex() keeps IGNORECASE scoped to (?i:...) groups", () => {
  assert.equal(sub("(?i:B)a", "x", "Ba ba BA"), "x x BA");
  assert.equal(sub("a(?-i:B)", "x", "AB aB ab", RE_FLAGS.IGNORECASE), "x x ab");
});

Deno.test("compileRegex() handles classes with negated categories", () => {
  assert.equal(sub("[a\\W]", "_", "ab-c"), "_b_c");
  assert.equal(sub("[^\\d\\s]", "_", "1 a2"), "1 _2");
  assert.equal(sub("[^a\\W]", "_", "ab-"), "a_-");
});
