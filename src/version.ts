// Replaced by esbuild's `define` at build time; an unbundled run (tests importing src/, tsx) has no such constant.
declare const __ODE_VERSION__: string | undefined;
declare const __ODE_CHANNEL__: string | undefined;

export const VERSION: string = typeof __ODE_VERSION__ === "string" ? __ODE_VERSION__ : "local";
export const CHANNEL: string = typeof __ODE_CHANNEL__ === "string" ? __ODE_CHANNEL__ : "local";
