/**
 * Slack's per-minute limits as a window: at most `limit` calls in any `windowMs` (a sliding window,
 * the strictest reading of "N a minute", so a client that passes it passes fixed minute windows
 * too). A refused call is not counted; its Retry-After is the whole seconds until the oldest
 * counted call leaves the window.
 *
 * @example
 * const window = new RateWindow(2, 60_000, Date.now);
 * window.take(); // { ok: true }
 * window.take(); // { ok: true }
 * window.take(); // { ok: false, retryAfterS: 60 }
 */
import type { TakeResult } from './token-bucket.ts';

export class RateWindow {
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;
  /** Times of the calls counted in the window, oldest first. */
  readonly #calls: number[] = [];

  constructor(limit: number, windowMs: number, now: () => number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#now = now;
  }

  take(): TakeResult {
    const nowMs = this.#now();
    while (this.#calls.length > 0 && (this.#calls[0] ?? 0) <= nowMs - this.windowMs) this.#calls.shift();
    if (this.#calls.length < this.limit) {
      this.#calls.push(nowMs);
      return { ok: true };
    }
    const oldestMs = this.#calls[0] ?? nowMs;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((oldestMs + this.windowMs - nowMs) / 1000)) };
  }
}
