import type { Command } from "commander";
import { action, outcomeExitCode } from "./fail.js";
import { openRuntime } from "./open.js";
import { wireRunSignals } from "./signals.js";

export function registerShell(program: Command): void {
  program
    .command("shell")
    .description("run a shell command as the user in a session's context (like !cmd in the prompt)")
    .argument("<sessionID>")
    .argument("<command...>")
    // `ode shell ID ls -la`: everything after the session id belongs to the command, options included.
    .passThroughOptions()
    .action(
      action(async (sessionID: string, words: string[]) => {
        const { runShell } = await import("../agent/shell.js");
        const rt = await openRuntime({ tracing: true });
        const unwire = wireRunSignals(rt, sessionID);
        const result = await runShell(rt, { sessionID, command: words.join(" ") });
        unwire();
        await rt.tracing?.shutdown();
        process.stdout.write(result.output);
        if (result.error) process.stderr.write(`ode: ${result.error}\n`);
        rt.close();
        process.exitCode = result.outcome === "completed" ? (result.exitCode ?? 1) : outcomeExitCode(result.outcome);
      }),
    );
}
