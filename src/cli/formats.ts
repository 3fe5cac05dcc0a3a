// Apart from the renderer: `ode run` checks --format when it parses its options, and the renderer's modules
// (string-width builds its Unicode tables as it loads) are for commands that print a run.

/** `json` is opencode's `run --format json` vocabulary; `events` is ode's own event stream. */
export const OUTPUT_FORMATS = ["text", "json", "events"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
