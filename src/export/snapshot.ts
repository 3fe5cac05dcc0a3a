import os from "node:os";
import type { TitleTrace } from "../agent/title.js";
import type { Runtime } from "../runtime.js";
import { addToTotals, opencodeMessage, opencodeMessages, opencodeSession, type SessionTotals } from "../session/opencode.js";
import type { RunRow } from "../session/runs.js";
import { compactionRecordOf, type CompactionRecord } from "../session/compaction.js";
import { emptyTokens } from "../agent/tokens.js";
import type { MessageInfo, MessageWithParts, SessionInfo } from "../session/schema.js";
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

/** What the export says of the whole session before its first message, counted one message at a time. */
class ExportTally {
  readonly totals: SessionTotals = { cost: 0, tokens: emptyTokens() };
  readonly models = new Set<string>();
  readonly instructions = new Set<string>();
  readonly messageAborts: MessageAbort[] = [];
  readonly abortedMessages: ImportedAbort[] = [];
  readonly compactions: CompactionRecord[] = [];
  messages = 0;

  /** A message as exported (`opencodeMessage`'s). */
  add(message: MessageInfo): void {
    this.messages++;
    addToTotals(this.totals, message);
    if (message.role === "user") {
      if (message.model) this.models.add(`${message.model.providerID}/${message.model.modelID}`);
      if (Array.isArray(message.instructions)) for (const file of message.instructions) this.instructions.add(String(file));
    }
    const compaction = compactionRecordOf(message);
    if (compaction) this.compactions.push(compaction);
    const found = messageAbortOf(message);
    if (found) this.messageAborts.push(found);
    else if (message.role === "assistant" && message.error?.name === "MessageAbortedError") {
      this.abortedMessages.push({
        recorded_at: message.time.completed ?? message.time.created,
        message_id: message.id,
        source: "unknown",
        via: IMPORTED_VIA,
        ...(message.error.data.message ? { error_message: message.error.data.message } : {}),
      });
    }
  }
}

/** Everything of the document but its messages. */
export type ExportHead = Omit<ExportDocument, "messages" | "diagnostics">;

interface SessionRecords {
  stored: SessionInfo;
  rows: RunRow[];
  traces: TitleTrace[];
  parts: { parts: number; tools: number };
}

function headOf(tally: ExportTally, { stored, rows, traces, parts }: SessionRecords): { head: ExportHead; diagnostics: Diagnostics } {
  for (const trace of traces) tally.models.add(trace.model);
  const diagnostics = buildDiagnostics(tally.messageAborts, rows, traces, tally.abortedMessages, tally.compactions);
  const { locale, timeZone } = Intl.DateTimeFormat().resolvedOptions();
  const head: ExportHead = {
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
      models: [...tally.models],
      instructions: [...tally.instructions],
      stats: {
        messages: tally.messages,
        parts: parts.parts,
        tool_calls: parts.tools,
        runs: rows.length,
        aborts: diagnostics.aborts.length,
        cost: tally.totals.cost,
      },
    },
    info: opencodeSession(stored, tally.totals),
  };
  return { head, diagnostics };
}

/**
 * The whole session as one document, in five queries whatever its length (session, messages, parts, runs, title
 * traces) and one walk over the messages. It holds the whole session in memory: `exportChunks` writes the same
 * document message by message.
 */
export function buildExport(rt: Pick<Runtime, "store" | "runs">, sessionID: string): ExportDocument {
  const stored = rt.store.getSession(sessionID);
  const messages = [...opencodeMessages(rt.store.iterateMessages(sessionID))];
  const rows = rt.runs.rows(sessionID);
  const traces = rt.store.titleTraces<TitleTrace>(sessionID);
  const tally = new ExportTally();
  const parts = { parts: 0, tools: 0 };
  for (const { info, parts: list } of messages) {
    tally.add(info);
    parts.parts += list.length;
    for (const part of list) if (part.type === "tool") parts.tools++;
  }
  const { head, diagnostics } = headOf(tally, { stored, rows, traces, parts });
  return { ...head, messages, diagnostics };
}

/** A session's export, its messages to be read one at a time. */
export interface ExportPlan {
  head: ExportHead;
  diagnostics: Diagnostics;
  messages(): Iterable<MessageWithParts>;
}

/**
 * The document of `buildExport` with its messages left in the store: what precedes them (counts, models, the
 * session's totals) and the diagnostics after them are computed from the messages' infos alone and from the
 * parts' index, so no part is read before the messages are. `visit` sees each info as exported, in order. Seven
 * queries whatever the session's length.
 */
export function planExport(rt: Pick<Runtime, "store" | "runs">, sessionID: string, visit?: (info: MessageInfo) => void): ExportPlan {
  const { store } = rt;
  const stored = store.getSession(sessionID);
  const tally = new ExportTally();
  for (const row of store.messageInfos(sessionID)) {
    const info = opencodeMessage(row);
    tally.add(info);
    visit?.(info);
  }
  const records = { stored, rows: rt.runs.rows(sessionID), traces: store.titleTraces<TitleTrace>(sessionID), parts: store.partCounts(sessionID) };
  return { ...headOf(tally, records), messages: () => opencodeMessages(store.iterateMessages(sessionID)) };
}
