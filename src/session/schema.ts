import { z } from "zod";
import { idPattern, type IdPrefix } from "../ids.js";

// Field names follow opencode's export so either tool reads the other's files; unknown fields are kept (loose).

/** The last millisecond a Date renders with a four-digit year (9999-12-31): later ones are not real times. */
export const MAX_TIMESTAMP = 253_402_300_799_999;

/** Milliseconds since the epoch, as every time field holds them. */
export const timestamp = z
  .number()
  .min(0, "must not be before 1970")
  .max(MAX_TIMESTAMP, "must not be after the year 9999")
  .int("must be a whole number of milliseconds");

export function id(prefix: IdPrefix) {
  return z.string().regex(idPattern(prefix), `must be a ${prefix}_ id (${prefix}_ + 12 hex digits + 14 letters or digits)`);
}

export const sessionInfoSchema = z.looseObject({
  id: id("ses"),
  directory: z.string(),
  parentID: id("ses").optional(),
  title: z.string(),
  version: z.string(),
  slug: z.string().optional(),
  projectID: z.string().optional(),
  time: z.looseObject({ created: timestamp, updated: timestamp }),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

const tokensSchema = z.looseObject({
  input: z.number(),
  output: z.number(),
  reasoning: z.number(),
  cache: z.looseObject({ read: z.number(), write: z.number() }),
});
export type Tokens = z.infer<typeof tokensSchema>;

export const messageErrorSchema = z.looseObject({
  name: z.string(),
  data: z.looseObject({ message: z.string().optional() }),
});
export type MessageError = z.infer<typeof messageErrorSchema>;

export const userMessageSchema = z.looseObject({
  id: id("msg"),
  sessionID: id("ses"),
  role: z.literal("user"),
  time: z.looseObject({ created: timestamp }),
  agent: z.string().optional(),
  model: z.looseObject({ providerID: z.string(), modelID: z.string() }).optional(),
});
export type UserMessage = z.infer<typeof userMessageSchema>;

export const assistantMessageSchema = z.looseObject({
  id: id("msg"),
  sessionID: id("ses"),
  role: z.literal("assistant"),
  parentID: id("msg"),
  time: z.looseObject({ created: timestamp, completed: timestamp.optional() }),
  modelID: z.string(),
  providerID: z.string(),
  path: z.looseObject({ cwd: z.string(), root: z.string() }),
  tokens: tokensSchema,
  cost: z.number(),
  finish: z.string().optional(),
  error: messageErrorSchema.optional(),
  diagnostics: z.record(z.string(), z.unknown()).optional(),
});
export type AssistantMessage = z.infer<typeof assistantMessageSchema>;

export const messageInfoSchema = z.discriminatedUnion("role", [userMessageSchema, assistantMessageSchema]);
export type MessageInfo = z.infer<typeof messageInfoSchema>;

const partBase = {
  id: id("prt"),
  sessionID: id("ses"),
  messageID: id("msg"),
};
const timeRange = z.looseObject({ start: timestamp, end: timestamp.optional() });

export const toolStateSchema = z.discriminatedUnion("status", [
  z.looseObject({ status: z.literal("pending"), input: z.unknown().optional() }),
  z.looseObject({ status: z.literal("running"), input: z.unknown(), title: z.string().optional(), time: timeRange }),
  z.looseObject({
    status: z.literal("completed"),
    input: z.unknown(),
    output: z.string(),
    title: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    time: timeRange,
  }),
  z.looseObject({
    status: z.literal("error"),
    input: z.unknown(),
    error: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    time: timeRange,
  }),
]);
export type ToolState = z.infer<typeof toolStateSchema>;

export const partSchema = z.discriminatedUnion("type", [
  z.looseObject({ ...partBase, type: z.literal("text"), text: z.string(), time: timeRange.optional() }),
  z.looseObject({ ...partBase, type: z.literal("reasoning"), text: z.string(), time: timeRange.optional() }),
  z.looseObject({ ...partBase, type: z.literal("tool"), tool: z.string(), callID: z.string(), state: toolStateSchema }),
  z.looseObject({ ...partBase, type: z.literal("step-start") }),
  z.looseObject({
    ...partBase,
    type: z.literal("step-finish"),
    reason: z.string(),
    tokens: tokensSchema,
    cost: z.number(),
  }),
  z.looseObject({
    ...partBase,
    type: z.literal("file"),
    mime: z.string(),
    filename: z.string().optional(),
    url: z.string(),
  }),
  // opencode writes more kinds (patch, snapshot, agent, ...); they are kept as they are.
  z.looseObject({
    ...partBase,
    type: z.enum(["patch", "snapshot", "agent", "subtask", "retry", "compaction"]),
  }),
]);
export type Part = z.infer<typeof partSchema>;
export type TextPart = Extract<Part, { type: "text" }>;
export type ToolPart = Extract<Part, { type: "tool" }>;

export interface MessageWithParts {
  info: MessageInfo;
  parts: Part[];
}

