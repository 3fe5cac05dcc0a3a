import fs from "node:fs";
import readline from "node:readline";
import { z } from "zod";
import { BINARY_SNIFF_BYTES, looksBinary } from "./binary.js";
import { displayPath, statToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";
import { MAX_BYTES } from "./truncate.js";

const DEFAULT_LIMIT = 2000;
// One minified line could otherwise fill the whole result.
const MAX_LINE_CHARS = 2000;

const inputSchema = z.object({
  filePath: z.string().describe("File to read, relative to the project directory or absolute."),
  offset: z.number().int().min(1).optional().describe("1-based line number to start from; defaults to 1."),
  limit: z.number().int().min(1).optional().describe(`Maximum number of lines to return; defaults to ${DEFAULT_LIMIT}.`),
});

export const readTool = defineTool({
  name: "read",
  description:
    'Read a text file. Lines come back numbered as "00001| text" (the prefix is not part of the file). ' +
    "Use offset and limit to page through long files. Use list for directories.",
  inputSchema,
  async execute(input, ctx) {
    const { path: file, stats } = await statToolPath(ctx, input.filePath);
    const shownPath = displayPath(ctx, file);
    if (stats.isDirectory()) throw new ToolError(`${shownPath} is a directory; use the list tool to see its entries`);
    if (looksBinary(readHead(file))) throw new ToolError(`${shownPath} looks like a binary file; read only shows text`);

    const offset = input.offset ?? 1;
    const limit = input.limit ?? DEFAULT_LIMIT;
    const { lines, lastLine, more } = await readWindow(file, offset, limit);
    if (lines.length === 0 && offset > 1) {
      throw new ToolError(`offset ${offset} is past the end of ${shownPath} (${lastLine} lines)`);
    }

    const numbered = lines.map((line, i) => `${String(offset + i).padStart(5, "0")}| ${line}`);
    const next = offset + lines.length;
    const footer = more
      ? `(more lines follow; read with offset=${next} to continue)`
      : lines.length === 0
        ? "(empty file)"
        : `(end of file, ${lastLine} lines)`;
    return {
      title: shownPath,
      output: numbered.length ? `${numbered.join("\n")}\n\n${footer}` : footer,
      metadata: { offset, lines: lines.length, more },
    };
  },
});

function readHead(file: string): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(BINARY_SNIFF_BYTES);
    return head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams only as far as needed, so paging through a huge log never loads it whole. */
async function readWindow(
  file: string,
  offset: number,
  limit: number,
): Promise<{ lines: string[]; lastLine: number; more: boolean }> {
  const stream = fs.createReadStream(file, { encoding: "utf8" });
  const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const lines: string[] = [];
  let lastLine = 0;
  let bytes = 0;
  let more = false;
  try {
    for await (const raw of reader) {
      lastLine++;
      if (lastLine < offset) continue;
      const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}… (line truncated)` : raw;
      bytes += Buffer.byteLength(line) + 1;
      // The byte cap keeps a page of long lines within what the model is otherwise sent.
      if (lines.length === limit || (lines.length > 0 && bytes > MAX_BYTES)) {
        more = true;
        break;
      }
      lines.push(line);
    }
  } finally {
    reader.close();
    stream.destroy();
  }
  return { lines, lastLine, more };
}
