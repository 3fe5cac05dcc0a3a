import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { ImportDocument } from "../../src/export/import.js";
import { sanitizeExport } from "../../src/export/sanitize.js";
import type { ExportDocument } from "../../src/export/snapshot.js";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import { makeProject, runOde } from "../support/ode.js";
import { Canaries, GENERATED, canaryIds, compactionExport, importAndExport, richExport, runtimeCanaries, storeAndExport } from "./canaries.js";
import { exportJson, fixture } from "./support.js";

/**
 * Stored without parseImport's checks: import refuses ids outside the id grammar, but a database written before it
 * did can hold them, and the sanitizer must still hide them.
 */
function storeUncheckedAndExport(source: ReturnType<typeof richExport>, sessionID: string): ExportDocument {
  const { info, messages, diagnostics } = source as unknown as ExportDocument;
  return storeAndExport(
    { info, messages, runs: diagnostics.loop.runs, aborts: diagnostics.aborts as ImportDocument["aborts"], traces: diagnostics.title_generations as ImportDocument["traces"] },
    sessionID,
  );
}

/** A sanitized export imports, exports back as it is (its runtime.models derived anew from its messages). */
function expectReimports(sanitized: ExportDocument): void {
  const again = importAndExport(sanitized, sanitized.info.id);
  expect({ info: again.info, messages: again.messages, diagnostics: again.diagnostics }).toEqual({
    info: sanitized.info,
    messages: sanitized.messages,
    diagnostics: sanitized.diagnostics,
  });
  expect(again.runtime.models).toEqual(sanitized.runtime.models);
  expect(again.runtime.stats).toEqual(sanitized.runtime.stats);
  // Sanitizing again changes nothing: every stand-in passes its own check.
  expect(sanitizeExport(sanitized)).toEqual(sanitized);
}

/** Every number and boolean of a document, by path: timings, token counts, flags. */
function scalarLeaves(value: unknown, at = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value === "number" || typeof value === "boolean") out.set(at, value);
  else if (Array.isArray(value)) value.forEach((item, i) => scalarLeaves(item, `${at}[${i}]`, out));
  else if (value && typeof value === "object") for (const [key, item] of Object.entries(value)) scalarLeaves(item, `${at}.${key}`, out);
  return out;
}

const marker = (kind: string, id: string) => `[redacted:${kind}:${id}]`;

describe("sanitizeExport", () => {
  it("leaves no byte of any text, path, error, name, enum, version or data-like key, and keeps the structure", () => {
    const k = new Canaries();
    const { S, U, A, A2, R, R2, parent } = GENERATED;
    const built = importAndExport(richExport(k, GENERATED), S);
    const doc = runtimeCanaries(built, k);
    const plain = JSON.stringify(doc);
    const sanitized = sanitizeExport(doc);
    const text = JSON.stringify(sanitized);
    // The plain export carries every canary, so their absence below is the sanitizer's doing.
    for (const canary of k.all) expect(plain).toContain(canary);
    for (const canary of k.all) expect(text).not.toContain(canary);

    expect(sanitized.info).toMatchObject({
      id: S,
      parentID: parent,
      slug: marker("slug", S),
      projectID: marker("project", S),
      agent: marker("agent", S),
      version: marker("version", S),
      // The session's third model: runtime.models, written before it, listed the turns' and the title's.
      model: { id: marker("model", `${S}:3`), providerID: marker("provider", `${S}:3`), variant: marker("variant", S) },
    });
    expect(Object.keys(sanitized.info).filter((key) => key.includes("canary"))).toEqual([]);

    const [user, assistant, second] = sanitized.messages as any[];
    expect(user.info).toMatchObject({ id: U, sessionID: S, role: "user", agent: marker("agent", U), tools: marker("tools", U) });
    // runtime.models, first in the document, named the model: its markers are the session's.
    expect(user.info.model).toEqual({ providerID: marker("provider", S), modelID: marker("model", S) });
    expect(user.info.summary.diffs[0]).toEqual({ file: marker("summary", U), patch: marker("summary", U), additions: 3, deletions: 1 });
    expect(user.parts[1]).toMatchObject({ mime: "text/plain", filename: marker("file", user.parts[1].id), url: marker("url", user.parts[1].id) });
    expect(user.parts[2].mime).toBe(marker("mime", user.parts[2].id));

    // The same model keeps the same marker: the assistant's model is its user message's.
    expect(assistant.info).toMatchObject({
      id: A,
      parentID: U,
      agent: marker("agent", A),
      mode: marker("mode", A),
      modelID: marker("model", S),
      providerID: marker("provider", S),
      finish: "tool-calls",
    });
    expect(assistant.info.error).toEqual({
      name: "APIError",
      data: {
        message: marker("error", A),
        statusCode: 502,
        isRetryable: true,
        providerID: marker("provider", A),
        responseBody: marker("error", A),
        responseHeaders: marker("error", A),
      },
    });
    expect(second.info).toMatchObject({
      id: A2,
      mode: "build",
      providerID: "openai",
      modelID: marker("model", A2),
      finish: marker("finish", A2),
      error: { name: marker("error-name", A2), data: { message: marker("error", A2) } },
    });
    expect(second.parts[0]).toMatchObject({ reason: marker("finish", second.parts[0].id), tokens: { input: 10, output: 5 } });

    const [, , completed, invented, pending, , , subtask, stepFinish, agentPart, retry] = assistant.parts;
    expect(completed).toMatchObject({ tool: "bash", callID: `call:${completed.id}` });
    expect(completed.state).toEqual({
      status: "completed",
      input: { redacted: marker("tool-input", completed.id) },
      output: marker("tool-output", completed.id),
      title: marker("tool-title", completed.id),
      metadata: {
        output: marker("tool-metadata", completed.id),
        outputPath: marker("tool-metadata", completed.id),
        exit: 0,
        truncated: true,
        diagnostics: marker("tool-metadata", completed.id),
      },
      time: { start: 3, end: 4 },
    });
    expect(invented).toMatchObject({ tool: marker("tool", invented.id), callID: `call:${invented.id}` });
    expect(invented.state).toMatchObject({ status: "error", error: marker("tool-error", invented.id), metadata: { interrupted: true } });
    expect(pending).toMatchObject({ tool: "grep", callID: `call:${pending.id}`, state: { status: "pending", raw: marker("tool-input", pending.id) } });
    expect(subtask).toMatchObject({
      type: "subtask",
      agent: marker("agent", subtask.id),
      model: { providerID: marker("provider", subtask.id), modelID: marker("model", subtask.id) },
    });
    expect(stepFinish).toMatchObject({ type: "step-finish", reason: "tool-calls", tokens: { input: 10, output: 5, reasoning: 0 } });
    expect(agentPart.name).toBe(marker("agent", agentPart.id));
    expect(retry.error).toEqual({ name: marker("error-name", retry.id), data: { message: marker("error", retry.id) } });

    // The abort names the tool call by the pseudonym of the part that holds it; a call no part holds is redacted.
    const abortFields = { source: "api", mode: "soft", phase: "tool", via: marker("via", R), tool_call_id: `call:${invented.id}` };
    expect(assistant.info.diagnostics.abort).toMatchObject({ ...abortFields, title_generation_state: "in_flight" });
    expect(assistant.info.diagnostics).not.toHaveProperty("note");
    expect(sanitized.diagnostics.aborts).toEqual([
      expect.objectContaining({
        ...abortFields,
        run_id: R,
        message_id: A,
        via_ctx_abort: true,
        reason: marker("reason", R),
        error_message: marker("error", R),
        title_generation_state: "completed_after_abort",
      }),
      expect.objectContaining({ run_id: R2, source: "signal", mode: "hard", via: "SIGINT", phase: "queued", tool_call_id: marker("tool-call", R2) }),
    ]);
    // A title model beside the turn's, both listed in runtime.models, gets the session's second marker.
    expect(sanitized.diagnostics.title_generations).toEqual([
      expect.objectContaining({
        success: true,
        applied: true,
        completed_after_abort: true,
        model: `${marker("provider", `${S}:2`)}/${marker("model", `${S}:2`)}`,
        title: marker("title", U),
        error_message: marker("error", U),
      }),
    ]);
    expect(sanitized.diagnostics.loop.runs[0]).toMatchObject({
      run_id: R,
      kind: "prompt",
      outcome: "aborted",
      finish: marker("finish", R),
      assistant_message_ids: [A, A2],
    });
    expect(sanitized.diagnostics.loop.last).toMatchObject({ run_id: R2, kind: "shell", outcome: "aborted", cancel_count: 1, finish: null, attempted_input: null });

    expect(sanitized.runtime).toEqual({
      app_version: marker("version", S),
      channel: marker("channel", S),
      platform: marker("platform", S),
      arch: marker("arch", S),
      node_version: marker("node-version", S),
      os_release: marker("os-release", S),
      locale: marker("locale", S),
      timezone: marker("timezone", S),
      // Consistent with the messages and title traces it is derived from.
      models: [`${user.info.model.providerID}/${user.info.model.modelID}`, sanitized.diagnostics.title_generations[0]!.model],
      instructions: [],
      stats: { messages: 3, parts: 15, tool_calls: 4, runs: 2, aborts: 2, cost: 0 },
    });
    // Every timing, count and flag is where it was (nothing here was collapsed into a marker).
    const before = scalarLeaves(doc);
    const after = scalarLeaves(sanitized);
    for (const [at, value] of after) expect([at, value]).toEqual([at, before.get(at)]);
    expect(after.get(".messages[1].info.tokens.input")).toBe(10);
    expect(after.get(".diagnostics.loop.runs[0].cancel_count")).toBe(2);

    expectReimports(sanitized);
  });

  it("replaces ids not in the generated shape by pseudonyms, the same wherever the id appears", () => {
    const k = new Canaries();
    const ids = canaryIds(k);
    const doc = storeUncheckedAndExport(richExport(k, ids), ids.S);
    const sanitized = sanitizeExport(doc);
    const text = JSON.stringify(sanitized);
    for (const canary of k.all) expect(JSON.stringify(doc)).toContain(canary);
    for (const canary of k.all) expect(text).not.toContain(canary);

    const pseudonym = (prefix: string) => new RegExp(`^${prefix}_000000000000redacted[0-9A-Za-z]{6}$`);
    const S = sanitized.info.id;
    expect(S).toMatch(pseudonym("ses"));
    expect(sanitized.info.parentID).toMatch(pseudonym("ses"));
    expect(sanitized.info.parentID).not.toBe(S);
    expect(sanitized.info.title).toBe(marker("title", S));
    const messages = sanitized.messages as any[];
    const user = messages.find((m) => m.info.role === "user");
    const assistants = messages.filter((m) => m.info.role === "assistant");
    const seen = new Set<string>();
    for (const { info, parts } of messages) {
      expect(info.id).toMatch(pseudonym("msg"));
      expect(info.sessionID).toBe(S);
      seen.add(info.id);
      for (const p of parts) {
        expect(p.id).toMatch(pseudonym("prt"));
        expect(p).toMatchObject({ sessionID: S, messageID: info.id });
        seen.add(p.id);
        if (p.type === "tool") expect(p.callID).toBe(`call:${p.id}`);
      }
    }
    expect(seen.size).toBe(3 + 15);
    for (const { info } of assistants) expect(info.parentID).toBe(user.info.id);
    const withAbort = assistants.find((m) => m.info.diagnostics?.abort);
    const invented = withAbort.parts.find((p: any) => p.type === "tool" && p.state.status === "error");
    const [first, orphan] = sanitized.diagnostics.aborts as AbortDiagnostic[];
    expect(first).toMatchObject({ message_id: withAbort.info.id, tool_call_id: `call:${invented.id}` });
    expect(withAbort.info.diagnostics.abort).toMatchObject({ run_id: first!.run_id, tool_call_id: `call:${invented.id}` });
    expect(orphan!.tool_call_id).toBe(marker("tool-call", orphan!.run_id));
    const [run, shell] = sanitized.diagnostics.loop.runs;
    expect(run).toMatchObject({ run_id: first!.run_id, user_message_id: user.info.id });
    expect(run!.run_id).toMatch(pseudonym("run"));
    expect(run!.assistant_message_ids).toEqual(expect.arrayContaining(assistants.map((m) => m.info.id)));
    expect(shell!.run_id).toBe(orphan!.run_id);
    expect(sanitized.diagnostics.title_generations[0]).toMatchObject({ user_message_id: user.info.id, title: marker("title", user.info.id) });

    expectReimports(sanitized);
  });

  it("hides a compaction's summary and error and keeps its structure, with generated ids and with pseudonyms", () => {
    for (const generated of [true, false]) {
      const k = new Canaries();
      const ids = generated ? GENERATED : canaryIds(k);
      const source = compactionExport(k, ids);
      const doc = generated ? importAndExport(source, ids.S) : storeUncheckedAndExport(source as never, ids.S);
      const sanitized = sanitizeExport(doc);
      const text = JSON.stringify(sanitized);
      // The ids' canaries the document does not use are left out (canaryIds makes them all).
      for (const canary of k.all.filter((c) => JSON.stringify(source).includes(c))) expect(JSON.stringify(doc)).toContain(canary);
      for (const canary of k.all) expect(text).not.toContain(canary);

      const messages = sanitized.messages as any[];
      const user = messages.find((m) => m.info.role === "user" && m.info.agent !== "compaction");
      const marked = messages.find((m) => m.info.agent === "compaction" && m.info.role === "user");
      const summary = messages.find((m) => m.info.summary === true);
      expect(marked.parts[0]).toEqual({ id: marked.parts[0].id, sessionID: sanitized.info.id, messageID: marked.info.id, type: "compaction", auto: true, overflow: true, tail_start_id: user.info.id });
      expect(marked.info.agent).toBe("compaction");
      expect(summary.info).toMatchObject({ summary: true, agent: "compaction", mode: "compaction", parentID: marked.info.id });
      expect(summary.parts[0].text).toBe(marker("text", summary.parts[0].id));
      const record = {
        recorded_at: 1795553813000,
        run_id: sanitized.diagnostics.compactions[0]!.run_id,
        message_id: summary.info.id,
        trigger: marker("trigger", summary.info.id),
        success: false,
        messages: 2,
        tokens_before: 1200,
        tokens_after: 400,
        budget: 900,
        tail_start_id: user.info.id,
        error_message: marker("error", summary.info.id),
      };
      expect(sanitized.diagnostics.compactions).toEqual([record]);
      expect(summary.info.diagnostics.compaction).toEqual(record);
      if (generated) expect(record.run_id).toBe(ids.R);
      else expect(record.run_id).toMatch(/^run_000000000000redacted/);
      expectReimports(sanitized);
    }
  });

  it("keeps what passes its check: opencode's ids, names, enums and versions, this machine's runtime", () => {
    const source = JSON.parse(fs.readFileSync(fixture("opencode-1.18.33-export-aborted.json"), "utf8"));
    const doc = importAndExport(source, source.info.id);
    const sanitized = sanitizeExport(doc);
    const S = source.info.id;
    expect(sanitized.info).toMatchObject({
      id: S,
      version: "1.18.33",
      projectID: "global",
      agent: "build",
      slug: marker("slug", S),
      model: { id: marker("model", S), providerID: marker("provider", S), variant: "default" },
    });
    const [user, assistant] = sanitized.messages as any[];
    expect(user.info).toMatchObject({ id: source.messages[0].info.id, agent: "build", model: { providerID: marker("provider", S), modelID: marker("model", S) } });
    expect(assistant.info).toMatchObject({ id: source.messages[1].info.id, mode: "build", agent: "build", error: { name: "MessageAbortedError" } });
    const tool = assistant.parts.find((p: any) => p.type === "tool");
    expect(tool).toMatchObject({ tool: "bash", callID: `call:${tool.id}`, state: { status: "completed" } });
    expect(sanitized.runtime).toMatchObject({
      app_version: doc.runtime.app_version,
      channel: doc.runtime.channel,
      platform: process.platform,
      arch: process.arch,
      node_version: process.version,
      locale: doc.runtime.locale,
      timezone: doc.runtime.timezone,
      os_release: doc.runtime.os_release,
      models: [`${marker("provider", S)}/${marker("model", S)}`],
    });
    expect(JSON.stringify(sanitized)).not.toContain("tidy-cabin");
    expectReimports(sanitized);
  });

  it("a real run: an invented tool name and the provider and model ids never reach a sanitized export", async () => {
    const C = { provider: "canaryprov", model: "canarymodel-one", model2: "canarymodel-two", tool: "CANARYTOOL", prompt: "canary-prompt" };
    const script = {
      title: "A scripted title",
      steps: [
        { reasoning: "thinking", tool_calls: [{ name: C.tool, input: { arg: "value" } }, { name: "bash", input: { command: "echo hi" } }] },
        { text: "done" },
      ],
    };
    const project = makeProject({ model: `${C.provider}/${C.model}`, provider: { [C.provider]: { type: "scripted", options: { script } } } });
    const first = await runOde(project, ["run", `please ${C.prompt}`]);
    expect(first.code).toBe(0);
    const second = await runOde(project, ["run", "--continue", "-m", `${C.provider}/${C.model2}`, "again"]);
    expect(second.code).toBe(0);

    const plain = await exportJson(project, []);
    const plainText = JSON.stringify(plain);
    for (const canary of Object.values(C)) expect(plainText).toContain(canary);
    const result = await runOde(project, ["export", "--sanitize"]);
    expect(result.code).toBe(0);
    for (const canary of Object.values(C)) expect(result.stdout.toLowerCase()).not.toContain(canary.toLowerCase());
    const doc = JSON.parse(result.stdout);

    // Ids, timings, token counts and flags are all still there, where they were.
    const before = scalarLeaves(plain);
    const after = scalarLeaves(doc);
    expect([...after.keys()].filter((at) => at !== ".exported_at")).toEqual([...before.keys()].filter((at) => at !== ".exported_at"));
    for (const [at, value] of after) if (at !== ".exported_at") expect([at, value]).toEqual([at, before.get(at)]);
    const version = (await runOde(project, ["--version"])).stdout.trim();
    expect(doc.runtime).toMatchObject({ app_version: version, platform: process.platform, arch: process.arch, node_version: process.version });
    expect(doc.info.id).toBe(plain.info.id);

    const tools = doc.messages.flatMap((m: any) => m.parts).filter((p: any) => p.type === "tool");
    expect(tools.map((p: any) => p.tool)).toEqual([marker("tool", tools[0].id), "bash", marker("tool", tools[2].id), "bash"]);
    expect(tools.map((p: any) => p.state.status)).toEqual(["error", "completed", "error", "completed"]);
    for (const p of tools) expect(p.callID).toBe(`call:${p.id}`);
    const users = doc.messages.filter((m: any) => m.info.role === "user").map((m: any) => m.info);
    const [u1, u2] = users;
    // Both models are in runtime.models, written first: the session owns their markers, in that order.
    const S = doc.info.id;
    expect(u1.model).toEqual({ providerID: marker("provider", S), modelID: marker("model", S) });
    expect(u2.model).toEqual({ providerID: marker("provider", S), modelID: marker("model", `${S}:2`) });
    for (const m of doc.messages.filter((m: any) => m.info.role === "assistant")) {
      const owner = users.find((u: any) => u.id === m.info.parentID);
      expect(m.info).toMatchObject({ providerID: owner.model.providerID, modelID: owner.model.modelID });
    }
    expect(doc.runtime.models).toEqual(users.map((u: any) => `${u.model.providerID}/${u.model.modelID}`));
    expect(doc.diagnostics.title_generations[0].model).toBe(doc.runtime.models[0]);
    expect(doc.diagnostics.loop.runs.map((r: any) => [r.kind, r.outcome, r.finish])).toEqual([
      ["prompt", "completed", "stop"],
      ["prompt", "completed", "stop"],
    ]);
  });
});
