import type { Command } from "commander";

// Placeholder until the command lands.
export function registerImport(_program: Command): void {}
