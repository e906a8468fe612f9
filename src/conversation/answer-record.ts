/**
 * What an answer leaves behind besides history: the `answers` metric and its duration, its usage
 * added up per person, channel and day (and priced), and its one structured log line (message text
 * only when explicitly enabled).
 */
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { AnswerControls, QuestionControls } from './answer-controls.ts';
import type { Generated } from './generate-turn.ts';
import type { OutcomeLabel } from './outcomes.ts';
import type { AnswerOutput, Question, ThreadState } from './ports.ts';
import type { Prepared } from './prepare-turn.ts';

/** An answer whose generating has ended: what concluding and recording it needs. */
export interface FinishedRun {
  /** As answered (a regenerated question carries the question asked again). */
  question: Question;
  controls: QuestionControls;
  /** The thread's state as the lock found it, and as this answer was built on (a regenerated answer's differs). */
  state: ThreadState | null;
  base: ThreadState | null;
  lockToken: string;
  prepared: Prepared;
  generated: Generated;
  output: AnswerOutput;
  startedAtMs: number;
}

export interface RecordDeps {
  metrics: Metrics;
  controls: AnswerControls;
  settings: { logMessageText: boolean };
  now: () => number;
}

export async function recordAnswer(
  deps: RecordDeps,
  run: FinishedRun,
  outcome: OutcomeLabel,
  ref: string,
  log: Logger,
): Promise<void> {
  const { metrics, settings } = deps;
  const { question, controls, generated, prepared } = run;
  const { usage, error, stoppedBy } = generated;
  const durationMs = deps.now() - run.startedAtMs;
  metrics.answers.inc({ outcome });
  metrics.answerDuration.observe(durationMs / 1000);
  const { teamId, channelId } = question.thread;
  const asker = { teamId, channelId, userId: question.userId };
  const { costUsd } = await deps.controls.recordUsage(asker, controls, usage);
  log[error || stoppedBy ? 'warn' : 'info'](
    {
      outcome,
      ref,
      errorCode: error?.code ?? (stoppedBy ? `stopped_by_${stoppedBy}` : undefined),
      err: error?.cause,
      timeToFirstTokenMs:
        generated.firstTokenAtMs === null ? null : generated.firstTokenAtMs - run.startedAtMs,
      durationMs,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      model: controls.modelId,
      costUsd,
      stopReason: generated.stopReason,
      answerChars: generated.answer.length,
      ...(generated.toolsUsed.length > 0 ? { tools: generated.toolsUsed } : {}),
      historyTurns: prepared.history.length,
      ...(settings.logMessageText ? { question: question.text, answer: generated.answer } : {}),
    },
    'answer',
  );
}
