import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { importSession, parseImport } from "../../src/export/import.js";
import type { RunRecord } from "../../src/export/diagnostics.js";
import { buildExport } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { defaultTitle } from "../../src/session/title.js";
import { makeProject, runOde, type Project } from "../support/ode.js";
import { exportJson, fixture, tableCounts, withStore } from "./support.js";

const TOOL_RUN = "opencode-1.18.33-export-tool-run.json";
const ABORTED = "opencode-1.18.33-export-aborted.json";
const SANITIZED = "opencode-1.18.33-export-tool-run.sanitized.json";

function readFixture(name: string): any {
  return JSON.parse(fs.readFileSync(fixture(name), "utf8"));
}

function writeDoc(project: Project, doc: unknown, name = "import.json"): string {
  const file = path.join(project.dir, name);
  fs.writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
  return file;
}

/** An ode export of the opencode tool-run fixture with one run, built in-process. */
function odeDocument(): any {
  const project = makeProject();
  return withStore(project.dataDir, (store) => {
    const doc = parseImport(fs.readFileSync(fixture(TOOL_RUN), "utf8"));
    const rt = { store, runs: new Runs(store) };
    importSession(rt, doc);
    const exported = buildExport(rt, doc.info.id);
    const run: RunRecord = {
      run_id: "run_20f58dc95000aaaaaaaaaaaaaa",
      kind: "prompt",
      started_at: 1795553811605,
      ended_at: 1795553815183,
      outcome: "completed",
      user_message_id: doc.messages[0]!.info.id,
      assistant_message_ids: [doc.messages[1]!.info.id, doc.messages[2]!.info.id],
      steps: 2,
      finish: "stop",
      attempted_input: "print the session env",
      cancel_count: 0,
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    };
    exported.diagnostics.loop = { runs: [run], last: run };
    return JSON.parse(JSON.stringify(exported));
  });
}

describe("ode import", () => {
  it.each([TOOL_RUN, ABORTED, SANITIZED])("imports opencode's export %s as it is", async (name) => {
    const source = readFixture(name);
    const project = makeProject();
    const result = await runOde(project, ["import", fixture(name)]);
    const parts = source.messages.reduce((n: number, m: { parts: unknown[] }) => n + m.parts.length, 0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`imported ${source.info.id}: ${source.messages.length} messages, ${parts} parts\n`);

    const doc = await exportJson(project, [source.info.id]);
    expect(doc.info).toEqual(source.info);
    expect(doc.messages).toEqual(source.messages);
    // opencode's aborted message counts as an abort (source unknown), though no ode run recorded it.
    expect(doc.runtime.stats).toMatchObject({ messages: source.messages.length, parts, runs: 0, aborts: name === ABORTED ? 1 : 0 });
    expect(doc.runtime.models).toEqual(["fake/fake"]);
    // A title someone chose (here opencode's generated one) is never replaced by ode's title generation.
    expect(withStore(project.dataDir, (store) => store.titleSource(source.info.id))).toBe("user");
  });

  it("keeps a default title replaceable by title generation", () => {
    const source = readFixture(ABORTED);
    source.info.title = defaultTitle(new Date(source.info.time.created));
    const project = makeProject();
    withStore(project.dataDir, (store) => {
      importSession({ store, runs: new Runs(store) }, parseImport(JSON.stringify(source)));
      expect(store.titleSource(source.info.id)).toBe("default");
    });
  });

  const malformed: Array<[string, (text: string) => string, RegExp]> = [
    ["truncated JSON", (text) => text.slice(0, text.length / 2), /: not valid JSON: /],
    ["not an object", () => "[]", /: \(document\): expected an ode or opencode session export/],
    ["no session info", () => JSON.stringify({ messages: [] }), /: info: /],
    ["a wrong type", (text) => edit(text, (d) => (d.messages[1].info.time.created = "yesterday")), /: messages\[1\]\.info\.time\.created: .*number/],
    ["a missing part id", (text) => edit(text, (d) => delete d.messages[0].parts[0].id), /: messages\[0\]\.parts\[0\]\.id: /],
    ["a missing session id", (text) => edit(text, (d) => delete d.info.id), /: info\.id: /],
    ["an unknown part type", (text) => edit(text, (d) => (d.messages[2].parts[0].type = "telepathy")), /: messages\[2\]\.parts\[0\]\.type: /],
    [
      "a part whose message does not exist",
      (text) => edit(text, (d) => (d.messages[1].parts[1].messageID = "msg_20f58dc95000doesnotexist00")),
      /: messages\[1\]\.parts\[1\]\.messageID: msg_20f58dc95000doesnotexist00 is not the id of the message it is in/,
    ],
    [
      "a message of another session",
      (text) => edit(text, (d) => (d.messages[2].info.sessionID = "ses_000000000000someoneelse000")),
      /: messages\[2\]\.info\.sessionID: ses_000000000000someoneelse000 is not the session's id/,
    ],
    ["a duplicated part", (text) => edit(text, (d) => d.messages[2].parts.push(d.messages[2].parts[0])), /: messages\[2\]\.parts\[4\]\.id: .* appears twice/],
  ];

  function edit(text: string, change: (doc: any) => unknown): string {
    const doc = JSON.parse(text);
    change(doc);
    return JSON.stringify(doc);
  }

  it.each(malformed)("rejects %s, names the field and writes nothing", async (_name, corrupt, message) => {
    const project = makeProject();
    expect((await runOde(project, ["import", fixture(ABORTED)])).code).toBe(0);
    const before = tableCounts(project.dataDir);
    const file = writeDoc(project, corrupt(fs.readFileSync(fixture(TOOL_RUN), "utf8")));
    const result = await runOde(project, ["import", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^ode: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${message.source}`));
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(tableCounts(project.dataDir)).toEqual(before);
  });

  it.each([
    ["an unknown schema version", (d: any) => (d.schema_version = 2), /: schema_version: /],
    ["a run of an unknown kind", (d: any) => (d.diagnostics.loop.runs[0].kind = "loop"), /: diagnostics\.loop\.runs\[0\]\.kind: /],
    [
      "a title trace without its success flag",
      (d: any) => (d.diagnostics.title_generations = [{ started_at: 1, applied: false, model: "fake/fake", user_message_id: "msg_x" }]),
      /: diagnostics\.title_generations\[0\]\.success: /,
    ],
  ])("rejects an ode export with %s", async (_name, change, message) => {
    const doc = odeDocument();
    change(doc);
    const project = makeProject();
    const result = await runOde(project, ["import", writeDoc(project, doc)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(tableCounts(project.dataDir).sessions).toBe(0);
  });

  it("imports an ode export's runs, and refuses an existing id unless --force replaces it", async () => {
    const doc = odeDocument();
    const project = makeProject();
    const file = writeDoc(project, doc);
    expect((await runOde(project, ["import", file])).code).toBe(0);
    const once = tableCounts(project.dataDir);
    expect(once).toEqual({ sessions: 1, messages: 3, parts: 9, runs: 1, title_generations: 0 });
    expect((await exportJson(project, [doc.info.id])).diagnostics.loop).toEqual(doc.diagnostics.loop);

    const again = await runOde(project, ["import", file]);
    expect(again.code).toBe(3);
    expect(again.stderr).toBe(`ode: session ${doc.info.id} already exists; pass --force to replace it\n`);
    expect(tableCounts(project.dataDir)).toEqual(once);

    // Replacing drops what the old copy had and the new one has not (here: the run).
    const replaced = await runOde(project, ["import", "--force", fixture(SANITIZED)]);
    expect(replaced.stdout).toBe(`replaced ${doc.info.id}: 3 messages, 9 parts\n`);
    expect(tableCounts(project.dataDir)).toEqual({ ...once, runs: 0 });
    expect((await exportJson(project, [doc.info.id])).info.title).toBe(readFixture(SANITIZED).info.title);
  });

  it("writes nothing when a row fails half way through the transaction", async () => {
    const project = makeProject();
    expect((await runOde(project, ["import", fixture(TOOL_RUN)])).code).toBe(0);
    const before = tableCounts(project.dataDir);
    // Another session whose last part reuses an id the data directory already holds: only the database sees it.
    const other = readFixture(ABORTED);
    other.info.id = "ses_000000000000anothersession";
    for (const m of other.messages) {
      m.info.sessionID = other.info.id;
      for (const p of m.parts) p.sessionID = other.info.id;
    }
    other.messages[1].parts[1].id = readFixture(TOOL_RUN).messages[1].parts[1].id;
    const result = await runOde(project, ["import", writeDoc(project, other)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/messages\[1\]\.parts\[1\]\.id: this id already belongs to another session/);
    expect(tableCounts(project.dataDir)).toEqual(before);
  });

  it("fails clearly on a file that cannot be read", async () => {
    const project = makeProject();
    const result = await runOde(project, ["import", path.join(project.dir, "missing.json")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ode: cannot read .*missing\.json: ENOENT/);
  });
});
