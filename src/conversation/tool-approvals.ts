/**
 * Tool calls that need a person's approval: the turn pauses (saved in the store for any replica,
 * keyed by its approval id, its message ended with a word) and an approval request is posted.
 *
 * What runs is what was approved: the request binds the exact calls by a hash, and a click runs
 * exactly the stored calls whose hash it carries. An approved turn is never lost: the click hands a
 * decision (not the paused turn) to the thread's turn, which reads the paused turn under the
 * thread's lock and deletes it only once the resumed turn has committed (then the request's message
 * ends with the decision). Whatever stops it before that (draining, the store, a budget, the lock
 * wait, a tool server down on this replica) leaves it pending, and the person who clicked is told in
 * one private sentence.
 */
import { createHash, randomUUID } from 'node:crypto';
import { newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { MESSAGES } from './messages.ts';
import {
  type AnswerOutput,
  type AnswerSurface,
  type ApprovalMode,
  type ApprovalRequest,
  type CitedSource,
  type ConversationStore,
  type ModelChoice,
  type PausedTurn,
  type Question,
  type ThreadState,
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
  /** Who may approve a tool call besides the asker (in `approvers` mode: only they). */
  approvers: string[];
  /** How long an approval request stays open. */
  approvalTtlMs?: number;
  /** The tools this replica can run in a channel now, by name (a click waits for a server that is down). */
  available: (channelId: string) => string[];
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
  /** The tools the model was offered (titles, approval modes, the resumed request's tool configuration). */
  offered: ToolSpec[];
  /** The question quoted other people's messages to the model. */
  quotedContext: boolean;
}

/** A click on Approve or Deny, as the listener hands it on. */
export interface ApprovalClick {
  thread: Question['thread'];
  approvalId: string;
  /** The hash of the calls the clicked request showed (null: a button from before hashes). */
  inputHash: string | null;
  /** The clicked message: the approval request itself. */
  messageTs: string;
  userId: string;
  approved: boolean;
  /** Slack's id of this click (a redelivered click is handled once). */
  clickId: string;
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
    const gatedTools = turn.offered.filter((tool) => turn.gated.some((use) => use.name === tool.name));
    const mode: ApprovalMode = gatedTools.some((tool) => tool.approvedBy === 'approvers')
      ? 'approvers'
      : 'asker';
    const record: PausedTurn = {
      approvalId: randomUUID(),
      expiresAtMs: this.#deps.now() + ttlMs,
      askerId: question.userId,
      question: { ...question.thread, messageTs: question.messageTs, isDm: question.isDm },
      questionText: turn.questionText,
      rounds: turn.rounds,
      results: turn.results,
      gated: turn.gated,
      inputHash: callsHash(turn.gated),
      tools: turn.offered,
      mode,
      quotedContext: turn.quotedContext,
      answerSoFar: turn.answerSoFar,
      citations: turn.citations,
      model: turn.model,
    };
    await output
      .finish({ notes: [MESSAGES.waitingForApproval], sources: turn.citations })
      .catch((err: unknown) => log.warn({ err }, 'could not end the message before the approval'));
    try {
      // Saved before it is asked, so that a click can never find nothing; kept past its expiry to say
      // so. Never written again: a click carries the request's message, and a second write could
      // bring back a turn that a quick click had already finished.
      await store.pauseTurn(threadId(question.thread), record, ttlMs + EXPIRED_APPROVAL_GRACE_MS);
      await surface.askApproval(question, this.#requestOf(record));
      log.info(
        { approvalId: record.approvalId, tools: turn.gated.map((use) => use.name), mode },
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

  /** What an open approval request asks, in full (the "Show all" view); null when it is gone. */
  async request(thread: Question['thread'], approvalId: string): Promise<ApprovalRequest | null> {
    const paused = await this.#deps.store.pausedTurn(threadId(thread), approvalId);
    return paused ? this.#requestOf(paused) : null;
  }

  /**
   * A person answered an approval request (Approve or Deny) on any replica: if they may, the
   * decision goes to `resume` (the thread's turn, in turn like any question; the model is told of a
   * denial). Everyone else, and a click that could not go on, gets a private word.
   */
  async resolve(click: ApprovalClick, resume: (question: Question) => Promise<void>): Promise<void> {
    const { store, surface, metrics } = this.#deps;
    const id = threadId(click.thread);
    const paused = await store.pausedTurn(id, click.approvalId);
    const where = questionOfPaused(paused, click.thread);
    const tell = (text: string) => surface.ephemeral(where, text, click.userId).catch(() => undefined);
    if (!paused) return tell(MESSAGES.approvalGone);
    if (
      (click.inputHash !== null && click.inputHash !== paused.inputHash) ||
      callsHash(paused.gated) !== paused.inputHash
    ) {
      metrics.approvals.inc({ outcome: 'refused' });
      return tell(MESSAGES.approvalChanged);
    }
    if (!this.#mayAnswer(paused, click.userId)) {
      metrics.approvals.inc({ outcome: 'refused' });
      return tell(paused.mode === 'approvers' ? MESSAGES.approvalOnlyApprovers : MESSAGES.approvalNotYours);
    }
    if (this.#deps.now() > paused.expiresAtMs) {
      const taken = await store.takePausedTurn(id, click.approvalId);
      if (!taken) return tell(MESSAGES.approvalGone);
      metrics.approvals.inc({ outcome: 'expired' });
      await surface.settleApproval(where, click.messageTs, this.#requestOf(taken), { kind: 'expired' });
      return tell(MESSAGES.approvalExpired);
    }
    if (click.approved) {
      // This replica cannot run a tool whose server is down: the request stays open for later.
      const available = this.#deps.available(click.thread.channelId);
      const down = paused.gated.filter((use) => !available.includes(use.name));
      if (down.length > 0) return tell(MESSAGES.approvalToolDown([...new Set(down.map(titleIn(paused)))]));
    }
    await resume({
      ...where,
      dedupKey: `approval:${click.approvalId}:${click.clickId}`,
      resume: {
        approvalId: click.approvalId,
        approved: click.approved,
        decidedBy: click.userId,
        messageTs: click.messageTs,
      },
    });
    // Still stored: the resumed turn did not commit (refused, draining, the store, the lock wait).
    const open = await store.pausedTurn(id, click.approvalId).catch(() => null);
    if (open) await tell(MESSAGES.approvalStillOpen);
  }

  /**
   * Under the thread's lock: the paused turn a resumed question goes on with, or null (told to the
   * person who clicked) when it is gone or its round is already in history (a restart came between
   * the commit and the deletion: it is finished now, and nothing runs twice).
   */
  async begin(question: Question, state: ThreadState | null): Promise<PausedTurn | null> {
    const decision = question.resume;
    if (!decision) return null;
    const { store, surface } = this.#deps;
    const tell = (text: string) =>
      surface.ephemeral(question, text, decision.decidedBy).catch(() => undefined);
    const paused = await store.pausedTurn(threadId(question.thread), decision.approvalId);
    if (!paused) {
      await tell(MESSAGES.approvalGone);
      return null;
    }
    const gatedIds = new Set(paused.gated.map((use) => use.id));
    const recorded = (state?.turns ?? []).some((turn) =>
      turn.toolResults?.some((result) => gatedIds.has(result.toolUseId)),
    );
    if (recorded) {
      await this.settled(question, paused);
      await tell(MESSAGES.approvalGone);
      return null;
    }
    return paused;
  }

  /** The resumed turn committed (or paused again, carrying this round): the request is done and says so. */
  async settled(question: Question, paused: PausedTurn): Promise<void> {
    const decision = question.resume;
    if (!decision) return;
    const taken = await this.#deps.store.takePausedTurn(threadId(question.thread), paused.approvalId);
    if (!taken) return;
    this.#deps.metrics.approvals.inc({ outcome: decision.approved ? 'approved' : 'denied' });
    await this.#deps.surface.settleApproval(question, decision.messageTs, this.#requestOf(taken), {
      kind: decision.approved ? 'approved' : 'denied',
      by: decision.decidedBy,
    });
  }

  #mayAnswer(paused: PausedTurn, userId: string): boolean {
    // In `approvers` mode anyone in the thread may have triggered the tool: only approvers decide.
    if (paused.mode === 'approvers') return this.#deps.approvers.includes(userId);
    return userId === paused.askerId || this.#deps.approvers.includes(userId);
  }

  /** What the person is asked to approve, from a paused turn (titles from its tools). */
  #requestOf(paused: PausedTurn): ApprovalRequest {
    return {
      approvalId: paused.approvalId,
      askerId: paused.askerId,
      expiresAtMs: paused.expiresAtMs,
      calls: paused.gated.map((use) => ({ title: titleIn(paused)(use), input: use.input })),
      inputHash: paused.inputHash,
      mode: paused.mode ?? 'asker',
      approvers: this.#deps.approvers,
      quotedContext: paused.quotedContext ?? false,
    };
  }
}

/** A stable hash of the exact calls (tool names and inputs, in order) that a request shows. */
export function callsHash(calls: ToolUse[]): string {
  const exact = JSON.stringify(calls.map((use) => [use.name, use.input ?? null]));
  return createHash('sha256').update(exact).digest('hex').slice(0, 32);
}

/** A call's tool by its title (from the tools the paused answer was offered), else its name. */
function titleIn(paused: PausedTurn): (use: ToolUse) => string {
  return (use) => (paused.tools ?? []).find((tool) => tool.name === use.name)?.title ?? use.name;
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
