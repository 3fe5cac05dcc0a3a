import type { Command } from "commander";
import type { OdeEvent } from "../events.js";
import type { LoopHandle } from "../loop/run-loop.js";
import type { LoopOptionsInput, LoopSpec } from "../loop/spec.js";
import type { Runtime } from "../runtime.js";
import { InvalidInputError } from "../session/errors.js";
import { action, exitWhenFlushed } from "./fail.js";
import { openRuntime } from "./open.js";
import { wireSignals } from "./signals.js";

type Describe = typeof import("../loop/describe.js");

interface LoopCliOptions extends Omit<LoopOptionsInput, "prompt" | "noProgress"> {
  format: string;
  /** Commander files `--no-progress <n>` under the name of a negated `--progress`, and sets it to true when absent. */
  progress?: string | boolean;
}

function optionsInput({ progress, format: _format, ...rest }: LoopCliOptions): Omit<LoopOptionsInput, "prompt"> {
  return { ...rest, ...(typeof progress === "string" ? { noProgress: progress } : {}) };
}

function checkFormat(format: string): "text" | "json" {
  if (format !== "text" && format !== "json") throw new InvalidInputError(`--format must be text or json, not ${format}`);
  return format;
}

/** The stop and limit options, shared by `ode loop` and `ode loop resume`. */
function limitOptions(command: Command): Command {
  return command
    .option("-m, --model <provider/model>", "model for every iteration")
    .option("--max-iterations <n>", "stop after N iterations (default 10; 0 = unlimited)")
    .option("--min-iterations <n>", "do not complete before N iterations")
    .option("--completion-promise <text>", "complete when an iteration's final answer contains <promise>TEXT</promise>")
    .option("--until <command>", "after each iteration run COMMAND in the project (with that iteration's session env); exit 0 completes")
    .option("--iteration-timeout <ms>", "abort an iteration after MS milliseconds (source timeout, via loop); the loop goes on")
    .option("--max-duration <ms>", "stop the whole loop after MS milliseconds")
    .option("--max-tokens <n>", "stop once the iterations used N tokens in all")
    .option("--no-progress <n>", "stop after N iterations in a row that changed nothing in the working tree")
    .option("--max-failures <n>", "stop after N iterations in a row that ended in a model error (default 3)")
    .option("--on-limit <action>", "on a provider rate limit or quota error: stop (default) or wait for its retry-after")
    .option("--format <format>", "text or json (one JSON event per line)", "text");
}

/**
 * Prints the loop as it goes: a line per iteration start and end, or every event as JSON with its loopID. It
 * subscribes before the loop starts, and the loop it prints is the first one to start (this process runs one).
 */
function renderLoop(rt: Runtime, format: "text" | "json", describe: Describe): () => void {
  let loopID: string | undefined;
  const sessions = new Set<string>();
  return rt.events.subscribe((event: OdeEvent) => {
    if (event.type === "loop.started") loopID ??= event.properties.loopID;
    if (event.type === "loop.iteration.started" && event.properties.loopID === loopID) sessions.add(event.sessionID);
    const ours = event.type.startsWith("loop.") ? (event.properties as { loopID?: string }).loopID === loopID : sessions.has(event.sessionID);
    if (!ours) return;
    if (format === "json") {
      process.stdout.write(JSON.stringify({ ...event.properties, type: event.type, loopID, sessionID: event.sessionID, timestamp: Date.now() }) + "\n");
      return;
    }
    if (event.type === "loop.started") process.stdout.write(`loop ${loopID} "${event.properties.name}"${event.properties.resumed ? " resumed" : ""}\n`);
    if (event.type === "loop.iteration.started") process.stdout.write(`#${event.properties.iteration} ${event.sessionID} started\n`);
    if (event.type === "loop.iteration.finished") process.stdout.write(`${describe.iterationLine(event.properties.iteration)}\n`);
  });
}

/** Runs a loop in this process until it stops; signals stop it with their provenance. Returns the exit code. */
async function runInForeground(rt: Runtime, start: () => LoopHandle, format: "text" | "json"): Promise<number> {
  const describe = await import("../loop/describe.js");
  const stopRender = renderLoop(rt, format, describe);
  const handle = start();
  // The first signal stops the loop; a second one escalates the running iteration's abort to hard.
  const detach = wireSignals((meta) => handle.abort(meta));
  try {
    const result = await handle.done;
    if (format === "text") {
      const loop = rt.loops.get(result.loopID);
      const iterations = rt.loops.iterations(result.loopID);
      const tokens = iterations.reduce((sum, it) => sum + it.tokens, 0);
      const took = (((loop.ended_at ?? Date.now()) - loop.started_at) / 1000).toFixed(1);
      process.stdout.write(`loop ${result.loopID} stopped after ${result.iterations} iterations (${took} s, ${tokens} tokens): ${describe.stopLine(loop)}\n`);
    }
    return result.exitCode;
  } finally {
    detach();
    stopRender();
  }
}

/** `ode loop` and `ode loop resume`: check the spec and the model, run the loop here, exit with its code. */
async function runLoopCommand(format: string, makeSpec: (rt: Runtime) => LoopSpec, resume?: string): Promise<void> {
  const checked = checkFormat(format);
  const { startLoop } = await import("../loop/run-loop.js");
  const { modelSpec, pickModelName } = await import("../provider/provider.js");
  const rt = await openRuntime({ tracing: true });
  const spec = makeSpec(rt);
  // A misconfigured model fails here, before the loop row and its next session are written.
  modelSpec(rt.config, pickModelName(rt.config, spec.model, rt.env), rt.env);
  const code = await runInForeground(rt, () => startLoop(rt, spec, resume ? { resume } : {}), checked);
  await rt.tracing?.shutdown();
  rt.close();
  exitWhenFlushed(code);
}

export function registerLoop(program: Command): void {
  const loop = limitOptions(
    program
      .command("loop")
      .description("run the same prompt again and again, a fresh session per iteration, until a stop condition holds")
      .argument("[message...]", "the prompt (or --prompt-file)")
      .option("--prompt-file <file>", "read the prompt from FILE, again at each iteration")
      .option("--name <name>", "the loop's name (default: the first words of the prompt)")
      .option("--title-template <template>", "each iteration's session title; {name}, {n}, {loop} are replaced", "{name} #{n}"),
  ).action(
    action(async (words: string[], opts: LoopCliOptions) => {
      const { loopSpec } = await import("../loop/spec.js");
      await runLoopCommand(opts.format, (rt) => loopSpec({ ...optionsInput(opts), ...(words.length ? { prompt: words.join(" ") } : {}) }, rt.directory));
    }),
  );

  loop
    .command("list")
    .description("loops, newest first")
    .option("--format <format>", "text or json", "text")
    .action(
      action(async (opts: { format: string }) => {
        const format = checkFormat(opts.format);
        const rt = await openRuntime();
        const loops = rt.loops.list();
        if (format === "json") process.stdout.write(JSON.stringify(loops, null, 2) + "\n");
        else {
          const { stopLine } = await import("../loop/describe.js");
          for (const l of loops) {
            const n = rt.loops.lastIteration(l.id)?.n ?? 0;
            process.stdout.write(`${l.id}  ${new Date(l.started_at).toISOString()}  ${n} iterations  ${stopLine(l)}  ${l.name}\n`);
          }
        }
        rt.close();
      }),
    );

  loop
    .command("show")
    .description("a loop and a table of its iterations: session, outcome, provenance, tokens, files changed")
    .argument("<id>")
    .option("--format <format>", "text or json", "text")
    .action(
      action(async (id: string, opts: { format: string }) => {
        const format = checkFormat(opts.format);
        const rt = await openRuntime();
        const record = rt.loops.get(id);
        const iterations = rt.loops.iterations(id);
        if (format === "json") process.stdout.write(JSON.stringify({ ...record, iterations }, null, 2) + "\n");
        else {
          const { loopTable } = await import("../loop/describe.js");
          process.stdout.write(loopTable(record, iterations, (s) => rt.store.findSession(s)?.title ?? "(deleted)") + "\n");
        }
        rt.close();
      }),
    );

  limitOptions(
    loop.command("resume").description("continue a loop that stopped (a limit, an abort, a crash), numbering on").argument("<id>"),
  ).action(
    action(async (id: string, opts: LoopCliOptions) => {
      const { resumeSpec } = await import("../loop/spec.js");
      await runLoopCommand(opts.format, (rt) => resumeSpec(rt.loops.get(id), optionsInput(opts), rt.directory), id);
    }),
  );

  loop
    .command("abort")
    .description("stop a running loop, also one run by another ode process")
    .argument("<id>")
    .option("--reason <text>", "why; stored with the loop's stop and the iteration's abort")
    .action(
      action(async (id: string, opts: { reason?: string }) => {
        const rt = await openRuntime();
        const result = rt.loops.requestAbort(id, { source: "user", via: "loop abort", ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
        process.stdout.write(result.aborted ? `aborting loop ${id}\n` : `loop ${id} is not running\n`);
        rt.close();
      }),
    );
}
