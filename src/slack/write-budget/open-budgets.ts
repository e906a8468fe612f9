/** Budgets that count nothing: no budget at all, or only 429s' Retry-After shared in this process. */
import type { AnswerBudget, TokenUse, WriteBudget } from './budget.ts';
import { bucketKey } from './limits.ts';
import { SWEEP_INTERVAL_MS } from './tuning.ts';

/** An answer's view when nothing is counted: every token is granted, except while a 429 holds a method back. */
class OpenAnswerBudget implements AnswerBudget {
  readonly #heldMs: (method: string) => number;
  constructor(heldMs: (method: string) => number) {
    this.#heldMs = heldMs;
  }
  async acquire(items: ReadonlyArray<{ method: string; use: TokenUse }>) {
    const waits = Object.fromEntries(
      items.map((item) => [item.method, this.#heldMs(item.method)] as const).filter(([, ms]) => ms > 0),
    );
    return Object.keys(waits).length > 0
      ? { ok: false as const, waitMs: waits, limited: Object.keys(waits) }
      : { ok: true as const };
  }
  async intermediate(method: string) {
    return this.#heldMs(method);
  }
  paceMs(_method: string, flushMs: number) {
    return flushMs;
  }
  spend() {
    return false;
  }
  release() {}
  wants() {}
  close() {}
}

/** No budget at all: every write is allowed (each answer still waits out its own 429s). */
export const UNLIMITED_BUDGET: WriteBudget = {
  take: async () => 0,
  penalize: async () => undefined,
  answer: () => new OpenAnswerBudget(() => 0),
  close: async () => undefined,
};

/**
 * No budget of its own (SLACK_WRITE_BUDGET_SCALE=0), but a 429 on a method holds that method back
 * for every answer in this process until Retry-After has passed, instead of each answer finding
 * the limit with a refused call of its own.
 */
export class BackoffOnlyBudget implements WriteBudget {
  readonly #now: () => number;
  readonly #blockedUntilMs = new Map<string, number>();
  #sweptAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Methods (or channels) held back, or held back until recently (idle ones are dropped). */
  get size(): number {
    return this.#blockedUntilMs.size;
  }

  async take(teamId: string, method: string, channelId: string): Promise<number> {
    return this.#heldMs(teamId, method, channelId);
  }

  async penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void> {
    const nowMs = this.#now();
    this.#sweep(nowMs);
    this.#blockedUntilMs.set(bucketKey(teamId, method, channelId), nowMs + retryAfterMs);
  }

  answer(teamId: string, channelId: string): AnswerBudget {
    return new OpenAnswerBudget((method) => this.#heldMs(teamId, method, channelId));
  }

  async close(): Promise<void> {}

  #heldMs(teamId: string, method: string, channelId: string): number {
    const nowMs = this.#now();
    this.#sweep(nowMs);
    const until = this.#blockedUntilMs.get(bucketKey(teamId, method, channelId)) ?? 0;
    return Math.max(0, until - nowMs);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < SWEEP_INTERVAL_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, untilMs] of this.#blockedUntilMs) if (untilMs <= nowMs) this.#blockedUntilMs.delete(key);
  }
}
