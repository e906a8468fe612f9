/**
 * Slack's write budget, shared by every replica. Slack limits each method per workspace (and
 * chat.postMessage per channel) however many replicas the bot runs, so replicas take tokens from
 * one bucket per workspace and method (in Redis when there is one) and stay under the limit
 * instead of discovering it through 429s. Callers decide what a refusal means: a coalescable write
 * (append, edit) simply happens later with more text; a stream start falls back to posting.
 */
import type { Cluster, Redis } from 'ioredis';

/** Sustained rate per method (writes a minute) from Slack's tiers; see PLATFORM-FACTS. */
export const SLACK_WRITE_TIERS_PER_MINUTE: Record<string, number> = {
  'chat.startStream': 20,
  'chat.stopStream': 20,
  'chat.appendStream': 100,
  'chat.update': 50,
  'chat.postMessage': 60, // about one a second, per channel
  'agents.sessions.setStatus': 50, // Tier 3: an answer's session goes processing, then active
};

/** Methods whose budget Slack counts per channel rather than per workspace. */
const PER_CHANNEL = new Set(['chat.postMessage']);
/** Seconds of sustained rate a bucket may spend at once (Slack tolerates short bursts). */
const BURST_SECONDS = 2;
/**
 * How often the in-process budgets drop entries that hold nothing back any more (a full bucket, a
 * Retry-After that has passed): each channel the bot ever wrote to would otherwise stay forever.
 */
const SWEEP_INTERVAL_MS = 1_000;

export interface WriteBudget {
  /** Takes one write token; 0 when granted, else the milliseconds until one is available (nothing taken). */
  take(teamId: string, method: string, channelId: string): Promise<number>;
  /** Slack answered 429: the bucket is emptied for `retryAfterMs`, for every replica. */
  penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void>;
}

/** No budget at all: every write is allowed (each answer still waits out its own 429s). */
export const UNLIMITED_BUDGET: WriteBudget = { take: async () => 0, penalize: async () => undefined };

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
    const nowMs = this.#now();
    this.#sweep(nowMs);
    const until = this.#blockedUntilMs.get(bucketKey(teamId, method, channelId)) ?? 0;
    return Math.max(0, until - nowMs);
  }

  async penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void> {
    const nowMs = this.#now();
    this.#sweep(nowMs);
    this.#blockedUntilMs.set(bucketKey(teamId, method, channelId), nowMs + retryAfterMs);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < SWEEP_INTERVAL_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, untilMs] of this.#blockedUntilMs) if (untilMs <= nowMs) this.#blockedUntilMs.delete(key);
  }
}

/** What Slack counts a method's limit by: the workspace, or for some methods the channel. */
function bucketKey(teamId: string, method: string, channelId: string): string {
  return PER_CHANNEL.has(method) ? `${teamId}:${method}:${channelId}` : `${teamId}:${method}`;
}

interface BucketSpec {
  key: string;
  ratePerMs: number;
  capacity: number;
}

function bucketFor(teamId: string, method: string, channelId: string, scale: number): BucketSpec | null {
  const perMinute = SLACK_WRITE_TIERS_PER_MINUTE[method];
  if (!perMinute) return null;
  const ratePerMs = (perMinute * scale) / 60_000;
  return {
    key: bucketKey(teamId, method, channelId),
    ratePerMs,
    capacity: Math.max(1, Math.floor(ratePerMs * BURST_SECONDS * 1000)),
  };
}

/** Tokens in a bucket after refilling it from `lastMs` to `nowMs` (the Lua script does the same). */
function refill(tokens: number, lastMs: number, nowMs: number, spec: BucketSpec): number {
  return Math.min(spec.capacity, tokens + Math.max(0, nowMs - lastMs) * spec.ratePerMs);
}

/** In-process budget: right for one replica (and the tests of the mechanism). */
export class MemoryWriteBudget implements WriteBudget {
  readonly #scale: number;
  readonly #now: () => number;
  /** `fullAtMs`: from then on the bucket is as good as absent (a missing bucket starts full). */
  readonly #buckets = new Map<string, { tokens: number; lastMs: number; fullAtMs: number }>();
  #sweptAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: { scale: number; now?: () => number }) {
    this.#scale = options.scale;
    this.#now = options.now ?? Date.now;
  }

  /** Buckets held: those not yet refilled since their last write (full ones are dropped). */
  get size(): number {
    return this.#buckets.size;
  }

  async take(teamId: string, method: string, channelId: string): Promise<number> {
    const spec = bucketFor(teamId, method, channelId, this.#scale);
    if (!spec) return 0;
    const nowMs = this.#now();
    this.#sweep(nowMs);
    const bucket = this.#buckets.get(spec.key) ?? { tokens: spec.capacity, lastMs: nowMs, fullAtMs: nowMs };
    bucket.tokens = refill(bucket.tokens, bucket.lastMs, nowMs, spec);
    bucket.lastMs = nowMs;
    let waitMs = 0;
    if (bucket.tokens >= 1) bucket.tokens -= 1;
    else waitMs = Math.ceil((1 - bucket.tokens) / spec.ratePerMs);
    bucket.fullAtMs = fullAt(bucket, spec);
    this.#buckets.set(spec.key, bucket);
    return waitMs;
  }

  async penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void> {
    const spec = bucketFor(teamId, method, channelId, this.#scale);
    if (!spec) return;
    const nowMs = this.#now();
    this.#sweep(nowMs);
    // Negative tokens: the next one is due when Slack said, then the usual pace resumes.
    const bucket = { tokens: 1 - retryAfterMs * spec.ratePerMs, lastMs: nowMs, fullAtMs: nowMs };
    bucket.fullAtMs = fullAt(bucket, spec);
    this.#buckets.set(spec.key, bucket);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < SWEEP_INTERVAL_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, bucket] of this.#buckets) if (bucket.fullAtMs <= nowMs) this.#buckets.delete(key);
  }
}

/** When a bucket, left alone, is full again. */
function fullAt(bucket: { tokens: number; lastMs: number }, spec: BucketSpec): number {
  return bucket.lastMs + Math.max(0, spec.capacity - bucket.tokens) / spec.ratePerMs;
}

// KEYS[1] bucket; ARGV: rate per ms, capacity, ttl ms. Redis's clock is the one clock all replicas share.
const takeTokenLua = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1]) or capacity
local last = tonumber(state[2]) or nowMs
tokens = math.min(capacity, tokens + math.max(0, nowMs - last) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', nowMs)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return wait`;

// KEYS[1] bucket; ARGV: tokens to set (negative: a wait), ttl ms.
const penalizeLua = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HSET', KEYS[1], 'tokens', ARGV[1], 'ms', nowMs)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

interface BudgetScripts {
  slackbotTakeWriteToken(key: string, ratePerMs: string, capacity: number, ttlMs: number): Promise<number>;
  slackbotPenalizeWriteBucket(key: string, tokens: string, ttlMs: number): Promise<number>;
}

/** Budget shared by every replica on one Redis (or Redis Cluster: one key per bucket). */
export class RedisWriteBudget implements WriteBudget {
  readonly #client: (Redis | Cluster) & BudgetScripts;
  readonly #prefix: string;
  readonly #scale: number;
  readonly #onError: (error: unknown) => void;

  constructor(options: {
    client: Redis | Cluster;
    keyPrefix: string;
    scale: number;
    onError: (error: unknown) => void;
  }) {
    options.client.defineCommand('slackbotTakeWriteToken', { numberOfKeys: 1, lua: takeTokenLua });
    options.client.defineCommand('slackbotPenalizeWriteBucket', { numberOfKeys: 1, lua: penalizeLua });
    this.#client = options.client as (Redis | Cluster) & BudgetScripts;
    this.#prefix = options.keyPrefix;
    this.#scale = options.scale;
    this.#onError = options.onError;
  }

  async take(teamId: string, method: string, channelId: string): Promise<number> {
    const spec = bucketFor(teamId, method, channelId, this.#scale);
    if (!spec) return 0;
    try {
      return await this.#client.slackbotTakeWriteToken(
        this.#key(spec),
        spec.ratePerMs.toString(),
        spec.capacity,
        120_000,
      );
    } catch (error) {
      // Without Redis the budget cannot be shared; writes go ahead and 429s still slow them.
      this.#onError(error);
      return 0;
    }
  }

  async penalize(teamId: string, method: string, channelId: string, retryAfterMs: number): Promise<void> {
    const spec = bucketFor(teamId, method, channelId, this.#scale);
    if (!spec) return;
    try {
      await this.#client.slackbotPenalizeWriteBucket(
        this.#key(spec),
        (1 - retryAfterMs * spec.ratePerMs).toString(),
        120_000,
      );
    } catch (error) {
      this.#onError(error);
    }
  }

  #key(spec: BucketSpec): string {
    return `${this.#prefix}{budget:${spec.key}}`;
  }
}
