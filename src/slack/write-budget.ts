/**
 * Slack's write budget, shared by every replica. Slack limits each method per workspace (and
 * chat.postMessage per channel) however many replicas the bot runs, and counts calls in per-minute
 * windows. So every replica takes tokens from one bucket per workspace and method (in Redis when
 * there is one) and stays under the limit instead of discovering it through 429s.
 *
 * The shape (see SLACK_WRITE_LIMITS): a bucket holds one window's allowance (a minute's, for the
 * tiers) and a spent token comes back one window after it was spent, so the budget refills at the
 * tier's rate and no window ever holds more calls than the allowance, however bursty the demand.
 *
 * What it learns: Slack's tiers are floors. The allowance each bucket assumes starts at the
 * configured one; a 429 lowers it (×0.75, and nobody calls the method before Retry-After), and
 * sustained demand (the bucket near empty for 30 s) with no 429 raises it by a tenth of the
 * configured allowance, up to a ceiling (SLACK_WRITE_BUDGET_CEILING × configured). Tokens above the
 * allowance known to pass ("proven") go only to intermediate writes, one probe at a time, so a probe
 * that draws a 429 costs a delay and never a final write. This state lives in the bucket, with a
 * time to live of an hour.
 *
 * What it costs: a replica leases tokens in small batches and reports the ones it spent in one
 * call a second, so most writes cost no Redis round trip. Leased tokens count against the bucket
 * until they are reported spent or given back (unused leases are returned after a few seconds, and
 * a replica that disappears loses its leases after HOLD_TTL_MS), so replicas together never take
 * more than the bucket holds.
 *
 * Callers decide what a refusal means: a coalescable write (append, edit) happens later with more
 * text; a stream start falls back to posting (see write-policy.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export interface MethodLimit {
  /** Calls Slack allows in one window: its tier's documented floor. */
  perWindow: number;
  windowMs: number;
  /** Counted per channel (chat.postMessage) instead of per workspace. */
  perChannel: boolean;
  /**
   * Share of the allowance that intermediate writes (appends, edits) leave for stream starts and
   * final writes of the same method.
   */
  reserveShare: number;
}

/** Slack's limits per method (PLATFORM-FACTS): Tier 2 20 a minute, Tier 3 50, Tier 4 100. */
export const SLACK_WRITE_LIMITS: Readonly<Record<string, MethodLimit>> = {
  'chat.startStream': { perWindow: 20, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.stopStream': { perWindow: 20, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.appendStream': { perWindow: 100, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.update': { perWindow: 50, windowMs: 60_000, perChannel: false, reserveShare: 0.1 },
  'agents.sessions.setStatus': { perWindow: 50, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  // About one a second per channel, with short bursts: at most 10 in any 10 seconds.
  'chat.postMessage': { perWindow: 10, windowMs: 10_000, perChannel: true, reserveShare: 0 },
};

/** A window is counted in this many slots; a spent token comes back up to one slot late. */
const SLOTS_PER_WINDOW = 30;
/** Leases of a replica that stopped renewing them are given back after this. */
const HOLD_TTL_MS = 15_000;
/** A replica holding tokens renews its leases this often. */
const HEARTBEAT_MS = 5_000;
/** Tokens spent are reported within this (one call for every write made meanwhile). */
const REPORT_MS = 1_000;
/** A leased token not used within this goes back to the bucket. */
const LEASE_MS = 3_000;
/** Learned allowances are forgotten after an hour without writes. */
const STATE_TTL_MS = 3_600_000;
/** Sustained demand this long without a 429 raises the allowance one step. */
const STEP_MS = 30_000;
/** One step, as a share of the configured allowance. */
const STEP_SHARE = 0.1;
/** A 429 multiplies the allowance by this. */
const DECREASE = 0.75;
/** The allowance never drops below this share of the configured one. */
const FLOOR_SHARE = 0.25;
/** At most one token above the proven allowance is handed out in this time. */
const PROBE_GAP_MS = 3_000;
/** Intermediate writes spend what the bucket holds over about this long, plus its refill. */
const SPEND_HORIZON_MS = 10_000;
/** After the ledger refused, a replica asks it again no sooner than this (or the wait it gave). */
const EMPTY_RECHECK_MS = 1_000;
/** How often idle local state is dropped. */
const SWEEP_INTERVAL_MS = 1_000;

/** One bucket's part of a ledger call. */
export interface BucketRequest {
  key: string;
  /** Allowance per window at the configured scale; the learned one starts here. */
  configured: number;
  /** Highest the learned allowance may go. */
  ceiling: number;
  windowMs: number;
  /** Tokens intermediate writes leave in the bucket. */
  reserve: number;
  /** Tokens this replica holds unused (leases and reservations), before this call's grants. */
  held: number;
  /** Tokens this replica spent since its last call: they enter the window now. */
  used: number;
  /** Priority tokens needed (starts, final writes): all of them, across the call, or none. */
  need: number;
  /** Of `need`, those spent at once (they enter the window instead of being held). */
  needNow: number;
  /** More priority tokens to lease if the bucket has them. */
  extra: number;
  /** Intermediate tokens to lease if the bucket has them. */
  intermediate: number;
  /** Answers on this replica that want intermediate writes of this method. */
  demand: number;
}

export interface BucketGrant {
  /** Whether the call's `need` was granted (all of it, for every bucket of the call). */
  need: boolean;
  /** Whether this bucket alone had this bucket's `need`. */
  needOk: boolean;
  extra: number;
  intermediate: number;
  /** Tokens left for anyone after this call. */
  available: number;
  /** The learned allowance per window. */
  allowance: number;
  /** Answers across all replicas that want intermediate writes of this method. */
  demand: number;
  /** When this call got less than it asked for: how long until a token is likely free. */
  waitMs: number;
  /** The bucket is held back by a 429 (Retry-After), not merely spent. */
  limited: boolean;
}

/** Where bucket state lives: in this process, or in Redis for every replica. */
export interface Ledger {
  sync(replica: string, requests: BucketRequest[], nowMs?: number): Promise<BucketGrant[]>;
  /** Slack answered 429: lowers the allowance, blocks the bucket; returns the new allowance. */
  limited(request: LimitedRequest, nowMs?: number): Promise<number>;
}

export interface LimitedRequest {
  key: string;
  configured: number;
  windowMs: number;
  retryAfterMs: number;
}

// ---- the bucket algorithm, in TypeScript (the in-process ledger) ----

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
    const assessed = requests.map((request) => {
      const state = this.#state(request.key, request.configured, request.windowMs);
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
    });
    const allNeed = assessed.every((a) => a.needOk);
    return assessed.map(
      ({ request, state, used, earliestFreeMs, holds, demand, count, blocked, priorityCap, needOk }) => {
        const need = allNeed ? request.need : 0;
        let total = count + need;
        const extra = allNeed && !blocked ? Math.min(request.extra, Math.max(0, priorityCap - total)) : 0;
        total += extra;
        let intermediate = blocked
          ? 0
          : Math.min(
              request.intermediate,
              Math.max(0, Math.floor(state.allowance) - request.reserve - total),
            );
        if (intermediate > 0 && total + intermediate > priorityCap) {
          // Above what is known to pass: one probe at a time.
          const within = Math.max(0, priorityCap - request.reserve - total);
          if (nowMs - state.probeAtMs >= PROBE_GAP_MS) {
            intermediate = Math.min(intermediate, within + 1);
            if (intermediate > within) state.probeAtMs = nowMs;
          } else intermediate = Math.min(intermediate, within);
        }
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
      },
    );
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

// ---- the same algorithm in Lua (the Redis ledger); Redis's clock is the one all replicas share ----

const CLOCK_LUA = `
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

// KEYS: buckets (one workspace's, so one Cluster slot). ARGV: replica, hold ttl, state ttl, now or '',
// step ms, step share, probe gap, slots per window, then 11 numbers per bucket (see BucketRequest).
const syncLua = `
local replica = ARGV[1]
local holdTtl = tonumber(ARGV[2])
local stateTtl = tonumber(ARGV[3])
${CLOCK_LUA}
local stepMs = tonumber(ARGV[5])
local stepShare = tonumber(ARGV[6])
local probeGap = tonumber(ARGV[7])
local slotsPerWindow = tonumber(ARGV[8])
local NUM = 11
local list = {}
local allNeed = true
for i = 1, #KEYS do
  local b = 8 + (i - 1) * NUM
  local r = {
    configured = tonumber(ARGV[b + 1]), ceiling = tonumber(ARGV[b + 2]), windowMs = tonumber(ARGV[b + 3]),
    reserve = tonumber(ARGV[b + 4]), held = tonumber(ARGV[b + 5]), used = tonumber(ARGV[b + 6]),
    need = tonumber(ARGV[b + 7]), needNow = tonumber(ARGV[b + 8]), extra = tonumber(ARGV[b + 9]),
    inter = tonumber(ARGV[b + 10]), demand = tonumber(ARGV[b + 11]),
  }
  local raw = redis.call('HGETALL', KEYS[i])
  local f = {}
  for j = 1, #raw, 2 do f[raw[j]] = raw[j + 1] end
  local s = {}
  if tonumber(f.c) ~= r.configured or f.a == nil then
    redis.call('DEL', KEYS[i])
    f = {}
    s.allowance = r.configured
    s.proven = r.configured
    s.limitedAt = -1e15
    s.blockedUntil = 0
    s.busy = nil
    s.probeAt = -1e15
  else
    s.allowance = tonumber(f.a)
    s.proven = tonumber(f.p)
    s.limitedAt = tonumber(f.lim)
    s.blockedUntil = tonumber(f.blk)
    s.busy = tonumber(f.busy)
    s.probeAt = tonumber(f.probe)
  end
  local slotMs = math.max(1, math.floor(r.windowMs / slotsPerWindow))
  local used = 0
  local earliest = nil
  local holds = 0
  local demand = 0
  for field, value in pairs(f) do
    local prefix = string.sub(field, 1, 2)
    if prefix == 'w:' then
      local freeAt = (tonumber(string.sub(field, 3)) + 1) * slotMs + r.windowMs
      if freeAt <= now then
        redis.call('HDEL', KEYS[i], field)
      else
        used = used + tonumber(value)
        if earliest == nil or freeAt < earliest then earliest = freeAt end
      end
    elseif prefix == 'e:' then
      local who = string.sub(field, 3)
      if who ~= replica then
        if tonumber(value) > now then
          holds = holds + (tonumber(f['h:' .. who]) or 0)
          demand = demand + (tonumber(f['d:' .. who]) or 0)
        else
          redis.call('HDEL', KEYS[i], field, 'h:' .. who, 'd:' .. who)
        end
      end
    end
  end
  local count = used + r.used + holds + r.held
  local blocked = s.blockedUntil > now
  local priorityCap = math.floor(math.min(s.allowance, s.proven))
  local needOk = r.need == 0 or ((not blocked) and count + r.need <= priorityCap)
  if not needOk then allNeed = false end
  list[i] = { r = r, s = s, used = used, earliest = earliest, holds = holds, demand = demand, count = count,
    blocked = blocked, priorityCap = priorityCap, slotMs = slotMs, needOk = needOk }
end
local out = {}
for i = 1, #KEYS do
  local e = list[i]
  local r = e.r
  local s = e.s
  local need = 0
  if allNeed then need = r.need end
  local total = e.count + need
  local extra = 0
  if allNeed and not e.blocked then extra = math.min(r.extra, math.max(0, e.priorityCap - total)) end
  total = total + extra
  local inter = 0
  if not e.blocked then inter = math.min(r.inter, math.max(0, math.floor(s.allowance) - r.reserve - total)) end
  if inter > 0 and total + inter > e.priorityCap then
    local within = math.max(0, e.priorityCap - r.reserve - total)
    if now - s.probeAt >= probeGap then
      inter = math.min(inter, within + 1)
      if inter > within then s.probeAt = now end
    else
      inter = math.min(inter, within)
    end
  end
  total = total + inter
  local entering = r.used
  if allNeed then entering = entering + r.needNow end
  if entering > 0 then
    local slot = math.floor(now / e.slotMs)
    redis.call('HINCRBY', KEYS[i], 'w:' .. slot, entering)
    local freeAt = (slot + 1) * e.slotMs + r.windowMs
    if e.earliest == nil or freeAt < e.earliest then e.earliest = freeAt end
  end
  local held = r.held + need + extra + inter
  if allNeed then held = held - r.needNow end
  if held > 0 or r.demand > 0 then
    redis.call('HSET', KEYS[i], 'h:' .. replica, held, 'e:' .. replica, now + holdTtl, 'd:' .. replica, r.demand)
  else
    redis.call('HDEL', KEYS[i], 'h:' .. replica, 'e:' .. replica, 'd:' .. replica)
  end
  local short = (not e.needOk) or inter < r.inter
  if total >= 0.8 * s.allowance or short then
    if s.busy == nil then s.busy = now end
  elseif total < 0.5 * s.allowance then
    s.busy = nil
  end
  if s.busy ~= nil and now - s.busy >= stepMs and now - s.limitedAt >= stepMs and s.allowance < r.ceiling then
    s.allowance = math.min(r.ceiling, s.allowance + stepShare * r.configured)
    s.busy = now
  end
  local made = e.used + entering
  if now - s.limitedAt >= r.windowMs and made > s.proven then s.proven = math.min(s.allowance, made) end
  local wait = 0
  if short then
    if e.blocked then
      wait = math.max(1, math.ceil(s.blockedUntil - now))
    else
      local untilFree = e.slotMs
      if e.earliest ~= nil then untilFree = math.ceil(e.earliest - now) end
      if e.holds > 0 then untilFree = math.min(untilFree, 2000) end
      wait = math.max(1, untilFree)
    end
  end
  local busy = ''
  if s.busy ~= nil then busy = tostring(s.busy) end
  redis.call('HSET', KEYS[i], 'c', r.configured, 'a', tostring(s.allowance), 'p', tostring(s.proven),
    'lim', tostring(s.limitedAt), 'blk', tostring(s.blockedUntil), 'busy', busy, 'probe', tostring(s.probeAt))
  if busy == '' then redis.call('HDEL', KEYS[i], 'busy') end
  redis.call('PEXPIRE', KEYS[i], math.max(stateTtl, 2 * r.windowMs))
  local needGranted = 0
  if allNeed then needGranted = 1 end
  local needOk = 0
  if e.needOk then needOk = 1 end
  local limited = 0
  if e.blocked then limited = 1 end
  out[i] = { needGranted, needOk, extra, inter, math.floor(s.allowance) - total, tostring(s.allowance),
    e.demand + r.demand, wait, limited }
end
return out`;

// KEYS[1] bucket. ARGV: configured, window ms, retry-after ms, now or '', state ttl, decrease, floor share.
const limitedLua = `
${CLOCK_LUA}
local configured = tonumber(ARGV[1])
local retryAfter = tonumber(ARGV[3])
local stateTtl = tonumber(ARGV[5])
local f = {}
local raw = redis.call('HGETALL', KEYS[1])
for j = 1, #raw, 2 do f[raw[j]] = raw[j + 1] end
local allowance = tonumber(f.a)
local proven = tonumber(f.p)
local blocked = tonumber(f.blk) or 0
if tonumber(f.c) ~= configured or allowance == nil then
  redis.call('DEL', KEYS[1])
  allowance = configured
  proven = configured
  blocked = 0
  redis.call('HSET', KEYS[1], 'probe', '-1e15')
end
allowance = math.max(math.max(1, tonumber(ARGV[7]) * configured), allowance * tonumber(ARGV[6]))
proven = math.min(proven, allowance)
blocked = math.max(blocked, now + retryAfter)
redis.call('HSET', KEYS[1], 'c', configured, 'a', tostring(allowance), 'p', tostring(proven),
  'lim', tostring(now), 'blk', tostring(blocked))
redis.call('HDEL', KEYS[1], 'busy')
redis.call('PEXPIRE', KEYS[1], math.max(stateTtl, 2 * tonumber(ARGV[2])))
return tostring(allowance)`;

interface LedgerScripts {
  slackbotBudgetSync(...args: Array<string | number>): Promise<Array<Array<string | number>>>;
  slackbotBudgetLimited(...args: Array<string | number>): Promise<string>;
}

/** Ledger shared by every replica on one Redis (or Redis Cluster: a workspace's buckets share a slot). */
export class RedisLedger implements Ledger {
  readonly #client: (Redis | Cluster) & LedgerScripts;

  constructor(client: Redis | Cluster) {
    client.defineCommand('slackbotBudgetSync', { lua: syncLua });
    client.defineCommand('slackbotBudgetLimited', { numberOfKeys: 1, lua: limitedLua });
    this.#client = client as (Redis | Cluster) & LedgerScripts;
  }

  async sync(replica: string, requests: BucketRequest[], nowMs?: number): Promise<BucketGrant[]> {
    const args: Array<string | number> = [requests.length];
    for (const r of requests) args.push(r.key);
    args.push(
      replica,
      HOLD_TTL_MS,
      STATE_TTL_MS,
      nowMs === undefined ? '' : String(nowMs),
      STEP_MS,
      STEP_SHARE,
      PROBE_GAP_MS,
      SLOTS_PER_WINDOW,
    );
    for (const r of requests) {
      args.push(
        r.configured,
        r.ceiling,
        r.windowMs,
        r.reserve,
        r.held,
        r.used,
        r.need,
        r.needNow,
        r.extra,
        r.intermediate,
        r.demand,
      );
    }
    const rows = await this.#client.slackbotBudgetSync(...args);
    return rows.map((row) => ({
      need: Number(row[0]) === 1,
      needOk: Number(row[1]) === 1,
      extra: Number(row[2]),
      intermediate: Number(row[3]),
      available: Number(row[4]),
      allowance: Number(row[5]),
      demand: Number(row[6]),
      waitMs: Number(row[7]),
      limited: Number(row[8]) === 1,
    }));
  }

  async limited(request: LimitedRequest, nowMs?: number): Promise<number> {
    const result = await this.#client.slackbotBudgetLimited(
      request.key,
      request.configured,
      request.windowMs,
      request.retryAfterMs,
      nowMs === undefined ? '' : String(nowMs),
      STATE_TTL_MS,
      DECREASE,
      FLOOR_SHARE,
    );
    return Number(result);
  }
}

// ---- what callers see ----

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

/** What Slack counts a method's limit by: the workspace, or for some methods the channel. */
function bucketKey(teamId: string, method: string, channelId: string): string {
  const limit = SLACK_WRITE_LIMITS[method];
  // One hash tag per workspace: a call touching several of its buckets stays on one Cluster slot.
  return limit?.perChannel ? `{budget:${teamId}}:${method}:${channelId}` : `{budget:${teamId}}:${method}`;
}

/** One bucket as this replica sees it: tokens on hand, reserved, spent but not yet reported. */
class Desk {
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

interface DeskWant {
  desk: Desk;
  need: number;
  needNow: number;
  extra: number;
  intermediate: number;
}

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
    for (;;) {
      const pending = items.find((item) => item.desk.leasingPriority > 0 && item.desk.priority === 0);
      if (!pending) break;
      pending.desk.waiting += 1;
      try {
        await pending.desk.busy;
      } finally {
        pending.desk.waiting -= 1;
      }
    }
    const nowMs = this.#now();
    const blocked = items.filter((item) => item.desk.blockedUntilMs > nowMs);
    if (blocked.length > 0) {
      return {
        ok: false,
        waitMs: Object.fromEntries(
          blocked.map((item) => [item.desk.method, item.desk.blockedUntilMs - nowMs]),
        ),
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
    // Tokens on hand first; the ledger only for what is missing (all of it, or none of it).
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
    if (missing.size > 0) {
      const wants = [...missing.values()];
      const grants = await this.#sync(wants);
      if (!grants.every((grant) => grant.need)) {
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
    }
    for (const item of fromStock) {
      if (item.use === 'now') {
        item.desk.reserved -= 1;
        this.#spent(item.desk);
      } else this.#schedule(item.desk);
    }
    return { ok: true };
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
      let grants: BucketGrant[];
      try {
        grants = await this.#ledger.sync(this.#replica, requests, this.#ledgerNow?.());
      } catch (error) {
        // Without the ledger the budget cannot be shared: writes go ahead, 429s still slow them.
        this.#onError(error);
        grants = requests.map((r) => ({
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
      if (grants.every((grant) => grant.need)) reserveGranted(wants);
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

/** A ledger call that only reports (spent tokens, leases given back, renewals). */
function reportOnly(desk: Desk): DeskWant {
  return { desk, need: 0, needNow: 0, extra: 0, intermediate: 0 };
}

/**
 * Granted: `now` tokens are already in the window; `later` ones are held as reservations, counted
 * before the call lets the next one go (that one reports what this replica holds).
 */
function reserveGranted(wants: DeskWant[]): void {
  for (const want of wants) want.desk.reserved += want.need - want.needNow;
}

/** Priority tokens leased beside the one asked for: none for small allowances, up to 4. */
function leaseBatch(configured: number): number {
  return Math.max(0, Math.min(4, Math.floor(configured / 25)));
}

class SharedAnswerBudget implements AnswerBudget {
  readonly #budget: SharedWriteBudget;
  readonly #teamId: string;
  readonly #channelId: string;
  readonly #reserved = new Map<string, number>();
  #wanted: Desk | null = null;

  constructor(budget: SharedWriteBudget, teamId: string, channelId: string) {
    this.#budget = budget;
    this.#teamId = teamId;
    this.#channelId = channelId;
  }

  async acquire(items: ReadonlyArray<{ method: string; use: TokenUse }>) {
    const counted = items.flatMap((item) => {
      const desk = this.#desk(item.method);
      return desk ? [{ desk, use: item.use }] : [];
    });
    if (counted.length === 0) return { ok: true as const };
    const result = await this.#budget.acquire(counted);
    if (result.ok) {
      for (const item of counted)
        if (item.use === 'later')
          this.#reserved.set(item.desk.method, (this.#reserved.get(item.desk.method) ?? 0) + 1);
    }
    return result;
  }

  async intermediate(method: string): Promise<number> {
    const desk = this.#desk(method);
    return desk ? this.#budget.intermediate(desk) : 0;
  }

  paceMs(method: string, flushMs: number): number {
    const desk = this.#desk(method);
    return desk ? this.#budget.paceMs(desk, flushMs) : flushMs;
  }

  spend(method: string): boolean {
    const count = this.#reserved.get(method) ?? 0;
    const desk = this.#desk(method);
    if (count === 0 || !desk) return false;
    this.#reserved.set(method, count - 1);
    this.#budget.spendReserved(desk);
    return true;
  }

  release(method: string): void {
    const count = this.#reserved.get(method) ?? 0;
    const desk = this.#desk(method);
    if (count === 0 || !desk) return;
    this.#reserved.set(method, count - 1);
    this.#budget.releaseReserved(desk);
  }

  wants(method: string | null): void {
    const desk = method === null ? null : this.#desk(method);
    if (desk === this.#wanted) return;
    if (this.#wanted) this.#budget.changeDemand(this.#wanted, -1);
    this.#wanted = desk;
    if (desk) this.#budget.changeDemand(desk, 1);
  }

  close(): void {
    for (const [method, count] of this.#reserved) for (let i = 0; i < count; i += 1) this.release(method);
    this.wants(null);
  }

  #desk(method: string): Desk | null {
    return this.#budget.desk(this.#teamId, method, this.#channelId);
  }
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

/** The budget every replica on one Redis (or Redis Cluster) shares. */
export class RedisWriteBudget extends SharedWriteBudget {
  constructor(options: {
    client: Redis | Cluster;
    keyPrefix: string;
    scale: number;
    ceiling?: number;
    onError: (error: unknown) => void;
    onAllowance?: (method: string, perMinute: number) => void;
    /** Tests: this clock for the leases and for Redis's side too (instead of Redis TIME). */
    now?: () => number;
    replicaId?: string;
  }) {
    super({
      ...options,
      ledger: new PrefixedLedger(new RedisLedger(options.client), options.keyPrefix),
      ledgerClock: options.now !== undefined,
    });
  }
}

/** Puts the deployment's key prefix in front of every bucket key. */
class PrefixedLedger implements Ledger {
  readonly #inner: Ledger;
  readonly #prefix: string;
  constructor(inner: Ledger, prefix: string) {
    this.#inner = inner;
    this.#prefix = prefix;
  }
  sync(replica: string, requests: BucketRequest[], nowMs?: number): Promise<BucketGrant[]> {
    return this.#inner.sync(
      replica,
      requests.map((r) => ({ ...r, key: this.#prefix + r.key })),
      nowMs,
    );
  }
  limited(request: LimitedRequest, nowMs?: number): Promise<number> {
    return this.#inner.limited({ ...request, key: this.#prefix + request.key }, nowMs);
  }
}
