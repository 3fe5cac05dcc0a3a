/** In-process event stream: the CLI's `--format json` and the server's `/event` both read it. */
export interface OdeEvent {
  type: string;
  sessionID: string;
  properties: Record<string, unknown>;
}

type Listener = (event: OdeEvent) => void;
const listeners = new Set<Listener>();

export function publish(type: string, sessionID: string, properties: Record<string, unknown> = {}): void {
  if (listeners.size === 0) return;
  const event = { type, sessionID, properties };
  for (const listener of listeners) listener(event);
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
