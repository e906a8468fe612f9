/**
 * StopSignals on Redis pub/sub, shared by every replica: one channel under the key prefix. A
 * subscribed connection can do nothing else, so subscribing uses its own duplicate of the client;
 * it reconnects and re-subscribes by itself (ioredis), and a stop published during an outage is
 * lost (the answer then runs to its end, as it would without the click).
 */
import { Cluster, type Redis } from 'ioredis';
import type { StopRequest, StopSignals } from '../conversation/ports.ts';
import { parseStopRequest } from './stop-signals.ts';

export interface RedisStopSignalsOptions {
  /** The store's client; publishing goes through it, subscribing through a duplicate. */
  client: Redis | Cluster;
  keyPrefix: string;
  onError?: (error: Error) => void;
}

export class RedisStopSignals implements StopSignals {
  readonly #client: Redis | Cluster;
  readonly #channel: string;
  readonly #handlers = new Set<(request: StopRequest) => void>();
  readonly #onError: (error: Error) => void;
  #subscriber: Redis | Cluster | null = null;

  constructor(options: RedisStopSignalsOptions) {
    this.#client = options.client;
    this.#channel = `${options.keyPrefix}stop`;
    this.#onError = options.onError ?? (() => undefined);
  }

  async publish(request: StopRequest): Promise<void> {
    await this.#client.publish(this.#channel, JSON.stringify(request));
  }

  subscribe(handler: (request: StopRequest) => void): () => void {
    this.#handlers.add(handler);
    this.#ensureSubscribed();
    return () => this.#handlers.delete(handler);
  }

  /** Resolves once the subscription is in place (tests, and start-up ordering). */
  async ready(): Promise<void> {
    const subscriber = this.#ensureSubscribed();
    await subscriber.subscribe(this.#channel);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    if (subscriber) subscriber.disconnect();
  }

  #ensureSubscribed(): Redis | Cluster {
    if (this.#subscriber) return this.#subscriber;
    // A subscribing connection queues its SUBSCRIBE until it is connected (unlike the store's client).
    const client = this.#client;
    const subscriber =
      client instanceof Cluster
        ? client.duplicate(undefined, { enableOfflineQueue: true })
        : client.duplicate({ enableOfflineQueue: true });
    subscriber.on('error', (error: Error) => this.#onError(error));
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.#channel) return;
      const request = parseStopRequest(raw);
      if (request) for (const handler of this.#handlers) handler(request);
    });
    subscriber.subscribe(this.#channel).catch((error: Error) => this.#onError(error));
    this.#subscriber = subscriber;
    return subscriber;
  }
}
