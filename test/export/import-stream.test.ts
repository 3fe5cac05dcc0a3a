import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sessionDocument } from "../../bench/session-document.js";
import { importStream, ImportValidationError, type ImportSource } from "../../src/export/import.js";
import { buildExport } from "../../src/export/snapshot.js";
import { decodeUtf8, parseJson } from "../../src/json/parse.js";
import { Runs } from "../../src/session/runs.js";
import { dbDigest, readFixture, TOOL_RUN } from "../reliability/documents.js";
import { makeProject, runOde } from "../support/ode.js";
import { exportJson, fixture, tableCounts, withStore } from "./support.js";

/** `ode import` reads 1 MiB at a time: these documents take a few reads. */
const LONG = "ses_000000000001streamImport01";
const longText = () => sessionDocument(LONG, 200);

/**
 * The bytes cut at `cuts`, then in 64 KiB chunks: a chunk boundary exactly where a test wants it. Handed out as
 * `ode import` reads a file: one buffer, filled again for each chunk.
 */
function* cutAt(bytes: Uint8Array, cuts: number[]): Generator<Uint8Array> {
  const buffer = Buffer.alloc(65_536);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (let at = from; at < cut; at += 65_536) {
      const chunk = bytes.subarray(at, Math.min(at + 65_536, cut));
      buffer.set(chunk);
      yield buffer.subarray(0, chunk.length);
    }
    from = cut;
  }
}

/** The import's one line, or "imported" (then the session is deleted again, so each call starts from the same store). */
function importLine(source: ImportSource): string {
  return withStore(makeProject().dataDir, (store) => {
    try {
      importStream({ store, runs: new Runs(store) }, source);
      return "imported";
    } catch (error) {
      expect(error).toBeInstanceOf(ImportValidationError);
      expect(store.listSessions()).toEqual([]);
      return (error as Error).message;
    }
  });
}

function syntaxMessage(text: string): string {
  try {
    parseJson(text);
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
  throw new Error("the text is valid JSON");
}

describe("ode import reads the file as it comes", () => {
  it("refuses a long file whose last message is invalid, naming it, and writes nothing", async () => {
    const doc = JSON.parse(longText());
    doc.messages.at(-1).parts[2].type = "telepathy";
    const project = makeProject();
    expect((await runOde(project, ["import", fixture(TOOL_RUN)])).code).toBe(0);
    const before = dbDigest(project.dataDir);
    const file = path.join(project.dir, "long.json");
    fs.writeFileSync(file, JSON.stringify(doc));
    expect(fs.statSync(file).size).toBeGreaterThan(1 << 20);
    const result = await runOde(project, ["import", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^ode: ${file}: messages\\[399\\]\\.parts\\[2\\]\\.type: .*\\n$`));
    expect(dbDigest(project.dataDir)).toBe(before);
  });

  it("locates a syntax error in the last message of a long file by the whole file's line and column", async () => {
    const text = JSON.stringify(JSON.parse(longText()), null, 2);
    const at = text.lastIndexOf('"role": "assistant"');
    const broken = `${text.slice(0, at)}"role" "assistant"${text.slice(at + '"role": "assistant"'.length)}`;
    const project = makeProject();
    const file = path.join(project.dir, "long.json");
    fs.writeFileSync(file, broken);
    const result = await runOde(project, ["import", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`ode: ${file}: ${syntaxMessage(broken)}\n`);
    expect(result.stderr).toMatch(/line \d{5,}, column 16: expected ':' after a property name/);
    expect(tableCounts(project.dataDir).sessions).toBe(0);
  });

  it.each([
    ["inside a message", (t: string) => t.replace('"role": "user"', '"role": "user" 1'), "expected ',' or '}'"],
    ["between two messages", (t: string) => t.replace("\n    },\n    {\n", "\n    }\n    {\n"), "expected ',' or ']'"],
    ["after the messages", (t: string) => `${t.trimEnd().slice(0, -1)}, "format": "x", }`, "expected a property name"],
    ["a control character in a string", (t: string) => t.replace("prompt 3 ", "prompt\t3 "), "control character"],
    ["an escape cut anywhere", (t: string) => t.replace("prompt 3 ", "prompt \\u00e 3 "), "invalid escape"],
  ])("gives a syntax error %s the same line and column wherever a chunk ends", (_name, corrupt, reason) => {
    const text = corrupt(JSON.stringify(JSON.parse(sessionDocument(LONG, 20)), null, 2));
    const expected = syntaxMessage(text);
    expect(expected).toContain(reason);
    const column = Number(/column (\d+)/.exec(expected)![1]);
    const line = Number(/line (\d+)/.exec(expected)![1]);
    const offset = text.split("\n").slice(0, line - 1).join("\n").length + column;
    const bytes = Buffer.from(text);
    for (let cut = offset - 8; cut <= offset + 8; cut++) expect(importLine(cutAt(bytes, [cut])), `cut at ${cut}`).toBe(expected);
    expect(importLine(cutAt(bytes, [offset - 3, offset - 2, offset - 1, offset, offset + 1]))).toBe(expected);
  });

  it("decodes a character cut by a chunk boundary, and locates invalid UTF-8 cut by one as the whole file does", () => {
    const doc = readFixture(TOOL_RUN);
    doc.messages[0].parts[0].text = "é😀€ at the boundary";
    const bytes = Buffer.from(JSON.stringify(doc));
    const start = bytes.indexOf("é😀€");
    withStore(makeProject().dataDir, (store) => {
      const rt = { store, runs: new Runs(store) };
      for (let cut = start; cut <= start + 9; cut++) {
        importStream(rt, cutAt(bytes, [cut]));
        expect(buildExport(rt, doc.info.id).messages[0]!.parts[0]).toMatchObject({ text: "é😀€ at the boundary" });
        rt.runs.deleteSession(doc.info.id);
      }
    });
    // A four-byte sequence missing its last byte, then an ASCII quote.
    const bad = Buffer.concat([bytes.subarray(0, start), Buffer.from([0xf0, 0x9f, 0x98]), bytes.subarray(start + 2)]);
    let expected = "";
    try {
      decodeUtf8(bad);
    } catch (error) {
      expected = `not valid JSON: ${(error as Error).message}`;
    }
    expect(expected).toMatch(/^not valid JSON: line 1, column \d+: invalid UTF-8 \(byte \d+\)$/);
    for (let cut = start - 1; cut <= start + 4; cut++) expect(importLine(cutAt(bad, [cut])), `cut at ${cut}`).toBe(expected);
  });

  it("imports from stdin, and names stdin as `-` when it refuses", async () => {
    const project = makeProject();
    const text = longText();
    const result = await runOde(project, ["import", "-"], { input: text });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`imported ${LONG}: 400 messages, 2000 parts\n`);
    // What the same document gives from a file.
    const fromFile = makeProject();
    const file = path.join(fromFile.dir, "long.json");
    fs.writeFileSync(file, text);
    expect((await runOde(fromFile, ["import", file])).code).toBe(0);
    expect((await exportJson(project, [LONG])).messages).toEqual((await exportJson(fromFile, [LONG])).messages);

    const other = makeProject();
    const refused = await runOde(other, ["import", "-"], { input: text.slice(0, -2) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`ode: -: ${syntaxMessage(text.slice(0, -2))}\n`);
    expect(tableCounts(other.dataDir).sessions).toBe(0);
  });

  it("replaces with --force all at once: a replacement refused at its last message leaves the old session whole", async () => {
    const project = makeProject();
    const file = path.join(project.dir, "long.json");
    fs.writeFileSync(file, longText());
    expect((await runOde(project, ["import", file])).code).toBe(0);
    const before = dbDigest(project.dataDir);
    const doc = JSON.parse(longText());
    doc.messages.at(-1).info.time.created = -1;
    fs.writeFileSync(file, JSON.stringify(doc));
    const result = await runOde(project, ["import", "--force", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/messages\[399\]\.info\.time\.created: must not be before 1970/);
    expect(dbDigest(project.dataDir)).toBe(before);

    fs.writeFileSync(file, longText());
    const replaced = await runOde(project, ["import", "--force", file]);
    expect(replaced.stdout).toBe(`replaced ${LONG}: 400 messages, 2000 parts\n`);
  });

  it("reads a document whose info comes after its messages", () => {
    const { info, messages } = readFixture(TOOL_RUN);
    const line = importLine(JSON.stringify({ messages, info }));
    expect(line).toBe("imported");
    // Checked against the session once it is known: the first message is the one named.
    const other = { ...info, id: "ses_000000000000someoneelse000" };
    expect(importLine(JSON.stringify({ messages, info: other }))).toBe(
      `messages[0].info.sessionID: ${info.id} is not the session's id ses_000000000000someoneelse000`,
    );
  });

  it("refuses a second `messages`, or an `info` after messages were stored, rather than keep the wrong one", () => {
    const { info, messages } = readFixture(TOOL_RUN);
    const text = JSON.stringify({ info, messages });
    expect(importLine(`${text.slice(0, -1)}, "messages": []}`)).toBe("messages: appears twice at the top level (ode stores the messages as it reads them)");
    expect(importLine(`${text.slice(0, -1)}, "info": ${JSON.stringify(info)}}`)).toBe("info: appears twice at the top level (ode stores the messages as it reads them)");
    // Before any message, the last `info` is the one read, as JSON.parse would keep it.
    const twice = `{"info": ${JSON.stringify({ ...info, id: "ses_000000000000someoneelse000" })}, ${text.slice(1)}`;
    expect(importLine(twice)).toBe("imported");
  });
});

describe("messages are written in batches", () => {
  it("finds an id that appears twice in the file when storing it, with no list of ids kept in memory", () => {
    const doc = JSON.parse(sessionDocument(LONG, 20));
    const first = doc.messages[4];
    const copy = JSON.parse(JSON.stringify(doc.messages[5]).replaceAll(doc.messages[5].info.id, first.info.id));
    doc.messages[5] = copy;
    expect(importLine(JSON.stringify(doc))).toBe(`messages[5].info.id: ${first.info.id} appears twice`);
    doc.messages[5] = JSON.parse(sessionDocument(LONG, 20)).messages[5];
    doc.messages[7].parts[1].id = doc.messages[1].parts[0].id;
    expect(importLine(JSON.stringify(doc))).toBe(`messages[7].parts[1].id: ${doc.messages[1].parts[0].id} appears twice`);
  });

  it("still names an id another session holds before a problem further on in the same batch", () => {
    const doc = JSON.parse(sessionDocument(LONG, 20));
    const taken = doc.messages[3].parts[0].id;
    doc.messages[30].parts[0].type = "telepathy";
    withStore(makeProject().dataDir, (store) => {
      const rt = { store, runs: new Runs(store) };
      const other = store.createSession({ directory: "/elsewhere", title: "already here" });
      const message = { id: "msg_000000000001otherMessage01", sessionID: other.id, role: "user" as const, time: { created: 1 } };
      store.addMessage(message);
      store.insertPartAsIs({ id: taken, sessionID: other.id, messageID: message.id, type: "text", text: "mine" });
      expect(() => importStream(rt, JSON.stringify(doc))).toThrow(/^messages\[3\]\.parts\[0\]\.id: this id already belongs to another session/);
      doc.messages[30].parts[0].type = "text";
      expect(() => importStream(rt, JSON.stringify(doc))).toThrow(/^messages\[3\]\.parts\[0\]\.id: this id already belongs to another session/);
      expect(store.listSessions().map((s) => s.id)).toEqual([other.id]);
    });
  });
});
