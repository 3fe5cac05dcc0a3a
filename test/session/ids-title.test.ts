import { describe, expect, it } from "vitest";
import { newId } from "../../src/ids.js";
import { cleanTitle } from "../../src/agent/title.js";
import { defaultTitle, isDefaultTitle, normalizeTitle } from "../../src/session/title.js";

describe("ids", () => {
  it("have the prefix, 26 characters, and sort in creation order even within one millisecond", () => {
    const ids = Array.from({ length: 5000 }, () => newId("msg"));
    for (const id of ids) expect(id).toMatch(/^msg_[0-9a-f]{12}[0-9A-Za-z]{14}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("titles", () => {
  it("are stored single-line, without control characters or NUL, at most 100 characters", () => {
    expect(normalizeTitle("  fix\nthe\r\nbug\u0000 now\u0007\t ")).toBe("fix the bug now");
    expect(normalizeTitle("x".repeat(300))).toHaveLength(100);
    expect(normalizeTitle("é".repeat(150))).toBe("é".repeat(100));
  });

  it("recognise the default title", () => {
    expect(isDefaultTitle(defaultTitle())).toBe(true);
    expect(isDefaultTitle("New session ideas")).toBe(false);
  });

  it("generated titles lose think-tags, quotes and every line but the first non-empty one", () => {
    expect(cleanTitle("<think>the user wants\na title</think>\n\n\"Fix login redirect\"\nmore")).toBe("Fix login redirect");
    expect(cleanTitle("Title: Add dark mode")).toBe("Add dark mode");
    expect(cleanTitle("<think>never closed")).toBe("");
  });
});
