import { onCleanup } from "./ode.js";
import { startOpenAIServer, type RecordedRequest, type ScriptedReply } from "./openai-server.js";

export type RequestKind = "title" | "summary" | "turn";

/** Which of ode's model calls a request is, by its system prompt: the title and the summary calls have no tools. */
export function requestKind(req: RecordedRequest): RequestKind {
  const system = String(req.body.messages?.[0]?.content ?? "");
  if (system.startsWith("You write the title")) return "title";
  if (system.startsWith("You condense the conversation")) return "summary";
  return "turn";
}

/** A loopback model: title requests get a title, summary requests `summary`, turn requests `turns` in order. */
export async function startCompactionModel(turns: ScriptedReply[], summary: ScriptedReply = { text: "SUMMARY-TEXT: the user sent long notes." }) {
  let next = 0;
  const server = await startOpenAIServer((req) => {
    const kind = requestKind(req);
    if (kind === "title") return { text: "A title" };
    if (kind === "summary") return summary;
    return turns[next++] ?? { text: "(no more scripted replies)" };
  });
  onCleanup(() => server.close());
  return {
    ...server,
    of: (kind: RequestKind) => server.requests.filter((r) => requestKind(r) === kind),
    /** The kinds of the requests in order, title requests left out (they run beside the first turn). */
    kinds: () => server.requests.map(requestKind).filter((k) => k !== "title"),
  };
}

/** A prompt of about 300 tokens (chars/4) that starts with a word the requests can be searched for. */
export const longPrompt = (word: string) => `${word} ${"lorem ipsum ".repeat(100)}`;

/** Every message a request sends, as one string: what the model was shown. */
export const sentText = (req: RecordedRequest) => JSON.stringify(req.body.messages);
