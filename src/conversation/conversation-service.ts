/**
 * The core: answers one question in one thread. Every surface (mention, thread reply, DM, /ask)
 * comes through `submit`, and the answer goes through the steps of SPEC §5, each in its own file:
 * admit (admission.ts) → take the thread's turn (thread-turns.ts) → prepare (prepare-turn.ts) →
 * generate (generate-turn.ts) → show and commit, as the outcome table says (outcomes.ts,
 * commit-turn.ts). This class wires the steps and owns what spans them: the answers in flight,
 * draining on shutdown, and each answer's one AbortSignal (a restart's bound, a message Slack
 * refuses for good and the person's Stop all use it).
 * Before admission, the channel's settings and the budgets are looked up once (answer-controls.ts):
 * a switched-off channel or a used-up budget costs no model call; after the answer, its usage is
 * added up per person, channel and day. The first question of a new thread has no history, so its
 * model call starts while the store admits it (see early-answer.ts).
 */

import type { Logger } from '../logger.ts';
import { Admission, type QuestionCheck, type Refusal } from './admission.ts';
import type { QuestionControls } from './answer-controls.ts';
import { AnswerPipeline } from './answer-pipeline.ts';
import { AnswersInFlight } from './answers-in-flight.ts';
import type { ConversationDeps } from './conversation-deps.ts';
import { EarlyAnswer } from './early-answer.ts';
import { TurnGenerator } from './generate-turn.ts';
import type { ApprovalRequest, HeldThread, Question, Viewing } from './ports.ts';
import { threadId } from './ports.ts';
import { type RegenerateClick, regenerateQuestion } from './regenerate.ts';
import { StopRequests } from './stop-requests.ts';
import { trimToBudget } from './thread-history.ts';
import { ThreadTurns } from './thread-turns.ts';
import { type ApprovalClick, ToolApprovals } from './tool-approvals.ts';

/** How long what a person is looking at is remembered (Slack tells again when it changes). */
const VIEWING_TTL_MS = 12 * 60 * 60 * 1000;

export class ConversationService {
  readonly #deps: ConversationDeps;
  readonly #now: () => number;
  readonly #inFlight: AnswersInFlight;
  /** One answer at a time per thread (a queue here, the store's lock across replicas). */
  readonly #turns: ThreadTurns;
  /** Tool calls waiting for a person's approval. */
  readonly #approvals: ToolApprovals;
  /** Aborted when shutdown's bound is near: answers still running stop, waiting questions are told. */
  readonly #restart = new AbortController();
  /** Carries a person's Stop to the answer it is for, on whichever replica runs it. */
  readonly #stops: StopRequests;
  /** Claims, etiquette, allow-lists and refusals: whether a question is answered at all. */
  readonly #admission: Admission;
  /** Prepare, generate, show and commit: one answer holding its thread's turn. */
  readonly #pipeline: AnswerPipeline;
  /** Each question's channel settings and budget verdict, looked up once before admission. */
  readonly #controls = new WeakMap<Question, QuestionControls>();
  #accepting = true;

  constructor(deps: ConversationDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#inFlight = new AnswersInFlight((size) => deps.metrics.answersInFlight.set(size), this.#now);
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const { store, surface, metrics, settings } = deps;
    this.#turns = new ThreadTurns({
      store,
      surface,
      metrics,
      settings,
      now: this.#now,
      sleep,
      restart: this.#restart.signal,
    });
    this.#approvals = new ToolApprovals({
      store,
      surface,
      metrics,
      approvers: deps.tools?.approvers ?? [],
      ...(deps.tools ? { approvalTtlMs: deps.tools.approvalTtlMs } : {}),
      available: (channelId) => (deps.tools?.toolbox.toolsFor(channelId) ?? []).map((tool) => tool.name),
      now: this.#now,
    });
    this.#stops = new StopRequests({
      stops: deps.stops,
      surface,
      logger: deps.logger,
      ...(deps.mayStopOthers ? { mayStopOthers: deps.mayStopOthers } : {}),
    });
    this.#admission = new Admission({ store, surface, metrics, settings });
    const generator = new TurnGenerator({
      model: deps.model,
      metrics,
      settings,
      ...(deps.tools ? { tools: deps.tools } : {}),
      restart: this.#restart.signal,
      now: this.#now,
      sleep,
      ...(deps.retryDelayMs ? { retryDelayMs: deps.retryDelayMs } : {}),
    });
    this.#pipeline = new AnswerPipeline({
      ...deps,
      turns: this.#turns,
      approvals: this.#approvals,
      generator,
      now: this.#now,
    });
  }

  /**
   * A person asked to stop the answer running in `thread` (Slack's Stop, or the in-message button):
   * handed to whichever replica runs it, which checks that they may.
   */
  async requestStop(thread: Question['thread'], userId: string): Promise<void> {
    await this.#stops.request(thread, userId);
  }

  /**
   * Asks the thread's last question again (a Regenerate click on its answer); see regenerate.ts.
   * Refused (privately) when a newer answer exists or the clicker never asked there.
   */
  regenerate(click: RegenerateClick): Promise<void> {
    return this.submit(regenerateQuestion(click));
  }

  /** A person answered an approval request (Approve or Deny) on any replica; see tool-approvals.ts. */
  resolveApproval(click: ApprovalClick): Promise<void> {
    return this.#approvals.resolve(click, (question) => this.submit(question));
  }

  /** An open approval request in full (its "Show all"), or null when it is gone. */
  approvalRequest(thread: Question['thread'], approvalId: string): Promise<ApprovalRequest | null> {
    return this.#approvals.request(thread, approvalId);
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
    this.#inFlight.track(work);
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
    if (await this.#inFlight.settle(Math.max(0, timeoutMs - marginMs))) return true;
    this.#deps.logger.warn(
      { inFlight: this.#inFlight.size },
      'shutdown bound near: stopping answers still running',
    );
    this.#restart.abort();
    return this.#inFlight.settle(marginMs);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Why this question would be refused without a model call (allow-lists, size), or null. Surfaces
   * that show the question before answering it (/ask) check first.
   */
  refusalFor(check: QuestionCheck): Refusal | null {
    return this.#admission.refusalFor(check);
  }

  /** `refusalFor`, and the channel's settings and budgets (a store read): for /ask before it posts. */
  async refusalBeforePosting(check: QuestionCheck & { teamId: string }): Promise<Refusal | null> {
    const refusal = this.refusalFor(check);
    if (refusal) return refusal;
    return (await this.#deps.controls.forQuestion(check)).refusal;
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
      return this.#admission.storeDown(question, error, log);
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
    if (this.#turns.busy(threadId(question.thread))) return null;
    if (this.#admission.refusal(question, this.#controlsOf(question))) return null;
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
      admit: (tryLock) =>
        this.#admission.admit(question, this.#controlsOf(question), log, {
          tryLock,
          accepting: this.#accepting,
          restarting: this.#restart.signal.aborted,
        }),
      answer: (held) => this.#answer(question, held, log, early),
      storeDown: (error) => this.#admission.storeDown(question, error, log),
    });
  }

  /** Runs one answer while holding the lock, where a Stop request finds it. True when the commit released the lock. */
  async #answer(
    question: Question,
    held: HeldThread,
    log: Logger,
    early: EarlyAnswer | null,
  ): Promise<boolean> {
    const own = new AbortController();
    const byPerson = new AbortController();
    const signal = AbortSignal.any([this.#restart.signal, own.signal, byPerson.signal]);
    return this.#stops.whileRunning(
      question,
      () => byPerson.abort(),
      () =>
        this.#pipeline.run(question, this.#controlsOf(question), held, log, early, { signal, own, byPerson }),
    );
  }
}
