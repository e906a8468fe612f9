/**
 * A person's Stop (Slack's native Stop, or the in-message button) reaches the replica that runs the
 * answer: every replica publishes requests on the store's channel, and the one that has the thread's
 * answer running checks that the person may stop it (the asker, or an admin) and stops it.
 */
import type { Logger } from '../logger.ts';
import { MESSAGES } from './messages.ts';
import type { AnswerSurface, Question, StopRequest, StopSignals } from './ports.ts';
import { threadId } from './ports.ts';

export interface StopRequestsDeps {
  stops: StopSignals;
  surface: AnswerSurface;
  logger: Logger;
  /** Whether `userId` may stop someone else's answer (a workspace admin); default: nobody may. */
  mayStopOthers?: (userId: string) => Promise<boolean>;
}

/** An answer running in this process, as a Stop request finds it. */
interface RunningAnswer {
  question: Question;
  stop: () => void;
}

export class StopRequests {
  readonly #deps: StopRequestsDeps;
  /** Answers running in this process, by thread. */
  readonly #running = new Map<string, RunningAnswer>();
  readonly #unsubscribe: () => void;

  constructor(deps: StopRequestsDeps) {
    this.#deps = deps;
    this.#unsubscribe = deps.stops.subscribe((request) => {
      this.#onStop(request).catch((err: unknown) => deps.logger.warn({ err }, 'could not handle a stop'));
    });
  }

  /** Hands a person's Stop to whichever replica runs the thread's answer. */
  async request(thread: Question['thread'], userId: string): Promise<void> {
    await this.#deps.stops.publish({ threadId: threadId(thread), userId });
  }

  /** Registers an answer where Stop requests find it, for as long as `work` runs. */
  async whileRunning<T>(question: Question, stop: () => void, work: () => Promise<T>): Promise<T> {
    const id = threadId(question.thread);
    const running: RunningAnswer = { question, stop };
    this.#running.set(id, running);
    try {
      return await work();
    } finally {
      if (this.#running.get(id) === running) this.#running.delete(id);
    }
  }

  /** Stops listening for Stop requests (after draining). */
  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#deps.stops.close();
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
}
