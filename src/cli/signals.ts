/**
 * Ctrl-C handling shared by the commands that run something: the first SIGINT calls `first`; a second one exits
 * at once with 130, for a user who does not want to wait for the abort to settle. Returns the detach function.
 */
export function onInterrupt(first: () => void): () => void {
  let interrupts = 0;
  const handler = () => {
    if (++interrupts > 1) process.exit(130);
    first();
  };
  process.on("SIGINT", handler);
  return () => process.off("SIGINT", handler);
}
