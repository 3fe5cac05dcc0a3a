// Preloaded (`node --expose-gc --require`) into the `ode serve` that bench/server-memory.bench.ts spawns, never into
// ode itself. On the bench's IPC message it answers process.memoryUsage() twice: as the turns left it ("usage"),
// then after a full collection ("memory"), so heapUsed counts what the server really retains and the difference
// is the garbage not yet collected.
process.on("message", (message) => {
  if (message !== "memory") return;
  const usage = process.memoryUsage();
  globalThis.gc?.();
  process.send({ usage, memory: process.memoryUsage() });
});
