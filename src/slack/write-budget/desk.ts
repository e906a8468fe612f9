/**
 * Desks and leases: a desk is this replica's view of one bucket (tokens leased and on hand,
 * reserved, spent but not yet reported); the helpers here decide what an acquire can settle from
 * the desks alone, before any ledger call.
 */
import type { Acquired, TokenUse } from './budget.ts';
import type { MethodLimit } from './limits.ts';

/** One bucket as this replica sees it: tokens on hand, reserved, spent but not yet reported. */
export class Desk {
  readonly key: string;
  readonly method: string;
  readonly limit: MethodLimit;
  /** Leased priority tokens on hand, and when they go back. */
  priority = 0;
  priorityUntilMs = 0;
  /** Leased intermediate tokens on hand, and when they go back. */
  intermediate = 0;
  intermediateUntilMs = 0;
  /** Tokens reserved by answers for a later call. */
  reserved = 0;
  /** Tokens spent since the last ledger call. */
  unreported = 0;
  /** Answers here that want intermediate writes of this method. */
  demand = 0;
  /** Demand as last reported, to tell the others' part of the last grant's total. */
  reportedDemand = 0;
  last: { available: number; allowance: number; demand: number } | null = null;
  blockedUntilMs = 0;
  /** When Slack last answered this method 429 (here or, as the ledger said, on another replica). */
  limitedAtMs = Number.NEGATIVE_INFINITY;
  /** The ledger said no (priority, intermediate) until about then: ask it again no sooner. */
  priorityEmptyUntilMs = 0;
  intermediateEmptyUntilMs = 0;
  /** The ledger call in flight, if any: calls of one desk go one at a time. */
  busy: Promise<void> = Promise.resolve();
  /** Ledger calls under way that lease priority / intermediate tokens here. */
  leasingPriority = 0;
  leasingIntermediate = 0;
  /** Acquires waiting for those calls to land before they look at the stock again. */
  waiting = 0;
  /** When this desk wants its next ledger call (a report, a lease's return, a renewal). */
  dueMs = Number.POSITIVE_INFINITY;
  /** When an answer last asked this desk for priority tokens: a second ask soon after leases more. */
  lastAcquireAtMs = Number.NEGATIVE_INFINITY;
  /** The workspace's hash tag: its desks report together, in one ledger call. */
  readonly team: string;

  constructor(key: string, method: string, limit: MethodLimit, team: string) {
    this.key = key;
    this.method = method;
    this.limit = limit;
    this.team = team;
  }

  expire(nowMs: number): void {
    if (this.priority > 0 && nowMs >= this.priorityUntilMs) this.priority = 0;
    if (this.intermediate > 0 && nowMs >= this.intermediateUntilMs) this.intermediate = 0;
  }

  get held(): number {
    return this.priority + this.intermediate + this.reserved;
  }

  get idle(): boolean {
    return this.held === 0 && this.unreported === 0 && this.demand === 0 && this.reportedDemand === 0;
  }
}

export interface DeskWant {
  desk: Desk;
  need: number;
  needNow: number;
  extra: number;
  intermediate: number;
}

/** A ledger call that only reports (spent tokens, leases given back, renewals). */
export function reportOnly(desk: Desk): DeskWant {
  return { desk, need: 0, needNow: 0, extra: 0, intermediate: 0 };
}

/**
 * Granted: `now` tokens are already in the window; `later` ones are held as reservations, counted
 * before the call lets the next one go (that one reports what this replica holds).
 */
export function reserveGranted(wants: DeskWant[]): void {
  for (const want of wants) want.desk.reserved += want.need - want.needNow;
}

/** Priority tokens leased beside the one asked for: none for small allowances, up to 4. */
export function leaseBatch(configured: number): number {
  return Math.max(0, Math.min(4, Math.floor(configured / 25)));
}

/** A desk with no priority tokens on hand while a ledger call is leasing some: its acquire waits for it. */
export function deskAwaitingLease(items: ReadonlyArray<{ desk: Desk; use: TokenUse }>): Desk | null {
  return items.find((item) => item.desk.leasingPriority > 0 && item.desk.priority === 0)?.desk ?? null;
}

/**
 * A refusal the desks give without asking the ledger: a method held back by a 429, or a bucket
 * the ledger said is spent and asked again too soon. Null: ask on.
 */
export function refusedByDesks(
  items: ReadonlyArray<{ desk: Desk; use: TokenUse }>,
  nowMs: number,
): Acquired | null {
  const blocked = items.filter((item) => item.desk.blockedUntilMs > nowMs);
  if (blocked.length > 0) {
    return {
      ok: false,
      waitMs: Object.fromEntries(blocked.map((item) => [item.desk.method, item.desk.blockedUntilMs - nowMs])),
      limited: blocked.map((item) => item.desk.method),
    };
  }
  const empty = items.filter((item) => item.desk.priority === 0 && item.desk.priorityEmptyUntilMs > nowMs);
  if (empty.length > 0) {
    return {
      ok: false,
      waitMs: Object.fromEntries(
        empty.map((item) => [item.desk.method, item.desk.priorityEmptyUntilMs - nowMs]),
      ),
      limited: [],
    };
  }
  return null;
}
