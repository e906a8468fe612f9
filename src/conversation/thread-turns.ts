/**
 * One answer at a time per thread: in this replica by a queue per thread (questions keep the order
 * they arrived in), across replicas by the store's thread lock, kept alive while the answer runs.
 * A question that has to wait shows a sign that it was seen; when the shutdown bound comes first,
 * it is told to ask again.
 */
import { newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { MESSAGES } from './messages.ts';
import type { AnswerSurface, ConversationStore, HeldThread } from './ports.ts';
import { type Question, threadId } from './ports.ts';

export interface ThreadTurnsDeps {
  store: ConversationStore;
  surface: AnswerSurface;
  metrics: Metrics;
  settings: { lockTtlMs: number; lockWaitMs: number; historyTtlMs: number };
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Aborted when shutdown's bound is near: waiting questions are told, none starts. */
  restart: AbortSignal;
}

/** What admission found: the lock if it took it (`lockTried`: it asked for it). */
export interface Admitted {
  held: HeldThread | null;
  lockTried: boolean;
}

export interface TurnHandlers {
  /** Admits the question (`tryLock`: nothing of ours is ahead, so take the lock if free); null: not answered. */
  admit(tryLock: boolean): Promise<Admitted | null>;
  /** Answers holding the lock; true when it released the lock itself (its commit does). */
  answer(held: HeldThread): Promise<boolean>;
  /** The store failed while waiting for the lock. */
  storeDown(error: unknown): Promise<void>;
}

/** The reaction that says "seen, waiting its turn": shown at most once, removed when the answer starts. */
class WaitingSign {
  readonly #surface: AnswerSurface;
  readonly #question: Question;
  #shown: Promise<void> | null = null;
  constructor(surface: AnswerSurface, question: Question) {
    this.#surface = surface;
    this.#question = question;
  }
  show(): void {
    this.#shown ??= this.#surface.markWaiting(this.#question);
  }
  async clear(): Promise<void> {
    if (!this.#shown) return;
    await this.#shown;
    this.#shown = null;
    await this.#surface.clearWaiting(this.#question);
  }
}

export class ThreadTurns {
  readonly #deps: ThreadTurnsDeps;
  /** Per thread, the tail of this replica's queue. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(deps: ThreadTurnsDeps) {
    this.#deps = deps;
  }

  /** Whether a question in this thread is being admitted, waits or is answered in this replica. */
  busy(id: string): boolean {
    return this.#queues.has(id);
  }

  /**
   * Admits the question and answers it in its turn. The queue is joined at once, so that a later
   * question in this thread waits behind this one whatever admission finds.
   */
  async take(question: Question, log: Logger, turn: TurnHandlers): Promise<void> {
    const id = threadId(question.thread);
    const previous = this.#queues.get(id);
    const mine = turn.admit(!previous).then(async (admitted) => {
      if (!admitted) return;
      const waiting = new WaitingSign(this.#deps.surface, question);
      if (previous) {
        waiting.show();
        await previous;
      }
      await this.#underLock(question, log, turn, admitted, waiting);
    });
    const tail = (previous ?? Promise.resolve()).then(() => mine).catch(() => undefined);
    this.#queues.set(id, tail);
    // Gone once everything queued so far is done: a question turned away at admission ends before
    // the answer ahead of it, and the queue must stay for what comes after.
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    await mine;
  }

  async #underLock(
    question: Question,
    log: Logger,
    turn: TurnHandlers,
    admitted: Admitted,
    waiting: WaitingSign,
  ): Promise<void> {
    const { store, restart } = this.#deps;
    const id = threadId(question.thread);
    if (restart.aborted) {
      if (admitted.held)
        await store
          .releaseLock(id, admitted.held.token)
          .catch((err: unknown) => log.warn({ err }, 'could not release lock'));
      return this.#tellRestarting(question, log, waiting);
    }
    let held: HeldThread | 'timeout' | 'restarting';
    try {
      // Admission took the lock when it could; when someone else held it, wait for it here.
      held = admitted.held ?? (await this.acquire(question, waiting, admitted.lockTried));
    } catch (error) {
      await waiting.clear();
      return turn.storeDown(error);
    }
    if (held === 'restarting') return this.#tellRestarting(question, log, waiting);
    await waiting.clear();
    if (held === 'timeout') return this.#tellTimedOut(question, log);
    await this.#answerHolding(question, log, turn, held);
  }

  /** Answers holding the lock, keeping it alive meanwhile; releases it unless the answer's commit did. */
  async #answerHolding(question: Question, log: Logger, turn: TurnHandlers, held: HeldThread): Promise<void> {
    const { store, settings } = this.#deps;
    const id = threadId(question.thread);
    const lockToken = held.token;
    let released = false;
    const keepAlive = setInterval(
      () => {
        store.extendLock(id, lockToken, settings.lockTtlMs).then(
          (stillHeld) => {
            if (!stillHeld) log.warn('lost the thread lock while answering');
          },
          (err: unknown) => log.warn({ err }, 'could not extend the thread lock'),
        );
      },
      Math.max(100, Math.floor(settings.lockTtlMs / 3)),
    );
    keepAlive.unref();
    try {
      released = await turn.answer(held);
    } finally {
      clearInterval(keepAlive);
      if (!released) {
        await store
          .releaseLock(id, lockToken)
          .catch((err: unknown) => log.warn({ err }, 'could not release lock'));
      }
    }
  }

  /** Waiting for the thread took longer than the bound: the person is told to ask again. */
  async #tellTimedOut(question: Question, log: Logger): Promise<void> {
    const ref = newReferenceId();
    log.error({ ref }, 'gave up waiting for the thread lock');
    this.#deps.metrics.answers.inc({ outcome: 'lock_timeout' });
    await this.#deps.surface
      .notice(
        question,
        MESSAGES.failed('I was still busy with an earlier question here. Please ask again.', ref),
      )
      .catch(() => undefined);
  }

  /**
   * Waits for the thread's lock (and reads its state with it, recording an addressed asker as a
   * participant), polling with backoff. 'timeout' after `lockWaitMs`; 'restarting' once the
   * shutdown bound is near. A question that has to wait shows that it was seen. `lockTried`:
   * admission found the lock held a moment ago, so this shows the sign and pauses before asking.
   */
  async acquire(
    question: Question,
    waiting: { show(): void } | null,
    lockTried = false,
  ): Promise<HeldThread | 'timeout' | 'restarting'> {
    const { store, settings, restart } = this.#deps;
    const id = threadId(question.thread);
    const participant = question.addressed
      ? { userId: question.userId, ttlMs: settings.historyTtlMs }
      : undefined;
    const deadline = this.#deps.now() + settings.lockWaitMs;
    let delayMs = 25;
    if (lockTried) {
      waiting?.show();
      if (!(await pauseUnlessAborted(this.#deps.sleep, delayMs, restart))) return 'restarting';
      delayMs *= 2;
    }
    for (;;) {
      const held = await store.acquireLockAndGetThread(id, settings.lockTtlMs, participant);
      if (held) return held;
      waiting?.show();
      if (this.#deps.now() >= deadline) return 'timeout';
      if (!(await pauseUnlessAborted(this.#deps.sleep, delayMs, restart))) return 'restarting';
      delayMs = Math.min(delayMs * 2, 500);
    }
  }

  async #tellRestarting(question: Question, log: Logger, waiting: WaitingSign): Promise<void> {
    this.#deps.metrics.answers.inc({ outcome: 'restarting' });
    log.info('restarting: told a waiting question to ask again');
    await waiting.clear();
    await this.#deps.surface
      .notice(question, MESSAGES.restartingQueued)
      .catch((err: unknown) => log.warn({ err }, 'could not tell a waiting question'));
  }
}

/** Sleeps `ms` with `sleep`; false (at once) when `signal` aborts first. */
export async function pauseUnlessAborted(
  sleep: (ms: number) => Promise<void>,
  ms: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([sleep(ms), aborted]);
  if (onAbort) signal.removeEventListener('abort', onAbort);
  return !signal.aborted;
}
