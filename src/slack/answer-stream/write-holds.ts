/**
 * What holds one answer's writes back besides the pace: a method waiting out a Retry-After (or a
 * lost create's lookup delay), and the token the budget reserved for each message's final write.
 */
import type { AnswerWritePolicy } from '../write-policy.ts';
import type { Page } from './page.ts';

export class WriteHolds {
  readonly #policy: AnswerWritePolicy;
  readonly #now: () => number;
  /** Per method: no call before this time (a Retry-After or a budget wait). */
  readonly #holdUntilMs = new Map<string, number>();

  constructor(policy: AnswerWritePolicy, now: () => number) {
    this.#policy = policy;
    this.#now = now;
  }

  /** No `method` call before `ms` from now; other methods (a final stopStream) are not held. */
  holdFor(method: string, ms: number): number {
    this.#holdUntilMs.set(method, this.#now() + ms);
    return ms;
  }

  /** How long `method` is still held back for this answer (a Retry-After, a lookup's delay). */
  heldMs(method: string): number {
    return Math.max(0, (this.#holdUntilMs.get(method) ?? 0) - this.#now());
  }

  /** 0 when a final write of `method` may go now (its reserved token spent, or one taken), else the wait. */
  async finalToken(page: Page, method: string): Promise<number> {
    const heldMs = this.heldMs(method);
    if (heldMs > 0) return heldMs;
    const reserved = page.finalReserved === method;
    if (!reserved) this.dropReservation(page);
    page.finalReserved = null;
    return this.#policy.final(method, reserved);
  }

  /** Gives back the token reserved for this message's final write, which it will not make. */
  dropReservation(page: Page): void {
    if (page.finalReserved) this.#policy.release(page.finalReserved);
    page.finalReserved = null;
  }
}
