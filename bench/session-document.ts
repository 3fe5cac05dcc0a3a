// A long session for the export and report benchmarks, in the opencode export shape that `ode import` reads.

/** An id in ode's grammar: the prefix, 12 hex digits (here a sequence number), the session id's 14 last characters. */
const id = (prefix: string, seq: number, sessionID: string) => `${prefix}_${seq.toString(16).padStart(12, "0")}${sessionID.slice(-14)}`;
const filler = (label: string, bytes: number) => `${label} `.repeat(Math.ceil(bytes / (label.length + 1))).slice(0, bytes);

/**
 * An opencode-shaped export of `turns` turns: a user message with its prompt, then an assistant message with nine
 * parts (reasoning, a bash call with 1 KiB of output, a read call with 2 KiB, text, step and patch parts), so five
 * parts per message on average and about 8 KiB of JSON per turn.
 */
export function sessionDocument(sessionID: string, turns: number): string {
  if (!/^ses_[0-9a-f]{12}[0-9A-Za-z]{14}$/.test(sessionID)) throw new Error(`not a session id in ode's grammar: ${sessionID}`);
  const messages: unknown[] = [];
  const t0 = 1795553811000;
  for (let turn = 0; turn < turns; turn++) {
    const userID = id("msg", turn * 2, sessionID);
    const assistantID = id("msg", turn * 2 + 1, sessionID);
    let n = 0;
    const part = (messageID: string, fields: object) => ({ id: id("prt", turn * 16 + n++, sessionID), sessionID, messageID, ...fields });
    const time = { start: t0 + turn * 1000, end: t0 + turn * 1000 + 500 };
    const tokens = { input: 1200, output: 300, reasoning: 40, cache: { read: 800, write: 0 } };
    messages.push({
      info: { id: userID, sessionID, role: "user", time: { created: t0 + turn * 1000 }, agent: "build", model: { providerID: "openai", modelID: "gpt-4.1" } },
      parts: [part(userID, { type: "text", text: filler(`prompt ${turn}`, 200) })],
    });
    const output = filler(`line of output ${turn}`, 1024);
    messages.push({
      info: {
        id: assistantID,
        sessionID,
        role: "assistant",
        parentID: userID,
        time: { created: time.start, completed: time.end },
        modelID: "gpt-4.1",
        providerID: "openai",
        path: { cwd: "/home/user/project", root: "/home/user/project" },
        tokens,
        cost: 0.002,
        finish: "stop",
      },
      parts: [
        part(assistantID, { type: "step-start" }),
        part(assistantID, { type: "reasoning", text: filler("thinking", 300), time }),
        part(assistantID, {
          type: "tool",
          tool: "bash",
          callID: `call_${turn}_0`,
          state: { status: "completed", input: { command: "npm test", description: "run the tests" }, output, title: "run the tests", metadata: { output, exit: 0, truncated: false }, time },
        }),
        part(assistantID, {
          type: "tool",
          tool: "read",
          callID: `call_${turn}_1`,
          state: { status: "completed", input: { filePath: "src/index.ts" }, output: filler("const x = 1;", 2048), title: "src/index.ts", metadata: { offset: 0, lines: 80, more: false }, time },
        }),
        part(assistantID, { type: "step-finish", reason: "tool-calls", tokens, cost: 0.001 }),
        part(assistantID, { type: "step-start" }),
        part(assistantID, { type: "text", text: filler(`answer ${turn}`, 400), time }),
        part(assistantID, { type: "step-finish", reason: "stop", tokens, cost: 0.001 }),
        part(assistantID, { type: "patch", hash: "c76a465c3825e4eb4caab722fb13dc0d3cf7c1ed", files: ["/home/user/project/src/index.ts"] }),
      ],
    });
  }
  const info = { id: sessionID, directory: "/home/user/project", title: "Benchmark session", version: "0.1.0", time: { created: t0, updated: t0 + turns * 1000 } };
  return JSON.stringify({ info, messages });
}

