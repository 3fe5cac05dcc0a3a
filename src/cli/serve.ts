import type { Command } from "commander";

// Placeholder until the command lands.
export function registerServe(_program: Command): void {}
