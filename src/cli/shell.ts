import type { Command } from "commander";
import { action } from "./fail.js";

export function registerShell(program: Command): void {
  program
    .command("shell")
    .description("run a shell command as the user in a session's context (like !cmd in the prompt)")
    .argument("<sessionID>")
    .argument("<command...>")
    .action(
      action(async (sessionID: string, words: string[]) => {
        const { createRuntime } = await import("../runtime.js");
        const { runShell } = await import("../agent/shell.js");
        const rt = createRuntime();
        const onInt = () => rt.runs.cancel(sessionID, { source: "signal", via: "SIGINT" });
        process.on("SIGINT", onInt);
        const result = await runShell(rt, { sessionID, command: words.join(" ") });
        process.off("SIGINT", onInt);
        process.stdout.write(result.output);
        rt.close();
        if (result.outcome === "aborted") process.exitCode = 130;
        else if (result.outcome === "error") process.exitCode = 1;
        else process.exitCode = result.exitCode ?? 1;
      }),
    );
}
