/**
 * Step 2 of an answer (SPEC §5, admit): whether a question is answered at all. The delivery's claim
 * (a retry or the mention/message pair is answered once), thread etiquette, the allow-lists, the
 * size limit and the channel's controls, in one store round trip where the store is involved. A
 * refused question costs no model call; the person is told why in one private sentence.
 */
import { newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { QuestionControls } from './answer-controls.ts';
import { MESSAGES } from './messages.ts';
import type { AnswerSurface, ConversationStore, Question, ThreadMembership } from './ports.ts';
import { threadId } from './ports.ts';
import type { Admitted } from './thread-turns.ts';

/** What the asker typed, checked before anything is shown or any model is called. */
export interface QuestionCheck {
  channelId: string;
  userId: string;
  text: string;
}

export interface Refusal {
  reason: string;
  text: string;
}

export interface AdmissionDeps {
  store: ConversationStore;
  surface: AnswerSurface;
  metrics: Metrics;
  settings: {
    allowedChannelIds: string[];
    allowedUserIds: string[];
    maxQuestionChars: number;
    historyTtlMs: number;
    lockTtlMs: number;
  };
}

/** How long a delivery's claim is kept: longer than Slack retries an event. */
const DEDUP_TTL_MS = 60 * 60 * 1000;
const STORE_DOWN_MESSAGE =
  "I can't reach my memory right now, so I won't answer without it. Please try again in a minute.";

export class Admission {
  readonly #deps: AdmissionDeps;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
  }

  /** Why this question would be refused without a model call (allow-lists, size), or null. */
  refusalFor(check: QuestionCheck): Refusal | null {
    const { settings } = this.#deps;
    if (settings.allowedChannelIds.length > 0 && !settings.allowedChannelIds.includes(check.channelId))
      return { reason: 'channel', text: MESSAGES.notAllowedChannel };
    if (settings.allowedUserIds.length > 0 && !settings.allowedUserIds.includes(check.userId))
      return { reason: 'user', text: MESSAGES.notAllowedUser };
    if (check.text.length > settings.maxQuestionChars)
      return { reason: 'too_long', text: MESSAGES.tooLong(settings.maxQuestionChars) };
    return null;
  }

  /** Every reason this question gets no model call: allow-lists, size, controls, a bare mention. */
  refusal(question: Question, controls: QuestionControls): Refusal | null {
    // A regenerated or resumed question was admitted once already: only access and controls count.
    if (question.regenerate || question.resume) return this.#accessRefusal(question) ?? controls.refusal;
    const refusal = this.refusalFor({
      channelId: question.thread.channelId,
      userId: question.userId,
      text: question.text,
    });
    if (refusal) return refusal;
    // The channel is switched off, or a budget is used up (a regenerated answer costs a call too).
    if (controls.refusal) return controls.refusal;
    if (question.text.trim() === '' && !question.files?.length) {
      // A bare mention: a clear word, no model call.
      return { reason: 'empty', text: MESSAGES.emptyQuestion };
    }
    return null;
  }

  /** The allow-lists alone (a regenerated question was admitted once already). */
  #accessRefusal(question: Question): Refusal | null {
    const refusal = this.refusalFor({
      channelId: question.thread.channelId,
      userId: question.userId,
      text: '',
    });
    return refusal?.reason === 'too_long' ? null : refusal;
  }

  /**
   * Admission, in one store round trip: the delivery's atomic claim (a duplicate stops here), the
   * addressed asker recorded as a participant (a reply they type while this waits is taken), and the
   * thread's lock when nothing of ours is ahead in the thread. Then allow-lists and size: a refused
   * question costs no model call (none is started early for it). Null when it is not to be answered.
   */
  async admit(
    question: Question,
    controls: QuestionControls,
    log: Logger,
    when: { tryLock: boolean; accepting: boolean; restarting: boolean },
  ): Promise<Admitted | null> {
    const { store, surface, settings } = this.#deps;
    const id = threadId(question.thread);
    const { accepting } = when;
    const refusal = accepting ? this.refusal(question, controls) : null;
    const answering = accepting && refusal === null;
    const lockTried = answering && when.tryLock && !when.restarting;
    let admitted: Awaited<ReturnType<ConversationStore['admit']>>;
    try {
      if (!(await this.#etiquetteAllows(question, controls))) return null;
      admitted = await store.admit(id, {
        claimKey: question.dedupKey,
        claimTtlMs: DEDUP_TTL_MS,
        ...(answering && question.addressed
          ? { participant: { userId: question.userId, ttlMs: settings.historyTtlMs } }
          : {}),
        ...(lockTried ? { lockTtlMs: settings.lockTtlMs } : {}),
      });
    } catch (error) {
      await this.storeDown(question, error, log);
      return null;
    }
    if (!admitted) {
      log.debug({ dedupKey: question.dedupKey }, 'duplicate delivery ignored');
      this.#deps.metrics.duplicatesIgnored.inc();
      return null;
    }
    if (!accepting) {
      // A resumed turn stays pending: the person who clicked is told privately (tool-approvals.ts).
      if (!question.resume) await surface.notice(question, MESSAGES.shuttingDown).catch(() => undefined);
      return null;
    }
    if (refusal) {
      log.info({ reason: refusal.reason }, 'question refused');
      this.#deps.metrics.answers.inc({ outcome: `refused_${refusal.reason}` });
      await surface.ephemeral(question, refusal.text).catch((err: unknown) => {
        log.warn({ err }, 'could not send the refusal');
      });
      return null;
    }
    return { held: admitted.held, lockTried };
  }

  /**
   * Thread etiquette, read from the store: a Regenerate click is for the thread's participants, and a
   * plain reply in a channel thread is taken only where the bot was asked (and by whom the policy says).
   */
  async #etiquetteAllows(question: Question, controls: QuestionControls): Promise<boolean> {
    const { store, surface, metrics } = this.#deps;
    const id = threadId(question.thread);
    if (question.regenerate && !question.isDm) {
      const membership = await store.threadMembership(id, question.userId);
      if (!membership.participant && controls.settings.threadReplyPolicy !== 'all') {
        await surface.ephemeral(question, MESSAGES.notYourThread).catch(() => undefined);
        return false;
      }
    } else if (!question.addressed && !question.isDm) {
      // Participants are recorded when an answer is admitted, so a reply typed while the bot's
      // first answer in this thread still streams is taken too (and waits its turn).
      const membership = await store.threadMembership(id, question.userId);
      if (!followUpAllowed(membership, controls)) {
        metrics.messagesIgnored.inc({ reason: membership.active ? 'not_participant' : 'not_bot_thread' });
        return false;
      }
    }
    return true;
  }

  /** The store failed: the person who addressed the bot is told, with a reference id in the logs. */
  async storeDown(question: Question, error: unknown, log: Logger): Promise<void> {
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
}

function followUpAllowed(membership: ThreadMembership, controls: QuestionControls): boolean {
  if (!membership.active) return false; // the bot has not been asked in this thread
  return controls.settings.threadReplyPolicy === 'all' || membership.participant;
}
