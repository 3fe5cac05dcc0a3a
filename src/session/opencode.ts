import { addTokens } from "../agent/tokens.js";
import { type MessageInfo, type MessageWithParts, type Part, type SessionInfo, type Tokens } from "./schema.js";

/*
 * opencode's clients and its importer require fields ode has no use for (a session's slug and project, an
 * assistant message's agent, a prompt-shell message's model, token totals). They are filled in where ode hands a
 * session out (export, HTTP) when the stored object lacks them, so what opencode wrote is kept as it was and ode's
 * own objects stay as stored.
 */

/** opencode's project id for a directory outside any git repository; ode does not tie sessions to repositories. */
export const GLOBAL_PROJECT = "global";
/** The agent opencode runs by default; ode has one agent, which behaves like it. */
export const DEFAULT_AGENT = "build";
/** Who answers a prompt-shell command: the user, not a model. */
export const SHELL_MODEL = { providerID: "user", modelID: "shell" } as const;

const ADJECTIVES = [
  "amber", "brave", "calm", "clever", "eager", "fancy", "gentle", "glad", "happy", "jolly", "keen", "lucky",
  "mellow", "nimble", "proud", "quiet", "rapid", "shiny", "steady", "sunny", "swift", "tidy", "vivid", "witty",
];
const NOUNS = [
  "badger", "cabin", "canyon", "comet", "falcon", "forest", "harbor", "island", "lagoon", "meadow", "nebula", "otter",
  "panda", "pebble", "planet", "river", "rocket", "sailor", "squid", "summit", "tiger", "valley", "wizard", "zephyr",
];

/** opencode's slug shape (`tidy-cabin`), derived from the id so every export of a session shows the same one. */
export function slugOf(sessionID: string): string {
  let hash = 2166136261;
  for (let i = 0; i < sessionID.length; i++) hash = Math.imul(hash ^ sessionID.charCodeAt(i), 16777619) >>> 0;
  return `${ADJECTIVES[hash % ADJECTIVES.length]}-${NOUNS[Math.floor(hash / ADJECTIVES.length) % NOUNS.length]}`;
}

/** opencode's `tokens.total`: ode stores the counts disjoint, so the total is their sum. */
export function withTotal(tokens: Tokens): Tokens {
  if (typeof tokens.total === "number") return tokens;
  return { total: tokens.input + tokens.output + tokens.reasoning + tokens.cache.read + tokens.cache.write, ...tokens };
}

export interface SessionTotals {
  cost: number;
  tokens: Tokens;
}

/** Adds a message to the session's totals: an assistant message's cost and tokens, nothing for a user message. */
export function addToTotals(totals: SessionTotals, info: MessageInfo): void {
  if (info.role !== "assistant") return;
  totals.cost += info.cost;
  totals.tokens = addTokens(totals.tokens, info.tokens);
}

export function opencodeSession(info: SessionInfo, totals: SessionTotals): SessionInfo {
  return {
    ...info,
    slug: info.slug ?? slugOf(info.id),
    projectID: info.projectID ?? GLOBAL_PROJECT,
    path: info.path ?? "",
    cost: info.cost ?? totals.cost,
    tokens: info.tokens ?? totals.tokens,
  };
}

export function opencodeMessage(info: MessageInfo): MessageInfo {
  if (info.role === "user") {
    if (info.model) return info;
    // Only a prompt-shell message lacks a model: its command was answered by the user.
    return { ...info, model: { ...SHELL_MODEL } };
  }
  // A message opencode wrote carries its mode (and a total only where opencode computed one): kept as it was.
  if (info.mode !== undefined) return info;
  // A summary message is answered by the compaction agent, which opencode names as its mode too.
  const agent = info.agent ?? DEFAULT_AGENT;
  return { ...info, mode: agent, agent, tokens: withTotal(info.tokens) };
}

export function opencodePart(part: Part): Part {
  return part.type === "step-finish" ? { ...part, tokens: withTotal(part.tokens) } : part;
}

/** Messages as ode hands them out, one at a time. */
export function* opencodeMessages(messages: Iterable<MessageWithParts>): Generator<MessageWithParts> {
  for (const { info, parts } of messages) yield { info: opencodeMessage(info), parts: parts.map(opencodePart) };
}
