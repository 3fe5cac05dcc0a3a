/**
 * Checks of a parsed value, written out by hand for what every command reads at start-up (ode.json) or may be
 * given without a model loaded (a cancel request). zod would cost each of those commands its whole 750 KB chunk
 * before it does any work; these few checks keep zod's wording, so a problem reads the same wherever it is found.
 */

/** Checks one value at `path` and returns it (objects rebuilt with only what their check keeps), or throws. */
export type Check<T> = (value: unknown, path: PropertyKey[]) => T;

/** The first problem found, shaped like a zod error so `firstIssue` words it as it words every other one. */
export class CheckError extends Error {
  override name = "CheckError";
  readonly issues: Array<{ path: PropertyKey[]; message: string }>;
  constructor(path: PropertyKey[], message: string) {
    super(message);
    this.issues = [{ path, message }];
  }
}

/** How a value is named when it is not what was expected (zod's names: `null`, `array`, `Infinity`, ...). */
function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function mismatch(expected: string, value: unknown, path: PropertyKey[]): CheckError {
  return new CheckError(path, `Invalid input: expected ${expected}, received ${kind(value)}`);
}

export const string: Check<string> = (value, path) => {
  if (typeof value !== "string") throw mismatch("string", value, path);
  return value;
};

export const boolean: Check<boolean> = (value, path) => {
  if (typeof value !== "boolean") throw mismatch("boolean", value, path);
  return value;
};

/** Any value, kept as it is. */
export const unknown: Check<unknown> = (value) => value;

/** A finite number; `int` asks for a safe integer, `min` for a lower bound (`exclusive`: strictly above it). */
export function number(rules: { int?: boolean; min?: number; exclusive?: boolean } = {}): Check<number> {
  return (value, path) => {
    if (typeof value !== "number" || !Number.isFinite(value)) throw mismatch("number", value, path);
    if (rules.int) {
      if (!Number.isInteger(value)) throw mismatch("int", value, path);
      if (value > Number.MAX_SAFE_INTEGER) throw new CheckError(path, `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`);
      if (value < Number.MIN_SAFE_INTEGER) throw new CheckError(path, `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`);
    }
    if (rules.min !== undefined && (rules.exclusive ? value <= rules.min : value < rules.min)) {
      throw new CheckError(path, `Too small: expected number to be ${rules.exclusive ? ">" : ">="}${rules.min}`);
    }
    return value;
  };
}

export function oneOf<T extends string>(options: readonly T[]): Check<T> {
  return (value, path) => {
    if (!options.includes(value as T)) throw new CheckError(path, `Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join("|")}`);
    return value as T;
  };
}

/** Absent (undefined) passes as absent; anything else must pass `check`. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

/** A value that is absent takes `fallback`. */
export function withDefault<T>(check: Check<T>, fallback: T): Check<T> {
  return (value, path) => (value === undefined ? fallback : check(value, path));
}

function plainObject(value: unknown, path: PropertyKey[], expected: "object" | "record"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw mismatch(expected, value, path);
  return value as Record<string, unknown>;
}

/**
 * An object with these fields, checked in this order (the first problem reported is the first field's). Keys not
 * listed are dropped, or kept as they are when `loose`. The rebuilt object holds own data properties only, so a
 * `__proto__` key stays a key.
 */
export function object<T>(fields: Record<string, Check<unknown>>, options: { loose?: boolean } = {}): Check<T> {
  return (value, path) => {
    const raw = plainObject(value, path, "object");
    const entries = options.loose ? Object.entries(raw).filter(([key]) => !Object.hasOwn(fields, key)) : [];
    for (const [key, check] of Object.entries(fields)) {
      const checked = check(Object.hasOwn(raw, key) ? raw[key] : undefined, [...path, key]);
      if (checked !== undefined) entries.push([key, checked]);
    }
    return Object.fromEntries(entries) as T;
  };
}

/** An object used as a map: every value passes `check`. */
export function record<T>(check: Check<T>): Check<Record<string, T>> {
  return (value, path) => Object.fromEntries(Object.entries(plainObject(value, path, "record")).map(([key, item]) => [key, check(item, [...path, key])]));
}
