import fs from "node:fs";
import path from "node:path";
import { MAX_TIMEOUT_MS } from "../session/abort.js";
import { InvalidInputError } from "../session/errors.js";
import type { LoopRecord } from "./loops.js";
import { normalizeTitle } from "../session/title.js";

export const DEFAULT_MAX_ITERATIONS = 10;
export const DEFAULT_MAX_FAILURES = 3;
export const DEFAULT_TITLE_TEMPLATE = "{name} #{n}";
const NAME_WORDS = 5;

export const onLimitActions = ["stop", "wait"] as const;
export type OnLimitAction = (typeof onLimitActions)[number];

/** Everything a loop needs to run (and to be resumed): stored on the loop row as given. */
export interface LoopSpec {
  /** The prompt text, or a file re-read at each iteration (users edit it while the loop runs). */
  prompt?: string;
  promptFile?: string;
  name: string;
  titleTemplate: string;
  model?: string;
  /** 0 = unlimited. Counted over one stretch of the loop: a resumed loop gets a new allowance. */
  maxIterations: number;
  minIterations: number;
  completionPromise?: string;
  until?: string;
  iterationTimeoutMs?: number;
  maxDurationMs?: number;
  maxTokens?: number;
  noProgress?: number;
  maxFailures: number;
  onLimit: OnLimitAction;
}

/** The CLI's and the server's options, as strings or numbers, before they are checked. */
export interface LoopOptionsInput {
  prompt?: string;
  promptFile?: string;
  name?: string;
  titleTemplate?: string;
  model?: string;
  maxIterations?: string | number;
  minIterations?: string | number;
  completionPromise?: string;
  until?: string;
  iterationTimeout?: string | number;
  maxDuration?: string | number;
  maxTokens?: string | number;
  noProgress?: string | number;
  maxFailures?: string | number;
  onLimit?: string;
}

/** A whole number written in plain decimal (`08` is 8); `1e3`, `-1`, `0x10` and `1.5` are refused. */
export function strictCount(value: string | number, flag: string, options: { min?: number; max?: number } = {}): number {
  const text = typeof value === "number" ? String(value) : value.trim();
  if (!/^\d+$/.test(text)) throw new InvalidInputError(`${flag} must be a whole number written in decimal, not ${JSON.stringify(String(value))}`);
  const n = Number(text);
  const min = options.min ?? 0;
  if (!Number.isSafeInteger(n) || n < min || (options.max !== undefined && n > options.max)) {
    const range = options.max !== undefined ? `from ${min} to ${options.max}` : `at least ${min}`;
    throw new InvalidInputError(`${flag} must be ${range}, not ${text}`);
  }
  return n;
}

const optional = <T>(value: T | undefined, check: (v: T) => number): number | undefined =>
  value === undefined ? undefined : check(value);

/** The first words of the prompt name a loop that was given no `--name`. */
function defaultName(prompt: string): string {
  return normalizeTitle(prompt.split(/\s+/).filter(Boolean).slice(0, NAME_WORDS).join(" ")) || "loop";
}

/** Checks every option and names the flag of the first bad one; the prompt file must be readable now. */
export function loopSpec(input: LoopOptionsInput, directory: string): LoopSpec {
  if ((input.prompt === undefined) === (input.promptFile === undefined)) {
    throw new InvalidInputError("a loop needs a prompt: pass it as arguments or with --prompt-file, not both");
  }
  const promptFile = input.promptFile === undefined ? undefined : path.resolve(directory, input.promptFile);
  const firstPrompt = promptFile ? readPromptFile(promptFile) : input.prompt!;
  if (!firstPrompt.trim()) throw new InvalidInputError("the loop's prompt is empty");
  const onLimit = input.onLimit ?? "stop";
  if (!(onLimitActions as readonly string[]).includes(onLimit)) throw new InvalidInputError(`--on-limit must be stop or wait, not ${onLimit}`);
  const spec: LoopSpec = {
    ...(promptFile ? { promptFile } : { prompt: input.prompt! }),
    name: normalizeTitle(input.name ?? "") || defaultName(firstPrompt),
    titleTemplate: input.titleTemplate ?? DEFAULT_TITLE_TEMPLATE,
    ...(input.model ? { model: input.model } : {}),
    maxIterations: strictCount(input.maxIterations ?? DEFAULT_MAX_ITERATIONS, "--max-iterations"),
    minIterations: strictCount(input.minIterations ?? 0, "--min-iterations"),
    ...(input.completionPromise !== undefined ? { completionPromise: input.completionPromise } : {}),
    ...(input.until !== undefined ? { until: input.until } : {}),
    maxFailures: strictCount(input.maxFailures ?? DEFAULT_MAX_FAILURES, "--max-failures", { min: 1 }),
    onLimit: onLimit as OnLimitAction,
  };
  const limits = {
    iterationTimeoutMs: optional(input.iterationTimeout, (v) => strictCount(v, "--iteration-timeout", { min: 1, max: MAX_TIMEOUT_MS })),
    maxDurationMs: optional(input.maxDuration, (v) => strictCount(v, "--max-duration", { min: 1, max: MAX_TIMEOUT_MS })),
    maxTokens: optional(input.maxTokens, (v) => strictCount(v, "--max-tokens", { min: 1 })),
    noProgress: optional(input.noProgress, (v) => strictCount(v, "--no-progress", { min: 1 })),
  };
  for (const [key, value] of Object.entries(limits)) if (value !== undefined) Object.assign(spec, { [key]: value });
  if (spec.completionPromise !== undefined && !spec.completionPromise.trim()) throw new InvalidInputError("--completion-promise must not be empty");
  if (spec.until !== undefined && !spec.until.trim()) throw new InvalidInputError("--until must not be empty");
  if (spec.maxIterations !== 0 && spec.minIterations > spec.maxIterations) {
    throw new InvalidInputError(`--min-iterations (${spec.minIterations}) is more than --max-iterations (${spec.maxIterations})`);
  }
  return spec;
}

export function readPromptFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`--prompt-file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The prompt of one iteration: the file as it is now, or the fixed text. */
export function iterationPrompt(spec: LoopSpec): string {
  return spec.promptFile ? readPromptFile(spec.promptFile) : spec.prompt!;
}

/** `{name}`, `{n}` and `{loop}` in the template, so `OPENCODE_SESSION_TITLE` names the iteration. */
export function iterationTitle(spec: LoopSpec, loopID: string, n: number): string {
  return normalizeTitle(spec.titleTemplate.replaceAll("{name}", spec.name).replaceAll("{n}", String(n)).replaceAll("{loop}", loopID));
}

/**
 * The spec of a resumed loop: the stored one, with any option given now replacing it. Limits count afresh from
 * the resume (a loop stopped by `max_iterations` gets another allowance); numbering goes on.
 */
export function resumeSpec(loop: LoopRecord, overrides: Omit<LoopOptionsInput, "prompt" | "promptFile">, directory: string): LoopSpec {
  if (loop.stop_reason === "completed") throw new InvalidInputError(`loop ${loop.id} completed; start a new loop instead`);
  const stored = loop.spec;
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return loopSpec(
    {
      ...(stored.promptFile ? { promptFile: stored.promptFile } : { prompt: stored.prompt }),
      name: stored.name,
      titleTemplate: stored.titleTemplate,
      model: stored.model,
      maxIterations: stored.maxIterations,
      minIterations: stored.minIterations,
      completionPromise: stored.completionPromise,
      until: stored.until,
      iterationTimeout: stored.iterationTimeoutMs,
      maxDuration: stored.maxDurationMs,
      maxTokens: stored.maxTokens,
      noProgress: stored.noProgress,
      maxFailures: stored.maxFailures,
      onLimit: stored.onLimit,
      ...given,
    },
    directory,
  );
}
