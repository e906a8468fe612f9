/**
 * The in-process adapter of the stop port (conversation/ports.ts), and the wire format the Redis
 * adapter shares with it.
 */
import { EventEmitter } from 'node:events';
import type { StopRequest, StopSignals } from '../conversation/ports.ts';

/** ONE REPLICA ONLY, NOT FOR PRODUCTION: a stop reaches only answers running in this process. */
export class MemoryStopSignals implements StopSignals {
  readonly #events = new EventEmitter();
  #closed = false;

  async publish(request: StopRequest): Promise<void> {
    if (this.#closed) throw new Error('stop signals are closed');
    this.#events.emit('stop', { ...request });
  }

  subscribe(handler: (request: StopRequest) => void): () => void {
    this.#events.on('stop', handler);
    return () => this.#events.off('stop', handler);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#events.removeAllListeners();
  }
}

/** Parses a published stop; null when the message is not one (another writer on the channel). */
export function parseStopRequest(raw: string): StopRequest | null {
  try {
    const value = JSON.parse(raw) as Partial<StopRequest>;
    if (typeof value.threadId === 'string' && typeof value.userId === 'string')
      return { threadId: value.threadId, userId: value.userId };
  } catch {
    // Not JSON: ignored below.
  }
  return null;
}
