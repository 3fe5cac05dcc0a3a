/**
 * JSON from files and request bodies: decoded strictly, parsed natively, and on failure located by line and column
 * with a short reason that never quotes the input (V8's messages quote a slice of the document, newlines and all,
 * and some carry no position at all).
 */

/** A document that is not valid UTF-8 or not valid JSON; the message starts with where (line and column). */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

export function lineColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < offset; nl = text.indexOf("\n", nl + 1)) {
    line++;
    start = nl + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}

/** Bytes to text, refusing invalid UTF-8 instead of silently replacing it with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Only the error path pays for finding where: the first U+FFFD the bytes themselves do not spell out.
    const lossy = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    let at = lossy.indexOf("\uFFFD");
    while (at !== -1) {
      const byte = Buffer.byteLength(lossy.slice(0, at));
      if (!(bytes[byte] === 0xef && bytes[byte + 1] === 0xbf && bytes[byte + 2] === 0xbd)) {
        throw new JsonSyntaxError(`${lineColumn(lossy, at)}: invalid UTF-8 (byte ${byte})`);
      }
      at = lossy.indexOf("\uFFFD", at + 1);
    }
    throw new JsonSyntaxError("invalid UTF-8");
  }
}

/** Strict JSON; `jsonc` also allows comments and trailing commas (config files). */
export function parseJson(text: string, options: { jsonc?: boolean } = {}): unknown {
  const source = options.jsonc ? stripJsonc(text) : text;
  try {
    return JSON.parse(source);
  } catch {
    const found = scan(source, false);
    throw new JsonSyntaxError(found ? `${lineColumn(text, found.offset)}: ${found.reason}` : "not valid JSON");
  }
}

/** Comments and trailing commas blanked out with spaces, so offsets (and so lines and columns) stay those of the file. */
function stripJsonc(text: string): string {
  const found = scan(text, true);
  if (typeof found === "object") throw new JsonSyntaxError(`${lineColumn(text, found.offset)}: ${found.reason}`);
  return found ?? text;
}

interface SyntaxProblem {
  offset: number;
  reason: string;
}

type Expect = "value" | "value-or-close" | "key" | "key-or-close" | "colon" | "comma-or-close" | "end";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * The first syntax problem of `text`, found with an explicit stack so nesting depth cannot overflow the call stack.
 * With `jsonc`, comments and trailing commas are accepted and, when there is no problem, the text with them blanked
 * out is returned (undefined when there was nothing to blank).
 */
function scan(text: string, jsonc: true): SyntaxProblem | string | undefined;
function scan(text: string, jsonc: false): SyntaxProblem | undefined;
function scan(text: string, jsonc: boolean): SyntaxProblem | string | undefined {
  const stack: string[] = [];
  const blanks: Array<[number, number]> = [];
  let expect = "value" as Expect;
  let lastComma = -1;
  let i = 0;
  const problem = (reason: string, offset = i): SyntaxProblem => ({ offset, reason });
  const unexpected = (): SyntaxProblem =>
    i >= text.length ? problem("unexpected end of input") : problem(`unexpected character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))}`);
  const afterValue = () => {
    expect = stack.length ? "comma-or-close" : "end";
  };

  for (;;) {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
    if (jsonc && text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      blanks.push([i, end === -1 ? text.length : end]);
      i = end === -1 ? text.length : end;
      continue;
    }
    if (jsonc && text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      if (end === -1) return problem("unterminated comment");
      blanks.push([i, end + 2]);
      i = end + 2;
      continue;
    }
    if (i >= text.length) {
      if (expect === "end") break;
      return unexpected();
    }
    const c = text[i]!;
    if (expect === "end") return problem(`unexpected ${JSON.stringify(c)} after the end of the document`);
    if (expect === "colon") {
      if (c !== ":") return problem(`expected ':' after a property name`);
      i++;
      expect = "value";
      continue;
    }
    const closes = c === "}" || c === "]";
    if (closes && (expect === "comma-or-close" || expect === "value-or-close" || expect === "key-or-close")) {
      if (stack.at(-1) !== (c === "}" ? "{" : "[") || (expect === "value-or-close" && c === "}") || (expect === "key-or-close" && c === "]")) {
        return unexpected();
      }
      if (expect !== "comma-or-close" && lastComma !== -1) blanks.push([lastComma, lastComma + 1]);
      stack.pop();
      i++;
      lastComma = -1;
      afterValue();
      continue;
    }
    if (expect === "comma-or-close") {
      if (c !== ",") return problem(`expected ',' or '${stack.at(-1) === "{" ? "}" : "]"}'`);
      lastComma = i++;
      // A trailing comma is a JSONC allowance: strict JSON wants another element after it.
      expect = stack.at(-1) === "{" ? (jsonc ? "key-or-close" : "key") : jsonc ? "value-or-close" : "value";
      continue;
    }
    lastComma = -1;
    if (c === '"') {
      const end = scanString(text, i);
      if (typeof end !== "number") return end;
      i = end;
      if (expect === "key" || expect === "key-or-close") expect = "colon";
      else afterValue();
      continue;
    }
    if (expect === "key" || expect === "key-or-close") return problem("expected a property name in double quotes");
    if (c === "{" || c === "[") {
      stack.push(c);
      i++;
      expect = c === "{" ? "key-or-close" : "value-or-close";
      continue;
    }
    const literal = ["true", "false", "null"].find((word) => text.startsWith(word, i));
    if (literal) {
      i += literal.length;
      afterValue();
      continue;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) return unexpected();
    i = NUMBER.lastIndex;
    afterValue();
  }
  if (!jsonc || blanks.length === 0) return undefined;
  let out = "";
  let from = 0;
  for (const [start, end] of blanks.sort((a, b) => a[0] - b[0])) {
    out += text.slice(from, start) + text.slice(start, end).replace(/[^\n]/g, " ");
    from = end;
  }
  return out + text.slice(from);
}

/** The offset just past the string starting at `start`, or the problem inside it. */
function scanString(text: string, start: number): number | SyntaxProblem {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return { offset: i, reason: "control character inside a string (escape it)" };
    if (code === 0x5c) {
      ESCAPE.lastIndex = i;
      if (!ESCAPE.test(text)) return { offset: i, reason: "invalid escape in a string" };
      i = ESCAPE.lastIndex;
      continue;
    }
    i++;
  }
  return { offset: start, reason: "unterminated string" };
}
