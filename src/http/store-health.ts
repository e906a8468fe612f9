/**
 * Redis health, watched but not tied to readiness: Redis is shared by every replica, so failing
 * `/readyz` on it would take them all out of the load balancer at once and leave people with
 * silence instead of the bot's "I can't reach my memory" reply. It goes to `slackbot_store_up`
 * (checked every few seconds and at each scrape), one log line per change, and `/readyz`'s body.
 */
import type { Gauge } from 'prom-client';
import type { Logger } from '../logger.ts';

export interface StoreHealthOptions {
  /** Resolves when the store answers. */
  ping: () => Promise<void>;
  gauge: Gauge;
  logger: Logger;
  intervalMs?: number;
  timeoutMs?: number;
}

export class StoreHealth {
  readonly #options: StoreHealthOptions;
  #up: boolean | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
  }

  /** The last result: true (answered), false (did not), null before the first check. */
  get up(): boolean | null {
    return this.#up;
  }

  start(): void {
    if (this.#timer) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs ?? 5_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Pings the store once (bounded), updates the gauge and logs a change. Never rejects. */
  async check(): Promise<boolean> {
    const { ping, gauge, logger, timeoutMs = 1_000 } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('store ping timed out')), timeoutMs);
    });
    const up = await Promise.race([ping(), timeout]).then(
      () => true,
      () => false,
    );
    clearTimeout(timer);
    gauge.set(up ? 1 : 0);
    if (this.#up !== up) {
      if (up) logger.info({ storeUp: true }, 'store health: the store answers');
      else logger.warn({ storeUp: false }, 'store health: the store does not answer');
    }
    this.#up = up;
    return up;
  }
}
