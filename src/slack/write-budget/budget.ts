/** The budget as its callers see it: the whole (per workspace) and one answer's view of it. */

export type TokenUse = 'now' | 'later';

/**
 * What `acquire` got: every token, or none, with how long each refused method would wait and which
 * of them Slack is holding back (a 429's Retry-After) rather than merely spent.
 */
export type Acquired = { ok: true } | { ok: false; waitMs: Record<string, number>; limited: string[] };

/** One answer's view of the budget: its reservations, and its share of intermediate writes. */
export interface AnswerBudget {
  /**
   * Takes every token at once or none: `now` ones for a call about to be made, `later` ones
   * reserved for a later call (a final write). Refused: how long each method would have to wait.
   */
  acquire(items: ReadonlyArray<{ method: string; use: TokenUse }>): Promise<Acquired>;
  /** An intermediate write of `method` now: 0 when it may go (a token was taken), else how long to wait. */
  intermediate(method: string): Promise<number>;
  /** Least time between this answer's intermediate writes of `method`: its fair share, at least `flushMs`. */
  paceMs(method: string, flushMs: number): number;
  /** Spends a token `acquire` reserved for `method`: false when there is none. */
  spend(method: string): boolean;
  /** Gives back a token reserved for `method`, unused. */
  release(method: string): void;
  /** The method this answer now makes intermediate writes with (null: none); fair shares count it. */
  wants(method: string | null): void;
  /** Gives back every reservation and leaves the fair shares. */
  close(): void;
}

export interface WriteBudget {
  /** Takes one write token for a call made now; 0 when granted, else the ms until one is likely free. */
  take(teamId: string, method: string, channelId: string): Promise<number>;
  /** Slack answered 429: every replica holds the method back for `retryAfterMs`, and it learns. */
  penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void>;
  /** The budget as one answer in `channelId` uses it. */
  answer(teamId: string, channelId: string): AnswerBudget;
  /** Stops timers and gives back leases (shutdown). */
  close(): Promise<void>;
}
