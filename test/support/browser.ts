import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium, installed by the test command (scripts/ensure-chromium.sh); playwright downloads nothing. */
export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = path.resolve(import.meta.dirname, "..", "..", "test-artifacts");

export interface Tab {
  page: Page;
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Every request other than the page itself: a self-contained report makes none. */
  requests: string[];
  open(file: string): Promise<void>;
  /** A screenshot under test-artifacts/, to look at: of the whole page, or of the window when `fullPage` is false. */
  screenshot(name: string, fullPage?: boolean): Promise<string>;
  close(): Promise<void>;
}

export interface Browser {
  page(viewport?: { width: number; height: number }): Promise<Tab>;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, no sandbox (root in CI) and none of its own background traffic. */
export async function openBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ode-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  return {
    async page(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const errors: string[] = [];
      const requests: string[] = [];
      let document = "";
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("request", (r) => {
        if (r.url() !== document) requests.push(r.url());
      });
      return {
        page,
        errors,
        requests,
        async open(file) {
          document = `file://${path.resolve(file)}`;
          await page.goto(document, { waitUntil: "load", timeout: 60_000 });
        },
        async screenshot(name, fullPage = true) {
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          const file = path.join(ARTIFACTS, `${name}.png`);
          await page.screenshot({ path: file, fullPage });
          return file;
        },
        close: () => page.close(),
      };
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
