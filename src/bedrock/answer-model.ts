/**
 * The model port: a question and its context in, text deltas, citations and usage out.
 * It knows nothing of Slack. Adapters: Converse (plain answers), Knowledge Base (grounded answers).
 */
import type { Turn } from '../store/conversation-store.ts';

/** A file's bytes going to the model with a user turn. */
export interface Attachment {
  kind: 'image' | 'document';
  /** Converse's format name: png, jpeg, gif, webp; pdf, csv, doc, docx, xls, xlsx, html, txt, md. */
  format: string;
  bytes: Uint8Array;
}

/** A turn as sent: its text, and the bytes of the files that go with it. */
export type RequestTurn = Turn & { attachments?: Attachment[] };

/** What a model takes besides text, and Converse's limits for it (checked before a call). */
export interface ModelInputs {
  /** Image formats the model reads; empty when it reads none. */
  imageFormats: string[];
  /** Document formats the model reads; empty when it reads none. */
  documentFormats: string[];
  maxImageBytes: number;
  maxDocumentBytes: number;
  maxImagesPerRequest: number;
  maxDocumentsPerRequest: number;
  /** Said instead of a format's refusal when the model reads no files at all (e.g. a Knowledge Base). */
  textOnlyReason?: string;
}

export interface AnswerRequest {
  /** The conversation so far, ending with the new user turn; a valid Converse message list. */
  turns: RequestTurn[];
  /** Overrides the configured system prompt (retrieve mode adds the sources to it). */
  system?: string;
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
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  /** Why the model stopped: `end_turn`, `max_tokens`, `guardrail_intervened`, … */
  | { type: 'stop'; reason: string };

export interface AnswerModel {
  /** What this model takes besides text. */
  readonly inputs: ModelInputs;
  /** Streams one answer. Throws an AnswerError (see answer-errors.ts) on failure, also midway. */
  stream(request: AnswerRequest): AsyncIterable<AnswerEvent>;
}
