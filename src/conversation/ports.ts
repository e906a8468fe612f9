/**
 * The ports the core owns: what the conversation service needs from the world, each member with
 * its contract in a line. Adapters implement them (bedrock/, store/, slack/); main.ts and bot.ts
 * wire them. Nothing here knows Slack's or Bedrock's wire formats.
 *
 * - Model: a question and its context in; text deltas, citations, usage out (Converse, Knowledge Base).
 * - Store: what the bot keeps between events (Redis, or in-process for one replica).
 * - Surface: where answers are shown, and how the thread and its files are read (Slack).
 * - Stops: carries a person's Stop to the replica running the answer.
 *
 * And what a Slack listener hands to the core: one question, in one thread.
 */

// ---- Questions ----

/** A conversation is a Slack thread, keyed by workspace, channel and thread root ts. */
export interface ThreadRef {
  teamId: string;
  channelId: string;
  threadTs: string;
}

export type Surface = 'mention' | 'thread_reply' | 'dm' | 'command' | 'regenerate';

export interface Question {
  thread: ThreadRef;
  /** Where the answer goes: the thread itself, or a slash command's response_url when the bot cannot post. */
  replyTo: { kind: 'thread' } | { kind: 'response_url'; url: string };
  /** ts of the message that asked (dedup and thread reading); for /ask, the posted question's ts. */
  messageTs: string;
  userId: string;
  /** The question, bot mention removed, other mentions resolved to names. */
  text: string;
  surface: Surface;
  isDm: boolean;
  /** The person addressed the bot directly (mention, /ask, DM), as opposed to a plain thread reply. */
  addressed: boolean;
  /** One atomic store key per Slack message: retries and the mention/message pair share it. */
  dedupKey: string;
  /** Slack says it sent this before (a retry), so it may be taken already. */
  redelivery?: boolean;
  /**
   * Asks the thread's last question again and replaces its answer: set by a Regenerate click on the
   * answer whose stored text hashes to `answerHash` (see thread-history.ts `answerHash`).
   */
  regenerate?: { answerHash: string };
  /** Slack's `action_token` of the asking event: search tools look as this person may see. */
  actionToken?: string;
  /**
   * Goes on with the turn paused for approval `approvalId`, with the person's decision on its tool
   * calls; the paused turn is read under the thread's lock, and stays stored until this commits.
   */
  resume?: ResumeDecision;
  /** What the person is looking at in Slack, when the event said (the Messages tab's `context`). */
  viewing?: Viewing;
  /** Files shared with the message: images and documents go to the model within its limits. */
  files?: FileRef[];
}

/** A person's decision on an approval request, as the click carried it. */
export interface ResumeDecision {
  approvalId: string;
  approved: boolean;
  decidedBy: string;
  /** The approval request's message (the clicked one), to end it with the decision. */
  messageTs: string;
}

export function threadId(thread: ThreadRef): string {
  return `${thread.teamId}:${thread.channelId}:${thread.threadTs}`;
}

// ---- Model ----

/** A file's bytes going to the model with a user turn. */
export interface Attachment {
  kind: 'image' | 'document';
  /** Converse's format name: png, jpeg, gif, webp; pdf, csv, doc, docx, xls, xlsx, html, txt, md. */
  format: string;
  bytes: Uint8Array;
}

/** A turn as sent: its text, and the bytes of the files that go with it. */
export type RequestTurn = Turn & { attachments?: Attachment[] };

/** What a model takes besides text, and Converse's limits for it (checked before a call). */
export interface ModelInputs {
  /** Image formats the model reads; empty when it reads none. */
  imageFormats: string[];
  /** Document formats the model reads; empty when it reads none. */
  documentFormats: string[];
  maxImageBytes: number;
  maxDocumentBytes: number;
  maxImagesPerRequest: number;
  maxDocumentsPerRequest: number;
  /** Said instead of a format's refusal when the model reads no files at all (e.g. a Knowledge Base). */
  textOnlyReason?: string;
}

/** How one question is to be answered, where it differs from the configuration (a channel's settings). */
export interface ModelChoice {
  /** The Converse model; the configured one when absent. */
  modelId?: string;
  /** A system prompt that stays the same across questions (so it can be cached); the configured one when absent. */
  systemPrompt?: string;
  /** The Knowledge Base to answer from: absent, the configured one; null, none (plain model answers). */
  knowledgeBase?: { id: string; mode: 'managed' | 'retrieve' } | null;
  /** Bedrock's service tier; absent, the configured one; null, Bedrock's default. */
  serviceTier?: 'priority' | 'default' | 'flex' | null;
}

export interface AnswerRequest {
  /** The conversation so far, ending with the new user turn; a valid Converse message list. */
  turns: RequestTurn[];
  /**
   * Replaces the system prompt for this one request (retrieve mode adds this question's sources to
   * it); such a prompt changes every time, so nothing before it is cached.
   */
  system?: string;
  options?: ModelChoice;
  /**
   * Older turns were left out to fit the history budget, so this request starts differently from
   * the thread's previous one: caching its history would write what no later request reads.
   */
  historyTrimmed?: boolean;
  /** Tools the model may ask for (Converse `toolConfig`); none: it answers alone. */
  tools?: ToolSpec[];
  /** The Knowledge Base session of this thread, or null to open a new one. */
  kbSessionId: string | null;
  /** Aborts the model call (shutdown, or the person stopped the answer). */
  signal?: AbortSignal;
}

/** A document an answer cites, as found in Bedrock's retrieved references. */
export interface CitedSource {
  /** Stable identity of the document (URI or URL); two citations of one document share it. */
  id: string;
  /** Human title: metadata title, else file name or page path. */
  title: string;
  /** A link a person can open, or null when the source has none. */
  url: string | null;
}

export type AnswerEvent =
  /** Newly generated answer text. */
  | { type: 'text'; text: string }
  /** The answer text generated so far, from `start` to `end` (character offsets), cites these sources. */
  | { type: 'citation'; start: number; end: number; sources: CitedSource[] }
  /** The model is searching the knowledge base (shown to the person until text arrives). */
  | { type: 'status'; status: 'searching' }
  /**
   * A Knowledge Base session id to keep for the next turn of this thread; null: the thread's
   * session no longer holds the whole conversation (this turn was answered without it), drop it.
   */
  | { type: 'session'; kbSessionId: string | null }
  /**
   * What the model reported: `inputTokens` excludes the tokens read from and written to the prompt
   * cache (as Bedrock reports them), so the whole input is the sum of the three.
   */
  | {
      type: 'usage';
      inputTokens: number;
      outputTokens: number;
      cacheReadTokens?: number;
      cacheWriteTokens?: number;
    }
  /** The model asks for a tool (its input complete); the answer's round ends with stop `tool_use`. */
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  /** Why the model stopped: `end_turn`, `max_tokens`, `tool_use`, `guardrail_intervened`, … */
  | { type: 'stop'; reason: string };

/** An answer's tokens as the model reported them (cache reads and writes apart from the rest of the input). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Estimated prices by model (list prices, not the bill): what budgets and usage count. */
export interface PriceList {
  /** Estimated USD of `usage` on `modelId`; null when the model has no price. */
  costOf(modelId: string, usage: TokenUsage): number | null;
}

export interface AnswerModel {
  /**
   * What the model `choice` names (a channel's model or Knowledge Base; the configured one when
   * absent) takes besides text, as far as this process knows: a refusal seen since narrows it.
   */
  inputsFor(choice?: ModelChoice): ModelInputs;
  /** Streams one answer. Throws an AnswerError (see answer-errors.ts) on failure, also midway. */
  stream(request: AnswerRequest): AsyncIterable<AnswerEvent>;
}

// ---- Store ----
//
// Keys passed in are logical ids (`threadId`, claim keys); each adapter adds its own prefix and,
// for Redis Cluster, a hash tag so that one thread's keys live on one slot.

/** One message of a conversation as the model sees it. */
export interface Turn {
  role: 'user' | 'assistant';
  text: string;
  /** Files that went with a user turn, by reference (never their bytes): re-read for a follow-up. */
  files?: StoredFileRef[];
  /** Tools the model asked for in this assistant turn (a tool round), in order. */
  toolUses?: ToolUse[];
  /** The results of the previous turn's tool calls, in this user turn (then `text` may be empty). */
  toolResults?: ToolResultRecord[];
}

/** One tool call the model asked for. */
export interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

/** What one tool call gave back, as the model is told (untrusted data, bounded in size). */
export interface ToolResultRecord {
  toolUseId: string;
  status: 'success' | 'error';
  text: string;
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

/** Who may answer an approval request: the asker or an approver, or only the configured approvers. */
export type ApprovalMode = 'asker' | 'approvers';

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

// ---- Surface ----

/** A file shared in Slack, as the core knows it: never its bytes (those are fetched when needed). */
export interface FileRef {
  id: string;
  name: string;
  mimetype: string;
  /** Bytes, as Slack reported it; null when unknown. */
  size: number | null;
  /** Where its bytes are (Slack's `url_private_download`); null: look it up by id. */
  url: string | null;
}

/** Reads a shared file's bytes (for the model), checking that they are the file and not a sign-in page. */
export interface FileReader {
  /** The file's bytes; throws FileUnreadableError with a reason a person can act on. */
  read(file: FileRef, maxBytes: number): Promise<Uint8Array>;
}

export class FileUnreadableError extends Error {
  override readonly name = 'FileUnreadableError';
  /** `no_access` (Slack sent a sign-in page: the app lacks files:read), `too_large`, `unavailable`. */
  readonly reason: 'no_access' | 'too_large' | 'unavailable';
  constructor(reason: FileUnreadableError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The Slack side of an answer in progress. Knows nothing of Bedrock. */
export interface AnswerOutput {
  /** Tells the person what the bot is doing until the first text arrives. */
  showStatus(status: 'thinking' | 'searching' | 'reading'): void;
  /** Adds model text (Markdown). Never blocks: writes are coalesced and flushed in the background. */
  write(markdown: string): void;
  /** Shows (or updates, by `id`) a step of the answer: a tool call and how it went. Never blocks. */
  showStep(step: ToolStep): void;
  /**
   * Flushes everything; the thread then holds exactly the whole answer, then the appendix (notes,
   * sources), and controls under it: `regenerate` identifies the answer for a Regenerate click.
   */
  finish(appendix: { notes: string[]; sources: CitedSource[]; regenerate?: string }): Promise<void>;
  /** Keeps what was shown, adds the note, and closes the answer. */
  fail(note: string): Promise<void>;
}

export interface AnswerHooks {
  /** Slack refused the answer's message for good (not a rate limit): the model call can stop. */
  onUnwritable?: (error: Error) => void;
}

export interface AnswerSurface {
  /** Opens an answer for `question`; the person sees that the bot is working at once. */
  open(question: Question, hooks?: AnswerHooks): AnswerOutput;
  /** Shows on the asking message that it was seen and waits its turn (a reaction); best effort. */
  markWaiting(question: Question): Promise<void>;
  /** Removes that sign when its answer starts; best effort. */
  clearWaiting(question: Question): Promise<void>;
  /** Marks an earlier answer's message as replaced by a newer one (kept, not deleted); best effort. */
  markReplaced(question: Question, messageTs: string): Promise<void>;
  /** Asks in the question's thread for approval of tool calls (Approve and Deny); the message's ts, or null. */
  askApproval(question: Question, request: ApprovalRequest): Promise<string | null>;
  /** Ends an approval request's message with how it ended (its buttons go); best effort. */
  settleApproval(
    question: Question,
    messageTs: string,
    request: ApprovalRequest,
    outcome: ApprovalOutcome,
  ): Promise<void>;
  /** Posts a short notice where the answer would have gone. */
  notice(question: Question, text: string): Promise<void>;
  /** Shows `text` only to the asker, or to `userId` (someone else in the question's thread). */
  ephemeral(question: Question, text: string, userId?: string): Promise<void>;
}

export interface ThreadMessage {
  /** A person's or an app's name. */
  author: string;
  /** As Slack stores it: mentions resolved to names, `&lt;` `&gt;` `&amp;` still encoded. */
  text: string;
  /** A person, this bot (an earlier message of its own), or another bot or app. */
  kind: 'person' | 'self' | 'app';
  /** Files shared with the message. */
  files?: FileRef[];
}

export interface ThreadReader {
  /**
   * The thread's most recent messages posted before `beforeTs`, oldest first, mentions resolved to
   * names, Slack's entities kept encoded.
   */
  read(thread: ThreadRef, beforeTs: string): Promise<ThreadMessage[]>;
  /**
   * What the person is looking at: the channel's recent messages, or the one message and its
   * thread, oldest first; `label` names it for the model (`#general`). Empty when the bot cannot read it.
   */
  readViewing(viewing: Viewing): Promise<{ label: string; messages: ThreadMessage[] }>;
}

// ---- Tools ----

/** A tool the model may call, as Converse describes it to the model. */
export interface ToolSpec {
  /** Unique among the tools offered, `[a-zA-Z0-9_-]{1,64}` (Converse's rule). */
  name: string;
  /** A short human title for the step shown in Slack. */
  title: string;
  description: string;
  /** JSON Schema of the tool's input. */
  inputSchema: Record<string, unknown>;
  /** The tool has side effects: a person must approve each call. */
  needsApproval: boolean;
  /** Who may approve its calls (default `asker`: the asker or an approver). */
  approvedBy?: ApprovalMode;
}

/** A link a tool's result pointed to: shown on its step and in the answer's Sources. */
export interface ToolSource {
  url: string;
  title: string;
}

export interface ToolOutcome {
  status: 'success' | 'error';
  /** What the model is told (bounded in size); for an error, what went wrong. */
  text: string;
  sources: ToolSource[];
}

export interface Toolbox {
  /** The tools the model may use in `channelId` now; a server that is down offers none. */
  toolsFor(channelId: string): ToolSpec[];
  /** Whether a tool of this name is this toolbox's (whatever the channel). */
  owns(name: string): boolean;
  /** Configured tool servers for `channelId` that cannot be reached now, by name. */
  unavailable(channelId: string): string[];
  /** Runs one tool; never throws: failures, timeouts and aborts come back as an error outcome. */
  call(name: string, input: unknown, options: ToolCallOptions): Promise<ToolOutcome>;
  /** Closes connections; the toolbox is unusable afterwards. */
  close(): Promise<void>;
}

/** One tool of our own (no server behind it): offered in every channel, never unavailable. */
export interface BuiltInTool {
  readonly spec: ToolSpec;
  /** Runs the tool; never throws: a failure comes back as an error outcome. */
  run(input: unknown, options: ToolCallOptions): Promise<ToolOutcome>;
  close?(): Promise<void>;
}

export interface ToolCallOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * Who asks, and Slack's `action_token` of the asking event (search as that person may see);
   * where they ask (a tool that searches only that channel's or DM's own knowledge).
   */
  asker?: { userId: string; actionToken?: string; teamId?: string; channelId?: string };
}

/** One step of an answer that used a tool, as the surface shows it. */
export interface ToolStep {
  id: string;
  title: string;
  status: 'pending' | 'in_progress' | 'complete' | 'error';
  details?: string;
  sources?: ToolSource[];
}

// ---- Stops ----

/** Carries "stop the answer in this thread" to whichever replica runs it (a click reaches any one). */
export interface StopRequest {
  /** The thread whose running answer should stop (`threadId` of conversation/question.ts). */
  threadId: string;
  /** Who asked to stop: the replica running the answer decides whether they may. */
  userId: string;
}

export interface StopSignals {
  /** Tells every replica, this one included, that `request.userId` asked to stop `request.threadId`. */
  publish(request: StopRequest): Promise<void>;
  /** Calls `handler` for every stop published from now on; returns a function that unsubscribes. */
  subscribe(handler: (request: StopRequest) => void): () => void;
  /** Stops listening; publishing afterwards fails. */
  close(): Promise<void>;
}
