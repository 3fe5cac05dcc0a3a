import os from "node:os";
import type { TitleTrace } from "../agent/title.js";
import type { Runtime } from "../runtime.js";
import { opencodeMessages, opencodeSession, sessionTotals } from "../session/opencode.js";
import type { MessageWithParts, SessionInfo } from "../session/schema.js";
import { CHANNEL, VERSION } from "../version.js";
import { buildDiagnostics, IMPORTED_VIA, messageAbortOf, type Diagnostics, type ImportedAbort, type MessageAbort } from "./diagnostics.js";

export const EXPORT_FORMAT = "ode.session";
export const EXPORT_SCHEMA_VERSION = 1;

export interface RuntimeInfo {
  app_version: string;
  channel: string;
  platform: string;
  arch: string;
  node_version: string;
  os_release: string;
  locale: string;
  timezone: string;
  models: string[];
  /** The instruction files (AGENTS.md, CLAUDE.md) the session's system prompts were built from. */
  instructions: string[];
  /** `cost`: US dollars, the sum of the assistant messages' costs. */
  stats: { messages: number; parts: number; tool_calls: number; runs: number; aborts: number; cost: number };
}

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  schema_version: typeof EXPORT_SCHEMA_VERSION;
  exported_at: number;
  runtime: RuntimeInfo;
  info: SessionInfo;
  messages: MessageWithParts[];
  diagnostics: Diagnostics;
}

/**
 * The whole session as one document, in five queries whatever its length (session, messages, parts, runs, title
 * traces) and one walk over the messages.
 */
export function buildExport(rt: Pick<Runtime, "store" | "runs">, sessionID: string): ExportDocument {
  const stored = rt.store.getSession(sessionID);
  const messages = opencodeMessages(rt.store.messages(sessionID));
  const info = opencodeSession(stored, sessionTotals(messages));
  const rows = rt.runs.rows(sessionID);
  const traces = rt.store.titleTraces<TitleTrace>(sessionID);

  const models = new Set<string>();
  const instructions = new Set<string>();
  const messageAborts: MessageAbort[] = [];
  const abortedMessages: ImportedAbort[] = [];
  let parts = 0;
  let toolCalls = 0;
  let cost = 0;
  for (const { info: message, parts: list } of messages) {
    parts += list.length;
    for (const part of list) if (part.type === "tool") toolCalls++;
    if (message.role === "user") {
      if (message.model) models.add(`${message.model.providerID}/${message.model.modelID}`);
      if (Array.isArray(message.instructions)) for (const file of message.instructions) instructions.add(String(file));
    } else {
      cost += message.cost;
    }
    const found = messageAbortOf(message);
    if (found) messageAborts.push(found);
    else if (message.role === "assistant" && message.error?.name === "MessageAbortedError") {
      abortedMessages.push({
        recorded_at: message.time.completed ?? message.time.created,
        message_id: message.id,
        source: "unknown",
        via: IMPORTED_VIA,
        ...(message.error.data.message ? { error_message: message.error.data.message } : {}),
      });
    }
  }
  for (const trace of traces) models.add(trace.model);

  const diagnostics = buildDiagnostics(messageAborts, rows, traces, abortedMessages);
  const { locale, timeZone } = Intl.DateTimeFormat().resolvedOptions();
  return {
    format: EXPORT_FORMAT,
    schema_version: EXPORT_SCHEMA_VERSION,
    exported_at: Date.now(),
    runtime: {
      app_version: VERSION,
      channel: CHANNEL,
      platform: process.platform,
      arch: process.arch,
      node_version: process.version,
      os_release: os.release(),
      locale,
      timezone: timeZone,
      models: [...models],
      instructions: [...instructions],
      stats: {
        messages: messages.length,
        parts,
        tool_calls: toolCalls,
        runs: rows.length,
        aborts: diagnostics.aborts.length,
        cost,
      },
    },
    info,
    messages,
    diagnostics,
  };
}
