import { createServer } from "node:http";
import { listenOnLoopback } from "../test/support/loopback.js";

export type RequestKind = "title" | "summary" | "turn";

function chunk(delta: object, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

/**
 * A loopback OpenAI-compatible model for long sessions that reads only the ends of each request: the system
 * message opens the body (a compaction's summariser says so), `tools` and the last message's role close it, and the
 * middle is only counted, so the server's own cost stays out of ode's measurement. A turn gets one bash call, then
 * "done"; a summary request gets `summary`.
 */
export async function startTailModel(summary = "(summary)") {
  const requests: Array<{ kind: RequestKind; bytes: number }> = [];
  const server = createServer((req, res) => {
    let head = "";
    let tail = Buffer.alloc(0);
    let bytes = 0;
    req.on("data", (data: Buffer) => {
      if (head.length < 4096) head += data.toString("utf8");
      bytes += data.length;
      tail = Buffer.concat([tail, data]).subarray(-65536);
    });
    req.on("end", () => {
      const end = tail.toString("utf8");
      const kind: RequestKind = head.includes("You condense the conversation") ? "summary" : end.includes('"tools"') ? "turn" : "title";
      requests.push({ kind, bytes });
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (kind === "title") res.write(chunk({ content: "Bench title" }, "stop"));
      else if (kind === "summary") res.write(chunk({ content: summary }, "stop"));
      else if (end.lastIndexOf('"role":"tool"') > end.lastIndexOf('"role":"user"')) res.write(chunk({ content: "done" }, "stop"));
      else {
        const call = { index: 0, id: `call_${bytes}`, type: "function", function: { name: "bash", arguments: JSON.stringify({ command: "echo hi" }) } };
        res.write(chunk({ tool_calls: [call] }, "tool_calls"));
      }
      res.end("data: [DONE]\n\n");
    });
  });
  return { ...(await listenOnLoopback(server)), requests };
}
