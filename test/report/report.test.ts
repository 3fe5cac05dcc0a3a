import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { renderSessionReport } from "../../src/report/session.js";
import { sessionDocument } from "../../bench/session-document.js";
import { runAndAbort } from "../export/support.js";
import { Canaries, GENERATED, importAndExport, richExport, runtimeCanaries } from "../export/canaries.js";
import { openBrowser, type Browser, type Tab } from "../support/browser.js";
import { collect, makeProject, ODE, runOde, scriptedConfig, tempDir } from "../support/ode.js";
import { abortedSession, exportOf, SCRIPT, USER_REASON, writePage } from "./support.js";

let browser: Browser;
beforeAll(async () => {
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Opens a page and checks what every report must satisfy: no console error and no request of any kind. */
async function open(file: string): Promise<Tab> {
  const tab = await browser.page();
  await tab.open(file);
  expect(tab.errors).toEqual([]);
  expect(tab.requests).toEqual([]);
  return tab;
}

describe("ode report: the session view", () => {
  it("draws one bar per tool call, a marker per abort on the step or tool it interrupted, with its provenance", async () => {
    const project = await abortedSession();
    const doc = exportOf(project);
    const result = await runOde(project, ["report"]);
    expect(result.code).toBe(0);
    const file = path.join(project.dir, `${doc.info.id}.html`);
    expect(result.stderr).toBe(`ode: report written to ${doc.info.id}.html\n`);

    const tab = await open(file);
    const page = tab.page;
    expect(doc.runtime.stats.tool_calls).toBe(3);
    const toolParts = doc.messages.flatMap((m) => m.parts).filter((p) => p.type === "tool");
    expect(await page.locator(".lane[data-lane=tools] .bar.tool").count()).toBe(toolParts.length);
    expect(await page.locator(".lane[data-lane=tools] .bar.tool").evaluateAll((bars) => bars.map((b) => b.getAttribute("href")))).toEqual(
      toolParts.map((p) => `#${p.id}`),
    );
    expect(await page.locator(".lane[data-lane=runs] .bar.run").count()).toBe(3);
    expect(await page.locator(".lane[data-lane=steps] .bar.step").count()).toBe(doc.messages.filter((m) => m.info.role === "assistant").length);
    expect(await page.locator(".lane[data-lane=title] .bar.title.applied").count()).toBe(1);

    expect(doc.diagnostics.aborts.map((a) => [a.source, "phase" in a ? a.phase : undefined])).toEqual([
      ["timeout", "tool"],
      ["user", "model"],
    ]);
    expect(await page.locator(".abort").count()).toBe(2);
    const timeout = page.locator('.lane[data-lane=tools] .abort[data-source="timeout"]');
    await expect.poll(() => timeout.getAttribute("data-reason")).toBe("timeout after 3000 ms");
    expect(await timeout.getAttribute("data-phase")).toBe("tool");
    // The interrupted tool call: the marker links to it and sits at its end.
    const sleepPart = toolParts[2]!;
    expect(await timeout.getAttribute("href")).toBe(`#${sleepPart.id}`);
    const user = page.locator('.lane[data-lane=steps] .abort[data-source="user"]');
    expect(await user.getAttribute("data-reason")).toBe(USER_REASON);
    expect(await user.getAttribute("data-via")).toBe("cli");
    const label = await user.locator(".tip").textContent();
    for (const word of ["aborted by user", "via cli", "(soft)", "during model", USER_REASON, "title generation: completed_before_abort"]) {
      expect(label).toContain(word);
    }
    await user.hover();
    expect(await user.locator(".tip").isVisible()).toBe(true);

    // Header: what produced the session, at a glance.
    const facts = await page.locator("table.facts").textContent();
    const version = (await runOde(project, ["--version"])).stdout.trim();
    for (const fact of [doc.info.id, doc.info.directory, `ode ${version}`, "demo/scripted", "3 tool calls", "3 runs", "2 aborts"]) expect(facts).toContain(fact);
    expect(await page.locator("h2.session-title").textContent()).toBe(SCRIPT.title);

    // Conversation: tool calls collapsed; the long output cut with its size shown; a bar opens its tool call.
    const tools = page.locator(".conversation details.tool");
    expect(await tools.count()).toBe(3);
    expect(await tools.evaluateAll((all) => all.every((d) => !(d as HTMLDetailsElement).open))).toBe(true);
    const long = page.locator(`details#${toolParts[1]!.id}`);
    expect(await long.locator(".omitted").textContent()).toMatch(/more characters not shown \(\d+\.\d KiB in all\)/);
    await page.locator(`.bar.tool[href="#${sleepPart.id}"]`).click();
    await expect.poll(() => page.locator(`details#${sleepPart.id}`).evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await page.locator(".abort-note").count()).toBe(2);
    expect(tab.errors).toEqual([]);
    expect(tab.requests).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await tab.screenshot("report-session");
    await tab.close();

    // Without JavaScript the header, the timeline and the markers are all there: they are in the HTML itself.
    const stdout = await runOde(project, ["report", "-o", "-"]);
    expect(stdout.code).toBe(0);
    expect(stdout.stderr).toBe("");
    expect(stdout.stdout.startsWith("<!doctype html>")).toBe(true);
    const withoutScript = stdout.stdout.replace(/<script>[\s\S]*?<\/script>/g, "");
    expect(withoutScript).not.toContain("<script>");
    const noScript = await open(writePage(tempDir(), "no-js.html", withoutScript));
    expect(await noScript.page.locator("table.facts").textContent()).toContain("2 aborts");
    expect(await noScript.page.locator(".bar.tool").count()).toBe(3);
    expect(await noScript.page.locator(".abort").count()).toBe(2);
    await noScript.close();
  }, 60_000);

  it("names a missing session in one line and exits 2", async () => {
    const result = await runOde(makeProject(),  ["report", "ses_missing", "-o", "-"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("ses_missing");
  });
});

describe("ode report --sanitize", () => {
  it("a canary-laden export: the plain report shows every canary, the sanitized one none", async () => {
    const k = new Canaries();
    const doc = runtimeCanaries(importAndExport(richExport(k, GENERATED), GENERATED.S), k);
    // The report shows fewer fields than the export; those it shows carry their canary in the plain page.
    const plain = renderSessionReport(doc);
    const shown = k.all.filter((c) => /^canary-(title|prompt|reasoning|command|output|tool-title|dir|abort-reason|abort-error|api-error|filename)-\d+$/.test(c));
    expect(shown.length).toBeGreaterThanOrEqual(10);
    for (const canary of shown) expect(plain).toContain(canary);
    const sanitized = renderSessionReport(sanitizeExport(doc), { sanitized: true });
    for (const canary of k.all) expect(sanitized).not.toContain(canary);
    const tab = await open(writePage(tempDir(), "sanitized.html", sanitized));
    expect(await tab.page.locator(".abort").count()).toBe(doc.diagnostics.aborts.length);
    await tab.screenshot("report-sanitized");
    await tab.close();
  }, 60_000);

  it("a real run: prompt, output, title, path, model and abort reason never reach the page", async () => {
    const C = { provider: "canaryprov", model: "canarymodel", title: "canary-title", prompt: "canary-prompt", output: "canary-output", reason: "canary-reason" };
    const script = {
      title: C.title,
      turns: [
        [{ reasoning: "canary-reasoning", tool_calls: [{ name: "bash", input: { command: `echo ${C.output}` } }] }, { text: "canary-answer" }],
        [{ delay_ms: 60_000, text: "never" }],
      ],
    };
    const config = { model: `${C.provider}/${C.model}`, provider: { [C.provider]: { type: "scripted", options: { script } } } };
    const project = makeProject();
    const dir = path.join(project.dir, "canary-directory");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify(config));
    expect((await runOde(project, ["run", `please ${C.prompt}`], { cwd: dir })).code).toBe(0);
    await runAndAbort(project, ["--continue", "stall"], ["--reason", C.reason], dir);

    const plain = await runOde(project, ["report", "-o", "-"], { cwd: dir });
    const all = [...Object.values(C), "canary-reasoning", "canary-answer", "canary-directory"];
    for (const canary of all) expect(plain.stdout).toContain(canary);
    const result = await runOde(project, ["report", "--sanitize", "-o", "-"], { cwd: dir });
    expect(result.code).toBe(0);
    for (const canary of all) expect(result.stdout.toLowerCase()).not.toContain(canary.toLowerCase());
    expect(result.stdout).toContain("Sanitized:");
    const tab = await open(writePage(tempDir(), "real-sanitized.html", result.stdout));
    expect(await tab.page.locator('.abort[data-source="user"]').count()).toBe(1);
    await tab.close();
  }, 60_000);
});

describe("the page escapes every value", () => {
  it("a title and a prompt made of markup show as text, run nothing and load nothing", async () => {
    const title = `<img src="x" onerror="window.pwned=1">"'&`;
    const prompt = `</script><script>window.pwned=2</script><a href="https://example.invalid/">x</a>`;
    const project = makeProject(scriptedConfig({ steps: [{ tool_calls: [{ name: "bash", input: { command: `echo '${prompt}'` } }] }, { text: prompt }] }));
    expect((await runOde(project, ["run", "--title", title, prompt])).code).toBe(0);
    const result = await runOde(project, ["report", "-o", "-"]);
    const tab = await open(writePage(tempDir(), "escaped.html", result.stdout));
    const page = tab.page;
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("a[href^='https:']").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.locator("h2.session-title").textContent()).toBe(title);
    expect(await page.locator(".msg.user .text").textContent()).toBe(prompt);
    await tab.close();
  });
});

describe("a long session", () => {
  it("draws full lanes as density and keeps later turns out of the page until opened or linked to", async () => {
    const id = "ses_000000000001reportLong0001";
    const doc = importAndExport(JSON.parse(sessionDocument(id, 600)), id);
    const tab = await open(writePage(tempDir(), "long.html", renderSessionReport(doc)));
    const page = tab.page;
    expect(await page.locator(".lane[data-lane=tools] .lane-name").textContent()).toContain("1,200 tool calls, as density");
    expect(await page.locator(".lane[data-lane=tools] .bar.dense").count()).toBeLessThanOrEqual(400);
    expect(await page.locator(".lane[data-lane=steps] .bar").count()).toBe(600);
    expect(await page.locator(".conversation .turn").count()).toBe(100);
    expect(await page.locator("details.turns-lazy").count()).toBe(5);

    const group = page.locator("details.turns-lazy").first();
    await group.locator("summary").click();
    await expect.poll(() => group.locator(".turn").count()).toBe(100);
    expect(await group.locator(".turn-head").first().textContent()).toContain("turn 101");

    // A link into a turn not drawn yet draws its group and opens the tool call.
    const late = doc.messages[2 * 555 + 1]!.parts.find((p) => p.type === "tool")!;
    expect(await page.locator(`[id="${late.id}"]`).count()).toBe(0);
    await page.evaluate((hash) => (location.hash = hash), late.id);
    await expect.poll(() => page.locator(`details[id="${late.id}"]`).evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(tab.errors).toEqual([]);
    expect(tab.requests).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await tab.screenshot("report-long-session", false);
    await tab.close();
  }, 60_000);
});

describe("ode report -o", () => {
  it("leaves the file as it was, and no temporary file, when the file system refuses the write", async () => {
    const project = makeProject();
    const id = "ses_000000000001reportWrite001";
    const input = path.join(project.dir, "session.json");
    fs.writeFileSync(input, sessionDocument(id, 200));
    expect((await runOde(project, ["import", input])).code).toBe(0);
    const dir = path.join(project.dir, "out");
    fs.mkdirSync(dir);
    const out = path.join(dir, "report.html");
    fs.writeFileSync(out, "the previous report\n");
    // A file size limit of 64 KiB: the write fails part way (EFBIG), as on a full disk.
    const child = spawn("bash", ["-c", `ulimit -f 64 && exec "${process.execPath}" "${ODE}" report ${id} -o "${out}"`], { env: project.env, cwd: project.dir });
    const { code, stderr } = await collect(child);
    expect(stderr).toBe(`ode: cannot write ${out}: EFBIG\n`);
    expect(code).toBe(2);
    expect(fs.readdirSync(dir)).toEqual(["report.html"]);
    expect(fs.readFileSync(out, "utf8")).toBe("the previous report\n");
  });
});
