/**
 * The model port: a question and its context in, text deltas, citations and usage out.
 * It knows nothing of Slack. Adapters: Converse (plain answers), Knowledge Base (grounded answers).
 */
import type { Turn } from '../store/conversation-store.ts';

/** How one question is to be answered, where it differs from the configuration (a channel's settings). */
export interface ModelChoice {
  /** The Converse model; the configured one when absent. */
  modelId?: string;
  /** A system prompt that stays the same across questions (so it can be cached); the configured one when absent. */
  systemPrompt?: string;
  /** The Knowledge Base to answer from: absent, the configured one; null, none (plain model answers). */
  knowledgeBase?: { id: string; mode: 'managed' | 'retrieve' } | null;
  /** Bedrock's service tier; absent, the configured one; null, Bedrock's default. */
  serviceTier?: 'priority' | 'default' | 'flex' | null;
}

export interface AnswerRequest {
  /** The conversation so far, ending with the new user turn; a valid Converse message list. */
  turns: Turn[];
  /**
   * Replaces the system prompt for this one request (retrieve mode adds this question's sources to
   * it); such a prompt changes every time, so nothing before it is cached.
   */
  system?: string;
  options?: ModelChoice;
  /**
   * Older turns were left out to fit the history budget, so this request starts differently from
   * the thread's previous one: caching its history would write what no later request reads.
   */
  historyTrimmed?: boolean;
  /** The Knowledge Base session of this thread, or null to open a new one. */
  kbSessionId: string | null;
  /** Aborts the model call (shutdown, or the person stopped the answer). */
  signal?: AbortSignal;
}

/** A document an answer cites, as found in Bedrock's retrieved references. */
export interface CitedSource {
  /** Stable identity of the document (URI or URL); two citations of one document share it. */
  id: string;
  /** Human title: metadata title, else file name or page path. */
  title: string;
  /** A link a person can open, or null when the source has none. */
  url: string | null;
}

export type AnswerEvent =
  /** Newly generated answer text. */
  | { type: 'text'; text: string }
  /** The answer text generated so far, from `start` to `end` (character offsets), cites these sources. */
  | { type: 'citation'; start: number; end: number; sources: CitedSource[] }
  /** The model is searching the knowledge base (shown to the person until text arrives). */
  | { type: 'status'; status: 'searching' }
  /**
   * A Knowledge Base session id to keep for the next turn of this thread; null: the thread's
   * session no longer holds the whole conversation (this turn was answered without it), drop it.
   */
  | { type: 'session'; kbSessionId: string | null }
  /**
   * What the model reported: `inputTokens` excludes the tokens read from and written to the prompt
   * cache (as Bedrock reports them), so the whole input is the sum of the three.
   */
  | {
      type: 'usage';
      inputTokens: number;
      outputTokens: number;
      cacheReadTokens?: number;
      cacheWriteTokens?: number;
    }
  /** Why the model stopped: `end_turn`, `max_tokens`, `guardrail_intervened`, … */
  | { type: 'stop'; reason: string };

export interface AnswerModel {
  /** Streams one answer. Throws an AnswerError (see answer-errors.ts) on failure, also midway. */
  stream(request: AnswerRequest): AsyncIterable<AnswerEvent>;
}
