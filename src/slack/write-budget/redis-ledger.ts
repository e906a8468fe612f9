/**
 * The ledger every replica shares, in Redis: the same algorithm as memory-ledger.ts, in Lua
 * (sync.lua, limited.lua), so that one call reads and updates a workspace's buckets atomically.
 * Redis's clock is the one all replicas share.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import {
  type BucketGrant,
  type BucketRequest,
  type Ledger,
  type LimitedRequest,
  PrefixedLedger,
} from './ledger.ts';
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
} from './tuning.ts';

/** The scripts, read once at start from beside this module (the build copies them into dist/). */
const syncLua = readFileSync(new URL('./sync.lua', import.meta.url), 'utf8');
const limitedLua = readFileSync(new URL('./limited.lua', import.meta.url), 'utf8');

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
