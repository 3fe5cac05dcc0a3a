// opencode initialises every export of a plugin module as a plugin: export the plugin and nothing else.
export { SessionEnvPlugin, SessionEnvPlugin as default } from "./plugin.js";
