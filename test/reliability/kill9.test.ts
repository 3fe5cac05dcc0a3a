import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import { Runs } from "../../src/session/runs.js";
import type { ToolPart } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { startOpenAIServer } from "../support/openai-server.js";
import { collect, isTitleRequest, makeProject, mockConfig, runOde, startOde, waitFor } from "../support/ode.js";
import { markedProcesses, seeded, staleRecords } from "./support.js";

const KILLS = 32;
const LANES = 4;
const MOMENTS = ["start", "model", "tool", "late"] as const;
type Moment = (typeof MOMENTS)[number];
const SEED = Number(process.env.ODE_FAULT_SEED ?? Date.now() % 2 ** 31);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which fault run a model request belongs to: the prompt is "fault <n> <moment>". */
function faultOf(body: { messages: { role: string; content: unknown }[] }): { n: number; moment: Moment } {
  const user = body.messages.find((m) => m.role === "user");
  const match = /fault (\d+) (\w+)/.exec(JSON.stringify(user?.content))!;
  return { n: Number(match[1]), moment: match[2] as Moment };
}

describe("kill -9 of ode at random moments of a run", () => {
  it(`leaves no process alive, no record open and no wrong phase (${KILLS} kills, seed ${SEED})`, async () => {
    const random = seeded(SEED);
    const mark = `kill9-${process.pid}-${SEED}`;
    const model = await startOpenAIServer((req) => {
      const { n, moment } = faultOf(req.body);
      if (isTitleRequest(req)) return { text: `Fault ${n}` };
      if (moment === "model" || req.body.messages.at(-1).role === "tool") return { stall: true };
      const rest = moment === "late" ? "echo done" : "sleep 1000 & sleep 1000; wait";
      return { toolCalls: [{ name: "bash", arguments: { command: `echo $$ > pgid-${n}; ${rest}` } }] };
    });
    const project = makeProject(mockConfig(model.baseURL));
    const turnRequests = (n: number) => model.requests.filter((r) => !isTitleRequest(r) && faultOf(r.body).n === n).length;
    const titled = (n: number) => {
      const store = Store.open(project.dataDir);
      try {
        return store.listSessions().some((s) => s.title === `Fault ${n}`);
      } finally {
        store.close();
      }
    };

    const moments = Array.from({ length: KILLS }, (_, n) => MOMENTS[n % MOMENTS.length]!);
    let injected = 0;
    const inject = async (n: number) => {
      const moment = moments[n]!;
      const child = startOde(project, ["run", `fault ${n} ${moment}`], { env: { ODE_FAULT_MARK: mark } });
      let stderr = "";
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      const done = collect(child);
      child.stdin!.end();
      // Generous bounds: a loaded CI machine may take seconds per step; a bound that runs out names the run.
      const until = (what: string, check: () => boolean) =>
        waitFor(check, 60_000).catch(() => {
          throw new Error(`fault ${n} ${moment}: no ${what} (model requests: ${turnRequests(n)}, stderr: ${stderr})`);
        });
      if (moment === "start") {
        await sleep(random() * 600);
      } else {
        if (moment === "model") await until("model request", () => turnRequests(n) >= 1);
        if (moment === "tool") await until("tool call", () => fs.existsSync(path.join(project.dir, `pgid-${n}`)));
        if (moment === "late") await until("second model request", () => turnRequests(n) >= 2);
        await until("title", () => titled(n));
        await sleep(random() * 50);
      }
      child.kill("SIGKILL");
      const result = await done;
      expect(result.signal, `fault ${n} ${moment}: ${result.stderr}`).toBe("SIGKILL");
      injected++;
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < KILLS) await inject(next++);
      }),
    );
    await model.close();

    // The next ode to open the store recovers what the killed ones left.
    expect((await runOde(project, ["session", "list"])).code).toBe(0);
    const orphans = markedProcesses("ODE_FAULT_MARK", mark);
    for (const pid of orphans) process.kill(pid, "SIGKILL");
    const stale = staleRecords(project.dataDir);
    const wrong = wrongPhases(project.dataDir, moments);
    console.log(
      `kill -9 faults (seed ${SEED}): ${injected} injected / ${orphans.length} orphans left / ${stale.length} stale parts left / ${wrong.length} wrong phases`,
    );
    expect(injected).toBe(KILLS);
    expect(orphans).toEqual([]);
    expect(stale).toEqual([]);
    expect(wrong).toEqual([]);
  }, 180_000);
});

/** Crash diagnostics that do not say where the run really was when it was killed. */
function wrongPhases(dataDir: string, moments: readonly Moment[]): string[] {
  const store = Store.open(dataDir);
  const runs = new Runs(store);
  const wrong: string[] = [];
  try {
    for (const session of store.listSessions()) {
      const messages = store.messages(session.id);
      const prompt = messages[0]!.parts.find((p) => p.type === "text");
      const n = Number(/fault (\d+)/.exec(prompt?.type === "text" ? prompt.text : "")![1]);
      const moment = moments[n]!;
      const [row] = runs.rows(session.id);
      const abort = JSON.parse(row!.interrupt ?? "null") as AbortDiagnostic | null;
      const tool = messages.flatMap((m) => m.parts).find((p): p is ToolPart => p.type === "tool");
      const say = (what: string) => wrong.push(`fault ${n} ${moment}: ${what} (${JSON.stringify(abort)})`);
      if (!abort || abort.reason !== "crash-recovery") {
        say("no crash diagnostic");
        continue;
      }
      const interrupted = tool?.state.status === "error" && tool.state.metadata?.interrupted === true;
      const assistants = messages.filter((m) => m.info.role === "assistant");
      if (moment === "start") {
        // Killed at a random moment: the phase must agree with what the run had stored by then. A tool call the
        // model announced but that had not started yet (pending) is still the model's phase.
        const agrees =
          abort.phase === "queued"
            ? assistants.length === 0
            : abort.phase === "model"
              ? assistants.length > 0 && abort.tool_call_id === undefined
              : abort.phase === "tool" && interrupted && abort.tool_call_id === tool!.callID;
        if (!agrees) say("phase does not match the stored run");
        continue;
      }
      const expected: Partial<AbortDiagnostic> = moment === "tool" ? { phase: "tool", tool_call_id: tool?.callID } : { phase: "model" };
      if (abort.phase !== expected.phase || abort.tool_call_id !== expected.tool_call_id) say(`expected ${JSON.stringify(expected)}`);
      if (abort.title_generation_state !== "completed_before_abort") say("title state");
      if (moment === "late" && tool?.state.status !== "completed") say("the completed tool call was not kept");
    }
  } finally {
    store.close();
  }
  return wrong;
}
