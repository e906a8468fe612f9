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
  /** Files that went with a user turn, by reference (never their bytes): re-read for a follow-up. */
  files?: StoredFileRef[];
}

/** A file in history: enough to read it again from Slack. */
export interface StoredFileRef {
  id: string;
  name: string;
  mimetype: string;
  size: number | null;
  url: string | null;
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

/** What a person is looking at in Slack (a channel, or one message in it) while they talk to the bot. */
export interface Viewing {
  channelId: string;
  messageTs?: string;
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
  /** Remembers what `userKey` is looking at for `ttlMs`, replacing the earlier; null forgets it. */
  setViewing(userKey: string, viewing: Viewing | null, ttlMs: number): Promise<void>;
  /** What `userKey` was last seen looking at, or null (never told, forgotten, or expired). */
  getViewing(userKey: string): Promise<Viewing | null>;
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
