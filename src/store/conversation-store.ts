/**
 * The store port: everything the bot keeps between events. Two adapters implement it:
 * Redis (shared by many replicas) and in-process (one replica only, not for production).
 *
 * Keys passed in are logical ids (`threadId`, claim keys); each adapter adds its own prefix and,
 * for Redis Cluster, a hash tag so that one thread's keys live on one slot.
 */

/** One message of a conversation as the model sees it. */
export interface Turn {
  role: 'user' | 'assistant';
  text: string;
}

/** What the bot remembers of one Slack thread. */
export interface ThreadState {
  /** Oldest first. Starts with a user turn and roles alternate. */
  turns: Turn[];
  /** The Bedrock Knowledge Base session for this thread, or null when none was opened yet. */
  kbSessionId: string | null;
  /**
   * The last model request of this thread: the input tokens the model reported for it, and our own
   * local estimate of the same request, so the estimate can be corrected like for like. Null when unknown.
   */
  lastRequest: { inputTokens: number; estimatedTokens: number } | null;
}

/** Who may follow up in a thread without mentioning the bot: kept apart from the history, so checking costs no parse. */
export interface ThreadMembership {
  /** Someone addressed the bot in this thread (its answer may still be running). */
  active: boolean;
  /** This user addressed the bot in this thread. */
  participant: boolean;
}

/** Someone who addressed the bot in a thread, recorded for `ttlMs`. */
export interface Participant {
  userId: string;
  ttlMs: number;
}

/**
 * One channel's settings as admins set them: only the fields changed from the defaults, each a JSON
 * value (the conversation layer validates them), and who changed them last.
 */
export interface StoredChannelSettings {
  values: Record<string, unknown>;
  updatedBy: string | null;
  updatedAtMs: number | null;
}

/** Fields to set; a null value clears the field (back to the default). */
export type ChannelSettingsPatch = Record<string, unknown>;

/** Whose use is added up: a person or a channel, in one workspace. */
export interface UsageScope {
  kind: 'user' | 'channel';
  teamId: string;
  id: string;
}

/** What a scope used on one UTC day. Whole numbers, so that concurrent additions are exact. */
export interface UsageTotals {
  answers: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Estimated cost in millionths of a US dollar. */
  costMicroUsd: number;
}

export const USAGE_FIELDS = [
  'answers',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'costMicroUsd',
] as const satisfies ReadonlyArray<keyof UsageTotals>;

export function emptyUsage(): UsageTotals {
  return {
    answers: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costMicroUsd: 0,
  };
}

export interface ConversationStore {
  /** Atomically claims `key` for `ttlMs`: true for the first caller, false while an earlier claim lives. */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Takes the thread's lock if it is free and returns the owner token, or null when someone holds it. */
  acquireLock(threadId: string, ttlMs: number): Promise<string | null>;
  /**
   * Takes the thread's lock if it is free and, in the same atomic step, reads the thread's state
   * (and records `participant`): null when someone else holds the lock. Saves round trips on every answer.
   */
  acquireLockAndGetThread(
    threadId: string,
    ttlMs: number,
    participant?: Participant,
  ): Promise<{ token: string; state: ThreadState | null } | null>;
  /** Records `participant` in the thread's participants (also done by acquireLockAndGetThread when given one). */
  addParticipant(threadId: string, participant: Participant): Promise<void>;
  /** Whether the thread is the bot's and whether `userId` addressed it there, without reading the history. */
  threadMembership(threadId: string, userId: string): Promise<ThreadMembership>;
  /** Pushes the lock's expiry to `ttlMs` from now if `token` still owns it; false when it does not. */
  extendLock(threadId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Deletes the lock if `token` owns it; false when it does not (expired or taken over). */
  releaseLock(threadId: string, token: string): Promise<boolean>;
  /** The thread's state, or null when the store has none (never seen, or expired). */
  getThread(threadId: string): Promise<ThreadState | null>;
  /**
   * Saves the thread's state with expiry `ttlMs` from now (the participants' expiry too) and releases
   * the lock, in one atomic step, only if `token` still owns the lock. False (and nothing written) when it does not.
   */
  commitThread(threadId: string, state: ThreadState, ttlMs: number, token: string): Promise<boolean>;
  /** A channel's settings, or null when nobody changed any. Shared by every replica. */
  getChannelSettings(teamId: string, channelId: string): Promise<StoredChannelSettings | null>;
  /**
   * Applies `patch` and records who and when, in one atomic step; returns the settings before and
   * after, so that the change can be logged exactly as it happened (also when two admins race).
   */
  updateChannelSettings(
    teamId: string,
    channelId: string,
    patch: ChannelSettingsPatch,
    change: { by: string; atMs: number },
  ): Promise<{ before: StoredChannelSettings | null; after: StoredChannelSettings }>;
  /**
   * Adds `amounts` to each scope's totals of `day` (YYYY-MM-DD, UTC) in one atomic step; the totals
   * expire `ttlMs` after their last addition. The scopes belong to one workspace.
   */
  addUsage(scopes: UsageScope[], day: string, amounts: UsageTotals, ttlMs: number): Promise<void>;
  /** Each scope's totals of `day`, in order (zeros without use); the scopes belong to one workspace. */
  getUsage(scopes: UsageScope[], day: string): Promise<UsageTotals[]>;
  /** Resolves when the store answers; rejects when it does not (used by /readyz). */
  ping(): Promise<void>;
  /** False while the store is known to be unreachable (reconnecting, closed): a hint, not a promise. */
  connected(): boolean;
  /** Closes connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** Raised by adapters when the backing service cannot be reached or does not answer in time. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'store_unavailable';
}
