import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EarlyAnswer } from '../../src/conversation/early-answer.ts';
import type { AnswerEvent, AnswerModel, AnswerRequest } from '../../src/conversation/ports.ts';

/** A model port that streams two events, recording the signal each call was given. */
function twoEventModel(): AnswerModel & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    inputsFor: () => {
      throw new Error('an early call does not ask what the model reads');
    },
    async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
      if (request.signal) signals.push(request.signal);
      yield { type: 'text', text: 'Hello' };
      yield { type: 'stop', reason: 'end_turn' };
    },
  };
}

const turns = [{ role: 'user' as const, text: 'hi' }];

async function drain(events: AsyncIterable<AnswerEvent>): Promise<AnswerEvent[]> {
  const seen: AnswerEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('an early model call taken by an answer', () => {
  it('leaves no listener on the answer’s signal once its events end', async () => {
    // The answer's signal is an AbortSignal.any of the process-long restart signal: a listener
    // left on it keeps the signal and the whole call alive until the process ends.
    const restart = new AbortController();
    const signal = AbortSignal.any([restart.signal, new AbortController().signal]);
    const early = new EarlyAnswer(twoEventModel(), { turns, kbSessionId: null }, 0);

    const events = early.take(signal);
    if (!events) throw new Error('the call was not taken');
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    expect(await drain(events)).toHaveLength(2);

    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('leaves none either when the answer stops reading early, and ends the call', async () => {
    const model = twoEventModel();
    const signal = new AbortController().signal;
    const early = new EarlyAnswer(model, { turns, kbSessionId: null }, 0);

    for await (const _event of early.take(signal) ?? []) break;

    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(model.signals[0]?.aborted).toBe(true);
  });

  it('still ends the call when the answer’s signal aborts while it streams', async () => {
    const model = twoEventModel();
    const answer = new AbortController();
    const early = new EarlyAnswer(model, { turns, kbSessionId: null }, 0);
    const events = early.take(answer.signal)?.[Symbol.asyncIterator]();

    await events?.next();
    answer.abort();

    expect(model.signals[0]?.aborted).toBe(true);
  });
});
