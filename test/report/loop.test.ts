import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLoopExport } from "../../src/export/loop-export.js";
import { loopView } from "../../src/report/loop-data.js";
import { renderLoopReport } from "../../src/report/loop.js";
import { showLoop } from "../loop/support.js";
import { startServer } from "../server/support.js";
import { openBrowser, type Browser } from "../support/browser.js";
import { runOde, scriptedConfig, tempDir } from "../support/ode.js";
import { writePage } from "./support.js";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Without the lines two renderings may differ in: export time, and the release (an unbundled server says `local`). */
const withoutExportTimes = (page: string) => page.replace(/<tr><th>(exported|release)<\/th><td>[^<]*<\/td><\/tr>/g, "");

const C = { prompt: "canary-loop-prompt", name: "canary-loop-name", promise: "CANARYDONE", output: "canary-loop-output" };
/**
 * Every iteration writes a file and answers with the promise; the second one hangs until its timeout, 5 s because the
 * others must finish inside it on a busy machine.
 */
const COMMAND = `echo ${C.output}; if [ "$ODE_LOOP_ITERATION" = 2 ]; then sleep 30; fi; touch "file-$ODE_LOOP_ITERATION.txt"`;
const SCRIPT = { steps: [{ tool_calls: [{ name: "bash", input: { command: COMMAND } }] }, { text: `Done. <promise>${C.promise}</promise>` }] };
const LOOP_ARGS = ["--no-progress", "5", "--name", C.name, "--min-iterations", "3", "--completion-promise", C.promise, "--iteration-timeout", "5000", C.prompt];

describe("the loop view", () => {
  it("ode report --loop and GET /loop/:id/report: a row per iteration, the stop reason on top, rows linking to sessions", async () => {
    const server = await startServer(scriptedConfig(SCRIPT));
    const project = server.project;
    expect((await runOde(project, ["loop", ...LOOP_ARGS])).code).toBe(0);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("completed");
    expect(loop.iterations.map((it) => it.outcome)).toEqual(["completed", "aborted", "completed"]);

    const written = await runOde(project, ["report", "--loop", loop.id]);
    expect(written.code).toBe(0);
    const tab = await browser.page();
    await tab.open(path.join(project.dir, `${loop.id}.html`));
    const page = tab.page;
    expect(tab.errors).toEqual([]);
    expect(tab.requests).toEqual([]);

    expect(await page.locator(".stop").getAttribute("data-stop")).toBe("completed");
    const rows = page.locator("tr.iteration-row");
    expect(await rows.count()).toBe(3);
    for (const it of loop.iterations) {
      const row = rows.nth(it.n - 1);
      const cells = await row.locator("td").allTextContents();
      expect(cells[0]).toBe(String(it.n));
      expect(cells[1]).toContain(it.session_id);
      expect(cells[2]).toBe(it.outcome);
      expect(await row.locator(".bar.run").getAttribute("href")).toBe(`#iter-${it.n}`);
      // Each iteration's session is in the page, its timeline's links resolving inside its own section.
      const section = page.locator(`section#iter-${it.n}`);
      expect(await section.locator("table.facts").textContent()).toContain(it.session_id);
      const href = await section.locator(".bar.tool").getAttribute("href");
      expect(href!.startsWith(`#i${it.n}-prt_`)).toBe(true);
      expect(await section.locator(`[id="${href!.slice(1)}"]`).count()).toBe(1);
    }
    expect(await rows.nth(0).locator("td").nth(7).textContent()).toBe("promise found");
    const abort = rows.nth(1).locator(".abort");
    expect(await abort.getAttribute("data-source")).toBe("timeout");
    expect(await abort.getAttribute("data-phase")).toBe("tool");
    expect(await rows.nth(1).locator("td").nth(3).textContent()).toContain("aborted by timeout");
    await tab.screenshot("report-loop", false);
    await rows.nth(1).locator("td a").first().click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#iter-2");
    expect(tab.errors).toEqual([]);
    await tab.close();

    // The server serves the same page; sanitized, no canary is left (the plain page has them all).
    const served = await (await fetch(`${server.url}/loop/${loop.id}/report`)).text();
    expect(withoutExportTimes(served)).toBe(withoutExportTimes(renderLoopReport(loopView(buildLoopExport(server.rt, loop.id)))));
    for (const canary of Object.values(C)) expect(served).toContain(canary);
    const sanitized = await (await fetch(`${server.url}/loop/${loop.id}/report?sanitize=1`)).text();
    const cli = await runOde(project, ["report", "--loop", loop.id, "--sanitize", "-o", "-"]);
    expect(withoutExportTimes(cli.stdout)).toBe(withoutExportTimes(sanitized));
    for (const canary of Object.values(C)) expect(sanitized).not.toContain(canary);
    const clean = await browser.page();
    await clean.open(writePage(tempDir(), "loop-sanitized.html", sanitized));
    expect(await clean.page.locator("tr.iteration-row").count()).toBe(3);
    expect(clean.errors).toEqual([]);
    await clean.close();

    const missing = await fetch(`${server.url}/loop/lop_missing/report`);
    expect(missing.status).toBe(404);
    const both = await runOde(project, ["report", loop.iterations[0]!.session_id, "--loop", loop.id]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("ode: give a session id or --loop, not both\n");
  }, 90_000);
});
