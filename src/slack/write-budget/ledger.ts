/** The ledger port: where bucket state lives, in this process or in Redis for every replica. */

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

/** Puts the deployment's key prefix in front of every bucket key. */
export class PrefixedLedger implements Ledger {
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
