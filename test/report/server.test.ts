import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { buildExport } from "../../src/export/snapshot.js";
import { renderSessionReport } from "../../src/report/session.js";
import { openBrowser, type Browser } from "../support/browser.js";
import { scriptedConfig, tempDir, waitFor } from "../support/ode.js";
import { startServer } from "../server/support.js";
import { writePage } from "./support.js";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** The page without its export time, the one line two renderings of the same session may differ in. */
const withoutExportTime = (page: string) => page.replace(/<tr><th>exported<\/th><td>[^<]*<\/td><\/tr>/, "");

describe("GET /session/:id/report", () => {
  it("serves the page `ode report` writes, plain and sanitized, with the API abort on it", async () => {
    const PROMPT = "list the files please";
    const REASON = "stopped from the editor";
    const script = { turns: [[{ tool_calls: [{ name: "bash", input: { command: "ls" } }] }, { text: "Listed." }], [{ delay_ms: 60_000, text: "never" }]] };
    const server = await startServer(scriptedConfig(script));
    const id: string = (await server.api("POST", "/session", { title: "served report" })).body.id;
    expect((await server.api("POST", `/session/${id}/message`, { text: PROMPT })).status).toBe(200);
    expect((await server.api("POST", `/session/${id}/prompt_async`, { text: "stall" })).status).toBe(204);
    await waitFor(() => server.rt.store.messages(id).length === 5);
    expect((await server.api("POST", `/session/${id}/abort`, { reason: REASON })).body).toBe(true);
    await waitFor(() => server.rt.runs.get(id) === undefined);

    const res = await fetch(`${server.url}/session/${id}/report`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await res.text();
    expect(withoutExportTime(page)).toBe(withoutExportTime(renderSessionReport(buildExport(server.rt, id))));
    expect(page).toContain(PROMPT);

    const tab = await browser.page();
    await tab.open(writePage(tempDir(), "served.html", page));
    expect(await tab.page.locator(".bar.tool").count()).toBe(1);
    const marker = tab.page.locator('.lane[data-lane=steps] .abort[data-source="api"]');
    expect(await marker.getAttribute("data-reason")).toBe(REASON);
    expect(await marker.getAttribute("data-via")).toBe("POST /session/:id/abort");
    expect(tab.errors).toEqual([]);
    expect(tab.requests).toEqual([]);
    await tab.close();

    const sanitized = await (await fetch(`${server.url}/session/${id}/report?sanitize=1`)).text();
    expect(withoutExportTime(sanitized)).toBe(withoutExportTime(renderSessionReport(sanitizeExport(buildExport(server.rt, id)), { sanitized: true })));
    for (const secret of [PROMPT, REASON, "served report", server.project.dir]) expect(sanitized).not.toContain(secret);

    const missing = await server.api("GET", "/session/ses_missing/report");
    expect(missing.status).toBe(404);
    expect(missing.body.data.message).toContain("ses_missing");
  }, 60_000);
});
