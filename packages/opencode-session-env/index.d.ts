export { SessionEnvPlugin, SessionEnvPlugin as default } from "./plugin.js";
