import { StringDecoder } from "node:string_decoder";
import { z } from "zod";
import { runCommand } from "../shell/spawn.js";
import { sessionEnv, type TitleLookup } from "../shell/env.js";
import { OutputTail } from "./truncate.js";
import { defineTool, ToolInterruptedError, type ToolDefinition } from "./tool.js";

export const DEFAULT_BASH_TIMEOUT_MS = 120_000;
const MAX_BASH_TIMEOUT_MS = 600_000;

const input = z.object({
  command: z.string().describe("The shell command to run (bash -c) in the project directory"),
  timeout: z
    .number()
    .int()
    .positive()
    .max(MAX_BASH_TIMEOUT_MS)
    .optional()
    .describe(`Timeout in milliseconds (default ${DEFAULT_BASH_TIMEOUT_MS}, at most ${MAX_BASH_TIMEOUT_MS})`),
  description: z.string().optional().describe("A few words on what the command does"),
});

export function createBashTool(sessions: TitleLookup): ToolDefinition<z.infer<typeof input>> {
  return defineTool({
    name: "bash",
    description:
      "Run a shell command in the project directory. Output (stdout and stderr together) is truncated to its last 2000 lines / 50 KiB; the full output is then saved to a file whose path the result names.",
    inputSchema: input,
    async execute(args, ctx) {
      // Call ids repeat across sessions (scripted models, some providers); the message id makes the file unique.
      const tail = new OutputTail({ dataDir: ctx.dataDir, id: `${ctx.messageID}_${ctx.callID}` });
      const timeoutMs = args.timeout ?? DEFAULT_BASH_TIMEOUT_MS;
      // A chunk may end inside a multi-byte character; the decoder carries it over to the next one.
      const live = ctx.onOutput && new StringDecoder("utf8");
      const result = await runCommand(args.command, {
        cwd: ctx.directory,
        env: Object.assign(sessionEnv(sessions, ctx.sessionID), ctx.spawnEnv),
        signal: ctx.abortSignal,
        killNow: ctx.killSignal,
        onSpawn: ctx.recordProcessGroup,
        timeoutMs,
        onOutput: (chunk) => {
          tail.push(chunk);
          if (live) ctx.onOutput!(live.write(chunk));
        },
      });
      const out = tail.finish();
      const metadata: Record<string, unknown> = {
        output: out.output,
        exit: result.exitCode,
        truncated: out.truncated,
        ...(out.outputPath ? { outputPath: out.outputPath } : {}),
        ...(out.saveError ? { outputSaveError: out.saveError } : {}),
      };
      if (result.outputCut) metadata.outputCut = true;
      if (result.interrupted) throw new ToolInterruptedError(out.output, metadata);
      let output = out.output || "(no output)";
      if (result.outputCut) output += `\n\n[background processes kept the output open after the command exited; what they printed later is not shown]`;
      if (result.timedOut) {
        metadata.timedOut = true;
        output += `\n\n[command timed out after ${timeoutMs} ms and was killed]`;
      } else if (result.exitCode !== 0) {
        output += `\n\n[exit code ${result.exitCode ?? result.signal}]`;
      }
      return { title: args.description ?? args.command, output, metadata };
    },
  });
}
