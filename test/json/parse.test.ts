import { describe, expect, it } from "vitest";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../../src/json/parse.js";
import { checkTree, MAX_JSON_DEPTH } from "../../src/json/tree.js";

function syntaxError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JsonSyntaxError);
    return (error as Error).message;
  }
  throw new Error("expected a JsonSyntaxError");
}

describe("parseJson", () => {
  it.each([
    ['{"a": 1,}', "line 1, column 9: expected a property name in double quotes"],
    ['{\n  "a": 1\n  "b": 2\n}', "line 3, column 3: expected ',' or '}'"],
    ["[1, 2, x]", 'line 1, column 8: unexpected character "x"'],
    ['{"a": [1, 2}', "line 1, column 12: unexpected character \"}\""],
    ["", "line 1, column 1: unexpected end of input"],
    ['{"a": "one\ntwo"}', "line 1, column 11: control character inside a string (escape it)"],
    ['{"a": "\\q"}', "line 1, column 8: invalid escape in a string"],
    ['{"a": "open', "line 1, column 7: unterminated string"],
    ["{} []", 'line 1, column 4: unexpected "[" after the end of the document'],
    ['{"a" 1}', "line 1, column 6: expected ':' after a property name"],
    ["[1,]", "line 1, column 4: unexpected character \"]\""],
  ])("names line and column of %j without quoting the input", (text, message) => {
    expect(syntaxError(() => parseJson(text))).toBe(message);
  });

  it("locates an error at the end of a document nested far deeper than the call stack", () => {
    const text = "[".repeat(200_000) + "]".repeat(199_999);
    expect(syntaxError(() => parseJson(text))).toBe("line 1, column 400000: unexpected end of input");
  });

  it("reads JSONC: comments and trailing commas, with errors still at the file's own lines and columns", () => {
    const text = '{\n  // the model\n  "model": "a/b", /* inline */\n  "list": [1, 2,],\n}\n';
    expect(parseJson(text, { jsonc: true })).toEqual({ model: "a/b", list: [1, 2] });
    expect(syntaxError(() => parseJson('{\n  // c\n  "a": 1\n  "b": 2\n}', { jsonc: true }))).toBe("line 4, column 3: expected ',' or '}'");
    expect(syntaxError(() => parseJson('{"a": 1 /* open', { jsonc: true }))).toBe("line 1, column 9: unterminated comment");
    expect(syntaxError(() => parseJson('{"a": 1, // c\n}'))).toBe('line 1, column 10: expected a property name in double quotes');
  });
});

describe("decodeUtf8", () => {
  it("refuses invalid UTF-8 with where it is, and keeps a real U+FFFD", () => {
    const good = Buffer.from('{"a": "\uFFFD é"}');
    expect(decodeUtf8(good)).toBe('{"a": "\uFFFD é"}');
    const bad = Buffer.concat([Buffer.from('{\n"a": "\uFFFD x'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(syntaxError(() => decodeUtf8(bad))).toBe("line 2, column 10: invalid UTF-8 (byte 13)");
    // A surrogate encoded as UTF-8 (CESU) is not UTF-8 either.
    expect(syntaxError(() => decodeUtf8(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe("line 1, column 2: invalid UTF-8 (byte 1)");
  });
});

describe("checkTree", () => {
  it("refuses nesting deeper than the limit, naming the field by its first levels", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(checkTree({ a: { b: deep } })).toEqual({
      path: ["a", "b", 0, 0, 0, 0, 0, 0],
      message: `nested more than ${MAX_JSON_DEPTH} levels deep (path cut after 8 levels)`,
    });
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = [ok];
    expect(checkTree(ok)).toBeUndefined();
  });

  it("refuses lone surrogates in values and keys, accepts pairs, and reports the first in document order", () => {
    expect(checkTree({ a: ["ok 😀", "x\ud800"], b: "\udc00" })).toEqual({ path: ["a", 1], message: "not well-formed Unicode (a lone surrogate)" });
    expect(checkTree({ a: { "k\udfff": 1 } })?.path).toEqual(["a", "k\udfff"]);
    expect(checkTree({ a: "😀", b: [{ c: "é" }] })).toBeUndefined();
  });
});
