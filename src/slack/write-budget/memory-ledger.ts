/**
 * The bucket algorithm in TypeScript: the in-process ledger, for one replica and for the tests of
 * the mechanism. redis-ledger.ts runs the same algorithm in Lua (sync.lua, limited.lua).
 */
import type { BucketGrant, BucketRequest, Ledger, LimitedRequest } from './ledger.ts';
import { SharedWriteBudget } from './shared-write-budget.ts';
import {
  DECREASE,
  FLOOR_SHARE,
  HOLD_TTL_MS,
  PROBE_GAP_MS,
  SLOTS_PER_WINDOW,
  STATE_TTL_MS,
  STEP_MS,
  STEP_SHARE,
  SWEEP_INTERVAL_MS,
} from './tuning.ts';

interface BucketState {
  configured: number;
  windowMs: number;
  allowance: number;
  proven: number;
  limitedAtMs: number;
  blockedUntilMs: number;
  busySinceMs: number | null;
  probeAtMs: number;
  /** Tokens spent per slot (slot = floor(ms / slotMs)). */
  slots: Map<number, number>;
  holds: Map<string, { held: number; demand: number; expiresAtMs: number }>;
  touchedAtMs: number;
}

function slotMsOf(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / SLOTS_PER_WINDOW));
}

function freshState(configured: number, windowMs: number): BucketState {
  return {
    configured,
    windowMs,
    allowance: configured,
    proven: configured,
    limitedAtMs: Number.NEGATIVE_INFINITY,
    blockedUntilMs: 0,
    busySinceMs: null,
    probeAtMs: Number.NEGATIVE_INFINITY,
    slots: new Map(),
    holds: new Map(),
    touchedAtMs: 0,
  };
}

/** In-process ledger: right for one replica (and the tests of the mechanism). */
export class MemoryLedger implements Ledger {
  readonly #buckets = new Map<string, BucketState>();
  readonly #now: () => number;
  #sweptAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Buckets held: those with writes in their window, leases or learned state. */
  get size(): number {
    return this.#buckets.size;
  }

  async sync(replica: string, requests: BucketRequest[], nowMs = this.#now()): Promise<BucketGrant[]> {
    this.#sweep(nowMs);
    const assessed = requests.map((request) =>
      assess(this.#state(request.key, request.configured, request.windowMs), request, replica, nowMs),
    );
    const allNeed = assessed.every((a) => a.needOk);
    return assessed.map((a) => grant(a, replica, allNeed, nowMs));
  }

  async limited(request: LimitedRequest, nowMs = this.#now()): Promise<number> {
    const state = this.#state(request.key, request.configured, request.windowMs);
    penalizeState(state, request, nowMs);
    state.touchedAtMs = nowMs;
    return state.allowance;
  }

  #state(key: string, configured: number, windowMs: number): BucketState {
    let state = this.#buckets.get(key);
    if (!state || state.configured !== configured) {
      state = freshState(configured, windowMs);
      this.#buckets.set(key, state);
    }
    return state;
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < SWEEP_INTERVAL_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, state] of this.#buckets) {
      const learned = state.allowance !== state.configured && nowMs - state.touchedAtMs < STATE_TTL_MS;
      if (learned || state.blockedUntilMs > nowMs) continue;
      const { windowMs } = state;
      const liveSlot = [...state.slots.keys()].some(
        (slot) => (slot + 1) * slotMsOf(windowMs) + windowMs > nowMs,
      );
      const liveHold = [...state.holds.values()].some((hold) => hold.expiresAtMs > nowMs);
      if (!liveSlot && !liveHold) this.#buckets.delete(key);
    }
  }
}

/** One bucket as a sync call finds it, before anything is granted. */
interface Assessment {
  request: BucketRequest;
  state: BucketState;
  used: number;
  earliestFreeMs: number;
  holds: number;
  demand: number;
  count: number;
  blocked: boolean;
  priorityCap: number;
  needOk: boolean;
}

/** Drops spent tokens that came back and other replicas' lapsed leases; counts what is left. */
function assess(state: BucketState, request: BucketRequest, replica: string, nowMs: number): Assessment {
  const slotMs = slotMsOf(request.windowMs);
  let used = 0;
  let earliestFreeMs = Number.POSITIVE_INFINITY;
  for (const [slot, count] of state.slots) {
    const freeAtMs = (slot + 1) * slotMs + request.windowMs;
    if (freeAtMs <= nowMs) state.slots.delete(slot);
    else {
      used += count;
      earliestFreeMs = Math.min(earliestFreeMs, freeAtMs);
    }
  }
  let holds = 0;
  let demand = 0;
  for (const [who, hold] of state.holds) {
    if (who === replica) continue;
    if (hold.expiresAtMs <= nowMs) state.holds.delete(who);
    else {
      holds += hold.held;
      demand += hold.demand;
    }
  }
  const count = used + request.used + holds + request.held;
  const blocked = state.blockedUntilMs > nowMs;
  const priorityCap = Math.floor(Math.min(state.allowance, state.proven));
  const needOk = request.need === 0 || (!blocked && count + request.need <= priorityCap);
  return { request, state, used, earliestFreeMs, holds, demand, count, blocked, priorityCap, needOk };
}

/** Grants one bucket its part of the call (`allNeed`: every bucket had its need) and records it. */
function grant(a: Assessment, replica: string, allNeed: boolean, nowMs: number): BucketGrant {
  const { request, state, used, holds, demand, count, blocked, priorityCap, needOk } = a;
  let earliestFreeMs = a.earliestFreeMs;
  const need = allNeed ? request.need : 0;
  let total = count + need;
  const extra = allNeed && !blocked ? Math.min(request.extra, Math.max(0, priorityCap - total)) : 0;
  total += extra;
  const intermediate = intermediateGrant(a, total, nowMs);
  total += intermediate;
  const slotMs = slotMsOf(request.windowMs);
  const entering = request.used + (allNeed ? request.needNow : 0);
  if (entering > 0) {
    const slot = Math.floor(nowMs / slotMs);
    state.slots.set(slot, (state.slots.get(slot) ?? 0) + entering);
    earliestFreeMs = Math.min(earliestFreeMs, (slot + 1) * slotMs + request.windowMs);
  }
  const held = request.held + need - (allNeed ? request.needNow : 0) + extra + intermediate;
  if (held > 0 || request.demand > 0)
    state.holds.set(replica, { held, demand: request.demand, expiresAtMs: nowMs + HOLD_TTL_MS });
  else state.holds.delete(replica);
  const short = !needOk || intermediate < request.intermediate;
  learn(state, request, { nowMs, total, short, made: used + entering });
  state.touchedAtMs = nowMs;
  return {
    need: allNeed,
    needOk,
    extra,
    intermediate,
    available: Math.floor(state.allowance) - total,
    allowance: state.allowance,
    demand: demand + request.demand,
    waitMs: short
      ? waitOf(nowMs, blocked ? state.blockedUntilMs : null, earliestFreeMs, holds > 0, slotMs)
      : 0,
    limited: blocked,
  };
}

/** Intermediate tokens for a bucket already holding `total`: above what is known to pass, one probe at a time. */
function intermediateGrant(a: Assessment, total: number, nowMs: number): number {
  const { request, state, blocked, priorityCap } = a;
  let intermediate = blocked
    ? 0
    : Math.min(request.intermediate, Math.max(0, Math.floor(state.allowance) - request.reserve - total));
  if (intermediate > 0 && total + intermediate > priorityCap) {
    // Above what is known to pass: one probe at a time.
    const within = Math.max(0, priorityCap - request.reserve - total);
    if (nowMs - state.probeAtMs >= PROBE_GAP_MS) {
      intermediate = Math.min(intermediate, within + 1);
      if (intermediate > within) state.probeAtMs = nowMs;
    } else intermediate = Math.min(intermediate, within);
  }
  return intermediate;
}

/** The AIMD step up and the proven allowance, after a sync (the Lua script does the same). */
function learn(
  state: BucketState,
  request: BucketRequest,
  at: { nowMs: number; total: number; short: boolean; made: number },
): void {
  if (at.total >= 0.8 * state.allowance || at.short) state.busySinceMs ??= at.nowMs;
  else if (at.total < 0.5 * state.allowance) state.busySinceMs = null;
  if (
    state.busySinceMs !== null &&
    at.nowMs - state.busySinceMs >= STEP_MS &&
    at.nowMs - state.limitedAtMs >= STEP_MS &&
    state.allowance < request.ceiling
  ) {
    state.allowance = Math.min(request.ceiling, state.allowance + STEP_SHARE * request.configured);
    state.busySinceMs = at.nowMs;
  }
  // Every call in the window went through without a 429: Slack takes at least that many.
  if (at.nowMs - state.limitedAtMs >= request.windowMs && at.made > state.proven)
    state.proven = Math.min(state.allowance, at.made);
}

function penalizeState(state: BucketState, request: LimitedRequest, nowMs: number): void {
  const floor = Math.max(1, FLOOR_SHARE * request.configured);
  state.allowance = Math.max(floor, state.allowance * DECREASE);
  state.proven = Math.min(state.proven, state.allowance);
  state.limitedAtMs = nowMs;
  state.blockedUntilMs = Math.max(state.blockedUntilMs, nowMs + request.retryAfterMs);
  state.busySinceMs = null;
}

/**
 * How long until a refused request is worth repeating: the block, else the oldest spent token's
 * return; while other leases are out (they may come back soon), at most two seconds.
 */
function waitOf(
  nowMs: number,
  blockedUntilMs: number | null,
  earliestFreeMs: number,
  leasesOut: boolean,
  slotMs: number,
): number {
  if (blockedUntilMs !== null) return Math.max(1, Math.ceil(blockedUntilMs - nowMs));
  const untilFree = Number.isFinite(earliestFreeMs) ? Math.ceil(earliestFreeMs - nowMs) : slotMs;
  return Math.max(1, leasesOut ? Math.min(untilFree, 2_000) : untilFree);
}

/** The in-process budget: one replica, no Redis. */
export class MemoryWriteBudget extends SharedWriteBudget {
  readonly ledger: MemoryLedger;
  constructor(options: {
    scale: number;
    ceiling?: number;
    now?: () => number;
    onAllowance?: (method: string, perMinute: number) => void;
  }) {
    const ledger = new MemoryLedger(options.now ? { now: options.now } : {});
    super({ ...options, ledger });
    this.ledger = ledger;
  }
}
