/**
 * When and how one answer writes to Slack, given the budget it shares with every other answer (see
 * write-budget/). The answer's messages (answer-stream/) ask it three things:
 *
 * - How to open a message: a native stream when a stream start *and* its stop are in the budget
 *   (the stop is reserved then, so the stream can always end); else posted and edited when a post
 *   and its final edit are (the edit is reserved); else, when even that is not to be had, the
 *   message is written in one post once its text is complete ("deferred"), with the thread's
 *   "working" status shown meanwhile, and it is tried again every few seconds to open it sooner.
 * - When an intermediate write (an append, an edit) may go: never sooner than the flush interval
 *   after the message's last write, and no sooner than its fair share of the method allows (with N
 *   answers writing, each gets about 1/N of what the bucket can spend).
 * - When a final write may go: at once with its reserved token; without one (a message that
 *   changed path), as soon as the budget has a token, ahead of every intermediate write.
 */
import type { AnswerBudget } from './write-budget/index.ts';

/** A 429 holding edits back this briefly does not make a new message wait for its end. */
const BRIEF_HOLD_MS = 5_000;

export class AnswerWritePolicy {
  readonly #budget: AnswerBudget;
  readonly #flushIntervalMs: number;

  constructor(options: { budget: AnswerBudget; flushIntervalMs: number }) {
    this.#budget = options.budget;
    this.#flushIntervalMs = options.flushIntervalMs;
  }

  /** A native stream: its start now and its stop reserved, or false (post instead). */
  async openStream(): Promise<boolean> {
    const result = await this.#budget.acquire([
      { method: 'chat.startStream', use: 'now' },
      { method: 'chat.stopStream', use: 'later' },
    ]);
    return result.ok;
  }

  /**
   * A posted message: its post now and its final edit reserved (`{ reserved: true }`); when edits
   * are only held back by a 429 for a moment, posted now all the same (its final edit takes a token
   * once the Retry-After has passed); 'deferred' when the budget has no final edit for it (post the
   * whole message once, later); else how long until the channel takes another post.
   */
  async openPost(): Promise<{ reserved: boolean } | 'deferred' | { waitMs: number }> {
    const result = await this.#budget.acquire([
      { method: 'chat.postMessage', use: 'now' },
      { method: 'chat.update', use: 'later' },
    ]);
    if (result.ok) return { reserved: true };
    const editWaitMs = result.waitMs['chat.update'];
    if (editWaitMs !== undefined && result.limited.includes('chat.update') && editWaitMs <= BRIEF_HOLD_MS) {
      const post = await this.#budget.acquire([{ method: 'chat.postMessage', use: 'now' }]);
      if (post.ok) return { reserved: false };
      return { waitMs: Math.max(1, post.waitMs['chat.postMessage'] ?? this.#flushIntervalMs) };
    }
    if (editWaitMs !== undefined) return 'deferred';
    return { waitMs: Math.max(1, result.waitMs['chat.postMessage'] ?? this.#flushIntervalMs) };
  }

  /** Least time between this answer's intermediate writes of `method`. */
  paceMs(method: string): number {
    return this.#budget.paceMs(method, this.#flushIntervalMs);
  }

  /** 0 when an intermediate write of `method` may go now (its token taken), else how long to wait. */
  intermediate(method: string): Promise<number> {
    return this.#budget.intermediate(method);
  }

  /**
   * 0 when a final write of `method` may go now: `reserved` says a token was reserved for it (it is
   * spent now); else one is taken ahead of intermediate writes, or how long until there is one.
   */
  async final(method: string, reserved: boolean): Promise<number> {
    if (reserved && this.#budget.spend(method)) return 0;
    const result = await this.#budget.acquire([{ method, use: 'now' }]);
    return result.ok ? 0 : Math.max(1, result.waitMs[method] ?? 1);
  }

  /** A reserved token that will not be needed (the message changed path). */
  release(method: string): void {
    this.#budget.release(method);
  }

  /** The method the answer now makes intermediate writes with (null: none), for the fair shares. */
  wants(method: string | null): void {
    this.#budget.wants(method);
  }

  /** The answer ended: unused reservations go back, the fair shares forget it. */
  close(): void {
    this.#budget.close();
  }
}
