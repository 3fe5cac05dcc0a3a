// Issue 19: `ode report` of a 10,000-message / 50,000-part session (made with `ode import`): the HTML's size
// against the export's, the time to write it, and the time Debian's chromium takes to render it.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openBrowser } from "../test/support/browser.js";
import { sessionDocument } from "./session-document.js";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const RUNS = 3;
const SESSION = "ses_000000000002bench10k000000";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-report-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const source = path.join(dir, "session.json");
fs.writeFileSync(source, sessionDocument(SESSION, 5000));
execFileSync(process.execPath, [ODE, "import", source], { env, stdio: ["ignore", "ignore", "inherit"] });

const exported = path.join(dir, "export.json");
execFileSync(process.execPath, [ODE, "export", SESSION, "-o", exported], { env });
const page = path.join(dir, "report.html");
const writeMs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [ODE, "report", SESSION, "-o", page], { env, stdio: ["ignore", "ignore", "ignore"] });
  writeMs.push(Number(process.hrtime.bigint() - start) / 1e6);
}
const sanitizedPage = path.join(dir, "report.sanitized.html");
execFileSync(process.execPath, [ODE, "report", SESSION, "--sanitize", "-o", sanitizedPage], { env, stdio: ["ignore", "ignore", "ignore"] });

const browser = await openBrowser();
/**
 * From navigation start to the first frame painted after the load event: parsing, style, layout of the whole
 * document (the conversation's turns are laid out lazily by `content-visibility`, as a reader scrolls).
 */
async function renderMs(file: string): Promise<number> {
  const tab = await browser.page();
  await tab.open(file);
  const ms = await tab.page.evaluate(
    () => new Promise<number>((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0))),
  );
  if (tab.errors.length > 0 || tab.requests.length > 0) throw new Error(`page errors or requests: ${[...tab.errors, ...tab.requests].join("; ")}`);
  await tab.close();
  return ms;
}
const render: number[] = [];
for (let i = 0; i < RUNS; i++) render.push(await renderMs(page));
const renderSanitized = await renderMs(sanitizedPage);
await browser.close();

const htmlBytes = fs.statSync(page).size;
const exportBytes = fs.statSync(exported).size;
report(`ode report, 10,000 messages / 50,000 parts (median of ${RUNS})`, median(writeMs), "ms");
report("  export size (ode export)", exportBytes / 2 ** 20, "MiB");
report("  report size", htmlBytes / 2 ** 20, "MiB");
report("  report / export size", htmlBytes / exportBytes, "ratio", "< 2");
report("  sanitized report / export size", fs.statSync(sanitizedPage).size / exportBytes, "ratio", "< 2");
report(`chromium: navigation to first frame after load (median of ${RUNS})`, median(render), "ms", "< 2000");
report("  sanitized report", renderSanitized, "ms", "< 2000");
// Reading the file dominates the render time and slows with everything else on the machine: say how busy it was.
report("  load average over the last minute (2 cores)", os.loadavg()[0]!, "ratio");
fs.rmSync(dir, { recursive: true, force: true });
