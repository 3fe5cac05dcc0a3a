// Preloaded (`node --expose-gc --require`) into the `ode serve` that bench/server-memory.bench.ts spawns, never into
// ode itself: on the bench's IPC message it collects garbage and answers process.memoryUsage(), so heapUsed counts
// what the server really retains.
process.on("message", (message) => {
  if (message !== "memory") return;
  globalThis.gc?.();
  process.send({ memory: process.memoryUsage() });
});
