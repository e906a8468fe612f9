/**
 * Steps 6 and 7 of an answer (SPEC §5, show and commit), decided as data: how an answer ended
 * (`outcomeOf`), and for each way it can end, what the message ends with, what history keeps and
 * which outcome the metrics and the log line count (`OUTCOMES`). `concludeAnswer` carries it out.
 */
import type { AnswerError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { leftOutSentence } from './attachments.ts';
import { storedAnswer } from './commit-turn.ts';
import type { Generated } from './generate-turn.ts';
import { MESSAGES } from './messages.ts';
import type { AnswerOutput, ThreadState, ToolSpec } from './ports.ts';
import type { Prepared } from './prepare-turn.ts';
import { answerHash, quotesOthers } from './thread-history.ts';
import type { PausingTurn } from './tool-approvals.ts';

/** How an answer ended. */
export type OutcomeKind =
  | 'unwritable'
  | 'stopped'
  | 'restarted'
  | 'broke_off'
  | 'failed'
  | 'paused'
  | 'blocked'
  | 'answered';

/** The outcome label of the `answers` metric and of the answer's log line. */
export type OutcomeLabel = 'answered' | 'failed' | 'interrupted' | 'stopped' | 'blocked' | 'paused';

interface OutcomeRule {
  label: OutcomeLabel;
  /** A counter of its own that this outcome also adds to. */
  alsoCounts?: 'guardrailInterventions';
  /** What the answer's message ends with: a note in place of the rest, the answer, or an approval request. */
  show: 'nothing' | 'note' | 'answer' | 'approval';
  note?: (error: AnswerError | null, ref: string) => string;
  /**
   * What history keeps: the answer; what was shown (if anything was); nothing but that the thread
   * is known (history as it was, so the next question does not read the thread again), optionally
   * without the Knowledge Base session; or nothing at all.
   */
  keep: 'answer' | 'shown' | 'thread_known' | 'thread_known_without_session' | 'nothing';
}

export const OUTCOMES: Record<OutcomeKind, OutcomeRule> = {
  // Slack refused the message for good: nothing more can be written, and the turn was not seen whole.
  unwritable: { label: 'failed', show: 'nothing', keep: 'nothing' },
  // The person's Stop, or a restart's bound: what was shown is the turn (they can ask for the rest).
  stopped: { label: 'stopped', show: 'note', note: () => MESSAGES.stopped, keep: 'shown' },
  restarted: { label: 'interrupted', show: 'note', note: () => MESSAGES.restarted, keep: 'shown' },
  // The model failed after text was shown, or before: history stays as it was.
  broke_off: {
    label: 'interrupted',
    show: 'note',
    note: (_error, ref) => MESSAGES.interrupted(ref),
    keep: 'thread_known',
  },
  failed: {
    label: 'failed',
    show: 'note',
    note: (error, ref) => MESSAGES.failed(error?.userMessage ?? '', ref),
    keep: 'thread_known',
  },
  // Calls with side effects wait for a person: the turn is kept with the approval, not in history.
  paused: { label: 'paused', show: 'approval', keep: 'nothing' },
  // A guardrail stopped the answer: neither the question nor the blocked text joins history, and the
  // Knowledge Base session, which holds the blocked exchange too, is left behind.
  blocked: {
    label: 'blocked',
    alsoCounts: 'guardrailInterventions',
    show: 'note',
    note: () => MESSAGES.guardrail,
    keep: 'thread_known_without_session',
  },
  answered: { label: 'answered', show: 'answer', keep: 'answer' },
};

/** How the generated answer ended. */
export function outcomeOf(generated: Generated): OutcomeKind {
  const { stoppedBy, error, answer, stopReason } = generated;
  if (stoppedBy === 'slack') return 'unwritable';
  if (stoppedBy === 'user') return 'stopped';
  if (stoppedBy === 'restart') return 'restarted';
  if (error) return answer.length > 0 ? 'broke_off' : 'failed';
  if (generated.paused) return 'paused';
  if (stopReason === 'guardrail_intervened' || stopReason === 'content_filtered') return 'blocked';
  return 'answered';
}

/** What carrying out an outcome needs: the answer, where it shows, and how history is saved. */
export interface Conclusion {
  generated: Generated;
  prepared: Prepared;
  output: AnswerOutput;
  /** The thread's state as the lock found it, and as this answer was built on (a regenerated answer's differs). */
  state: ThreadState | null;
  base: ThreadState | null;
  ref: string;
  log: Logger;
  metrics: Metrics;
  /** Saves history (null `generated`: no new turn) and releases the lock; true when it released it. */
  commit: (before: ThreadState | null, generated: Generated | null) => Promise<boolean>;
  /** Asks for a person's approval of the paused calls (see tool-approvals.ts). */
  pause: (turn: PausingTurn) => Promise<void>;
  offeredTools: ToolSpec[];
  /** The answer went on from a paused round (an approval's decision). */
  resumed: boolean;
}

/** Shows the outcome in Slack and keeps what it keeps; true when the commit released the lock. */
export async function concludeAnswer(kind: OutcomeKind, c: Conclusion): Promise<boolean> {
  const rule = OUTCOMES[kind];
  const { generated, output, log } = c;
  if (rule.alsoCounts) c.metrics[rule.alsoCounts].inc();
  if (rule.show === 'note' && rule.note) {
    await output
      .fail(rule.note(generated.error, c.ref))
      .catch((err: unknown) => log.warn({ err }, 'could not show the note'));
  } else if (rule.show === 'answer') {
    // Channel knowledge's quoted passages (models without tools) are sources of the answer too.
    for (const source of c.prepared.grounding?.sources ?? [])
      if (!generated.citations.some((cited) => cited.id === source.id)) generated.citations.push(source);
    await output
      .finish({
        notes: answerNotes(c.prepared, generated),
        sources: generated.citations,
        // The hash of what history stores, which is what a Regenerate click is checked against.
        regenerate: answerHash(storedAnswer(generated)),
      })
      .catch((err: unknown) => log.warn({ err }, 'could not finish the answer in Slack'));
  } else if (rule.show === 'approval' && generated.paused) {
    await c.pause({
      questionText: c.prepared.questionText,
      model: c.prepared.model ?? null,
      rounds: generated.rounds,
      answerSoFar: generated.answer,
      citations: generated.citations,
      gated: generated.paused.gated,
      results: generated.paused.results,
      offered: c.offeredTools,
      quotedContext:
        quotesOthers(c.prepared.questionText) || c.prepared.history.some((turn) => quotesOthers(turn.text)),
    });
  }
  // A resumed round ran (or was denied): it is kept whatever came after, so that nothing runs twice.
  if (c.resumed && (rule.keep === 'shown' || rule.keep === 'thread_known' || kind === 'unwritable'))
    return c.commit(c.base, generated);
  switch (rule.keep) {
    case 'answer':
      return c.commit(c.base, generated);
    case 'shown':
      return generated.answer.length > 0 ? c.commit(c.base, generated) : false;
    case 'thread_known':
      return c.commit(c.state, null);
    case 'thread_known_without_session':
      return c.commit(c.state && { ...c.state, kbSessionId: null }, null);
    case 'nothing':
      return false;
  }
}

/** The lines under a finished answer: files left out, tools, dropped history, a cut-off answer. */
function answerNotes(prepared: Prepared, generated: Generated): string[] {
  const notes: string[] = [...(prepared.grounding?.notes ?? [])];
  if (prepared.leftOut.length > 0) notes.push(leftOutSentence(prepared.leftOut));
  if (prepared.threadNote) notes.push(prepared.threadNote);
  notes.push(...generated.notes);
  if (prepared.trimmed.droppedTurns > 0) notes.push(MESSAGES.trimmed(prepared.trimmed.droppedTurns));
  if (generated.stopReason === 'max_tokens') notes.push(MESSAGES.maxTokens);
  return notes;
}
