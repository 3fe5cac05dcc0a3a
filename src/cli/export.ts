import type { Command } from "commander";

// Placeholder until the command lands.
export function registerExport(_program: Command): void {}
