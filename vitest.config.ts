import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn ode processes and shells; two cores run two files at a time without starving them.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
