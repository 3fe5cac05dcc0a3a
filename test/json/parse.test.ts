import { describe, expect, it } from "vitest";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../../src/json/parse.js";
import { scanJson } from "../../src/json/stream.js";
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

describe("scanJson", () => {
  /** Every top-level key and value captured (so their insides are skimmed and parsed natively), as one object. */
  function scanned(source: string | Uint8Array[]): unknown {
    const top: Record<string, unknown> = {};
    let key = "";
    let root: "object" | "other" | undefined;
    scanJson(source, {
      depth: 1,
      start: (_kind, depth, first) => {
        if (depth === 0) root = first === "{" ? "object" : "other";
        return depth === 1 && root === "object";
      },
      end: (kind, depth, value) => {
        if (depth === 0 || root !== "object") return;
        if (kind === "key") key = value as string;
        else top[key] = value;
      },
    });
    return root === "object" ? top : "(not an object)";
  }

  function outcome(run: () => unknown): string {
    try {
      return `ok ${JSON.stringify(run())}`;
    } catch (error) {
      expect(error).toBeInstanceOf(JsonSyntaxError);
      return `error ${(error as Error).message}`;
    }
  }

  function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
    return out;
  }

  const documents: Array<string | Buffer> = [
    '{"a": [1, -2.5e-3, true, false, null, "x\\u00e9\\"y\\\\"], "b": {"c": "😀é", "d": [[], {}]}, "e": 0, "f": "\\\\\\""}',
    '{\n  "a": {\n    "b": [1,\n 2]\n  },\n  "c": 12345678901234\n}\n',
    // Errors inside a captured value (found by JSON.parse, then located) and between values.
    '{"a": {"b": [1, 2}}',
    '{"a": {"b": "one\ntwo"}}',
    '{"a": {"b": "\\q"}}',
    '{"a": {"b": 1 "c": 2}}',
    '{\n  "a": {\n    "b": [1,\n 2,]\n  }\n}',
    '{"a": {"b": "open',
    '{"a": 1 "b": 2}',
    '{"a": 1,}',
    '{"a": tru}',
    '{"a": 1.}',
    '{"a": [1, 2]]',
    "{} x",
    "[1, 2, x]",
    "",
    // Invalid UTF-8: where, as decodeUtf8 of the whole says, unless a syntax error comes before it.
    Buffer.concat([Buffer.from('{"a": {"b": "é'), Buffer.from([0xff]), Buffer.from('"}}')]),
    Buffer.concat([Buffer.from('{\n"a": "x'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"a": "😀'), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"a": {"b": 1 "c": "'), Buffer.from([0xff]), Buffer.from('"}}')]),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom": "é"}')]),
  ];

  /** What reading the whole document at once gives: decodeUtf8 then parseJson (its syntax error if one comes first). */
  function whole(document: string | Buffer): string {
    const bytes = Buffer.from(document);
    return outcome(() => {
      let text: string;
      try {
        text = decodeUtf8(bytes);
      } catch (utf8) {
        // The first problem in the document: a syntax error in the text before the invalid byte wins.
        const before = Buffer.from(bytes.subarray(0, Number(/byte (\d+)/.exec((utf8 as Error).message)![1]))).toString();
        const syntax = outcome(() => parseJson(before));
        if (syntax.startsWith("error") && !syntax.includes("unexpected end") && !syntax.includes("unterminated")) throw new JsonSyntaxError(syntax.slice(6));
        throw utf8;
      }
      const value = parseJson(text);
      return value && typeof value === "object" && !Array.isArray(value) ? value : "(not an object)";
    });
  }

  it.each(documents.map((d) => [JSON.stringify(d.toString()), d] as const))("reads %s the same in pieces of every size as whole", (_name, document) => {
    const expected = whole(document);
    const bytes = Buffer.from(document);
    for (let size = 1; size <= bytes.length; size++) {
      expect(outcome(() => scanned(pieces(bytes, size))), `pieces of ${size} bytes`).toBe(expected);
    }
  });

  it("reads text as it reads the same text's bytes", () => {
    const text = documents[0] as string;
    expect(outcome(() => scanned(text))).toBe(outcome(() => scanned([Buffer.from(text)])));
    expect(outcome(() => scanned(text))).toBe(`ok ${JSON.stringify(JSON.parse(text))}`);
  });
});
