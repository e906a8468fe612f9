/**
 * A token bucket, as Slack rate-limits each Web API method per workspace: it holds up to
 * max(1, perSecond) calls and refills at perSecond, judged with the given clock.
 *
 * @example
 * const bucket = new TokenBucket(1, Date.now);
 * bucket.take(); // { ok: true }
 * bucket.take(); // { ok: false, retryAfterS: 1 }
 */
export type TakeResult = { ok: true } | { ok: false; retryAfterS: number };

export class TokenBucket {
  readonly perSecond: number;
  readonly #capacity: number;
  readonly #now: () => number;
  #tokens: number;
  #refilledAtMs: number;

  constructor(perSecond: number, now: () => number) {
    this.perSecond = perSecond;
    this.#capacity = Math.max(1, perSecond);
    this.#now = now;
    this.#tokens = this.#capacity;
    this.#refilledAtMs = now();
  }

  take(): TakeResult {
    const nowMs = this.#now();
    const elapsedS = Math.max(0, nowMs - this.#refilledAtMs) / 1000;
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsedS * this.perSecond);
    this.#refilledAtMs = nowMs;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true };
    }
    // Retry-After is whole seconds and Slack never says 0.
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - this.#tokens) / this.perSecond)) };
  }
}
