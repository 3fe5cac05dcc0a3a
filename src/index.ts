// The library entry (`import { createRuntime, prompt } from "ode"`): what the CLI and the server are built on.
export { createRuntime, type Runtime, type RuntimeOptions } from "./runtime.js";
export { prompt, startRun, driveRun, type PromptInput, type PromptResult, type StartedRun } from "./agent/prompt.js";
export { runShell, startShell, driveShell, type ShellInput, type ShellResult } from "./agent/shell.js";
export { compactSession, NothingToCompactError, type CompactInput, type CompactResult } from "./agent/compaction.js";
export type { CompactionRecord, CompactionTrigger } from "./session/compaction.js";
export { buildExport, type ExportDocument } from "./export/snapshot.js";
export { sanitizeExport } from "./export/sanitize.js";
export { exportChunks, openExportReader, type ExportChunkOptions } from "./export/stream.js";
export type { OdeEvent, OdeEventMap, OdeEventType } from "./events.js";
export type { AbortDiagnostic, CancelMeta } from "./session/abort.js";
export type { MessageInfo, MessageWithParts, Part, SessionInfo } from "./session/schema.js";
export { VERSION } from "./version.js";
