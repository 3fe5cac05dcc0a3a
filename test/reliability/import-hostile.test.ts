import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exportJson, fixture } from "../export/support.js";
import { makeProject, runOde, type Project } from "../support/ode.js";
import { ABORTED, dbDigest, expectedExport, exportedView, odeExport, readFixture, RUN_ID, TOOL_RUN } from "./documents.js";

function deepArray(levels: number): string {
  return "[".repeat(levels) + "]".repeat(levels);
}

/** A data directory that already holds a session, so "nothing written" is checked against real data. */
async function projectWithData(name: string): Promise<Project> {
  const project = makeProject();
  expect((await runOde(project, ["import", fixture(name)])).code).toBe(0);
  return project;
}

/** `existing` is a session other than the document's, or the refusal would be "already exists". */
async function expectRefused(doc: unknown, message: RegExp, existing = ABORTED): Promise<string> {
  const project = await projectWithData(existing);
  const before = dbDigest(project.dataDir);
  const file = path.join(project.dir, "hostile.json");
  fs.writeFileSync(file, typeof doc === "string" || doc instanceof Uint8Array ? doc : JSON.stringify(doc));
  const result = await runOde(project, ["import", file]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  // One line, starting with the file and naming the field; never a stack trace or a slice of the document.
  expect(result.stderr.split("\n")).toHaveLength(2);
  expect(result.stderr.length).toBeLessThan(400);
  expect(result.stderr.startsWith(`ode: ${file}: `)).toBe(true);
  expect(result.stderr.slice(`ode: ${file}: `.length, -1)).toMatch(message);
  expect(dbDigest(project.dataDir)).toBe(before);
  return result.stderr;
}

const toolRun = () => readFixture(TOOL_RUN);

describe("ode import refuses what it cannot store exactly, names the field and writes nothing", () => {
  it.each([
    ["deep nesting in tool metadata", "messages[1].parts[1].state.metadata"],
    ["deep nesting in an unknown key of info", "info"],
  ])("%s", async (_name, where) => {
    const doc = toolRun();
    const holder = where === "info" ? doc.info : doc.messages[1].parts[1].state.metadata;
    holder.deep = "__DEEP__";
    const text = JSON.stringify(doc).replace('"__DEEP__"', deepArray(20_000));
    const escaped = `${where}.deep`.replace(/[.[\]]/g, "\\$&");
    await expectRefused(text, new RegExp(`^${escaped}(\\[0\\])+: nested more than 64 levels deep`));
  });

  it.each([
    ["an empty title and a creation time beyond the Date range", "", 1e300, /^info\.time\.created: must not be after the year 9999$/],
    ["a control-character title and a negative creation time", "\u0001\u0002\t", -9e15, /^info\.time\.created: must not be before 1970$/],
    ["a fractional creation time", "", 1795553811497.5, /^info\.time\.created: must be a whole number of milliseconds$/],
  ])("%s", async (_name, title, created, message) => {
    const doc = toolRun();
    doc.info.title = title;
    doc.info.time.created = created;
    await expectRefused(doc, message);
  });

  it("timestamps deeper in the document too", async () => {
    const doc = toolRun();
    doc.messages[1].parts[1].state.time.start = 9e15;
    await expectRefused(doc, /^messages\[1\]\.parts\[1\]\.state\.time\.start: must not be after the year 9999$/);
  });

  it("invalid UTF-8, with line and column", async () => {
    const bytes = Buffer.from(JSON.stringify(toolRun(), null, 2));
    const at = bytes.indexOf("print");
    bytes[at] = 0xc3;
    bytes[at + 1] = 0x28;
    await expectRefused(bytes, /^not valid JSON: line \d+, column \d+: invalid UTF-8 \(byte \d+\)$/);
  });

  it.each([
    ["a lone surrogate in the title", (d: any) => (d.info.title = "abc\ud800"), /^info\.title: not well-formed Unicode/],
    ["a session id ending in a lone surrogate", (d: any) => (d.info.id += "\udc00"), /^info\.id: not well-formed Unicode/],
    ["a lone surrogate in a key", (d: any) => (d.messages[0].parts[0]["k\ud800"] = 1), /^messages\[0\]\.parts\[0\]\["k\\ud800"\]: key is not well-formed/],
    ["a session id outside the id grammar", (d: any) => (d.info.id = "ses_short"), /^info\.id: must be a ses_ id/],
    ["a part id outside the id grammar", (d: any) => (d.messages[2].parts[1].id = "prt_20f58e7cf001VhSdPSW8EUYRu!"), /^messages\[2\]\.parts\[1\]\.id: must be a prt_ id/],
    ["an unknown key at the top", (d: any) => (d.comment = "hi"), /^comment: unknown key/],
  ])("%s", async (_name, change, message) => {
    const doc = toolRun();
    change(doc);
    await expectRefused(doc, message);
  });

  it("a JSON syntax error, by line and column, without quoting the file", async () => {
    const text = JSON.stringify(toolRun(), null, 2).replace('"role": "user",', '"role": "user" oops');
    const stderr = await expectRefused(text, /^not valid JSON: line \d+, column \d+: expected ',' or '}'$/);
    const line = text.split("\n").findIndex((l) => l.includes("oops")) + 1;
    expect(stderr).toContain(`line ${line}, column `);
  });
});

describe("an ode export is recognised by its shape and its diagnostics are checked against the file", () => {
  it.each([
    ["without format", (d: any) => delete d.format, /^format: missing, but the document has ode's schema_version, exported_at, runtime, diagnostics/],
    ["with an unknown top-level key", (d: any) => (d.notes = []), /^notes: unknown key/],
    ["with an unknown key in a run", (d: any) => (d.diagnostics.loop.runs[0].owner = 1), /^diagnostics\.loop\.runs\[0\]\.owner: unknown key/],
    ["with loop.last not the last run", (d: any) => (d.diagnostics.loop.last = { ...d.diagnostics.loop.last, steps: 9 }), /^diagnostics\.loop\.last: must be the last run/],
    ["with loop.last null beside a run", (d: any) => (d.diagnostics.loop.last = null), /^diagnostics\.loop\.last: must be the last run/],
    ["with an abort of a run not in the file", (d: any) => (d.diagnostics.aborts[0].run_id = "run_20f5b9ef1000someOtherRun00"), /^diagnostics\.aborts\[0\]\.run_id: run_\w+ is not a run of this file/],
    ["with an abort without run_id", (d: any) => delete d.diagnostics.aborts[0].run_id, /^diagnostics\.aborts\[0\]\.run_id: /],
    ["with two aborts of one run", (d: any) => d.diagnostics.aborts.push(d.diagnostics.aborts[0]), /^diagnostics\.aborts\[1\]\.run_id: run_\w+ has two aborts/],
    ["with no abort beside an aborted run", (d: any) => (d.diagnostics.aborts = []), /^diagnostics\.loop\.runs\[0\]\.outcome: aborted, but diagnostics\.aborts has no abort/],
    [
      "with no abort beside a message that carries one",
      (d: any) => {
        d.diagnostics.aborts = [];
        d.diagnostics.loop.runs[0].outcome = "completed";
        d.diagnostics.loop.last.outcome = "completed";
      },
      /^messages\[1\]\.info\.diagnostics\.abort\.run_id: run_\w+ has no abort in diagnostics\.aborts/,
    ],
    [
      "with completed_after_abort on an abort the traces contradict",
      (d: any) => (d.diagnostics.title_generations[0].completed_at = d.diagnostics.aborts[0].recorded_at - 1),
      /^diagnostics\.aborts\[0\]\.title_generation_state: completed_after_abort, but no title generation of this turn succeeded after the abort/,
    ],
    [
      "with in_flight where the traces say completed_after_abort",
      (d: any) => (d.diagnostics.aborts[0].title_generation_state = "in_flight"),
      /^diagnostics\.aborts\[0\]\.title_generation_state: in_flight, but the title generation of this turn succeeded after the abort/,
    ],
    [
      "with a trace's completed_after_abort contradicting the aborts",
      (d: any) => (d.diagnostics.title_generations[0].completed_after_abort = false),
      /^diagnostics\.title_generations\[0\]\.completed_after_abort: must be true/,
    ],
  ])("refuses one %s", async (_name, change, message) => {
    const doc = odeExport();
    change(doc);
    await expectRefused(doc, message, TOOL_RUN);
  });

  it("imports a consistent one and exports it again unchanged, one abort per run", async () => {
    const doc = odeExport();
    const project = makeProject();
    const file = path.join(project.dir, "ode.json.export");
    fs.writeFileSync(file, JSON.stringify(doc));
    expect((await runOde(project, ["import", file])).code).toBe(0);
    const again = await exportJson(project, [doc.info.id]);
    const expected = expectedExport(doc);
    expect(exportedView(again, expected)).toEqual(expected);
    expect(again.diagnostics.aborts.map((a: any) => a.run_id)).toEqual([RUN_ID]);
  });
});

describe("nothing of opencode's data is dropped", () => {
  it("keeps unknown keys in info, info.time, message infos, parts and tool states, and exports them unchanged", async () => {
    const doc = toolRun();
    doc.info.time.archived = 1795553819999;
    doc.info.share = { url: "https://example.invalid/s/1" };
    doc.messages[0].info.time.queued = 1795553811500;
    doc.messages[1].info.variant = "high";
    doc.messages[1].parts[1].state.time.compacted = 1795553815000;
    doc.messages[1].parts[1].synthetic = true;
    doc.messages[2].parts[1].metadata = { openai: { itemId: "x" } };
    const project = makeProject();
    const file = path.join(project.dir, "opencode.json");
    fs.writeFileSync(file, JSON.stringify(doc));
    const result = await runOde(project, ["import", file]);
    expect(result.stderr).toBe("");
    const again = await exportJson(project, [doc.info.id]);
    expect(again.info).toEqual(doc.info);
    expect(again.messages).toEqual(doc.messages);
  });
});
