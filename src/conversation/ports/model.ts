/**
 * The model port: a question and its context in; text deltas, citations, usage out (Converse,
 * Knowledge Base). See ../ports.ts for the map of the ports.
 */
import type { ToolSpec } from './tools.ts';

/** One message of a conversation as the model sees it. */
export interface Turn {
  role: 'user' | 'assistant';
  text: string;
  /** Files that went with a user turn, by reference (never their bytes): re-read for a follow-up. */
  files?: StoredFileRef[];
  /** Tools the model asked for in this assistant turn (a tool round), in order. */
  toolUses?: ToolUse[];
  /** The results of the previous turn's tool calls, in this user turn (then `text` may be empty). */
  toolResults?: ToolResultRecord[];
}

/** One tool call the model asked for. */
export interface ToolUse {
  id: string;
  name: string;
  input: unknown;
}

/** What one tool call gave back, as the model is told (untrusted data, bounded in size). */
export interface ToolResultRecord {
  toolUseId: string;
  status: 'success' | 'error';
  text: string;
}

/** A file in history: enough to read it again from Slack. */
export interface StoredFileRef {
  id: string;
  name: string;
  mimetype: string;
  size: number | null;
  url: string | null;
}

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
  /** Each side of an image at most (larger ones are scaled down by the ImageFitter). */
  maxImageSide: number;
  maxDocumentBytes: number;
  maxImagesPerRequest: number;
  maxDocumentsPerRequest: number;
  /** Said instead of a format's refusal when the model reads no files at all (e.g. a Knowledge Base). */
  textOnlyReason?: string;
}

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
  /**
   * Who is asking, as the Knowledge Base's document-level access control knows them (their email):
   * retrieval sees only what they may see. Absent: retrieval with the bot's own rights.
   */
  knowledgeBaseUserId?: string;
}

export interface AnswerRequest {
  /** The conversation so far, ending with the new user turn; a valid Converse message list. */
  turns: RequestTurn[];
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
  /** Tools the model may ask for (Converse `toolConfig`); none: it answers alone. */
  tools?: ToolSpec[];
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
  /** The model asks for a tool (its input complete); the answer's round ends with stop `tool_use`. */
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  /** Why the model stopped: `end_turn`, `max_tokens`, `tool_use`, `guardrail_intervened`, … */
  | { type: 'stop'; reason: string };

/** An answer's tokens as the model reported them (cache reads and writes apart from the rest of the input). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Estimated prices by model (list prices, not the bill): what budgets and usage count. */
export interface PriceList {
  /** Estimated USD of `usage` on `modelId`; null when the model has no price. */
  costOf(modelId: string, usage: TokenUsage): number | null;
}

export interface AnswerModel {
  /**
   * What the model `choice` names (a channel's model or Knowledge Base; the configured one when
   * absent) takes besides text, as far as this process knows: a refusal seen since narrows it.
   */
  inputsFor(choice?: ModelChoice): ModelInputs;
  /** Streams one answer. Throws an AnswerError (see answer-errors.ts) on failure, also midway. */
  stream(request: AnswerRequest): AsyncIterable<AnswerEvent>;
}
