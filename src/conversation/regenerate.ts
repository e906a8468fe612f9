/**
 * Regenerate: a click on an answer asks the thread's last question again, in turn like a follow-up;
 * the new answer replaces the old one in history and the old message is marked as replaced. The
 * clicked answer is found by the hash of its stored text, so a newer answer makes the click stale.
 */
import { MESSAGES } from './messages.ts';
import type { AnswerSurface, Question, ThreadState } from './ports.ts';
import { regenerationOf } from './thread-history.ts';

export interface RegenerateClick {
  thread: Question['thread'];
  userId: string;
  /** The clicked answer's message. */
  messageTs: string;
  answerHash: string;
  /** Slack's id of this click, so a redelivered click is answered once. */
  clickId: string;
}

/** The question a Regenerate click asks: admitted like any other, once per click. */
export function regenerateQuestion(click: RegenerateClick): Question {
  const { thread, userId, messageTs, answerHash, clickId } = click;
  return {
    thread,
    replyTo: { kind: 'thread' },
    messageTs,
    userId,
    text: '',
    surface: 'regenerate',
    isDm: thread.channelId.startsWith('D'),
    addressed: true,
    dedupKey: `regen:${thread.teamId}:${thread.channelId}:${messageTs}:${clickId}`,
    regenerate: { answerHash },
  };
}

/**
 * Under the thread's lock: the question asked again and the history it is answered on (as if the
 * old answer had never been given), the old message marked as replaced. Null, with a private
 * sentence to the clicker, when the clicked answer is no longer the thread's latest.
 */
export async function rebaseForRegenerate(
  surface: AnswerSurface,
  question: Question & { regenerate: { answerHash: string } },
  state: ThreadState | null,
): Promise<{ question: Question; base: ThreadState } | null> {
  const again = regenerationOf(state?.turns ?? [], question.regenerate.answerHash);
  if (!again || !state) {
    await surface.ephemeral(question, MESSAGES.notLatestAnswer).catch(() => undefined);
    return null;
  }
  const asked = { ...question, text: again.question };
  await surface.markReplaced(asked, asked.messageTs);
  return { question: asked, base: { ...state, turns: again.history } };
}
