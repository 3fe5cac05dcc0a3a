import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeProject, ROOT, runOde, scriptedConfig, type Project } from "../support/ode.js";
import { OPENCODE_TIMEOUT, opencodeHome, runOpencode } from "../support/opencode.js";
import { exportJson, fixture } from "./support.js";

const DEMO_SCRIPT = path.join(ROOT, "examples", "demo", "script.json");

/**
 * A session with a tool turn (reasoning, bash, write, text), a turn aborted by its timeout, a prompt-shell run, and
 * a compaction (its marker message and summary).
 */
async function recordedSession(): Promise<{ project: Project; sessionID: string }> {
  const project = makeProject(scriptedConfig(DEMO_SCRIPT));
  expect((await runOde(project, ["run", "look around"])).code).toBe(0);
  expect((await runOde(project, ["run", "--continue", "--timeout", "1500", "now run the long job"])).code).toBe(130);
  const [session] = JSON.parse((await runOde(project, ["session", "list", "--format", "json"])).stdout);
  expect((await runOde(project, ["shell", session.id, "echo from the prompt shell"])).code).toBe(0);
  expect((await runOde(project, ["session", "compact", session.id])).code).toBe(0);
  return { project, sessionID: session.id };
}

/** Ids, roles and part kinds: what a round trip must keep, whatever each tool adds to the objects. */
function skeleton(doc: { messages: Array<{ info: any; parts: any[] }> }) {
  return doc.messages.map(({ info, parts }) => ({
    id: info.id,
    role: info.role,
    parentID: info.parentID,
    error: info.error?.name,
    summary: info.summary,
    parts: parts.map((p) => [p.id, p.type, p.tool, p.state?.status].filter(Boolean).join(" ")),
  }));
}

async function throughOpencode(file: string, sessionID: string): Promise<any> {
  const home = opencodeHome();
  const imported = await runOpencode(home, ["import", file]);
  expect(imported.stderr + imported.stdout).toContain(`Imported session: ${sessionID}`);
  expect(imported.code).toBe(0);
  const exported = await runOpencode(home, ["export", sessionID]);
  expect(exported.code).toBe(0);
  return JSON.parse(exported.stdout);
}

describe("opencode reads ode's exports", () => {
  it(
    "ode export -> opencode import -> opencode export -> ode import keeps every message and part, plain and sanitized",
    async () => {
      const { project, sessionID } = await recordedSession();
      const plain = await exportJson(project, [sessionID]);
      const sanitized = await exportJson(project, [sessionID, "--sanitize"]);
      expect(plain.messages.filter((m: any) => m.info.role === "user")).toHaveLength(4);
      expect(plain.messages.some((m: any) => m.parts.some((p: any) => p.type === "compaction"))).toBe(true);
      expect(plain.messages.some((m: any) => m.info.summary === true && m.parts.length > 0)).toBe(true);
      expect(plain.messages.some((m: any) => m.info.error?.name === "MessageAbortedError")).toBe(true);
      const files = [plain, sanitized].map((doc, i) => {
        const file = path.join(project.dir, `export-${i}.json`);
        fs.writeFileSync(file, JSON.stringify(doc));
        return file;
      });

      const [plainBack, sanitizedBack] = await Promise.all(files.map((file) => throughOpencode(file, sessionID)));
      expect(skeleton(plainBack)).toEqual(skeleton(plain));
      expect(skeleton(sanitizedBack)).toEqual(skeleton(sanitized));
      // Parts are opencode's shape already: they come back as they left, byte for byte.
      expect(plainBack.messages.map((m: any) => m.parts)).toEqual(plain.messages.map((m: any) => m.parts));
      expect(sanitizedBack.messages.map((m: any) => m.parts)).toEqual(sanitized.messages.map((m: any) => m.parts));
      expect(JSON.stringify(sanitizedBack)).not.toContain("from the prompt shell");

      // And back into ode: every message and part again.
      const again = makeProject();
      const file = path.join(again.dir, "from-opencode.json");
      fs.writeFileSync(file, JSON.stringify(plainBack));
      const imported = await runOde(again, ["import", file]);
      expect(imported.stderr).toBe("");
      expect(imported.code).toBe(0);
      const reexported = await exportJson(again, [sessionID]);
      expect(skeleton(reexported)).toEqual(skeleton(plain));
      expect(reexported.messages.map((m: any) => m.parts)).toEqual(plain.messages.map((m: any) => m.parts));
    },
    OPENCODE_TIMEOUT * 2,
  );

  it("carries the fields opencode requires beside ode's own", async () => {
    const { project, sessionID } = await recordedSession();
    const doc = await exportJson(project, [sessionID]);
    expect(doc.info).toMatchObject({ slug: expect.stringMatching(/^[a-z]+-[a-z]+$/), projectID: "global", path: "" });
    expect(doc.info.tokens.input).toBeGreaterThan(0);
    for (const { info, parts } of doc.messages) {
      if (info.role === "user") expect(info.model).toMatchObject({ providerID: expect.any(String), modelID: expect.any(String) });
      else {
        const agent = info.summary ? "compaction" : "build";
        expect(info).toMatchObject({ mode: agent, agent });
        const { input, output, reasoning, cache } = info.tokens;
        expect(info.tokens.total).toBe(input + output + reasoning + cache.read + cache.write);
      }
      for (const part of parts) if (part.type === "step-finish") expect(part.tokens.total).toEqual(expect.any(Number));
    }
    const shell = doc.messages.find((m: any) => m.info.agent === "shell");
    expect(shell.info.model).toEqual({ providerID: "user", modelID: "shell" });
    // Stable: the slug is derived from the id, not drawn again on each export.
    expect((await exportJson(project, [sessionID])).info.slug).toBe(doc.info.slug);

    const sanitized = await exportJson(project, [sessionID, "--sanitize"]);
    for (const { parts } of sanitized.messages) {
      for (const part of parts) {
        if (part.type === "tool") expect(part.state.input).toEqual({ redacted: `[redacted:tool-input:${part.id}]` });
      }
    }
  });
});

describe("aborts of imported opencode sessions", () => {
  it("counts a MessageAbortedError no ode run recorded, with source unknown, plain and sanitized", async () => {
    const project = makeProject();
    const source = JSON.parse(fs.readFileSync(fixture("opencode-1.18.33-export-aborted.json"), "utf8"));
    expect((await runOde(project, ["import", fixture("opencode-1.18.33-export-aborted.json")])).code).toBe(0);
    const aborted = source.messages.find((m: any) => m.info.error?.name === "MessageAbortedError").info;

    const doc = await exportJson(project, [source.info.id]);
    expect(doc.diagnostics.aborts).toEqual([
      { recorded_at: aborted.time.completed, message_id: aborted.id, source: "unknown", via: "imported-message", error_message: "Aborted" },
    ]);
    expect(doc.runtime.stats.aborts).toBe(1);

    const sanitized = await exportJson(project, [source.info.id, "--sanitize"]);
    expect(sanitized.diagnostics.aborts).toEqual([
      { ...doc.diagnostics.aborts[0], error_message: `[redacted:error:${aborted.id}]` },
    ]);
    expect(sanitized.runtime.stats.aborts).toBe(1);

    // The export imports again, and the abort is read again from its message rather than stored twice.
    const again = makeProject();
    const file = path.join(again.dir, "ode-export.json");
    fs.writeFileSync(file, JSON.stringify(doc));
    expect((await runOde(again, ["import", file])).code).toBe(0);
    expect((await exportJson(again, [source.info.id])).diagnostics.aborts).toEqual(doc.diagnostics.aborts);
  });

  it("does not count an aborted message of one of ode's own runs twice", async () => {
    const project = makeProject(scriptedConfig(DEMO_SCRIPT));
    expect((await runOde(project, ["run", "look around"])).code).toBe(0);
    expect((await runOde(project, ["run", "--continue", "--timeout", "1500", "now run the long job"])).code).toBe(130);
    const doc = await exportJson(project, []);
    expect(doc.diagnostics.aborts.map((a: any) => a.source)).toEqual(["timeout"]);
    expect(doc.runtime.stats.aborts).toBe(1);
  });
});
