import { describe, expect, it } from "vitest";
import { Store } from "../../src/session/store.js";
import { longPrompt, sentText, startCompactionModel } from "../support/compaction.js";
import { makeProject, mockConfig, onlySession, runOde } from "../support/ode.js";
import { exportJson } from "../export/support.js";

const SECRET = "canary-summary-secret";
/** Several ode processes one after another: seconds each when the machine is busy with other suites. */
const SPAWNS_TIMEOUT = 120_000;

describe("ode session compact", () => {
  it("summarises the older turn, shows it in session show and the export, hides the summary when sanitized, and later runs start from it", async () => {
    const model = await startCompactionModel([{ text: "answer one" }, { text: "answer two" }, { text: "answer three" }], {
      text: `SUMMARY-TEXT ${SECRET}`,
    });
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", longPrompt("OLD-ONE")])).code).toBe(0);
    expect((await runOde(project, ["run", "--continue", longPrompt("RECENT-TWO")])).code).toBe(0);
    const { session } = onlySession(project.dataDir);

    const compact = await runOde(project, ["session", "compact", session.id]);
    expect(compact.stderr).toBe("");
    expect(compact.code).toBe(0);
    expect(compact.stdout).toMatch(new RegExp(`^compacted ${session.id}: run_\\w+ manual: 2 messages summarised, ~\\d+ -> ~\\d+ tokens, recent turns kept from msg_\\w+\\n$`));
    expect(sentText(model.of("summary")[0]!)).toContain("OLD-ONE");
    expect(sentText(model.of("summary")[0]!)).not.toContain("RECENT-TWO");

    const show = await runOde(project, ["session", "show", session.id]);
    expect(show.stdout).toMatch(/compactions:\n {2}msg_\w+ \S+ manual: 2 messages summarised/);
    expect(show.stdout).toMatch(/run_\w+ compact +\S+ completed/);

    const doc = await exportJson(project, [session.id]);
    const marker = doc.messages.find((m: any) => m.parts.some((p: any) => p.type === "compaction"));
    const summary = doc.messages.find((m: any) => m.info.summary === true);
    expect(marker.info).toMatchObject({ role: "user", agent: "compaction" });
    expect(marker.parts).toEqual([expect.objectContaining({ type: "compaction", auto: false, tail_start_id: expect.stringMatching(/^msg_/) })]);
    expect(summary.info).toMatchObject({ role: "assistant", parentID: marker.info.id, agent: "compaction", mode: "compaction", finish: "stop" });
    expect(summary.parts).toEqual([expect.objectContaining({ type: "text", text: `SUMMARY-TEXT ${SECRET}` })]);
    const [record] = doc.diagnostics.compactions;
    expect(record).toMatchObject({ trigger: "manual", success: true, messages: 2, message_id: summary.info.id, tail_start_id: marker.parts[0].tail_start_id });
    expect(doc.diagnostics.loop.last).toMatchObject({ kind: "compact", outcome: "completed", run_id: record.run_id, user_message_id: marker.info.id });

    const sanitized = await exportJson(project, [session.id, "--sanitize"]);
    expect(JSON.stringify(sanitized)).not.toContain(SECRET);
    const cleanSummary = sanitized.messages.find((m: any) => m.info.summary === true);
    expect(cleanSummary.parts[0].text).toBe(`[redacted:text:${cleanSummary.parts[0].id}]`);
    expect(sanitized.diagnostics.compactions).toEqual([record]);
    expect(sanitized.messages.find((m: any) => m.info.id === marker.info.id).parts).toEqual(marker.parts);

    expect((await runOde(project, ["run", "--continue", "and now?"])).code).toBe(0);
    const next = sentText(model.of("turn").at(-1)!);
    expect(next).toContain(SECRET);
    expect(next).toContain("RECENT-TWO");
    expect(next).not.toContain("OLD-ONE");
  }, SPAWNS_TIMEOUT);

  it("/compact in the interactive prompt compacts the current session", async () => {
    const model = await startCompactionModel([{ text: "answer one" }, { text: "answer two" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const input = `/compact\n${longPrompt("OLD-ONE")}\n${longPrompt("RECENT-TWO")}\n/compact\n/exit\n`;
    const result = await runOde(project, [], { input });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("error: /compact needs a session with messages; this one has none yet");
    expect(result.stdout).toMatch(/\[compaction completed: manual: 2 messages summarised, ~\d+ -> ~\d+ tokens, recent turns kept from msg_\w+\]/);
    expect(model.kinds()).toEqual(["turn", "turn", "summary"]);
  }, SPAWNS_TIMEOUT);

  it("fails with one line for an unknown session and for a session with nothing to compact, and starts no run", async () => {
    const model = await startCompactionModel([]);
    const project = makeProject(mockConfig(model.baseURL));
    const store = Store.open(project.dataDir);
    const empty = store.createSession({ directory: project.dir });
    store.close();

    const unknown = await runOde(project, ["session", "compact", "ses_doesnotexist"]);
    expect(unknown.stderr).toBe("ode: session not found: ses_doesnotexist\n");
    expect(unknown.code).toBe(2);
    const nothing = await runOde(project, ["session", "compact", empty.id]);
    expect(nothing.stderr).toBe(`ode: session ${empty.id} has nothing to compact: no message since its last summary\n`);
    expect(nothing.code).toBe(2);
    expect(model.requests).toEqual([]);
    expect((await exportJson(project, [empty.id])).diagnostics.loop.runs).toEqual([]);
  });
});
