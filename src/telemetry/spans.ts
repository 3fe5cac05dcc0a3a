import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from "@opentelemetry/api";
import { MODEL_MAX_RETRIES } from "../agent/prompt.js";
import type { TitleTrace } from "../agent/title.js";
import type { OdeEvent } from "../events.js";
import type { Runtime } from "../runtime.js";
import { cancelVias, type AbortDiagnostic } from "../session/abort.js";
import { errorText } from "../session/errors.js";
import type { RunKind, RunOutcome } from "../session/runs.js";
import type { AssistantMessage, MessageInfo, Part, ToolPart } from "../session/schema.js";
import type { LoopStopReason } from "../loop/loops.js";
import type { TraceCarrier } from "./index.js";

export interface SpanBookOptions {
  captureContent: boolean;
  /** The process's own parent (`TRACEPARENT` in its environment), for runs started without another one. */
  defaultParent?: Context;
  parse(carrier: TraceCarrier): Context | undefined;
  onAbortedRun(): void;
}

interface Open {
  span: Span;
  context: Context;
  sessionID: string;
  runID: string;
  /** Set when a cancel interrupted this span: it ends as an error of type `aborted`. */
  aborted?: boolean;
}

interface RunEntry extends Open {
  kind: RunKind;
  userMessageID?: string;
  /** The last error type a model step ended with, for a run that ends in error. */
  errorType?: string;
}

interface ChatEntry extends Open {
  texts: Map<string, string>;
}

interface ToolEntry extends Open {
  callID: string;
}

/** A title generation outlives its run; its span is made when it ends, under the run that started it. */
const TITLE_PARENTS_KEPT = 256;

const vias: readonly string[] = cancelVias;

/**
 * Turns a runtime's events into spans, by the OpenTelemetry GenAI conventions: `invoke_agent ode` per prompt run,
 * `chat <model>` per model step, `execute_tool <name>` per tool call, `ode.shell` per prompt-shell command,
 * `ode.title` per title generation. Every span of a session carries `gen_ai.conversation.id`. Free text (prompts,
 * answers, tool input and output, abort reasons, titles, error messages) goes on spans only with content capture.
 */
export class SpanBook {
  private readonly runs = new Map<string, RunEntry>();
  private readonly chats = new Map<string, ChatEntry>();
  private readonly tools = new Map<string, ToolEntry>();
  private readonly titleParents = new Map<string, Context>();
  private readonly loops = new Map<string, { span: Span; context: Context }>();
  private pending?: { parent?: Context; loop?: { id: string; iteration: number } };

  constructor(
    private readonly rt: Runtime,
    private readonly tracer: Tracer,
    private readonly options: SpanBookOptions,
  ) {}

  handle(event: OdeEvent): void {
    try {
      this.dispatch(event);
    } catch (error) {
      // Tracing must never take a run down with it.
      this.rt.store.log.warn("tracing: an event could not be turned into a span", { type: event.type, error: errorText(error) });
    }
  }

  private dispatch(event: OdeEvent): void {
    switch (event.type) {
      case "run.started":
        this.runStarted(event.sessionID, event.properties.runID, event.properties.kind);
        break;
      case "message.updated":
        this.messageUpdated(event.properties.info);
        break;
      case "message.part.updated":
        this.partUpdated(event.properties.part);
        break;
      case "run.aborted":
        this.runAborted(event.sessionID, event.properties.abort);
        break;
      case "run.finished":
        this.runFinished(event.sessionID, event.properties.runID, event.properties.outcome);
        break;
      case "session.title.generated":
        this.titleGenerated(event.sessionID, event.properties.trace);
        break;
      case "loop.started":
        this.loopStarted(event.properties.loopID, event.properties.name, event.properties.resumed);
        break;
      case "loop.finished":
        this.loopFinished(event.properties.loopID, event.properties.stop_reason, event.properties.iterations);
        break;
      default:
        break;
    }
  }

  /** The span a process spawned for this tool part joins: the tool call's, or the prompt-shell command's. */
  spanContextOf(partID: string): SpanContext | undefined {
    return this.tools.get(partID)?.span.spanContext();
  }

  withParent<T>(carrier: TraceCarrier, fn: () => T): T {
    return this.within({ ...this.pending, parent: this.options.parse(carrier) ?? this.pending?.parent }, fn);
  }

  private within<T>(pending: SpanBook["pending"], fn: () => T): T {
    const previous = this.pending;
    this.pending = pending;
    try {
      return fn();
    } finally {
      this.pending = previous;
    }
  }

  withLoopIteration<T>(loopID: string, iteration: number, fn: () => T): T {
    const loop = this.loops.get(loopID);
    return loop ? this.within({ parent: loop.context, loop: { id: loopID, iteration } }, fn) : fn();
  }

  private loopStarted(loopID: string, name: string, resumed: boolean): void {
    const attributes: Attributes = { "gen_ai.operation.name": "invoke_workflow", "ode.loop.id": loopID, "ode.loop.resumed": resumed };
    // The name defaults to the prompt's first words.
    if (this.options.captureContent) attributes["ode.loop.name"] = name;
    const span = this.tracer.startSpan("invoke_workflow", { attributes }, this.parent());
    this.loops.set(loopID, { span, context: trace.setSpan(this.parent() ?? ROOT_CONTEXT, span) });
  }

  private loopFinished(loopID: string, stopReason: LoopStopReason, iterations: number): void {
    const loop = this.loops.get(loopID);
    if (!loop) return;
    this.loops.delete(loopID);
    loop.span.setAttributes({ "ode.loop.stop_reason": stopReason, "ode.loop.iterations": iterations });
    // A loop that stopped on a limit did what it was asked; these stops are failures.
    if (stopReason === "aborted" || stopReason === "failures" || stopReason === "usage_limit" || stopReason === "no_progress") {
      loop.span.setAttribute("error.type", stopReason);
      loop.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    loop.span.end();
  }

  private parent(): Context | undefined {
    return this.pending?.parent ?? this.options.defaultParent;
  }

  private start(name: string, sessionID: string, attributes: Attributes, parent: Context | undefined, startTime?: number): { span: Span; context: Context } {
    const span = this.tracer.startSpan(name, { attributes: { "gen_ai.conversation.id": sessionID, ...attributes }, ...(startTime ? { startTime } : {}) }, parent);
    return { span, context: trace.setSpan(parent ?? ROOT_CONTEXT, span) };
  }

  private runStarted(sessionID: string, runID: string, kind: RunKind): void {
    const loop = this.pending?.loop;
    const attributes: Attributes = {
      "ode.run.id": runID,
      "ode.run.kind": kind,
      ...(kind === "prompt" ? { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "ode" } : {}),
      ...(loop ? { "ode.loop.id": loop.id, "ode.loop.iteration": loop.iteration } : {}),
    };
    if (this.options.captureContent) {
      const title = this.rt.store.sessionTitle(sessionID);
      if (title !== undefined) attributes["ode.session.title"] = title;
    }
    const opened = this.start(kind === "prompt" ? "invoke_agent ode" : `ode.${kind}`, sessionID, attributes, this.parent());
    this.runs.set(sessionID, { ...opened, sessionID, runID, kind });
    this.rt.runs.setTraceID(runID, opened.span.spanContext().traceId);
  }

  private messageUpdated(info: MessageInfo): void {
    const run = this.runs.get(info.sessionID);
    if (!run) return;
    if (info.role === "user") {
      if (run.kind !== "prompt" || !info.model) return;
      run.userMessageID = info.id;
      run.span.setAttributes({ "gen_ai.provider.name": info.model.providerID, "gen_ai.request.model": info.model.modelID });
      this.titleParents.set(info.id, run.context);
      if (this.titleParents.size > TITLE_PARENTS_KEPT) this.titleParents.delete(this.titleParents.keys().next().value!);
      return;
    }
    if (run.kind !== "prompt") return;
    const chat = this.chats.get(info.id);
    if (!chat && info.time.completed === undefined) {
      const opened = this.start(
        `chat ${info.modelID}`,
        info.sessionID,
        {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": info.providerID,
          "gen_ai.request.model": info.modelID,
          "ode.run.id": run.runID,
          "ode.message.id": info.id,
        },
        run.context,
      );
      this.chats.set(info.id, { ...opened, sessionID: info.sessionID, runID: run.runID, texts: new Map() });
    } else if (chat && info.time.completed !== undefined) {
      this.chats.delete(info.id);
      this.endChat(chat, info, run);
    }
  }

  private endChat(chat: ChatEntry, info: AssistantMessage, run: RunEntry): void {
    const { tokens } = info;
    chat.span.setAttributes({
      "gen_ai.usage.input_tokens": tokens.input + tokens.cache.read + tokens.cache.write,
      "gen_ai.usage.output_tokens": tokens.output + tokens.reasoning,
      "gen_ai.usage.cache_read.input_tokens": tokens.cache.read,
      "gen_ai.usage.cache_creation.input_tokens": tokens.cache.write,
      ...(info.finish ? { "gen_ai.response.finish_reasons": [info.finish] } : {}),
    });
    if (this.options.captureContent && chat.texts.size > 0) {
      const parts = [...chat.texts.values()].map((content) => ({ type: "text", content }));
      chat.span.setAttribute("gen_ai.output.messages", JSON.stringify([{ role: "assistant", parts }]));
    }
    if (info.error && info.error.name !== "MessageAbortedError") {
      const data = info.error.data as { statusCode?: unknown; isRetryable?: unknown; message?: unknown };
      const status = typeof data.statusCode === "number" ? data.statusCode : undefined;
      const errorType = status !== undefined ? String(status) : info.error.name;
      run.errorType = errorType;
      chat.span.setAttributes({
        "error.type": errorType,
        ...(status !== undefined ? { "http.response.status_code": status } : {}),
        // The SDK retries a retryable error MODEL_MAX_RETRIES times before the step gives up.
        "ode.retries": data.isRetryable === true ? MODEL_MAX_RETRIES : 0,
      });
      this.fail(chat.span, typeof data.message === "string" ? data.message : undefined);
    }
    this.end(chat);
  }

  private partUpdated(part: Part): void {
    if (part.type === "text" && this.options.captureContent) {
      this.chats.get(part.messageID)?.texts.set(part.id, part.text);
      const run = this.runs.get(part.sessionID);
      if (run?.userMessageID === part.messageID) {
        run.span.setAttribute("gen_ai.input.messages", JSON.stringify([{ role: "user", parts: [{ type: "text", content: part.text }] }]));
      }
      return;
    }
    if (part.type !== "tool") return;
    const tool = this.tools.get(part.id);
    if (!tool && part.state.status === "running") this.toolStarted(part);
    else if (tool && (part.state.status === "completed" || part.state.status === "error")) this.toolEnded(tool, part);
  }

  private toolStarted(part: ToolPart): void {
    const run = this.runs.get(part.sessionID);
    if (!run) return;
    if (run.kind === "shell") {
      // The prompt-shell command is its run: its processes join the run's span.
      this.tools.set(part.id, { ...run, callID: part.callID });
      if (this.options.captureContent) run.span.setAttribute("ode.shell.command", JSON.stringify(part.state.input));
      return;
    }
    const attributes: Attributes = {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": part.tool,
      "gen_ai.tool.call.id": part.callID,
      "gen_ai.tool.type": "function",
      "ode.run.id": run.runID,
    };
    if (this.options.captureContent) attributes["gen_ai.tool.call.arguments"] = JSON.stringify(part.state.input);
    const parent = this.chats.get(part.messageID)?.context ?? run.context;
    const opened = this.start(`execute_tool ${part.tool}`, part.sessionID, attributes, parent);
    this.tools.set(part.id, { ...opened, sessionID: part.sessionID, runID: run.runID, callID: part.callID });
  }

  private toolEnded(tool: ToolEntry, part: ToolPart): void {
    this.tools.delete(part.id);
    const state = part.state;
    if (state.status !== "completed" && state.status !== "error") return;
    const metadata = state.metadata ?? {};
    tool.span.setAttributes({
      ...(typeof metadata.exit === "number" ? { "ode.tool.exit_code": metadata.exit } : {}),
      ...(typeof metadata.truncated === "boolean" ? { "ode.tool.truncated": metadata.truncated } : {}),
      ...(metadata.timedOut === true ? { "ode.tool.timed_out": true } : {}),
    });
    const isRun = this.runs.get(part.sessionID)?.span === tool.span;
    if (this.options.captureContent) {
      tool.span.setAttribute(isRun ? "ode.shell.output" : "gen_ai.tool.call.result", state.status === "completed" ? state.output : state.error);
    }
    // The shell's span is its run's and ends with the run.
    if (isRun) return;
    if (state.status === "error" && !tool.aborted && metadata.interrupted !== true) {
      tool.span.setAttribute("error.type", "tool_error");
      this.fail(tool.span, state.error);
    }
    this.end(tool);
  }

  private runAborted(sessionID: string, abort: AbortDiagnostic): void {
    const run = this.runs.get(sessionID);
    if (!run || run.runID !== abort.run_id) return;
    const attributes: Attributes = {
      "ode.abort.source": abort.source,
      "ode.abort.mode": abort.mode,
      "ode.abort.phase": abort.phase,
      "ode.abort.via_ctx_abort": abort.via_ctx_abort,
      "ode.abort.title_generation_state": abort.title_generation_state,
      ...(abort.tool_call_id ? { "ode.abort.tool_call_id": abort.tool_call_id } : {}),
      ...(abort.message_id ? { "ode.abort.message_id": abort.message_id } : {}),
    };
    // A library caller may name its own via; like the sanitized export, only ode's own are kept without capture.
    if (abort.via !== undefined && (this.options.captureContent || vias.includes(abort.via))) attributes["ode.abort.via"] = abort.via;
    if (abort.reason !== undefined && this.options.captureContent) attributes["ode.abort.reason"] = abort.reason;
    const interrupted: Open[] = [run];
    if (abort.tool_call_id) {
      for (const tool of this.tools.values()) if (tool.sessionID === sessionID && tool.callID === abort.tool_call_id && tool.span !== run.span) interrupted.push(tool);
    } else if (abort.phase === "model" && abort.message_id) {
      const chat = this.chats.get(abort.message_id);
      if (chat) interrupted.push(chat);
    }
    for (const open of interrupted) {
      open.aborted = true;
      open.span.addEvent("ode.abort", attributes, abort.recorded_at);
    }
  }

  private runFinished(sessionID: string, runID: string, outcome: RunOutcome): void {
    const run = this.runs.get(sessionID);
    if (!run || run.runID !== runID) return;
    this.runs.delete(sessionID);
    // Spans a run left open (a session deleted mid-step) end with it.
    for (const [id, chat] of this.chats) {
      if (chat.runID !== runID) continue;
      this.chats.delete(id);
      this.end(chat);
    }
    for (const [id, tool] of this.tools) {
      if (tool.runID !== runID) continue;
      this.tools.delete(id);
      if (tool.span !== run.span) this.end(tool);
    }
    run.span.setAttribute("ode.run.outcome", outcome);
    if (outcome === "error") {
      run.span.setAttribute("error.type", run.errorType ?? "error");
      this.fail(run.span);
    }
    if (outcome === "aborted") run.aborted = true;
    this.end(run);
    if (outcome === "aborted") this.options.onAbortedRun();
  }

  private titleGenerated(sessionID: string, titleTrace: TitleTrace): void {
    const parent = this.titleParents.get(titleTrace.user_message_id) ?? this.options.defaultParent;
    this.titleParents.delete(titleTrace.user_message_id);
    const attributes: Attributes = {
      "gen_ai.request.model": titleTrace.model,
      "ode.title.success": titleTrace.success,
      "ode.title.applied": titleTrace.applied,
      "ode.title.skipped": titleTrace.skipped === true,
      "ode.message.id": titleTrace.user_message_id,
    };
    if (this.options.captureContent && titleTrace.title !== undefined) attributes["ode.title"] = titleTrace.title;
    const { span } = this.start("ode.title", sessionID, attributes, parent, titleTrace.started_at);
    if (!titleTrace.success && !titleTrace.skipped) {
      span.setAttribute("error.type", "title_generation_failed");
      this.fail(span, titleTrace.error_message);
    }
    span.end(titleTrace.completed_at);
  }

  private fail(span: Span, message?: string): void {
    span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined && this.options.captureContent ? { message } : {}) });
  }

  private end(open: Open): void {
    if (open.aborted) {
      open.span.setAttribute("error.type", "aborted");
      open.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    open.span.end();
  }

  /** Ends every span still open (the process is going away): nothing half-open is lost. */
  endAll(): void {
    for (const open of [...this.tools.values(), ...this.chats.values(), ...this.runs.values(), ...this.loops.values()]) {
      if (open.span.isRecording()) open.span.end();
    }
    this.loops.clear();
    this.tools.clear();
    this.chats.clear();
    this.runs.clear();
  }
}
