/** Deep enough for any document ode or opencode writes (an export nests about 10 levels before tool input). */
export const MAX_JSON_DEPTH = 64;

// With the u flag a paired surrogate is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;

const SHOWN_LEVELS = 8;

export interface TreeProblem {
  path: PropertyKey[];
  message: string;
}

/**
 * Checks a parsed JSON value before anything recursive (schema validation, JSON.stringify, SQLite's json functions)
 * touches it: nesting at most `maxDepth` levels, and every key and string well-formed Unicode (a lone surrogate
 * cannot be stored as UTF-8 and would silently become U+FFFD). Iterative, so the check itself cannot overflow.
 * `at` places a value read on its own (one element of a document read as it comes): its path and depth there.
 */
export function checkTree(
  root: unknown,
  maxDepth = MAX_JSON_DEPTH,
  at: { path: PropertyKey[]; depth: number } = { path: [], depth: 0 },
): TreeProblem | undefined {
  // Each node links to its parent instead of carrying its path: paths are built only for the one error reported.
  interface Node {
    value: unknown;
    key?: PropertyKey;
    parent?: Node;
    depth: number;
  }
  const pathOf = (node: Node | undefined): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let step = node; step?.parent; step = step.parent) path.push(step.key!);
    return [...at.path, ...path.reverse()];
  };
  const pending: Node[] = [{ value: root, depth: at.depth }];
  while (pending.length) {
    const node = pending.pop()!;
    const { value, depth } = node;
    if (typeof value === "string") {
      if (LONE_SURROGATE.test(value)) return { path: pathOf(node), message: "not well-formed Unicode (a lone surrogate)" };
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= maxDepth) {
      // A path as deep as the nesting itself would be the whole error line: its first levels name the field.
      const path = pathOf(node).slice(0, SHOWN_LEVELS);
      return { path, message: `nested more than ${maxDepth} levels deep (path cut after ${SHOWN_LEVELS} levels)` };
    }
    const keys = Array.isArray(value) ? value.keys() : Object.keys(value);
    const children: Node[] = [];
    for (const key of keys) {
      if (typeof key === "string" && LONE_SURROGATE.test(key)) {
        return { path: [...pathOf(node), key], message: "key is not well-formed Unicode (a lone surrogate)" };
      }
      children.push({ value: (value as Record<PropertyKey, unknown>)[key], key, parent: node, depth: depth + 1 });
    }
    // Reversed onto the stack, so the first problem in document order is the one reported.
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]!);
  }
  return undefined;
}
