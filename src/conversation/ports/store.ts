/**
 * The store port: what the bot keeps between events (Redis, or in-process for one replica):
 * threads, locks, settings, usage, approvals. See ../ports.ts for the map of the ports.
 */
import type { CitedSource, ModelChoice, ToolResultRecord, ToolUse, Turn } from './model.ts';
import type { ApprovalMode, ToolSpec } from './tools.ts';

// Keys passed in are logical ids (`threadId`, claim keys); each adapter adds its own prefix and,
// for Redis Cluster, a hash tag so that one thread's keys live on one slot.

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

/** A thread's lock, taken, with the thread's state read in the same step. */
export interface HeldThread {
  token: string;
  state: ThreadState | null;
}

/** What `ConversationStore.admit` does for one delivery of a question. */
export interface Admission {
  /** The delivery's key (the same for every redelivery of one question). */
  claimKey: string;
  claimTtlMs: number;
  /** An asker who addressed the bot, recorded as a participant of the thread. */
  participant?: Participant;
  /** Take the thread's lock for this long if it is free (absent: do not try). */
  lockTtlMs?: number;
}

export interface ConversationStore {
  /**
   * Admits one delivery of a question in one atomic step: claims `claimKey` in the thread for
   * `claimTtlMs` (null, and nothing else done, while an earlier claim lives: a duplicate), records
   * `participant`, and given `lockTtlMs` takes the lock if it is free and reads the state. `held` is
   * null when the lock was not asked for or someone else holds it. One round trip per question.
   */
  admit(threadId: string, admission: Admission): Promise<{ held: HeldThread | null } | null>;
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
  ): Promise<HeldThread | null>;
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
  /**
   * Keeps a turn paused for a person's approval for `ttlMs`, by its approval id: a thread may have
   * several, and a new one never replaces another.
   */
  pauseTurn(threadId: string, paused: PausedTurn, ttlMs: number): Promise<void>;
  /** The paused turn `approvalId` names, or null (none, answered, or gone past its time to live). */
  pausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null>;
  /** Takes the paused turn that `approvalId` names, once and atomically: null for every later caller. */
  takePausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null>;
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

/** What a person is asked to approve: the calls, readable (their inputs are the model's). */
export interface ApprovalRequest {
  approvalId: string;
  askerId: string;
  calls: Array<{ title: string; input: unknown }>;
  expiresAtMs: number;
  /** Binds a click to exactly these calls (see tool-approvals.ts `callsHash`). */
  inputHash: string;
  mode: ApprovalMode;
  /** Who may approve besides the asker (in `approvers` mode: only they). */
  approvers: string[];
  /** The thread's context quoted to the model came from other people: the request says so. */
  quotedContext: boolean;
}

/** How an approval request ended. */
export type ApprovalOutcome = { kind: 'approved' | 'denied'; by: string } | { kind: 'expired' };

/**
 * An answer waiting for a person's approval of a tool call: what it needs to go on, on any replica
 * and after a restart. Stored as JSON, opaque to the store but for `approvalId`.
 */
export interface PausedTurn {
  approvalId: string;
  /** After this the approval is refused as expired (the record lives a little longer, to say so). */
  expiresAtMs: number;
  askerId: string;
  /** The question as it was asked (to answer in its thread). */
  question: { teamId: string; channelId: string; threadTs: string; messageTs: string; isDm: boolean };
  /** The user turn as history keeps it. */
  questionText: string;
  /** This answer's rounds so far, the pending round's calls last (an assistant turn with toolUses). */
  rounds: Turn[];
  /** Results already known for the pending round (calls that needed no approval). */
  results: ToolResultRecord[];
  /** Calls of the pending round that wait for the approval. */
  gated: ToolUse[];
  /** Hash of the tool names and exact inputs of `gated`, as the request showed them. */
  inputHash: string;
  /** The tools the paused answer was offered: their titles, and the request's tool configuration. */
  tools: ToolSpec[];
  mode: ApprovalMode;
  /** The question quoted a thread's messages from other people. */
  quotedContext: boolean;
  /** What the answer showed before it paused. */
  answerSoFar: string;
  citations: CitedSource[];
  /** The model the answer used (a channel's own, or the default). */
  model: ModelChoice | null;
}
