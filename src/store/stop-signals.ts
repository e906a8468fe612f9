/**
 * The stop port: carries "stop the answer in this thread" to whichever replica is running it. A
 * person's Stop click reaches one replica (Slack picks it); the answer may stream on another.
 * Two adapters: Redis pub/sub (every replica) and in-process (one replica only, not for production).
 */
import { EventEmitter } from 'node:events';

export interface StopRequest {
  /** The thread whose running answer should stop (`threadId` of conversation/question.ts). */
  threadId: string;
  /** Who asked to stop: the replica running the answer decides whether they may. */
  userId: string;
}

export interface StopSignals {
  /** Tells every replica, this one included, that `request.userId` asked to stop `request.threadId`. */
  publish(request: StopRequest): Promise<void>;
  /** Calls `handler` for every stop published from now on; returns a function that unsubscribes. */
  subscribe(handler: (request: StopRequest) => void): () => void;
  /** Stops listening; publishing afterwards fails. */
  close(): Promise<void>;
}

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
