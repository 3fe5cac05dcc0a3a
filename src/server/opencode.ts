import { z } from "zod";
import type { PromptInput, PromptResult } from "../agent/prompt.js";
import type { Runtime } from "../runtime.js";
import { MAX_TIMEOUT_MS } from "../session/abort.js";
import { InvalidInputError } from "../session/errors.js";
import { opencodeMessage, opencodePart, opencodeSession } from "../session/opencode.js";
import { killModes } from "../shell/spawn.js";
import type { MessageWithParts, SessionInfo } from "../session/schema.js";

/*
 * Request and response shapes of opencode's HTTP API (as its `GET /doc` describes them), so its SDK and
 * `opencode run --attach` drive ode unchanged. ode's own earlier body (`{text}`) stays accepted as an alias.
 */

/** Response header naming ode's run, for clients that want more than opencode's shapes carry. */
export const RUN_ID_HEADER = "x-ode-run-id";

const modelRef = z.object({ providerID: z.string().min(1), modelID: z.string().min(1) });

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const otherPart = z.looseObject({ type: z.string() }).refine((part) => part.type === "text", {
  message: "only text parts are supported",
  path: ["type"],
});

export const promptBody = z
  .object({
    parts: z.array(z.union([textPart, otherPart])).optional(),
    text: z.string().optional(),
    model: z.union([modelRef, z.string().min(1)]).optional(),
    agent: z.string().optional(),
    messageID: z.string().regex(/^msg_/, "must start with msg_").optional(),
    noReply: z.literal(false, { message: "ode always answers a prompt; noReply is not supported" }).optional(),
    system: z.string().optional(),
    tools: z.record(z.string(), z.boolean()).optional(),
    variant: z.string().optional(),
    timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  })
  .transform((body, ctx) => {
    const text = body.text ?? (body.parts ?? []).map((part) => (part as { text: string }).text).join("\n");
    if (!text.trim()) {
      ctx.addIssue({ code: "custom", path: [body.text === undefined ? "parts" : "text"], message: "must hold some text" });
      return z.NEVER;
    }
    return body.model === undefined || typeof body.model === "string"
      ? { ...body, text, model: body.model }
      : { ...body, text, model: `${body.model.providerID}/${body.model.modelID}` };
  });
export type PromptBody = z.output<typeof promptBody>;

/** The prompt loop's input from a request body. */
export function promptInput(sessionID: string, body: PromptBody): PromptInput {
  return {
    sessionID,
    text: body.text,
    ...(body.model ? { model: body.model } : {}),
    ...(body.timeoutMs ? { timeoutMs: body.timeoutMs } : {}),
    ...(body.messageID ? { messageID: body.messageID } : {}),
    ...(body.system ? { system: body.system } : {}),
    ...(body.tools ? { tools: body.tools } : {}),
  };
}

export const shellBody = z.object({
  command: z.string().min(1, "must not be empty"),
  agent: z.string().optional(),
  model: modelRef.optional(),
  messageID: z.string().optional(),
});

export const abortBody = z.object({ mode: z.enum(killModes).default("soft"), reason: z.string().optional() });

export const createBody = z.looseObject({ title: z.string().optional(), parentID: z.string().optional() });

/** A session as opencode's clients expect it: with slug, project, path, cost and token totals. */
export function sessionView(rt: Runtime, info: SessionInfo): SessionInfo {
  return opencodeSession(info, rt.store.sessionTotals(info.id));
}

function messageView({ info, parts }: MessageWithParts): MessageWithParts {
  return { info: opencodeMessage(info), parts: parts.map(opencodePart) };
}

export function messagesView(messages: MessageWithParts[]): MessageWithParts[] {
  return messages.map(messageView);
}

/**
 * opencode answers a prompt with its last assistant message and that message's parts. A run that ended before
 * any assistant message (aborted while queued, a model that could not be loaded) answers with its user message.
 */
export function turnView(rt: Runtime, result: Pick<PromptResult, "sessionID" | "assistantMessageIDs" | "userMessageID">): MessageWithParts {
  const last = result.assistantMessageIDs.at(-1) ?? result.userMessageID;
  return one(rt, result.sessionID, last);
}

export function one(rt: Runtime, sessionID: string, messageID: string): MessageWithParts {
  const found = rt.store.message(sessionID, messageID);
  if (!found) throw new InvalidInputError(`message ${messageID} is not in session ${sessionID}`);
  return messageView(found);
}

/** `GET /session/status`: the sessions this server is running a turn in, as opencode reports them. */
export function statusView(rt: Runtime): Record<string, { type: "busy" }> {
  const busy: Record<string, { type: "busy" }> = {};
  for (const run of rt.runs.all()) busy[run.sessionID] = { type: "busy" };
  return busy;
}

/** `GET /config` as opencode's clients read it: ode's model choice, and sharing off (ode never uploads). */
export function configView(rt: Runtime): Record<string, unknown> {
  return {
    ...(rt.config.model ? { model: rt.config.model } : {}),
    ...(rt.config.small_model ? { small_model: rt.config.small_model } : {}),
    share: "disabled",
    autoupdate: false,
    agent: {},
    mode: {},
    command: {},
    plugin: [],
  };
}
