import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_BYTES, MAX_LINES, OutputTail, truncateOutput } from "../../src/tool/truncate.js";
import { tempDir } from "./context.js";

function numberedLines(count: number): string {
  return Array.from({ length: count }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
}

function headerOf(output: string): string {
  return output.slice(0, output.indexOf("\n"));
}

function bodyOf(output: string): string {
  return output.slice(output.indexOf("\n") + 1);
}

describe("truncateOutput", () => {
  it("leaves short output alone and saves nothing", () => {
    const dataDir = tempDir();
    const result = truncateOutput("hello\nworld\n", { dataDir, id: "call_1" });
    expect(result).toEqual({ output: "hello\nworld\n", truncated: false });
    expect(fs.existsSync(path.join(dataDir, "tool-output"))).toBe(false);
  });

  it("does not truncate exactly MAX_LINES lines", () => {
    const text = numberedLines(MAX_LINES);
    expect(truncateOutput(text, { dataDir: tempDir(), id: "c" }).truncated).toBe(false);
  });

  it("keeps the last MAX_LINES lines and saves the full text", () => {
    const dataDir = tempDir();
    const text = numberedLines(3000);
    const result = truncateOutput(text, { dataDir, id: "call_2" });
    const savedPath = path.join(dataDir, "tool-output", "call_2.txt");
    expect(result.truncated).toBe(true);
    expect(result.outputPath).toBe(savedPath);
    expect(fs.readFileSync(savedPath, "utf8")).toBe(text);
    const body = bodyOf(result.output);
    expect(body).toBe(numberedLines(3000).split("\n").slice(1000).join("\n"));
    expect(body.startsWith("line 1001\n")).toBe(true);
    expect(body.endsWith("line 3000\n")).toBe(true);
    expect(headerOf(result.output)).toBe(
      `[output truncated: showing the last 2000 lines / ${Buffer.byteLength(body)} bytes of 3000 lines; full output saved to ${savedPath}]`,
    );
  });

  it("keeps at most MAX_BYTES, cut on a character boundary", () => {
    const dataDir = tempDir();
    // Two-byte characters plus one odd byte put a naive cut in the middle of a character.
    const text = "x" + "é".repeat(40_000);
    const result = truncateOutput(text, { dataDir, id: "call_3" });
    const body = bodyOf(result.output);
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BYTES);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BYTES - 4);
    expect(body).not.toContain("\uFFFD");
    expect(text.endsWith(body)).toBe(true);
    expect(fs.readFileSync(result.outputPath!, "utf8")).toBe(text);
  });

  it("keeps the saved file inside dataDir whatever the id", () => {
    const dataDir = tempDir();
    const result = truncateOutput(numberedLines(2500), { dataDir, id: "../../evil" });
    expect(path.dirname(result.outputPath!)).toBe(path.join(dataDir, "tool-output"));
  });
});

describe("OutputTail", () => {
  it("gives the same result as truncateOutput for small output", () => {
    const dataDir = tempDir();
    const tail = new OutputTail({ dataDir, id: "small" });
    tail.push("hello ");
    tail.push(Buffer.from("world\n"));
    expect(tail.finish()).toEqual({ output: "hello world\n", truncated: false });
    expect(tail.lines).toBe(1);
  });

  it("truncates many short lines even when the bytes fit in memory", () => {
    const dataDir = tempDir();
    const tail = new OutputTail({ dataDir, id: "lines" });
    for (const line of numberedLines(2500).split(/(?<=\n)/)) tail.push(line);
    const result = tail.finish();
    expect(result.truncated).toBe(true);
    expect(bodyOf(result.output).startsWith("line 501\n")).toBe(true);
    expect(fs.readFileSync(result.outputPath!, "utf8")).toBe(numberedLines(2500));
  });

  it("streams 20 MB with bounded memory and saves all of it", () => {
    const dataDir = tempDir();
    const tail = new OutputTail({ dataDir, id: "flood" });
    const hash = createHash("sha256");
    let lineNo = 0;
    let maxBuffered = 0;
    while (tail.bytes < 20 * 1024 * 1024) {
      let chunk = "";
      while (chunk.length < 64 * 1024) chunk += `output line ${++lineNo} ✓\n`;
      hash.update(chunk);
      tail.push(lineNo % 2 ? chunk : Buffer.from(chunk));
      maxBuffered = Math.max(maxBuffered, tail.bufferedBytes);
    }
    const totalBytes = tail.bytes;
    const result = tail.finish();

    expect(maxBuffered).toBeLessThanOrEqual(2 * MAX_BYTES);
    expect(result.truncated).toBe(true);
    const saved = fs.readFileSync(result.outputPath!);
    expect(saved.length).toBe(totalBytes);
    expect(createHash("sha256").update(saved).digest("hex")).toBe(hash.digest("hex"));

    const body = bodyOf(result.output);
    expect(body.endsWith(`output line ${lineNo} ✓\n`)).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BYTES);
    expect(body).not.toContain("\uFFFD");
    expect(headerOf(result.output)).toContain(`of ${lineNo} lines; full output saved to ${result.outputPath}]`);
  });

  it("returns the same result when finish is called again", () => {
    const tail = new OutputTail({ dataDir: tempDir(), id: "twice" });
    tail.push("x".repeat(MAX_BYTES * 3));
    const first = tail.finish();
    expect(tail.finish()).toBe(first);
    expect(() => tail.push("more")).toThrow();
  });
});
