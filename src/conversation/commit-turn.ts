/**
 * Step 7 of an answer (SPEC §5, commit): only a finished (or person-stopped) answer becomes
 * history, with its tool rounds and the Knowledge Base session, saved and the thread's lock
 * released in one store step. Stored history is capped; what the model reported about the request's
 * size corrects the next turn's estimate.
 */
import type { Logger } from '../logger.ts';
import type { Generated } from './generate-turn.ts';
import type { ConversationStore, Question, ThreadState, Turn } from './ports.ts';
import { StoreUnavailableError, threadId } from './ports.ts';
import type { Prepared } from './prepare-turn.ts';
import { capStoredHistory, estimateRequestTokens, estimateScale } from './thread-history.ts';
import type { ThreadTurns } from './thread-turns.ts';
import { asStoredRound } from './tool-rounds.ts';

/** What history keeps for an answer that came back empty (a turn needs text). */
export const NO_ANSWER = '(no answer)';

export interface CommitDeps {
  store: ConversationStore;
  /** Re-takes the thread's lock when it was lost under a long answer. */
  turns: Pick<ThreadTurns, 'acquire'>;
  settings: { historyTokenBudget: number; historyTtlMs: number; systemPrompt: string };
}

/**
 * Saves the turn and releases the lock in one step; re-takes the lock if it was lost. Null
 * `generated`: a failed answer, which adds no turn and keeps the thread's KB session (the thread is
 * known now, so the next question does not read it again). True when the commit released the lock.
 */
export async function commitTurn(
  deps: CommitDeps,
  question: Question,
  before: ThreadState | null,
  turn: {
    prepared: Prepared;
    generated: Generated | null;
    lockToken: string;
    /** Told once the turn is saved (a resumed turn's approval is done only then). */
    onSaved?: () => void;
  },
  log: Logger,
): Promise<boolean> {
  const { store, settings } = deps;
  const id = threadId(question.thread);
  const build = nextState(settings, turn.prepared, turn.generated);
  try {
    if (await store.commitThread(id, build(before), settings.historyTtlMs, turn.lockToken)) {
      turn.onSaved?.();
      return true;
    }
    // The lock expired under us (a very long answer, or a stalled replica): merge onto what is there now.
    log.warn('thread lock was lost before commit; re-taking it to save the turn');
    const again = await deps.turns.acquire(question, null);
    if (again === 'timeout' || again === 'restarting') return false;
    const saved = await store.commitThread(id, build(again.state), settings.historyTtlMs, again.token);
    if (saved) turn.onSaved?.();
    else await store.releaseLock(id, again.token);
    return false; // our own token's lock is gone either way; the caller's release is a harmless no-op
  } catch (error) {
    if (error instanceof StoreUnavailableError) log.error({ err: error }, 'could not save the turn');
    else throw error;
    return false;
  }
}

/** The thread's state after this turn, built on whatever state the store holds when it is saved. */
function nextState(
  settings: CommitDeps['settings'],
  prepared: Prepared,
  generated: Generated | null,
): (base: ThreadState | null) => ThreadState {
  const newTurns = generated ? turnsOf(prepared, generated) : [];
  // The whole input the model read: Bedrock reports cached tokens beside inputTokens, not in it.
  const usage = generated?.usage;
  const inputTokens = usage ? usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens : 0;
  const systemPrompt = prepared.model.systemPrompt ?? settings.systemPrompt;
  const lastRequest =
    generated && inputTokens > 0
      ? {
          inputTokens,
          estimatedTokens:
            generated.estimatedTokens || estimateRequestTokens(generated.sentTurns, systemPrompt),
        }
      : null;
  return (base) => {
    const scale = estimateScale(lastRequest ?? base?.lastRequest ?? null);
    const turns = [...(base?.turns ?? []), ...newTurns];
    return {
      // Stored history is capped at what fits twice the budget: a long thread's state stops growing.
      turns: capStoredHistory(turns, 2 * settings.historyTokenBudget, scale),
      kbSessionId: generated ? generated.kbSessionId : (base?.kbSessionId ?? null),
      lastRequest: lastRequest ?? base?.lastRequest ?? null,
    };
  };
}

/** The question, the answer's tool rounds (calls and results), then its final text. */
function turnsOf(prepared: Prepared, generated: Generated): Turn[] {
  return [
    {
      role: 'user',
      text: prepared.questionText,
      ...(prepared.attachedFiles.length > 0 ? { files: prepared.attachedFiles } : {}),
    },
    // Tool results are stored shortened as a later request sends them (tool-rounds.ts).
    ...generated.rounds.map(asStoredRound),
    { role: 'assistant', text: storedAnswer(generated) },
  ];
}

/** The answer's own turn as history keeps it (after tool rounds, only the last call's text): what Regenerate hashes. */
export function storedAnswer(generated: Pick<Generated, 'rounds' | 'finalText' | 'answer'>): string {
  return (generated.rounds.length > 0 ? generated.finalText : generated.answer) || NO_ANSWER;
}
