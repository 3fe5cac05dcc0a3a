import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExportDocument } from "../../src/export/snapshot.js";
import { renderLoopReport, type LoopIterationView, type LoopView } from "../../src/report/loop.js";
import { sessionTotals } from "../../src/report/session.js";
import type { ToolPart } from "../../src/session/schema.js";
import { openBrowser, type Browser } from "../support/browser.js";
import { makeProject, runOde, scriptedConfig, tempDir } from "../support/ode.js";
import { exportOf, writePage } from "./support.js";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const write = (name: string) => ({ name: "write", input: { filePath: name, content: "x\n" } });

/** Three real sessions as a loop's iterations: no promise yet, killed by the run timeout, then the promise. */
const ITERATIONS = [
  { steps: [{ tool_calls: [write("a.txt")] }, { text: "Started; more to do." }], args: [] as string[], code: 0 },
  { steps: [{ tool_calls: [{ name: "bash", input: { command: "sleep 30" } }] }, { text: "never" }], args: ["--timeout", "1500"], code: 130 },
  { steps: [{ tool_calls: [write("b.txt"), write("c.txt")] }, { text: "All done. <promise>DONE</promise>" }], args: [], code: 0 },
];

function filesChanged(doc: ExportDocument): number {
  const files = new Set<string>();
  for (const { parts } of doc.messages) {
    for (const part of parts) {
      const tool = part as ToolPart;
      if (part.type === "tool" && tool.tool === "write" && tool.state.status === "completed") files.add((tool.state.input as { filePath: string }).filePath);
    }
  }
  return files.size;
}

async function loopOfRealSessions(): Promise<LoopView> {
  const iterations: LoopIterationView[] = [];
  for (const [i, it] of ITERATIONS.entries()) {
    const project = makeProject(scriptedConfig({ title: `Iteration ${i + 1} title`, steps: it.steps }));
    expect((await runOde(project, ["run", ...it.args, "do the next task"])).code).toBe(it.code);
    const doc = exportOf(project);
    const run = doc.diagnostics.loop.runs[0]!;
    const { tokens } = sessionTotals(doc);
    const answer = doc.messages.at(-1)!.parts.find((p) => p.type === "text");
    const promise = answer && "text" in answer ? (/<promise>(.*?)<\/promise>/.exec(answer.text)?.[1] ?? null) : null;
    iterations.push({
      n: i + 1,
      session_id: doc.info.id,
      title: doc.info.title,
      outcome: run.outcome!,
      stop: i === ITERATIONS.length - 1 ? "completed" : null,
      abort: doc.diagnostics.aborts[0] ?? null,
      started_at: run.started_at,
      ended_at: run.ended_at,
      tokens: tokens.input + tokens.output + tokens.reasoning,
      files_changed: filesChanged(doc),
      promise,
      until_exit: null,
      export: doc,
    });
  }
  return {
    id: "lop_2166fb595000LoopReportTst1",
    stop_reason: "completed",
    abort: null,
    started_at: iterations[0]!.started_at,
    ended_at: iterations.at(-1)!.ended_at,
    prompt: "do the next task",
    options: { max_iterations: 5, completion_promise: "DONE" },
    iterations,
  };
}

describe("the loop view", () => {
  it("one row per iteration on a shared axis, the stop reason on top, each row linking to its session", async () => {
    const loop = await loopOfRealSessions();
    const tab = await browser.page();
    await tab.open(writePage(tempDir(), "loop.html", renderLoopReport(loop)));
    const page = tab.page;
    expect(tab.errors).toEqual([]);
    expect(tab.requests).toEqual([]);

    const stop = page.locator(".stop");
    expect(await stop.getAttribute("data-stop")).toBe("completed");
    expect(await stop.textContent()).toContain('promise "DONE" found in iteration 3');

    const rows = page.locator("tr.iteration-row");
    expect(await rows.count()).toBe(3);
    expect(await rows.evaluateAll((all) => all.map((r) => (r as HTMLElement).dataset.n))).toEqual(["1", "2", "3"]);
    for (const it of loop.iterations) {
      const row = rows.nth(it.n - 1);
      const cells = await row.locator("td").allTextContents();
      expect(cells.slice(0, 3)).toEqual([String(it.n), `Iteration ${it.n} title${it.session_id}`, it.outcome]);
      expect(cells[6]).toBe(String([1, 0, 2][it.n - 1]));
      expect(await row.locator(".bar.run").getAttribute("href")).toBe(`#iter-${it.n}`);
      // Each iteration's session is in the page, its timeline's links resolving inside its own section.
      const section = page.locator(`section#iter-${it.n}`);
      expect(await section.locator("table.facts").textContent()).toContain(it.session_id);
      const hrefs = await section.locator(".bar.tool").evaluateAll((bars) => bars.map((b) => b.getAttribute("href")!));
      expect(hrefs.length).toBe([1, 1, 2][it.n - 1]);
      for (const href of hrefs) {
        expect(href.startsWith(`#i${it.n}-prt_`)).toBe(true);
        expect(await section.locator(`[id="${href.slice(1)}"]`).count()).toBe(1);
      }
    }
    expect(await rows.nth(2).locator("td").nth(7).textContent()).toBe('promise "DONE"');
    const abort = rows.nth(1).locator(".abort");
    expect(await abort.getAttribute("data-source")).toBe("timeout");
    expect(await abort.getAttribute("data-reason")).toBe("run timeout of 1500 ms");
    expect(await rows.nth(1).locator("td").nth(3).textContent()).toContain("aborted by timeout via timeout (soft) during tool");

    await tab.screenshot("report-loop", false);
    await rows.nth(1).locator("td a").first().click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#iter-2");
    expect(await page.locator("section#iter-2 h2").first().isVisible()).toBe(true);
    expect(tab.errors).toEqual([]);
    await tab.close();
  }, 60_000);
});
