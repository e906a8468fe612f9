import { randomUUID } from 'node:crypto';
import type { Acquired, AnswerBudget, TokenUse, WriteBudget } from './budget.ts';
import {
  Desk,
  type DeskWant,
  deskAwaitingLease,
  leaseBatch,
  refusedByDesks,
  reportOnly,
  reserveGranted,
} from './desk.ts';
import type { BucketGrant, BucketRequest, Ledger } from './ledger.ts';
import { bucketKey, type MethodLimit, SLACK_WRITE_LIMITS } from './limits.ts';
import { SharedAnswerBudget } from './shared-answer-budget.ts';
import {
  EMPTY_RECHECK_MS,
  HEARTBEAT_MS,
  LEASE_MS,
  REPORT_MS,
  SPEND_HORIZON_MS,
  STEP_MS,
  SWEEP_INTERVAL_MS,
} from './tuning.ts';

/**
 * The shared budget: desks (this replica's view of each bucket) over a ledger (in-process or Redis).
 * Built with `scale` (SLACK_WRITE_BUDGET_SCALE) and `ceiling` (SLACK_WRITE_BUDGET_CEILING).
 */
export class SharedWriteBudget implements WriteBudget {
  readonly #ledger: Ledger;
  readonly #scale: number;
  readonly #ceiling: number;
  readonly #now: () => number;
  /** Passed to the ledger as its clock (tests); undefined: the ledger's own (Redis TIME). */
  readonly #ledgerNow: (() => number) | undefined;
  readonly #replica: string;
  readonly #onError: (error: unknown) => void;
  readonly #onAllowance: (method: string, perMinute: number) => void;
  readonly #desks = new Map<string, Desk>();
  /** One timer per workspace for its desks' reports and renewals. */
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; atMs: number }>();
  #sweptAtMs = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: {
    ledger: Ledger;
    scale: number;
    /** The learned allowance goes at most this many times the configured one (default 2). */
    ceiling?: number;
    now?: () => number;
    /** Give the ledger this clock too (tests of a Redis ledger). */
    ledgerClock?: boolean;
    replicaId?: string;
    onError?: (error: unknown) => void;
    /** Each learned allowance as it changes, per minute. */
    onAllowance?: (method: string, perMinute: number) => void;
  }) {
    this.#ledger = options.ledger;
    this.#scale = options.scale;
    this.#ceiling = Math.max(1, options.ceiling ?? 2);
    this.#now = options.now ?? Date.now;
    this.#ledgerNow = options.ledgerClock ? this.#now : undefined;
    this.#replica = options.replicaId ?? randomUUID().slice(0, 8);
    this.#onError = options.onError ?? (() => undefined);
    this.#onAllowance = options.onAllowance ?? (() => undefined);
  }

  /** Desks held: buckets this replica holds tokens of, or reports to. */
  get size(): number {
    return this.#desks.size;
  }

  async take(teamId: string, method: string, channelId: string): Promise<number> {
    const desk = this.#desk(teamId, method, channelId);
    if (!desk) return 0;
    const result = await this.#acquire([{ desk, use: 'now' }]);
    return result.ok ? 0 : (result.waitMs[method] ?? 1);
  }

  async penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void> {
    const desk = this.#desk(teamId, method, channelId);
    if (!desk) return;
    desk.blockedUntilMs = Math.max(desk.blockedUntilMs, this.#now() + retryAfterMs);
    desk.limitedAtMs = this.#now();
    // Leases are given back with the next report: nobody may spend them before Retry-After anyway.
    desk.priority = 0;
    desk.intermediate = 0;
    this.#schedule(desk);
    try {
      const allowance = await this.#ledger.limited(
        {
          key: desk.key,
          configured: this.#configured(desk.limit),
          windowMs: desk.limit.windowMs,
          retryAfterMs,
        },
        this.#ledgerNow?.(),
      );
      this.#onAllowance(method, (allowance * 60_000) / desk.limit.windowMs);
    } catch (error) {
      this.#onError(error);
    }
  }

  answer(teamId: string, channelId: string): AnswerBudget {
    return new SharedAnswerBudget(this, teamId, channelId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    const byTeam = new Map<string, Desk[]>();
    for (const desk of this.#desks.values()) {
      desk.priority = 0;
      desk.intermediate = 0;
      desk.reserved = 0;
      desk.demand = 0;
      if (!desk.idle) byTeam.set(desk.team, [...(byTeam.get(desk.team) ?? []), desk]);
    }
    await Promise.all([...byTeam.values()].map((desks) => this.#sync(desks.map(reportOnly))));
  }

  // ---- used by SharedAnswerBudget ----

  desk(teamId: string, method: string, channelId: string): Desk | null {
    return this.#desk(teamId, method, channelId);
  }

  async acquire(items: ReadonlyArray<{ desk: Desk; use: TokenUse }>): Promise<Acquired> {
    return this.#acquire(items);
  }

  async intermediate(desk: Desk): Promise<number> {
    // A lease of intermediate tokens under way may bring enough for this write too.
    while (desk.leasingIntermediate > 0 && desk.intermediate === 0) await desk.busy;
    const nowMs = this.#now();
    if (desk.blockedUntilMs > nowMs) return desk.blockedUntilMs - nowMs;
    desk.expire(nowMs);
    if (desk.intermediate === 0) {
      if (desk.intermediateEmptyUntilMs > nowMs) return desk.intermediateEmptyUntilMs - nowMs;
      // A few tokens for this replica's answers, more when more of them write.
      const batch = Math.max(2, Math.min(8, 2 * desk.demand));
      const [grant] = await this.#sync([{ desk, need: 0, needNow: 0, extra: 0, intermediate: batch }]);
      if (!grant || grant.intermediate === 0) {
        const waitMs = Math.max(1, grant?.waitMs ?? 1);
        if (grant?.limited) desk.limitedAtMs = this.#now();
        desk.intermediateEmptyUntilMs = this.#now() + Math.min(waitMs, EMPTY_RECHECK_MS);
        return waitMs;
      }
      desk.expire(this.#now());
    }
    if (desk.intermediate === 0) return 1;
    desk.intermediate -= 1;
    this.#spent(desk);
    return 0;
  }

  paceMs(desk: Desk, flushMs: number): number {
    const last = desk.last;
    if (!last) return flushMs;
    const answers = Math.max(1, last.demand - desk.reportedDemand + desk.demand);
    const reserve = Math.ceil(last.allowance * desk.limit.reserveShare);
    // Soon after a 429 Slack's limit is nearer than its window says: only the refill is spent.
    const stock = this.#now() - desk.limitedAtMs < STEP_MS ? 0 : Math.max(0, last.available - reserve);
    const perMs = last.allowance / desk.limit.windowMs + stock / SPEND_HORIZON_MS;
    return Math.max(flushMs, perMs > 0 ? Math.ceil(answers / perMs) : desk.limit.windowMs);
  }

  spendReserved(desk: Desk): void {
    desk.reserved = Math.max(0, desk.reserved - 1);
    this.#spent(desk);
  }

  releaseReserved(desk: Desk): void {
    desk.reserved = Math.max(0, desk.reserved - 1);
    this.#schedule(desk);
  }

  changeDemand(desk: Desk, delta: number): void {
    desk.demand = Math.max(0, desk.demand + delta);
    this.#schedule(desk);
  }

  // ---- internals ----

  #configured(limit: MethodLimit): number {
    return Math.max(1, Math.floor(limit.perWindow * this.#scale));
  }

  #desk(teamId: string, method: string, channelId: string): Desk | null {
    const limit = SLACK_WRITE_LIMITS[method];
    if (!limit) return null;
    this.#sweep();
    const key = bucketKey(teamId, method, channelId);
    let desk = this.#desks.get(key);
    if (!desk) {
      desk = new Desk(key, method, limit, teamId);
      this.#desks.set(key, desk);
    }
    return desk;
  }

  async #acquire(items: ReadonlyArray<{ desk: Desk; use: TokenUse }>): Promise<Acquired> {
    // When a lease of priority tokens is under way for a desk with none on hand, what it brings may
    // serve this acquire too: wait for it and look again, so that many answers starting at once
    // cost a few ledger calls (each leasing for those waiting) instead of one each, in a queue.
    // (No await unless there is one to wait for: the first acquire must reach its ledger call at once.)
    for (let pending = deskAwaitingLease(items); pending; pending = deskAwaitingLease(items)) {
      pending.waiting += 1;
      try {
        await pending.busy;
      } finally {
        pending.waiting -= 1;
      }
    }
    const nowMs = this.#now();
    const refused = refusedByDesks(items, nowMs);
    if (refused) return refused;
    // Tokens on hand first; the ledger only for what is missing (all of it, or none of it).
    const { fromStock, missing } = this.#takeFromStock(items, nowMs);
    if (missing.size > 0) {
      const wants = [...missing.values()];
      const grants = await this.#sync(wants);
      if (!grants.every((grant) => grant.need)) return this.#refusedByLedger(wants, grants, fromStock);
    }
    for (const item of fromStock) {
      if (item.use === 'now') {
        item.desk.reserved -= 1;
        this.#spent(item.desk);
      } else this.#schedule(item.desk);
    }
    return { ok: true };
  }

  /** Takes the tokens the desks have on hand; what they lack, as one want per desk for the ledger. */
  #takeFromStock(
    items: ReadonlyArray<{ desk: Desk; use: TokenUse }>,
    nowMs: number,
  ): { fromStock: Array<{ desk: Desk; use: TokenUse }>; missing: Map<Desk, DeskWant> } {
    const fromStock: Array<{ desk: Desk; use: TokenUse }> = [];
    const missing = new Map<Desk, DeskWant>();
    for (const item of items) {
      item.desk.expire(nowMs);
      if (item.desk.priority > 0) {
        // Held as a reservation while a ledger call of this acquire is under way, so that a call
        // of another acquire meanwhile reports it as this replica's.
        item.desk.priority -= 1;
        item.desk.reserved += 1;
        fromStock.push(item);
        continue;
      }
      // Leasing more pays only when answers ask one after the other, or wait for this call.
      const often = nowMs - item.desk.lastAcquireAtMs < 1_000;
      item.desk.lastAcquireAtMs = nowMs;
      const configured = this.#configured(item.desk.limit);
      const want = missing.get(item.desk) ?? {
        desk: item.desk,
        need: 0,
        needNow: 0,
        extra: Math.min(configured, (often ? leaseBatch(configured) : 0) + item.desk.waiting),
        intermediate: 0,
      };
      want.need += 1;
      if (item.use === 'now') want.needNow += 1;
      missing.set(item.desk, want);
    }
    return { fromStock, missing };
  }

  /** The ledger refused part of an acquire: the stock taken goes back, and each desk learns why. */
  #refusedByLedger(
    wants: DeskWant[],
    grants: BucketGrant[],
    fromStock: ReadonlyArray<{ desk: Desk; use: TokenUse }>,
  ): Acquired {
    for (const item of fromStock) {
      item.desk.priority += 1;
      item.desk.reserved -= 1;
    }
    const afterMs = this.#now();
    wants.forEach((want, index) => {
      const grant = grants[index];
      if (!grant || grant.needOk) return;
      // Another replica's 429 holds the method back here too; a spent bucket is asked again soon.
      if (grant.limited) {
        want.desk.blockedUntilMs = Math.max(want.desk.blockedUntilMs, afterMs + grant.waitMs);
        want.desk.limitedAtMs = afterMs;
      } else want.desk.priorityEmptyUntilMs = afterMs + Math.min(grant.waitMs, EMPTY_RECHECK_MS);
    });
    return {
      ok: false,
      waitMs: Object.fromEntries(
        wants.flatMap((want, index) => {
          const grant = grants[index];
          return grant && grant.waitMs > 0 ? [[want.desk.method, grant.waitMs]] : [];
        }),
      ),
      limited: wants.filter((_, index) => grants[index]?.limited).map((want) => want.desk.method),
    };
  }

  #spent(desk: Desk): void {
    desk.unreported += 1;
    this.#schedule(desk);
  }

  /** One ledger call for these desks (each desk's calls in order); a Redis failure grants what was asked. */
  async #sync(wants: DeskWant[]): Promise<BucketGrant[]> {
    const previous = Promise.all(wants.map((want) => want.desk.busy));
    let done: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const want of wants) {
      want.desk.busy = mine;
      if (want.need > 0 || want.extra > 0) want.desk.leasingPriority += 1;
      if (want.intermediate > 0) want.desk.leasingIntermediate += 1;
    }
    try {
      await previous;
      const requests = this.#requests(wants);
      let grants: BucketGrant[];
      try {
        grants = await this.#ledger.sync(this.#replica, requests, this.#ledgerNow?.());
      } catch (error) {
        // Without the ledger the budget cannot be shared: writes go ahead, 429s still slow them.
        this.#onError(error);
        return grantedWithoutLedger(wants, requests);
      }
      if (grants.every((grant) => grant.need)) reserveGranted(wants);
      this.#receive(wants, grants);
      return grants;
    } finally {
      for (const want of wants) {
        if (want.need > 0 || want.extra > 0) want.desk.leasingPriority -= 1;
        if (want.intermediate > 0) want.desk.leasingIntermediate -= 1;
      }
      done();
      for (const want of wants) this.#schedule(want.desk);
    }
  }

  /** The ledger's requests for these wants; what the desks spent is reported with them. */
  #requests(wants: DeskWant[]): BucketRequest[] {
    const nowMs = this.#now();
    const requests = wants.map((want) => {
      const { desk } = want;
      desk.expire(nowMs);
      const configured = this.#configured(desk.limit);
      return {
        key: desk.key,
        configured,
        ceiling: Math.floor(configured * this.#ceiling),
        windowMs: desk.limit.windowMs,
        reserve: Math.ceil(configured * desk.limit.reserveShare),
        held: desk.held,
        used: desk.unreported,
        need: want.need,
        needNow: want.needNow,
        extra: want.extra,
        intermediate: want.intermediate,
        demand: desk.demand,
      };
    });
    for (const want of wants) {
      want.desk.unreported = 0;
      want.desk.reportedDemand = want.desk.demand;
    }
    return requests;
  }

  /** Puts what the ledger granted on the desks: leases, and the bucket as it stands. */
  #receive(wants: DeskWant[], grants: BucketGrant[]): void {
    const afterMs = this.#now();
    grants.forEach((grant, index) => {
      const want = wants[index];
      if (!want) return;
      const { desk } = want;
      const before = desk.last?.allowance;
      desk.last = { available: grant.available, allowance: grant.allowance, demand: grant.demand };
      if (before !== grant.allowance)
        this.#onAllowance(desk.method, (grant.allowance * 60_000) / desk.limit.windowMs);
      if (grant.extra > 0) {
        desk.priority += grant.extra;
        desk.priorityUntilMs = afterMs + LEASE_MS;
      }
      if (grant.intermediate > 0) {
        desk.intermediate += grant.intermediate;
        desk.intermediateUntilMs = afterMs + LEASE_MS;
      }
    });
  }

  /**
   * Keeps a desk's leases alive and its spending reported: spent tokens within a second, leases
   * given back when they lapse, renewals every few seconds; each workspace's due desks in one call.
   */
  #schedule(desk: Desk): void {
    if (this.#closed) return;
    const nowMs = this.#now();
    if (desk.idle) desk.dueMs = Number.POSITIVE_INFINITY;
    else {
      let dueMs = nowMs + HEARTBEAT_MS;
      if (desk.unreported > 0) dueMs = nowMs + REPORT_MS;
      if (desk.priority > 0) dueMs = Math.min(dueMs, desk.priorityUntilMs);
      if (desk.intermediate > 0) dueMs = Math.min(dueMs, desk.intermediateUntilMs);
      desk.dueMs = dueMs;
    }
    this.#arm(desk.team, desk.dueMs, nowMs);
  }

  #arm(team: string, dueMs: number, nowMs: number): void {
    if (!Number.isFinite(dueMs)) return;
    const armed = this.#timers.get(team);
    if (armed && armed.atMs <= dueMs) return;
    if (armed) clearTimeout(armed.timer);
    const timer = setTimeout(() => this.#report(team), Math.max(0, dueMs - nowMs));
    timer.unref();
    this.#timers.set(team, { timer, atMs: dueMs });
  }

  /** One ledger call for every desk of `team` that is due (or will be within a second). */
  #report(team: string): void {
    this.#timers.delete(team);
    if (this.#closed) return;
    const nowMs = this.#now();
    const due: Desk[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const desk of this.#desks.values()) {
      if (desk.team !== team || desk.idle) continue;
      if (desk.dueMs <= nowMs + REPORT_MS) due.push(desk);
      else next = Math.min(next, desk.dueMs);
    }
    if (due.length > 0) void this.#sync(due.map(reportOnly));
    this.#arm(team, next, nowMs);
  }

  #sweep(): void {
    const nowMs = this.#now();
    if (nowMs - this.#sweptAtMs < SWEEP_INTERVAL_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, desk] of this.#desks) {
      if (desk.idle && desk.blockedUntilMs <= nowMs) this.#desks.delete(key);
    }
  }
}

/** The ledger failed: everything asked is granted (and the desks forget the bucket's last state). */
function grantedWithoutLedger(wants: DeskWant[], requests: BucketRequest[]): BucketGrant[] {
  const grants = requests.map((r) => ({
    need: true,
    needOk: true,
    extra: 0,
    intermediate: r.intermediate,
    available: 0,
    allowance: r.configured,
    demand: 0,
    waitMs: 0,
    limited: false,
  }));
  for (const want of wants) want.desk.last = null;
  reserveGranted(wants);
  return grants.map((grant, index) => {
    const want = wants[index];
    if (want) want.desk.intermediate += grant.intermediate;
    return grant;
  });
}
