/**
 * Tool calls that need a person's approval: the turn pauses (saved in the store for any replica,
 * its message ended with a word) and an approval request is posted; a click on any replica takes
 * the paused turn once (a second click finds it gone), and the turn goes on in its thread.
 */
import { randomUUID } from 'node:crypto';
import { newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { MESSAGES } from './messages.ts';
import {
  type AnswerOutput,
  type AnswerSurface,
  type CitedSource,
  type ConversationStore,
  type ModelChoice,
  type PausedTurn,
  type Question,
  type ToolResultRecord,
  type ToolSpec,
  type ToolUse,
  type Turn,
  threadId,
} from './ports.ts';

/** A paused turn's record outlives its approval's expiry by this much, to tell a late click it expired. */
const EXPIRED_APPROVAL_GRACE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_APPROVAL_TTL_MS = 60 * 60 * 1000;

export interface ToolApprovalsDeps {
  store: ConversationStore;
  surface: AnswerSurface;
  metrics: Metrics;
  /** Who may approve a tool call besides the asker. */
  approvers: string[];
  /** How long an approval request stays open. */
  approvalTtlMs?: number;
  now: () => number;
}

/** What the turn had done when it paused. */
export interface PausingTurn {
  questionText: string;
  model: ModelChoice | null;
  rounds: Turn[];
  answerSoFar: string;
  citations: CitedSource[];
  /** The calls that wait for the approval, and the results of the round already known. */
  gated: ToolUse[];
  results: ToolResultRecord[];
  /** The tools the model was offered (for the request's titles). */
  offered: ToolSpec[];
}

export class ToolApprovals {
  readonly #deps: ToolApprovalsDeps;

  constructor(deps: ToolApprovalsDeps) {
    this.#deps = deps;
  }

  /** Saves the paused turn for any replica, ends this message with a word, and asks for the approval. */
  async pause(question: Question, turn: PausingTurn, output: AnswerOutput, log: Logger): Promise<void> {
    const { store, surface } = this.#deps;
    const ttlMs = this.#deps.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS;
    const record: PausedTurn = {
      approvalId: randomUUID(),
      expiresAtMs: this.#deps.now() + ttlMs,
      askerId: question.userId,
      question: { ...question.thread, messageTs: question.messageTs, isDm: question.isDm },
      questionText: turn.questionText,
      rounds: turn.rounds,
      results: turn.results,
      gated: turn.gated,
      answerSoFar: turn.answerSoFar,
      citations: turn.citations,
      model: turn.model,
      approvalMessageTs: null,
    };
    await output
      .finish({ notes: [MESSAGES.waitingForApproval], sources: turn.citations })
      .catch((err: unknown) => log.warn({ err }, 'could not end the message before the approval'));
    const request = approvalRequestOf(record, turn.offered);
    try {
      // Saved before it is asked, so that a click can never find nothing; kept past its expiry to say so.
      await store.pauseTurn(threadId(question.thread), record, ttlMs + EXPIRED_APPROVAL_GRACE_MS);
      record.approvalMessageTs = await surface.askApproval(question, request);
      await store.pauseTurn(threadId(question.thread), record, ttlMs + EXPIRED_APPROVAL_GRACE_MS);
      log.info(
        { approvalId: record.approvalId, tools: turn.gated.map((use) => use.name) },
        'waiting for approval',
      );
    } catch (err) {
      log.error({ err }, 'could not ask for the approval');
      await surface.notice(
        question,
        MESSAGES.failed('I could not ask for the approval this needs.', newReferenceId()),
      );
    }
  }

  /**
   * A person answered an approval request (Approve or Deny) on any replica: if they may, the paused
   * turn is taken from the store once and handed to `resume` (to go on in its thread, in turn like
   * any question; the model is told of a denial). Everyone else gets a private word.
   */
  async resolve(
    input: { thread: Question['thread']; approvalId: string; userId: string; approved: boolean },
    resume: (question: Question) => Promise<void>,
  ): Promise<void> {
    const { store, surface, metrics } = this.#deps;
    const id = threadId(input.thread);
    const paused = await store.pausedTurn(id);
    const where = questionOfPaused(paused, input.thread);
    const tell = (text: string) => surface.ephemeral(where, text, input.userId).catch(() => undefined);
    if (!paused || paused.approvalId !== input.approvalId) return tell(MESSAGES.approvalGone);
    if (input.userId !== paused.askerId && !this.#deps.approvers.includes(input.userId)) {
      metrics.approvals.inc({ outcome: 'refused' });
      return tell(MESSAGES.approvalNotYours);
    }
    const taken = await store.takePausedTurn(id, input.approvalId);
    if (!taken) return tell(MESSAGES.approvalGone);
    const request = approvalRequestOf(taken);
    if (this.#deps.now() > taken.expiresAtMs) {
      metrics.approvals.inc({ outcome: 'expired' });
      if (taken.approvalMessageTs)
        await surface.settleApproval(where, taken.approvalMessageTs, request, MESSAGES.approvalExpired);
      return tell(MESSAGES.approvalExpired);
    }
    metrics.approvals.inc({ outcome: input.approved ? 'approved' : 'denied' });
    if (taken.approvalMessageTs)
      await surface.settleApproval(
        where,
        taken.approvalMessageTs,
        request,
        MESSAGES.approvalSettled(input.approved, input.userId),
      );
    await resume({
      ...where,
      dedupKey: `approval:${input.approvalId}`,
      resume: { paused: taken, approved: input.approved, decidedBy: input.userId },
    });
  }
}

/** What the person is asked to approve, from a paused turn (titles from the tools offered, if known). */
function approvalRequestOf(paused: PausedTurn, offered: ToolSpec[] = []) {
  return {
    approvalId: paused.approvalId,
    askerId: paused.askerId,
    expiresAtMs: paused.expiresAtMs,
    calls: paused.gated.map((use) => ({
      title: offered.find((tool) => tool.name === use.name)?.title ?? use.name,
      input: use.input,
    })),
  };
}

/** The question a paused turn answers, as a Question (for its thread and asker). */
function questionOfPaused(paused: PausedTurn | null, thread: Question['thread']): Question {
  return {
    thread,
    replyTo: { kind: 'thread' },
    messageTs: paused?.question.messageTs ?? thread.threadTs,
    userId: paused?.askerId ?? '',
    text: paused?.questionText ?? '',
    surface: paused?.question.isDm ? 'dm' : 'mention',
    isDm: paused?.question.isDm ?? thread.channelId.startsWith('D'),
    addressed: true,
    dedupKey: '',
  };
}
