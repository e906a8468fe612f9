/**
 * A model call started before the store has admitted the question (dedup claim, thread lock), so
 * that those round trips overlap the model's own time to first token instead of adding to it.
 * Only the first question of a new thread qualifies: its request does not depend on stored history.
 * Nothing reaches Slack before the question is admitted; a call that is not taken is aborted.
 */
import type { AnswerEvent, AnswerModel, AnswerRequest } from './ports.ts';

export class EarlyAnswer {
  readonly startedAtMs: number;
  readonly #turns: AnswerRequest['turns'];
  readonly #controller = new AbortController();
  readonly #iterator: AsyncIterator<AnswerEvent>;
  /** The first `next()`, called at once: that is what sends the request. */
  readonly #first: Promise<IteratorResult<AnswerEvent>>;
  #state: 'pending' | 'taken' | 'discarded' = 'pending';
  /** The taker's signal and our listener on it, removed once the events end. */
  #taker: { signal: AbortSignal; onAbort: () => void } | null = null;

  constructor(model: AnswerModel, request: Omit<AnswerRequest, 'signal'>, nowMs: number) {
    this.startedAtMs = nowMs;
    this.#turns = request.turns;
    this.#iterator = model.stream({ ...request, signal: this.#controller.signal })[Symbol.asyncIterator]();
    this.#first = this.#iterator.next();
    // A discarded call ends in an abort error that nobody awaits.
    this.#first.catch(() => undefined);
  }

  get state(): 'pending' | 'taken' | 'discarded' {
    return this.#state;
  }

  /** Whether this call asked exactly `turns` (what the answer, once prepared, would send). */
  asked(turns: AnswerRequest['turns']): boolean {
    return JSON.stringify(turns) === JSON.stringify(this.#turns);
  }

  /**
   * Hands the call's events to the answer, once; null when it was already taken or discarded.
   * `signal` (the answer's own) aborts the call from then on.
   */
  take(signal?: AbortSignal): AsyncIterable<AnswerEvent> | null {
    if (this.#state !== 'pending') return null;
    this.#state = 'taken';
    if (signal?.aborted) this.#controller.abort();
    else if (signal) {
      const onAbort = () => this.#controller.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#taker = { signal, onAbort };
    }
    return this.#events();
  }

  /** Aborts the call unless the answer took it (or it was discarded already). */
  discard(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'discarded';
    this.#controller.abort();
  }

  async *#events(): AsyncGenerator<AnswerEvent> {
    let completed = false;
    try {
      for (let result = await this.#first; !result.done; result = await this.#iterator.next()) {
        yield result.value;
      }
      completed = true;
    } finally {
      // A listener left on the answer's signal (an `AbortSignal.any` of the process-long restart
      // signal) would keep it, and this call with it, alive for as long as the process runs.
      this.#taker?.signal.removeEventListener('abort', this.#taker.onAbort);
      this.#taker = null;
      // The answer stopped reading early (an error on our side): end the model call too.
      if (!completed) {
        this.#controller.abort();
        await this.#iterator.return?.()?.catch(() => undefined);
      }
    }
  }
}
