/** The budget's timings and learning steps, shared by both ledgers and the desks. */

/** A window is counted in this many slots; a spent token comes back up to one slot late. */
export const SLOTS_PER_WINDOW = 30;
/** Leases of a replica that stopped renewing them are given back after this. */
export const HOLD_TTL_MS = 15_000;
/** A replica holding tokens renews its leases this often. */
export const HEARTBEAT_MS = 5_000;
/** Tokens spent are reported within this (one call for every write made meanwhile). */
export const REPORT_MS = 1_000;
/** A leased token not used within this goes back to the bucket. */
export const LEASE_MS = 3_000;
/** Learned allowances are forgotten after an hour without writes. */
export const STATE_TTL_MS = 3_600_000;
/** Sustained demand this long without a 429 raises the allowance one step. */
export const STEP_MS = 30_000;
/** One step, as a share of the configured allowance. */
export const STEP_SHARE = 0.1;
/** A 429 multiplies the allowance by this. */
export const DECREASE = 0.75;
/** The allowance never drops below this share of the configured one. */
export const FLOOR_SHARE = 0.25;
/** At most one token above the proven allowance is handed out in this time. */
export const PROBE_GAP_MS = 3_000;
/** Intermediate writes spend what the bucket holds over about this long, plus its refill. */
export const SPEND_HORIZON_MS = 10_000;
/** After the ledger refused, a replica asks it again no sooner than this (or the wait it gave). */
export const EMPTY_RECHECK_MS = 1_000;
/** How often idle local state is dropped. */
export const SWEEP_INTERVAL_MS = 1_000;
