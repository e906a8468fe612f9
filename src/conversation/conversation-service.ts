/**
 * The core: answers one question in one thread. Every surface (mention, thread reply, DM, /ask)
 * comes through `submit`. Path: admit (dedup, allow-lists, size, etiquette) → take the thread's
 * lock → load and trim history → stream the model's answer to the surface → commit the turn.
 * The first question of a new thread has no history, so its model call starts while the store
 * admits it (see early-answer.ts).
 */

import type { AnswerModel, CitedSource } from '../bedrock/answer-model.ts';
import type { Config } from '../config.ts';
import { type AnswerError, asAnswerError, newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import {
  type ConversationStore,
  StoreUnavailableError,
  type ThreadState,
  type Turn,
} from '../store/conversation-store.ts';
import { EarlyAnswer } from './early-answer.ts';
import { type AnswerSurface, type Question, type ThreadReader, threadId } from './question.ts';
import { estimateScale, estimateTokens, trimToBudget, withThreadContext } from './thread-history.ts';

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
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff before retry `attempt` (1-based) of a throttled model call. */
  retryDelayMs?: (attempt: number) => number;
}

const DEDUP_TTL_MS = 60 * 60 * 1000;
const STORE_DOWN_MESSAGE =
  "I can't reach my memory right now, so I won't answer without it. Please try again in a minute.";

export const MESSAGES = {
  tooLong: (limit: number) =>
    `Your question is too long (over ${limit.toLocaleString('en-US')} characters). Please shorten it and ask again.`,
  notAllowedChannel: 'I only answer in some channels here, and this is not one of them.',
  notAllowedUser: "Sorry, you're not on the list of people I can answer.",
  trimmed: (turns: number) =>
    `_Earlier parts of this thread (${turns} message${turns === 1 ? '' : 's'}) were left out to fit the model's context._`,
  maxTokens: '_The answer reached its length limit. Reply “continue” to get the rest._',
  guardrail: '_Part of this answer was blocked by a content filter._',
  interrupted: (ref: string) => `_The answer was interrupted. Ask again to get the rest. (ref ${ref})_`,
  failed: (message: string, ref: string) => `${message} (ref ${ref})`,
  shuttingDown: "I'm restarting and can't take new questions for a moment. Please ask again shortly.",
};

/** A thread lock held by this answer, with the state read when it was taken. */
type Held = { token: string; state: ThreadState | null };

type Outcome = 'answered' | 'failed' | 'interrupted' | 'store_unavailable' | 'lock_timeout';

export class ConversationService {
  readonly #deps: ConversationDeps;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #inFlight = new Set<Promise<void>>();
  /** Per-replica FIFO per thread, so questions reaching this replica keep their order. */
  readonly #threadQueues = new Map<string, Promise<void>>();
  #accepting = true;

  constructor(deps: ConversationDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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

  /** Resolves when every answer in flight has ended, or after `timeoutMs`; true when all ended. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.#now() + timeoutMs;
    // Loop: work that started while draining (a "restarting" notice) is waited for too.
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

  async #handle(question: Question): Promise<void> {
    const { settings, logger, metrics } = this.#deps;
    // Thread etiquette: a plain reply in a channel thread, when only mentions are answered.
    if (!question.addressed && !question.isDm && settings.threadReplyPolicy === 'mention-only')
      return void metrics.messagesIgnored.inc({ reason: 'mention_only' });
    const early = this.#startEarly(question);
    const log = logger.child({ thread: threadId(question.thread), surface: question.surface });
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
    if (this.#threadQueues.has(threadId(question.thread)) || this.#refusal(question)) return null;
    const { turns } = trimToBudget([], { role: 'user', text: question.text }, settings.historyTokenBudget);
    return new EarlyAnswer(model, { turns, kbSessionId: null }, this.#now());
  }

  async #admitAndAnswer(question: Question, log: Logger, early: EarlyAnswer | null): Promise<void> {
    const { store, surface } = this.#deps;
    // Admission: the one atomic dedup claim, then allow-lists and size. A refused question costs
    // no model call (none is started early for it).
    try {
      if (!question.addressed && !question.isDm) {
        const state = await store.getThread(threadId(question.thread));
        if (!this.#followUpAllowed(state, question))
          return void this.#deps.metrics.messagesIgnored.inc({
            reason: state ? 'not_participant' : 'not_bot_thread',
          });
      }
      if (!(await store.claimOnce(question.dedupKey, DEDUP_TTL_MS))) {
        log.debug({ dedupKey: question.dedupKey }, 'duplicate delivery ignored');
        this.#deps.metrics.duplicatesIgnored.inc();
        return;
      }
    } catch (error) {
      return this.#storeDown(question, error, log);
    }
    if (!this.#accepting) return surface.notice(question, MESSAGES.shuttingDown).catch(() => undefined);

    const refusal = this.#refusal(question);
    if (refusal) {
      log.info({ reason: refusal.reason }, 'question refused');
      this.#deps.metrics.answers.inc({ outcome: `refused_${refusal.reason}` });
      await surface.ephemeral(question, refusal.text).catch((err: unknown) => {
        log.warn({ err }, 'could not send the refusal');
      });
      return;
    }

    // Serialize: questions in one thread are answered one after the other.
    const id = threadId(question.thread);
    const previous = this.#threadQueues.get(id) ?? Promise.resolve();
    const mine = previous.then(() => this.#answerUnderLock(question, log, early));
    const tail = mine.catch(() => undefined);
    this.#threadQueues.set(id, tail);
    try {
      await mine;
    } finally {
      if (this.#threadQueues.get(id) === tail) this.#threadQueues.delete(id);
    }
  }

  #followUpAllowed(state: ThreadState | null, question: Question): boolean {
    if (!state) return false; // the bot has not answered in this thread
    if (this.#deps.settings.threadReplyPolicy === 'all') return true;
    return state.participants.includes(question.userId);
  }

  #refusal(question: Question): { reason: string; text: string } | null {
    const { settings } = this.#deps;
    if (
      settings.allowedChannelIds.length > 0 &&
      !settings.allowedChannelIds.includes(question.thread.channelId)
    )
      return { reason: 'channel', text: MESSAGES.notAllowedChannel };
    if (settings.allowedUserIds.length > 0 && !settings.allowedUserIds.includes(question.userId))
      return { reason: 'user', text: MESSAGES.notAllowedUser };
    if (question.text.length > settings.maxQuestionChars)
      return { reason: 'too_long', text: MESSAGES.tooLong(settings.maxQuestionChars) };
    return null;
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

  async #answerUnderLock(question: Question, log: Logger, early: EarlyAnswer | null): Promise<void> {
    const { store, settings } = this.#deps;
    const id = threadId(question.thread);
    let held: Held | null;
    try {
      held = await this.#acquire(id);
    } catch (error) {
      return this.#storeDown(question, error, log);
    }
    if (!held) {
      const ref = newReferenceId();
      log.error({ ref }, 'gave up waiting for the thread lock');
      this.#deps.metrics.answers.inc({ outcome: 'lock_timeout' });
      await this.#deps.surface
        .notice(
          question,
          MESSAGES.failed('I was still busy with an earlier question here. Please ask again.', ref),
        )
        .catch(() => undefined);
      return;
    }
    const lockToken = held.token;
    let released = false;
    const keepAlive = setInterval(
      () => {
        store.extendLock(id, lockToken, settings.lockTtlMs).then(
          (held) => {
            if (!held) log.warn('lost the thread lock while answering');
          },
          (err: unknown) => log.warn({ err }, 'could not extend the thread lock'),
        );
      },
      Math.max(100, Math.floor(settings.lockTtlMs / 3)),
    );
    keepAlive.unref();
    try {
      released = await this.#answer(question, held, log, early);
    } finally {
      clearInterval(keepAlive);
      if (!released) {
        await store
          .releaseLock(id, lockToken)
          .catch((err: unknown) => log.warn({ err }, 'could not release lock'));
      }
    }
  }

  /** Waits for the thread's lock (and reads its state with it), polling with backoff; null after `lockWaitMs`. */
  async #acquire(id: string): Promise<Held | null> {
    const { store, settings } = this.#deps;
    const deadline = this.#now() + settings.lockWaitMs;
    let delayMs = 25;
    for (;;) {
      const held = await store.acquireLockAndGetThread(id, settings.lockTtlMs);
      if (held) return held;
      if (this.#now() >= deadline) return null;
      await this.#sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 500);
    }
  }

  /** Runs one answer while holding the lock. Returns true when the commit released the lock. */
  async #answer(question: Question, held: Held, log: Logger, early: EarlyAnswer | null): Promise<boolean> {
    const { model, surface, settings, metrics } = this.#deps;
    const { token: lockToken, state } = held;
    // The early call asked without history: usable only if the store indeed has none.
    const earlyEvents = state === null ? (early?.take() ?? null) : null;
    early?.discard();
    const startedAtMs = earlyEvents && early ? early.startedAtMs : this.#now();
    const ref = newReferenceId();

    let questionText = question.text;
    if (!state && question.thread.threadTs !== question.messageTs && question.surface !== 'command') {
      // First time the bot is asked in an existing thread: give the model what was said so far.
      const earlier = await this.#deps.threadReader
        .read(question.thread, question.messageTs)
        .catch((err: unknown) => {
          log.warn({ err }, 'could not read the thread; answering without its context');
          return [];
        });
      questionText = withThreadContext(question.text, earlier);
    }

    const history = state?.turns ?? [];
    const scale = estimateScale(history, settings.systemPrompt, state?.lastInputTokens ?? null);
    let budget = settings.historyTokenBudget;
    let trimmed = trimToBudget(history, { role: 'user', text: questionText }, budget, scale);

    const output = surface.open(question);
    output.showStatus('thinking');

    let answer = '';
    let stopReason = 'end_turn';
    let usage = { inputTokens: 0, outputTokens: 0 };
    let kbSessionId = state?.kbSessionId ?? null;
    let firstTokenAtMs: number | null = null;
    const citations: CitedSource[] = [];
    let outcome: Outcome = 'answered';
    let error: AnswerError | null = null;
    let trimmedHarder = false;

    for (let attempt = 1; ; attempt += 1) {
      try {
        const events =
          attempt === 1 && earlyEvents ? earlyEvents : model.stream({ turns: trimmed.turns, kbSessionId });
        for await (const event of events) {
          switch (event.type) {
            case 'text':
              if (firstTokenAtMs === null) {
                firstTokenAtMs = this.#now();
                metrics.timeToFirstToken.observe((firstTokenAtMs - startedAtMs) / 1000);
              }
              answer += event.text;
              output.write(event.text);
              break;
            case 'status':
              output.showStatus(event.status);
              break;
            case 'citation':
              for (const source of event.sources)
                if (!citations.some((c) => c.id === source.id)) citations.push(source);
              break;
            case 'session':
              kbSessionId = event.kbSessionId;
              break;
            case 'usage':
              usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
              break;
            case 'stop':
              stopReason = event.reason;
              break;
          }
        }
        error = null;
        break;
      } catch (thrown) {
        error = asAnswerError(thrown);
        if (answer.length > 0) break; // text was shown: keep it, do not start over
        if (error.code === 'input_too_long' && !trimmedHarder) {
          // Our estimate was too low for this model: keep at most half of what was just sent.
          trimmedHarder = true;
          const sentTokens = trimmed.turns.reduce((sum, turn) => sum + estimateTokens(turn.text, scale), 0);
          budget = Math.min(Math.floor(budget / 2), Math.floor(sentTokens / 2));
          trimmed = trimToBudget(history, { role: 'user', text: questionText }, budget, scale);
          continue;
        }
        if (error.code === 'kb_session_invalid' && kbSessionId) {
          log.info('knowledge base session expired; retrying on a new one');
          kbSessionId = null;
          continue;
        }
        if (error.retryable && attempt < settings.modelAttempts) {
          await this.#sleep(
            this.#deps.retryDelayMs?.(attempt) ?? 250 * 2 ** (attempt - 1) * (1 + Math.random() / 2),
          );
          continue;
        }
        break;
      }
    }

    let committed = false;
    if (error) {
      outcome = answer.length > 0 ? 'interrupted' : 'failed';
      const note =
        outcome === 'interrupted' ? MESSAGES.interrupted(ref) : MESSAGES.failed(error.userMessage, ref);
      await output.fail(note).catch((err: unknown) => log.warn({ err }, 'could not show the failure'));
      // History stays as it was; only the asker joins the thread's participants.
      committed = await this.#commit(
        question,
        state,
        [],
        state?.kbSessionId ?? null,
        { inputTokens: 0 },
        lockToken,
        log,
      );
    } else {
      const notes: string[] = [];
      if (trimmed.droppedTurns > 0) notes.push(MESSAGES.trimmed(trimmed.droppedTurns));
      if (stopReason === 'max_tokens') notes.push(MESSAGES.maxTokens);
      if (stopReason === 'guardrail_intervened' || stopReason === 'content_filtered')
        notes.push(MESSAGES.guardrail);
      try {
        await output.finish({ notes, sources: citations });
      } catch (err) {
        log.warn({ err }, 'could not finish the answer in Slack');
      }
      const turns: Turn[] = [
        { role: 'user', text: questionText },
        { role: 'assistant', text: answer.length > 0 ? answer : '(no answer)' },
      ];
      committed = await this.#commit(question, state, turns, kbSessionId, usage, lockToken, log);
    }

    const durationMs = this.#now() - startedAtMs;
    metrics.answers.inc({ outcome });
    metrics.answerDuration.observe(durationMs / 1000);
    metrics.modelTokens.inc({ direction: 'input' }, usage.inputTokens);
    metrics.modelTokens.inc({ direction: 'output' }, usage.outputTokens);
    log[error ? 'warn' : 'info'](
      {
        outcome,
        ref,
        errorCode: error?.code,
        err: error?.cause,
        timeToFirstTokenMs: firstTokenAtMs === null ? null : firstTokenAtMs - startedAtMs,
        durationMs,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        stopReason,
        answerChars: answer.length,
        ...(settings.logMessageText ? { question: question.text, answer } : {}),
      },
      'answer',
    );
    return committed;
  }

  /** Saves the turn (if any) and releases the lock in one step; re-takes the lock if it was lost. */
  async #commit(
    question: Question,
    before: ThreadState | null,
    newTurns: Turn[],
    kbSessionId: string | null,
    usage: { inputTokens: number },
    lockToken: string,
    log: Logger,
  ): Promise<boolean> {
    const { store, settings } = this.#deps;
    const id = threadId(question.thread);
    const build = (base: ThreadState | null): ThreadState => ({
      turns: [...(base?.turns ?? []), ...newTurns],
      kbSessionId,
      participants:
        question.addressed && !base?.participants.includes(question.userId)
          ? [...(base?.participants ?? []), question.userId]
          : (base?.participants ?? []),
      lastInputTokens: usage.inputTokens > 0 ? usage.inputTokens : (base?.lastInputTokens ?? null),
    });
    try {
      if (await store.commitThread(id, build(before), settings.historyTtlMs, lockToken)) return true;
      // The lock expired under us (a very long answer, or a stalled replica): merge onto what is there now.
      log.warn('thread lock was lost before commit; re-taking it to save the turn');
      const again = await this.#acquire(id);
      if (!again) return false;
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
