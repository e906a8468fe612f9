/**
 * The core: answers one question in one thread. Every surface (mention, thread reply, DM, /ask)
 * comes through `submit`. Path: admit (dedup, allow-lists, size, etiquette) → take the thread's
 * lock → prepare (history, thread context, trimming) → generate and show → commit the turn.
 * Before admission, the channel's settings and the budgets are looked up once (answer-controls.ts):
 * a switched-off channel or a used-up budget costs no model call; after the answer, its usage is
 * added up per person, channel and day.
 * The first question of a new thread has no history, so its model call starts while the store
 * admits it (see early-answer.ts). Each answer has one AbortSignal, from here through the model
 * port to the AWS SDK call: a restart's bound and a message Slack refuses for good both use it.
 */

import type { Config } from '../config.ts';
import { AnswerError, asAnswerError, newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { AnswerControls, QuestionControls } from './answer-controls.ts';
import {
  AttachmentBudget,
  attachmentTokens,
  type LeftOut,
  leftOutSentence,
  readWithin,
} from './attachments.ts';
import { EarlyAnswer } from './early-answer.ts';
import type { Grounding, KnowledgeGrounding } from './knowledge-ports.ts';
import { MESSAGES } from './messages.ts';
import type {
  AnswerEvent,
  AnswerModel,
  Attachment,
  CitedSource,
  HeldThread,
  ModelChoice,
  PausedTurn,
  RequestTurn,
  Toolbox,
  ToolResultRecord,
  ToolSpec,
  ToolUse,
} from './ports.ts';
import {
  type AnswerOutput,
  type AnswerSurface,
  type ConversationStore,
  type FileReader,
  type FileRef,
  FileUnreadableError,
  type Question,
  type StopRequest,
  type StopSignals,
  StoreUnavailableError,
  type ThreadMembership,
  type ThreadReader,
  type ThreadState,
  type Turn,
  threadId,
  type Viewing,
} from './ports.ts';
import {
  answerHash,
  capStoredHistory,
  estimateRequestTokens,
  estimateScale,
  estimateTokens,
  regenerationOf,
  type TrimmedTurns,
  trimToBudget,
  withThreadContext,
} from './thread-history.ts';
import { type Admitted, pauseUnlessAborted, ThreadTurns } from './thread-turns.ts';
import { ToolApprovals } from './tool-approvals.ts';
import { flattenToolRounds, runToolRound } from './tool-rounds.ts';

/** The conversation part of the configuration, plus what the service takes from the rest of it. */
export type ConversationSettings = Config['conversation'] & {
  systemPrompt: string;
  /** Attempts for retryable model errors that happen before any text was shown. */
  modelAttempts: number;
  logMessageText: boolean;
};

export interface ConversationDeps {
  store: ConversationStore;
  model: AnswerModel;
  surface: AnswerSurface;
  threadReader: ThreadReader;
  settings: ConversationSettings;
  /** Channel settings and budgets before admission, usage after the answer. */
  controls: AnswerControls;
  logger: Logger;
  metrics: Metrics;
  /** Reads files shared with questions (default: none can be read). */
  files?: FileReader;
  /** Tools the model may call (MCP servers), with their limits; none: answers without tools. */
  tools?: {
    toolbox: Toolbox;
    timeoutMs: number;
    maxRounds: number;
    /** Who may approve a tool call besides the asker. */
    approvers: string[];
    /** How long an approval request stays open. */
    approvalTtlMs: number;
  };
  /** Carries Stop clicks to the replica running the answer. */
  stops: StopSignals;
  /** Channel knowledge (knowledge/channel-knowledge.ts): grounds answers, learns answered threads. */
  knowledge?: KnowledgeGrounding;
  /** Whether `userId` may stop someone else's answer (a workspace admin); default: nobody may. */
  mayStopOthers?: (userId: string) => Promise<boolean>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff before retry `attempt` (1-based) of a throttled model call. */
  retryDelayMs?: (attempt: number) => number;
}

const DEDUP_TTL_MS = 60 * 60 * 1000;
/** What history keeps for an answer that came back empty (a turn needs text). */
const NO_ANSWER = '(no answer)';
/** The text beside files sent without a question (Converse needs a text block beside a document). */
const FILES_ONLY_QUESTION =
  '(The person shared the attached file(s) without a question. Say what they show.)';
const NO_FILES: FileReader = {
  read: async () => {
    throw new FileUnreadableError('unavailable', 'this bot reads no files');
  },
};
/** How long what a person is looking at is remembered (Slack tells again when it changes). */
const VIEWING_TTL_MS = 12 * 60 * 60 * 1000;
const STORE_DOWN_MESSAGE =
  "I can't reach my memory right now, so I won't answer without it. Please try again in a minute.";

type Outcome =
  | 'paused'
  | 'answered'
  | 'failed'
  | 'interrupted'
  | 'stopped'
  | 'blocked'
  | 'store_unavailable'
  | 'lock_timeout';

/** An answer running in this process, as a Stop request finds it. */
interface RunningAnswer {
  question: Question;
  stop: () => void;
}

/** What the asker typed, checked before anything is shown or any model is called. */
export interface QuestionCheck {
  channelId: string;
  userId: string;
  text: string;
}

/** The question as it goes to the model, and what it costs. */
interface Prepared {
  /** The question text as stored in history (with the thread's context, when read). */
  questionText: string;
  /** Whose channel's tools the model may use (the question's). */
  toolsChannelId: string;
  /** Who asks and where, for tools that search as that person may see (or that channel's knowledge). */
  asker: { userId: string; actionToken?: string; teamId: string; channelId: string };
  /** The channel's settings' tools, by name; null: every tool the bot has. */
  allowedTools: string[] | null;
  /** The question's files (and the new thread's earlier ones) that go to the model, and their references. */
  attachments: Attachment[];
  attachedFiles: FileRef[];
  /** Files left out (format, size, count, access), for one sentence under the answer. */
  leftOut: LeftOut[];
  /** Files of earlier turns read again, by file id: a follow-up about the same file sees it. */
  historyAttachments: Map<string, Attachment>;
  /** Set when the question is only files and none of them can be read: said instead of asking. */
  unanswerable: string | null;
  /** As sent now: also with what the person is looking at, which is read anew for every question. */
  sentQuestionText: string;
  history: Turn[];
  scale: number;
  budgetTokens: number;
  trimmed: TrimmedTurns;
  /** The channel's choice of model, prompt and Knowledge Base. */
  model: ModelChoice;
  /** What channel knowledge adds (the search tool, quoted passages, "Answered before"); null: nothing. */
  grounding?: Grounding | null;
}

/** What generating produced, whatever the outcome. */
interface Generated {
  answer: string;
  stopReason: string;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
  kbSessionId: string | null;
  citations: CitedSource[];
  firstTokenAtMs: number | null;
  error: AnswerError | null;
  /** Why the answer was cut short before the model finished: a restart, Slack, or the person's Stop. */
  stoppedBy: 'restart' | 'slack' | 'user' | null;
  /** The turns of the request that produced the answer (after any re-trimming). */
  sentTurns: RequestTurn[];
  /** This answer's tool rounds so far (assistant calls, user results), kept in history with it. */
  rounds: Turn[];
  /** Tool calls the model asked for in the model call under way. */
  toolUses: ToolUse[];
  /** The text of the last model call (the answer's own final turn after any tool rounds). */
  finalText: string;
  /** Tools called, by name, for the answer's log line. */
  toolsUsed: string[];
  /** Lines for under the answer that generating produced (tools unavailable, rounds used up). */
  notes: string[];
  /** Set when the round needs a person's approval: the calls that wait, and the results already known. */
  paused: { gated: ToolUse[]; results: ToolResultRecord[] } | null;
}

export class ConversationService {
  readonly #deps: ConversationDeps;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #inFlight = new Set<Promise<void>>();
  /** One answer at a time per thread (a queue here, the store's lock across replicas). */
  readonly #turns: ThreadTurns;
  /** Tool calls waiting for a person's approval. */
  readonly #approvals: ToolApprovals;
  /** Aborted when shutdown's bound is near: answers still running stop, waiting questions are told. */
  readonly #restart = new AbortController();
  readonly #stops: StopSignals;
  readonly #unsubscribeStops: () => void;
  /** Answers running in this process, by thread: where a Stop request lands. */
  readonly #running = new Map<string, RunningAnswer>();
  /** Each question's channel settings and budget verdict, looked up once before admission. */
  readonly #controls = new WeakMap<Question, QuestionControls>();
  #accepting = true;

  constructor(deps: ConversationDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#turns = new ThreadTurns({
      store: deps.store,
      surface: deps.surface,
      metrics: deps.metrics,
      settings: deps.settings,
      now: this.#now,
      sleep: this.#sleep,
      restart: this.#restart.signal,
    });
    this.#approvals = new ToolApprovals({
      store: deps.store,
      surface: deps.surface,
      metrics: deps.metrics,
      approvers: deps.tools?.approvers ?? [],
      ...(deps.tools ? { approvalTtlMs: deps.tools.approvalTtlMs } : {}),
      now: this.#now,
    });
    this.#stops = deps.stops;
    this.#unsubscribeStops = this.#stops.subscribe((request) => {
      this.#onStop(request).catch((err: unknown) => deps.logger.warn({ err }, 'could not handle a stop'));
    });
  }

  /**
   * A person asked to stop the answer running in `thread` (Slack's Stop, or the in-message button):
   * handed to whichever replica runs it, which checks that they may.
   */
  async requestStop(thread: Question['thread'], userId: string): Promise<void> {
    await this.#stops.publish({ threadId: threadId(thread), userId });
  }

  async #onStop(request: StopRequest): Promise<void> {
    const running = this.#running.get(request.threadId);
    if (!running) return; // another replica's answer, or one that has ended
    const { question } = running;
    const allowed =
      request.userId === question.userId || ((await this.#deps.mayStopOthers?.(request.userId)) ?? false);
    if (!allowed) {
      this.#deps.logger.info({ thread: request.threadId, by: request.userId }, 'stop refused: not the asker');
      await this.#deps.surface.ephemeral(question, MESSAGES.stopRefused, request.userId);
      return;
    }
    this.#deps.logger.info({ thread: request.threadId, by: request.userId }, 'answer stopped by a person');
    running.stop();
  }

  /**
   * Asks the thread's last question again (a Regenerate click on its answer): answered like a
   * follow-up, in turn, and its new answer replaces the old one in history; the old message is
   * marked as replaced. Refused (privately) when a newer answer exists or the clicker never asked there.
   */
  regenerate(input: {
    thread: Question['thread'];
    userId: string;
    /** The clicked answer's message. */
    messageTs: string;
    answerHash: string;
    /** Slack's id of this click, so a redelivered click is answered once. */
    clickId: string;
  }): Promise<void> {
    const { thread, userId, messageTs, answerHash, clickId } = input;
    return this.submit({
      thread,
      replyTo: { kind: 'thread' },
      messageTs,
      userId,
      text: '',
      surface: 'regenerate',
      isDm: thread.channelId.startsWith('D'),
      addressed: true,
      dedupKey: `regen:${thread.teamId}:${thread.channelId}:${messageTs}:${clickId}`,
      regenerate: { answerHash },
    });
  }

  /** A person answered an approval request (Approve or Deny) on any replica; see tool-approvals.ts. */
  resolveApproval(input: {
    thread: Question['thread'];
    approvalId: string;
    userId: string;
    approved: boolean;
  }): Promise<void> {
    return this.#approvals.resolve(input, (question) => this.submit(question));
  }

  /** What a resumed turn sends: the thread's history as it is now, and the paused question's text. */
  #preparedForResume(paused: PausedTurn, state: ThreadState | null, question: Question): Prepared {
    const history = state?.turns ?? [];
    const scale = estimateScale(state?.lastRequest ?? null);
    const budgetTokens = this.#deps.settings.historyTokenBudget;
    const questionTurn = { role: 'user' as const, text: paused.questionText };
    return {
      questionText: paused.questionText,
      toolsChannelId: question.thread.channelId,
      asker: {
        userId: paused.askerId,
        teamId: question.thread.teamId,
        channelId: question.thread.channelId,
      },
      allowedTools: this.#controlsOf(question).tools,
      sentQuestionText: paused.questionText,
      attachments: [],
      attachedFiles: [],
      leftOut: [],
      historyAttachments: new Map(),
      unanswerable: null,
      history,
      scale,
      budgetTokens,
      trimmed: trimToBudget(history, questionTurn, budgetTokens, scale),
      model: paused.model ?? this.#controlsOf(question).model,
    };
  }

  /** The paused round, finished: the approved calls run (shown as steps), or a denial for each. */
  async #resumedRound(
    resume: NonNullable<Question['resume']>,
    prepared: Prepared,
    output: AnswerOutput,
    signal: AbortSignal,
  ): Promise<Partial<Pick<Generated, 'rounds' | 'citations' | 'toolsUsed'>>> {
    const { paused, approved } = resume;
    const toolsUsed: string[] = [];
    let gatedResults: ToolResultRecord[];
    const citations = [...paused.citations];
    if (approved && this.#deps.tools) {
      const done = await runToolRound(
        paused.gated,
        this.#toolsFor(prepared),
        this.#toolRoundDeps(output, signal, { toolsUsed }, prepared.asker),
      );
      gatedResults = done.results;
      for (const source of done.sources)
        if (!citations.some((c) => c.id === source.url))
          citations.push({ id: source.url, title: source.title, url: source.url });
    } else {
      gatedResults = paused.gated.map((use) => ({
        toolUseId: use.id,
        status: 'error',
        text: MESSAGES.deniedResult,
      }));
    }
    const rounds: Turn[] = [
      ...paused.rounds,
      { role: 'user', text: '', toolResults: [...paused.results, ...gatedResults] },
    ];
    return { rounds, citations, toolsUsed };
  }

  /**
   * Remembers what a person is looking at in Slack (the Messages tab's `app_context_changed`), for
   * every replica: their next question in the Messages tab is given it as quoted context.
   */
  async noteViewing(teamId: string, userId: string, viewing: Viewing | null): Promise<void> {
    await this.#deps.store.setViewing(`${teamId}:${userId}`, viewing, VIEWING_TTL_MS);
  }

  /** Stops listening for Stop requests (after draining). */
  async close(): Promise<void> {
    this.#unsubscribeStops();
    await this.#stops.close();
  }

  /** Answers in the background; never rejects. Returns the promise for callers that want to wait. */
  submit(question: Question): Promise<void> {
    const work = this.#handle(question).catch((error: unknown) => {
      this.#deps.logger.error(
        { err: error, thread: threadId(question.thread) },
        'unexpected failure answering',
      );
    });
    this.#inFlight.add(work);
    this.#deps.metrics.answersInFlight.set(this.#inFlight.size);
    void work.finally(() => {
      this.#inFlight.delete(work);
      this.#deps.metrics.answersInFlight.set(this.#inFlight.size);
    });
    return work;
  }

  /** Stops taking new questions (they get a short notice); answers in flight go on. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * Lets answers in flight finish for most of `timeoutMs`; a little before it runs out, answers
   * still running are stopped (what was shown is committed with a restart note) and questions
   * waiting for a thread are told to ask again. True when every answer had ended by `timeoutMs`.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const marginMs = Math.min(2_000, Math.max(250, Math.floor(timeoutMs / 4)));
    if (await this.#settle(Math.max(0, timeoutMs - marginMs))) return true;
    this.#deps.logger.warn(
      { inFlight: this.#inFlight.size },
      'shutdown bound near: stopping answers still running',
    );
    this.#restart.abort();
    return this.#settle(marginMs);
  }

  /** Waits up to `timeoutMs` for every answer in flight (also ones that start meanwhile). */
  async #settle(timeoutMs: number): Promise<boolean> {
    const deadline = this.#now() + timeoutMs;
    while (this.#inFlight.size > 0) {
      const remainingMs = deadline - this.#now();
      if (remainingMs <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, remainingMs);
      });
      await Promise.race([Promise.allSettled([...this.#inFlight]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Why this question would be refused without a model call (allow-lists, size), or null. Surfaces
   * that show the question before answering it (/ask) check first.
   */
  refusalFor(check: QuestionCheck): { reason: string; text: string } | null {
    const { settings } = this.#deps;
    if (settings.allowedChannelIds.length > 0 && !settings.allowedChannelIds.includes(check.channelId))
      return { reason: 'channel', text: MESSAGES.notAllowedChannel };
    if (settings.allowedUserIds.length > 0 && !settings.allowedUserIds.includes(check.userId))
      return { reason: 'user', text: MESSAGES.notAllowedUser };
    if (check.text.length > settings.maxQuestionChars)
      return { reason: 'too_long', text: MESSAGES.tooLong(settings.maxQuestionChars) };
    return null;
  }

  /** `refusalFor`, and the channel's settings and budgets (a store read): for /ask before it posts. */
  async refusalBeforePosting(
    check: QuestionCheck & { teamId: string },
  ): Promise<{ reason: string; text: string } | null> {
    const refusal = this.refusalFor(check);
    if (refusal) return refusal;
    return (await this.#deps.controls.forQuestion(check)).refusal;
  }

  #refusal(question: Question): { reason: string; text: string } | null {
    // The channel is switched off, or a budget is used up (a regenerated answer costs a call too).
    const controlled = () => this.#controlsOf(question).refusal;
    if (question.regenerate || question.resume) return this.#accessRefusal(question) ?? controlled();
    const refusal = this.refusalFor({
      channelId: question.thread.channelId,
      userId: question.userId,
      text: question.text,
    });
    if (refusal) return refusal;
    const control = controlled();
    if (control) return control;
    if (question.text.trim() === '' && !question.files?.length) {
      // A bare mention: a clear word, no model call.
      return { reason: 'empty', text: MESSAGES.emptyQuestion };
    }
    return null;
  }

  /** The allow-lists alone (a regenerated question was admitted once already). */
  #accessRefusal(question: Question): { reason: string; text: string } | null {
    const refusal = this.refusalFor({
      channelId: question.thread.channelId,
      userId: question.userId,
      text: '',
    });
    return refusal?.reason === 'too_long' ? null : refusal;
  }

  async #handle(question: Question): Promise<void> {
    const { logger, metrics } = this.#deps;
    const log = logger.child({ thread: threadId(question.thread), surface: question.surface });
    // Hook: the channel's settings and budgets, before anything is admitted or any model called.
    let controls: QuestionControls;
    try {
      controls = await this.#deps.controls.forQuestion({
        teamId: question.thread.teamId,
        channelId: question.thread.channelId,
        userId: question.userId,
      });
    } catch (error) {
      return this.#storeDown(question, error, log);
    }
    this.#controls.set(question, controls);
    // In a switched-off channel a plain thread reply was not addressed to the bot: nobody to tell.
    if (controls.refusal?.reason === 'channel_off' && !question.addressed && !question.isDm)
      return void metrics.messagesIgnored.inc({ reason: 'channel_off' });
    // Thread etiquette: a plain reply in a channel thread, when only mentions are answered.
    if (!question.addressed && !question.isDm && controls.settings.threadReplyPolicy === 'mention-only')
      return void metrics.messagesIgnored.inc({ reason: 'mention_only' });
    const early = this.#startEarly(question);
    try {
      await this.#admitAndAnswer(question, log, early);
    } finally {
      if (early) {
        early.discard();
        metrics.earlyModelCalls.inc({ result: early.state === 'taken' ? 'used' : 'discarded' });
      }
    }
  }

  /**
   * Starts the model call of a new thread's first question at once, when nothing it sends can
   * change after admission: no stored history, no refusal, not a redelivery (likely a duplicate),
   * and a store that is up (else admission fails and the call would be wasted).
   */
  #startEarly(question: Question): EarlyAnswer | null {
    const { model, settings, store } = this.#deps;
    if (!question.addressed || question.redelivery || !this.#accepting || !store.connected()) return null;
    if (question.thread.threadTs !== question.messageTs) return null; // an existing thread
    if (this.#turns.busy(threadId(question.thread)) || this.#refusal(question)) return null;
    if (question.files?.length || question.resume) return null; // the files are read first; a resume goes on
    // An early call asks without tools; where the channel has tools, it would ask something else.
    if ((this.#deps.tools?.toolbox.toolsFor(question.thread.channelId).length ?? 0) > 0) return null;
    const { turns } = trimToBudget([], { role: 'user', text: question.text }, settings.historyTokenBudget);
    const options = this.#controlsOf(question).model;
    return new EarlyAnswer(model, { turns, kbSessionId: null, options }, this.#now());
  }

  /** The controls `#handle` looked up for this question. */
  #controlsOf(question: Question): QuestionControls {
    const controls = this.#controls.get(question);
    if (!controls) throw new Error('channel settings were not looked up for this question');
    return controls;
  }

  /** Admits the question and answers it in its turn in the thread. */
  #admitAndAnswer(question: Question, log: Logger, early: EarlyAnswer | null): Promise<void> {
    return this.#turns.take(question, log, {
      admit: (tryLock) => this.#admit(question, log, tryLock),
      answer: (held) => this.#answer(question, held, log, early),
      storeDown: (error) => this.#storeDown(question, error, log),
    });
  }

  /**
   * Admission, in one store round trip: the delivery's atomic claim (a duplicate stops here), the
   * addressed asker recorded as a participant (a reply they type while this waits is taken), and the
   * thread's lock when nothing of ours is ahead in the thread. Then allow-lists and size: a refused
   * question costs no model call (none is started early for it). Null when it is not to be answered.
   */
  async #admit(question: Question, log: Logger, tryLock: boolean): Promise<Admitted | null> {
    const { store, surface, settings } = this.#deps;
    const id = threadId(question.thread);
    const accepting = this.#accepting;
    const refusal = accepting ? this.#refusal(question) : null;
    const answering = accepting && refusal === null;
    const lockTried = answering && tryLock && !this.#restart.signal.aborted;
    let admitted: { held: HeldThread | null } | null;
    try {
      if (question.regenerate && !question.isDm) {
        const membership = await store.threadMembership(id, question.userId);
        if (!membership.participant && this.#controlsOf(question).settings.threadReplyPolicy !== 'all') {
          await surface.ephemeral(question, MESSAGES.notYourThread).catch(() => undefined);
          return null;
        }
      } else if (!question.addressed && !question.isDm) {
        // Participants are recorded when an answer is admitted, so a reply typed while the bot's
        // first answer in this thread still streams is taken too (and waits its turn).
        const membership = await store.threadMembership(id, question.userId);
        if (!this.#followUpAllowed(membership, question)) {
          this.#deps.metrics.messagesIgnored.inc({
            reason: membership.active ? 'not_participant' : 'not_bot_thread',
          });
          return null;
        }
      }
      admitted = await store.admit(id, {
        claimKey: question.dedupKey,
        claimTtlMs: DEDUP_TTL_MS,
        ...(answering && question.addressed
          ? { participant: { userId: question.userId, ttlMs: settings.historyTtlMs } }
          : {}),
        ...(lockTried ? { lockTtlMs: settings.lockTtlMs } : {}),
      });
    } catch (error) {
      await this.#storeDown(question, error, log);
      return null;
    }
    if (!admitted) {
      log.debug({ dedupKey: question.dedupKey }, 'duplicate delivery ignored');
      this.#deps.metrics.duplicatesIgnored.inc();
      return null;
    }
    if (!accepting) {
      await surface.notice(question, MESSAGES.shuttingDown).catch(() => undefined);
      return null;
    }
    if (refusal) {
      log.info({ reason: refusal.reason }, 'question refused');
      this.#deps.metrics.answers.inc({ outcome: `refused_${refusal.reason}` });
      await surface.ephemeral(question, refusal.text).catch((err: unknown) => {
        log.warn({ err }, 'could not send the refusal');
      });
      return null;
    }
    return { held: admitted.held, lockTried };
  }

  #followUpAllowed(membership: ThreadMembership, question: Question): boolean {
    if (!membership.active) return false; // the bot has not been asked in this thread
    return this.#controlsOf(question).settings.threadReplyPolicy === 'all' || membership.participant;
  }

  async #storeDown(question: Question, error: unknown, log: Logger): Promise<void> {
    const ref = newReferenceId();
    log.error({ err: error, ref }, 'store unavailable');
    this.#deps.metrics.answers.inc({ outcome: 'store_unavailable' });
    // A plain reply in a thread is not known to be for the bot: stay quiet rather than guess.
    if (!question.addressed && !question.isDm) return;
    await this.#deps.surface
      .notice(question, MESSAGES.failed(STORE_DOWN_MESSAGE, ref))
      .catch((err: unknown) => {
        log.warn({ err }, 'could not post the store notice');
      });
  }

  /** Runs one answer while holding the lock. Returns true when the commit released the lock. */
  async #answer(
    question: Question,
    held: HeldThread,
    log: Logger,
    early: EarlyAnswer | null,
  ): Promise<boolean> {
    const own = new AbortController();
    const byPerson = new AbortController();
    const signal = AbortSignal.any([this.#restart.signal, own.signal, byPerson.signal]);
    const id = threadId(question.thread);
    const running: RunningAnswer = { question, stop: () => byPerson.abort() };
    this.#running.set(id, running);
    try {
      return await this.#answerRunning(question, held, log, early, { signal, own, byPerson });
    } finally {
      if (this.#running.get(id) === running) this.#running.delete(id);
    }
  }

  /** One answer, registered where a Stop request finds it; `abort` holds its signal and who may pull it. */
  async #answerRunning(
    question: Question,
    held: HeldThread,
    log: Logger,
    early: EarlyAnswer | null,
    abort: { signal: AbortSignal; own: AbortController; byPerson: AbortController },
  ): Promise<boolean> {
    const { surface, settings, metrics } = this.#deps;
    const { token: lockToken, state } = held;
    const ref = newReferenceId();
    const { signal, own } = abort;
    let base = state;
    if (question.regenerate) {
      const again = regenerationOf(state?.turns ?? [], question.regenerate.answerHash);
      if (!again || !state) {
        await this.#deps.surface.ephemeral(question, MESSAGES.notLatestAnswer).catch(() => undefined);
        return false;
      }
      // Answered as if the old answer had never been given; the commit replaces it.
      base = { ...state, turns: again.history };
      const controls = this.#controlsOf(question);
      question = { ...question, text: again.question };
      this.#controls.set(question, controls);
      await this.#deps.surface.markReplaced(question, question.messageTs);
    }
    const preparedAtMs = this.#now();
    const openOutput = () =>
      surface.open(question, {
        // Slack refused the message for good: nobody will see the rest, so stop generating it.
        onUnwritable: (error) => own.abort(error),
      });
    // A question with files shows that they are being read (a question of files only may end up
    // with nothing readable, and then gets a private sentence instead of an answer).
    const outputWhileReading = question.files?.length && question.text.trim() ? openOutput() : null;
    outputWhileReading?.showStatus('reading');
    const prepared = question.resume
      ? this.#preparedForResume(question.resume.paused, base, question)
      : await this.#prepare(question, base, log);
    if (prepared.unanswerable) {
      // Only files, and none of them readable: say why, and ask no model.
      log.info({ leftOut: prepared.leftOut.length }, 'question refused: no readable file and no text');
      this.#deps.metrics.answers.inc({ outcome: 'refused_files' });
      await this.#deps.surface.ephemeral(question, prepared.unanswerable).catch(() => undefined);
      return false;
    }
    // The early call asked without history or context: usable only if that is what we would send.
    const earlyEvents =
      state === null && early?.asked(prepared.trimmed.turns) ? (early.take(signal) ?? null) : null;
    early?.discard();
    const startedAtMs = earlyEvents && early ? early.startedAtMs : preparedAtMs;
    const output = outputWhileReading ?? openOutput();
    output.showStatus('thinking');
    // A turn that paused for an approval goes on from its pending round, with the decision made.
    const seed = question.resume ? await this.#resumedRound(question.resume, prepared, output, signal) : {};
    const generated = await this.#generate(
      prepared,
      state,
      earlyEvents,
      signal,
      abort.byPerson.signal,
      output,
      startedAtMs,
      // The model refused a kind of file: its inputs now say so; plan the files again.
      () => this.#prepare(question, base, log),
      seed,
    );
    const { answer, stopReason, usage, error, stoppedBy } = generated;

    let outcome: Outcome = 'answered';
    let committed = false;
    if (stoppedBy === 'slack') {
      // Nothing more can be written there; the turn was not seen whole, so history stays as it was.
      outcome = 'failed';
    } else if (stoppedBy === 'restart' || stoppedBy === 'user') {
      outcome = stoppedBy === 'user' ? 'stopped' : 'interrupted';
      await output
        .fail(stoppedBy === 'user' ? MESSAGES.stopped : MESSAGES.restarted)
        .catch((err: unknown) => log.warn({ err }, 'could not show the note'));
      // What was shown is the turn (the person can ask for the rest, or about it).
      if (answer.length > 0)
        committed = await this.#commit(question, base, prepared, generated, lockToken, log);
    } else if (error) {
      outcome = answer.length > 0 ? 'interrupted' : 'failed';
      const note =
        outcome === 'interrupted' ? MESSAGES.interrupted(ref) : MESSAGES.failed(error.userMessage, ref);
      await output.fail(note).catch((err: unknown) => log.warn({ err }, 'could not show the failure'));
      // History stays as it was, but the thread is now known: the next question does not re-read it.
      committed = await this.#commit(question, state, prepared, null, lockToken, log);
    } else if (generated.paused) {
      outcome = 'paused';
      await this.#approvals.pause(
        question,
        {
          questionText: prepared.questionText,
          model: prepared.model ?? null,
          rounds: generated.rounds,
          answerSoFar: generated.answer,
          citations: generated.citations,
          gated: generated.paused.gated,
          results: generated.paused.results,
          offered: this.#toolsFor(prepared),
        },
        output,
        log,
      );
    } else if (stopReason === 'guardrail_intervened' || stopReason === 'content_filtered') {
      // Hook: a guardrail stopped the answer. One sentence; neither the question nor the blocked text joins history.
      outcome = 'blocked';
      metrics.guardrailInterventions.inc();
      await output
        .fail(MESSAGES.guardrail)
        .catch((err: unknown) => log.warn({ err }, 'could not show the note'));
      // The Knowledge Base session holds the blocked exchange too: the thread goes on without it.
      const withoutSession = state && { ...state, kbSessionId: null };
      committed = await this.#commit(question, withoutSession, prepared, null, lockToken, log);
    } else {
      const notes: string[] = [...(prepared.grounding?.notes ?? [])];
      if (prepared.leftOut.length > 0) notes.push(leftOutSentence(prepared.leftOut));
      for (const source of prepared.grounding?.sources ?? [])
        if (!generated.citations.some((c) => c.id === source.id)) generated.citations.push(source);
      notes.push(...generated.notes);
      if (prepared.trimmed.droppedTurns > 0) notes.push(MESSAGES.trimmed(prepared.trimmed.droppedTurns));
      if (stopReason === 'max_tokens') notes.push(MESSAGES.maxTokens);
      try {
        await output.finish({
          notes,
          sources: generated.citations,
          regenerate: answerHash(answer.length > 0 ? answer : NO_ANSWER),
        });
      } catch (err) {
        log.warn({ err }, 'could not finish the answer in Slack');
      }
      committed = await this.#commit(question, base, prepared, generated, lockToken, log);
      // Hook: channel knowledge learns the answered thread, in the background.
      if (committed && !question.regenerate)
        this.#deps.knowledge?.answered(
          {
            teamId: question.thread.teamId,
            channelId: question.thread.channelId,
            threadTs: question.thread.threadTs,
            userId: question.userId,
            text: question.text,
          },
          generated.rounds.length > 0 ? generated.finalText : answer,
        );
    }

    const durationMs = this.#now() - startedAtMs;
    metrics.answers.inc({ outcome });
    metrics.answerDuration.observe(durationMs / 1000);
    // Hook: the answer's usage, added up per person, channel and day (and counted by model).
    const controls = this.#controlsOf(question);
    const asker = {
      teamId: question.thread.teamId,
      channelId: question.thread.channelId,
      userId: question.userId,
    };
    const { costUsd } = await this.#deps.controls.recordUsage(asker, controls, usage);
    log[error || stoppedBy ? 'warn' : 'info'](
      {
        outcome,
        ref,
        errorCode: error?.code ?? (stoppedBy ? `stopped_by_${stoppedBy}` : undefined),
        err: error?.cause,
        timeToFirstTokenMs: generated.firstTokenAtMs === null ? null : generated.firstTokenAtMs - startedAtMs,
        durationMs,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cacheReadTokens: usage.cacheReadTokens,
        cacheWriteTokens: usage.cacheWriteTokens,
        model: controls.modelId,
        costUsd,
        stopReason,
        answerChars: answer.length,
        ...(generated.toolsUsed.length > 0 ? { tools: generated.toolsUsed } : {}),
        historyTurns: prepared.history.length,
        ...(settings.logMessageText ? { question: question.text, answer } : {}),
      },
      'answer',
    );
    return committed;
  }

  /** History (or, the first time the bot is asked in an existing thread, the thread so far), trimmed to the budget. */
  async #prepare(question: Question, state: ThreadState | null, log: Logger): Promise<Prepared> {
    const { settings, threadReader, model } = this.#deps;
    const choice = this.#controlsOf(question).model;
    const reader = this.#deps.files ?? NO_FILES;
    const history = state?.turns ?? [];
    const scale = estimateScale(state?.lastRequest ?? null);
    const budgetTokens = settings.historyTokenBudget;
    const asked = question.text.trim() === '' && question.files?.length ? FILES_ONLY_QUESTION : question.text;
    let questionText = asked;
    let contextFiles: FileRef[] = [];
    if (!state && question.thread.threadTs !== question.messageTs && question.surface !== 'command') {
      const earlier = await threadReader.read(question.thread, question.messageTs).catch((err: unknown) => {
        log.warn({ err }, 'could not read the thread; answering without its context');
        return [];
      });
      // The context counts against the same budget as history: the most recent messages that fit.
      questionText = withThreadContext(asked, earlier, Math.floor(budgetTokens / scale));
      contextFiles = earlier.flatMap((message) => message.files ?? []).reverse();
    }
    // Files within the model's limits: the question's own first, then the thread's newest first.
    const budget = new AttachmentBudget(model.inputsFor(choice));
    const current = await readWithin([...(question.files ?? []), ...contextFiles], budget, reader);
    const attachments = current.read.map((file) => file.attachment);
    const leftOut = current.leftOut.filter((item) => question.files?.includes(item.file));
    const unanswerable =
      asked === FILES_ONLY_QUESTION && attachments.length === 0 ? leftOutSentence(current.leftOut) : null;
    // Hook: channel knowledge — the search tool, or passages quoted as data, and "Answered before".
    const grounding = this.#deps.knowledge
      ? await this.#deps.knowledge.ground(
          {
            teamId: question.thread.teamId,
            channelId: question.thread.channelId,
            threadTs: question.thread.threadTs,
            userId: question.userId,
            text: question.text,
          },
          this.#controlsOf(question).modelId,
        )
      : null;
    const viewed = await this.#withViewing(question, questionText, Math.floor(budgetTokens / scale), log);
    const sentQuestionText = grounding?.context ? `${viewed}\n\n${grounding.context}` : viewed;
    const textBudget = Math.max(1, budgetTokens - attachmentTokens(attachments));
    const trimmed = trimToBudget(history, { role: 'user', text: sentQuestionText }, textBudget, scale);
    // Earlier turns' files that stay in the request are read again, within what is left of the limits.
    const historyAttachments = new Map<string, Attachment>();
    for (const turn of [...trimmed.turns.slice(0, -1)].reverse()) {
      if (!turn.files?.length) continue;
      const again = await readWithin(turn.files, budget, reader);
      for (const file of again.read) historyAttachments.set(file.file.id, file.attachment);
    }
    return {
      questionText,
      toolsChannelId: question.thread.channelId,
      asker: {
        userId: question.userId,
        teamId: question.thread.teamId,
        channelId: question.thread.channelId,
        ...(question.actionToken ? { actionToken: question.actionToken } : {}),
      },
      grounding,
      allowedTools: this.#controlsOf(question).tools,
      sentQuestionText,
      attachments,
      attachedFiles: current.read.map((file) => file.file),
      leftOut,
      historyAttachments,
      unanswerable,
      history,
      scale,
      budgetTokens: textBudget,
      trimmed,
      model: choice,
    };
  }

  /** The request's turns with their files' bytes: the question's own on the last turn. */
  #requestTurns(prepared: Prepared): RequestTurn[] {
    // Earlier answers' tool rounds go as text: the tools they used may be gone (see tool-rounds.ts).
    const turns = flattenToolRounds(prepared.trimmed.turns);
    return turns.map((turn, index) => {
      if (index === turns.length - 1) return { ...turn, attachments: prepared.attachments };
      const attachments = (turn.files ?? []).flatMap((file) => {
        const found = prepared.historyAttachments.get(file.id);
        return found ? [found] : [];
      });
      return attachments.length > 0 ? { ...turn, attachments } : turn;
    });
  }

  /** In the Messages tab, the question with what the person is looking at quoted beside it. */
  async #withViewing(
    question: Question,
    questionText: string,
    budgetTokens: number,
    log: Logger,
  ): Promise<string> {
    if (question.surface !== 'dm') return questionText;
    const { store, threadReader } = this.#deps;
    const viewing =
      question.viewing ??
      (await store.getViewing(`${question.thread.teamId}:${question.userId}`).catch((err: unknown) => {
        log.warn({ err }, 'could not read what the person is looking at');
        return null;
      }));
    if (!viewing) return questionText;
    const { label, messages } = await threadReader.readViewing(viewing);
    return withThreadContext(questionText, messages, budgetTokens, { kind: 'viewing', label });
  }

  /** Streams the model's answer to `output`, retrying what can be retried before any text was shown. */
  async #generate(
    prepared: Prepared,
    state: ThreadState | null,
    earlyEvents: AsyncIterable<AnswerEvent> | null,
    signal: AbortSignal,
    stoppedByPerson: AbortSignal,
    output: AnswerOutput,
    startedAtMs: number,
    replan: () => Promise<Prepared>,
    seed: Partial<Pick<Generated, 'rounds' | 'citations' | 'toolsUsed'>> = {},
  ): Promise<Generated> {
    const result: Generated = {
      answer: '',
      stopReason: 'end_turn',
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      kbSessionId: state?.kbSessionId ?? null,
      citations: [],
      firstTokenAtMs: null,
      error: null,
      stoppedBy: null,
      sentTurns: this.#requestTurns(prepared),
      rounds: [],
      toolUses: [],
      finalText: '',
      toolsUsed: [],
      notes: [],
      paused: null,
      ...seed,
    };
    const tools = this.#toolsFor(prepared);
    const down = this.#deps.tools?.toolbox.unavailable(prepared.toolsChannelId) ?? [];
    if (down.length > 0) result.notes.push(MESSAGES.toolsUnavailable(down));
    for (let round = 0; ; round += 1) {
      await this.#callModel(
        prepared,
        result,
        round === 0 ? earlyEvents : null,
        signal,
        output,
        startedAtMs,
        replan,
        tools,
      );
      if (result.error || signal.aborted || result.stopReason !== 'tool_use' || result.toolUses.length === 0)
        break;
      const toolbox = this.#deps.tools?.toolbox;
      if (!toolbox || tools.length === 0) break; // none were offered: nothing to run
      if (round >= (this.#deps.tools?.maxRounds ?? 0)) {
        result.notes.push(MESSAGES.toolRoundsLimit);
        break;
      }
      // The model's turn so far (its text and its calls), then the results: one round in history.
      const uses = result.toolUses;
      result.rounds.push({ role: 'assistant', text: result.finalText, toolUses: uses });
      const gated = uses.filter((use) => tools.some((tool) => tool.name === use.name && tool.needsApproval));
      const done = await runToolRound(
        uses.filter((use) => !gated.includes(use)),
        tools,
        this.#toolRoundDeps(output, signal, result, prepared.asker),
      );
      for (const source of done.sources)
        if (!result.citations.some((c) => c.id === source.url))
          result.citations.push({ id: source.url, title: source.title, url: source.url });
      if (gated.length > 0) {
        // Calls with side effects wait for a person: the turn pauses here, its state in the store.
        for (const use of gated)
          output.showStep({
            id: `tool-${use.id}`,
            title: tools.find((tool) => tool.name === use.name)?.title ?? use.name,
            status: 'pending',
            details: 'waiting for approval',
          });
        result.paused = { gated, results: done.results };
        break;
      }
      result.rounds.push({ role: 'user', text: '', toolResults: done.results });
      if (signal.aborted) break;
    }
    if (signal.aborted) {
      result.stoppedBy = this.#restart.signal.aborted
        ? 'restart'
        : stoppedByPerson.aborted
          ? 'user'
          : 'slack';
      result.error = null;
    }
    return result;
  }

  /** The tools offered for this answer: its channel's, as its settings allow (those that need approval pause the turn). */
  #toolsFor(prepared: Prepared): ToolSpec[] {
    const offered = (this.#deps.tools?.toolbox.toolsFor(prepared.toolsChannelId) ?? []).filter(
      // Channel knowledge's search is offered only where the channel (or DM) learns.
      (tool) => tool.name !== 'search_channel_knowledge' || prepared.grounding?.offerTool === true,
    );
    const allowed = prepared.allowedTools;
    return allowed === null ? offered : offered.filter((tool) => allowed.includes(tool.name));
  }

  #toolRoundDeps(
    output: AnswerOutput,
    signal: AbortSignal,
    result: Pick<Generated, 'toolsUsed'>,
    asker: Prepared['asker'],
  ) {
    const { metrics } = this.#deps;
    return {
      asker,
      toolbox: this.#deps.tools?.toolbox as Toolbox,
      output,
      signal,
      timeoutMs: this.#deps.tools?.timeoutMs ?? 15_000,
      onCall: (tool: string, outcome: 'success' | 'error', durationMs: number) => {
        result.toolsUsed.push(tool);
        metrics.toolCalls.inc({ tool, outcome });
        metrics.toolDuration.observe({ tool }, durationMs / 1000);
      },
    };
  }

  /** One model call (with its retries before any text), the answer's tool rounds appended to the request. */
  async #callModel(
    prepared: Prepared,
    result: Generated,
    earlyEvents: AsyncIterable<AnswerEvent> | null,
    signal: AbortSignal,
    output: AnswerOutput,
    startedAtMs: number,
    replan: () => Promise<Prepared>,
    tools: ToolSpec[],
  ): Promise<void> {
    const { model, settings, metrics } = this.#deps;
    const { history, sentQuestionText, scale } = prepared;
    result.toolUses = [];
    result.finalText = '';
    result.stopReason = 'end_turn';
    const shownBefore = result.answer.length;
    let budget = prepared.budgetTokens;
    let trimmedHarder = false;
    let replanned = false;

    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        const events =
          attempt === 1 && earlyEvents
            ? earlyEvents
            : model.stream({
                turns: [...result.sentTurns, ...result.rounds],
                kbSessionId: result.kbSessionId,
                signal,
                options: prepared.model,
                historyTrimmed: prepared.trimmed.droppedTurns > 0,
                ...(tools.length > 0 ? { tools } : {}),
              });
        for await (const event of events) {
          if (signal.aborted) break; // leaving the loop ends the model call too
          this.#apply(event, result, output, startedAtMs, metrics);
        }
        result.error = null;
        break;
      } catch (thrown) {
        if (signal.aborted) break;
        const error = asAnswerError(thrown);
        result.error = error;
        if (result.answer.length > shownBefore) break; // text was shown: keep it, do not start over
        if (error.code === 'input_too_long' && !trimmedHarder) {
          // Our estimate was too low for this model: keep at most half of what was just sent.
          trimmedHarder = true;
          const sentTokens = result.sentTurns.reduce(
            (sum, turn) => sum + estimateTokens(turn.text, scale),
            0,
          );
          budget = Math.min(Math.floor(budget / 2), Math.floor(sentTokens / 2));
          prepared.trimmed = trimToBudget(history, { role: 'user', text: sentQuestionText }, budget, scale);
          result.sentTurns = this.#requestTurns(prepared);
          continue;
        }
        if (error.code === 'model_inputs_changed' && !replanned) {
          // Learned from Bedrock's refusal: the files it does not read are left out, and said so.
          replanned = true;
          Object.assign(prepared, await replan());
          if (prepared.unanswerable) {
            result.error = new AnswerError('model_inputs_changed', prepared.unanswerable);
            break;
          }
          budget = prepared.budgetTokens;
          result.sentTurns = this.#requestTurns(prepared);
          continue;
        }
        if (error.retryable && attempt < settings.modelAttempts) {
          const delayMs =
            this.#deps.retryDelayMs?.(attempt) ?? 250 * 2 ** (attempt - 1) * (1 + Math.random() / 2);
          await pauseUnlessAborted(this.#sleep, delayMs, signal);
          continue;
        }
        break;
      }
    }
  }

  #apply(
    event: AnswerEvent,
    result: Generated,
    output: AnswerOutput,
    startedAtMs: number,
    metrics: Metrics,
  ): void {
    switch (event.type) {
      case 'text':
        if (result.firstTokenAtMs === null) {
          result.firstTokenAtMs = this.#now();
          metrics.timeToFirstToken.observe((result.firstTokenAtMs - startedAtMs) / 1000);
        }
        result.answer += event.text;
        result.finalText += event.text;
        output.write(event.text);
        break;
      case 'status':
        output.showStatus(event.status);
        break;
      case 'citation':
        for (const source of event.sources)
          if (!result.citations.some((c) => c.id === source.id)) result.citations.push(source);
        break;
      case 'session':
        result.kbSessionId = event.kbSessionId;
        break;
      case 'usage':
        result.usage = {
          inputTokens: event.inputTokens,
          outputTokens: event.outputTokens,
          cacheReadTokens: event.cacheReadTokens ?? 0,
          cacheWriteTokens: event.cacheWriteTokens ?? 0,
        };
        break;
      case 'stop':
        result.stopReason = event.reason;
        break;
      case 'tool_use':
        result.toolUses.push({ id: event.id, name: event.name, input: event.input });
        break;
    }
  }

  /** Saves the turn and releases the lock in one step; re-takes the lock if it was lost. */
  async #commit(
    question: Question,
    before: ThreadState | null,
    prepared: Prepared,
    generated: Generated | null,
    lockToken: string,
    log: Logger,
  ): Promise<boolean> {
    const { store, settings } = this.#deps;
    const id = threadId(question.thread);
    // Null `generated`: a failed answer, which adds no turn and keeps the thread's KB session.
    const newTurns: Turn[] = generated
      ? [
          {
            role: 'user',
            text: prepared.questionText,
            ...(prepared.attachedFiles.length > 0 ? { files: prepared.attachedFiles } : {}),
          },
          // An answer that used tools keeps its rounds: the calls and results, then its final text.
          ...generated.rounds,
          {
            role: 'assistant',
            text: (generated.rounds.length > 0 ? generated.finalText : generated.answer) || NO_ANSWER,
          },
        ]
      : [];
    // The whole input the model read: Bedrock reports cached tokens beside inputTokens, not in it.
    const usage = generated?.usage;
    const inputTokens = usage ? usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens : 0;
    const systemPrompt = prepared.model.systemPrompt ?? settings.systemPrompt;
    const lastRequest =
      generated && inputTokens > 0
        ? { inputTokens, estimatedTokens: estimateRequestTokens(generated.sentTurns, systemPrompt) }
        : null;
    const build = (base: ThreadState | null): ThreadState => {
      const scale = estimateScale(lastRequest ?? base?.lastRequest ?? null);
      const turns = [...(base?.turns ?? []), ...newTurns];
      return {
        // Stored history is capped at what fits twice the budget: a long thread's state stops growing.
        turns: capStoredHistory(turns, 2 * settings.historyTokenBudget, scale),
        kbSessionId: generated ? generated.kbSessionId : (base?.kbSessionId ?? null),
        lastRequest: lastRequest ?? base?.lastRequest ?? null,
      };
    };
    try {
      if (await store.commitThread(id, build(before), settings.historyTtlMs, lockToken)) return true;
      // The lock expired under us (a very long answer, or a stalled replica): merge onto what is there now.
      log.warn('thread lock was lost before commit; re-taking it to save the turn');
      const again = await this.#turns.acquire(question, null);
      if (again === 'timeout' || again === 'restarting') return false;
      const saved = await store.commitThread(id, build(again.state), settings.historyTtlMs, again.token);
      if (!saved) await store.releaseLock(id, again.token);
      return false; // our own token's lock is gone either way; the caller's release is a harmless no-op
    } catch (error) {
      if (error instanceof StoreUnavailableError) log.error({ err: error }, 'could not save the turn');
      else throw error;
      return false;
    }
  }
}
