/**
 * The surface port: where answers are shown, and how the thread and its files are read (Slack).
 * See ../ports.ts for the map of the ports.
 */

import type { CitedSource } from './model.ts';
import type { FileRef, Question, ThreadRef } from './question.ts';
import type { ApprovalOutcome, ApprovalRequest, Viewing } from './store.ts';
import type { ToolStep } from './tools.ts';

/** Reads a shared file's bytes (for the model), checking that they are the file and not a sign-in page. */
export interface FileReader {
  /** The file's bytes; throws FileUnreadableError with a reason a person can act on. */
  read(file: FileRef, maxBytes: number): Promise<Uint8Array>;
}

/** Fits an image within the model's limits (scaled down when a side is too long), or says why it cannot. */
export interface ImageFitter {
  fit(
    image: { format: string; bytes: Uint8Array },
    limits: { maxSide: number; maxBytes: number },
  ): Promise<{ bytes: Uint8Array } | { why: string }>;
}

export class FileUnreadableError extends Error {
  override readonly name = 'FileUnreadableError';
  /** `no_access` (Slack sent a sign-in page: the app lacks files:read), `too_large`, `unavailable`. */
  readonly reason: 'no_access' | 'too_large' | 'unavailable';
  constructor(reason: FileUnreadableError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The Slack side of an answer in progress. Knows nothing of Bedrock. */
export interface AnswerOutput {
  /** Tells the person what the bot is doing until the first text arrives. */
  showStatus(status: 'thinking' | 'searching' | 'reading'): void;
  /** Adds model text (Markdown). Never blocks: writes are coalesced and flushed in the background. */
  write(markdown: string): void;
  /** Shows (or updates, by `id`) a step of the answer: a tool call and how it went. Never blocks. */
  showStep(step: ToolStep): void;
  /**
   * Flushes everything; the thread then holds exactly the whole answer, then the appendix (notes,
   * sources), and controls under it: `regenerate` identifies the answer for a Regenerate click.
   */
  finish(appendix: { notes: string[]; sources: CitedSource[]; regenerate?: string }): Promise<void>;
  /** Keeps what was shown, adds the note, and closes the answer. */
  fail(note: string): Promise<void>;
}

export interface AnswerHooks {
  /** Slack refused the answer's message for good (not a rate limit): the model call can stop. */
  onUnwritable?: (error: Error) => void;
}

export interface AnswerSurface {
  /** Opens an answer for `question`; the person sees that the bot is working at once. */
  open(question: Question, hooks?: AnswerHooks): AnswerOutput;
  /** Shows on the asking message that it was seen and waits its turn (a reaction); best effort. */
  markWaiting(question: Question): Promise<void>;
  /** Removes that sign when its answer starts; best effort. */
  clearWaiting(question: Question): Promise<void>;
  /** Marks an earlier answer's message as replaced by a newer one (kept, not deleted); best effort. */
  markReplaced(question: Question, messageTs: string): Promise<void>;
  /** Asks in the question's thread for approval of tool calls (Approve and Deny); the message's ts, or null. */
  askApproval(question: Question, request: ApprovalRequest): Promise<string | null>;
  /** Ends an approval request's message with how it ended (its buttons go); best effort. */
  settleApproval(
    question: Question,
    messageTs: string,
    request: ApprovalRequest,
    outcome: ApprovalOutcome,
  ): Promise<void>;
  /** Posts a short notice where the answer would have gone. */
  notice(question: Question, text: string): Promise<void>;
  /** Shows `text` only to the asker, or to `userId` (someone else in the question's thread). */
  ephemeral(question: Question, text: string, userId?: string): Promise<void>;
}

export interface ThreadMessage {
  /** A person's or an app's name. */
  author: string;
  /** As Slack stores it: mentions resolved to names, `&lt;` `&gt;` `&amp;` still encoded. */
  text: string;
  /** A person, this bot (an earlier message of its own), or another bot or app. */
  kind: 'person' | 'self' | 'app';
  /** Files shared with the message. */
  files?: FileRef[];
}

/**
 * Slack refused to read the thread now (an app distributed outside the Marketplace may read one
 * thread a minute): the question is answered without the thread, and the asker is told in a line.
 */
export class ThreadReadLimitedError extends Error {
  override readonly name = 'ThreadReadLimitedError';
}

export interface ThreadReader {
  /**
   * The thread's most recent messages posted before `beforeTs`, oldest first, mentions resolved to
   * names, Slack's entities kept encoded.
   */
  read(thread: ThreadRef, beforeTs: string): Promise<ThreadMessage[]>;
  /**
   * What the person is looking at: the channel's recent messages, or the one message and its
   * thread, oldest first; `label` names it for the model (`#general`). Empty when the bot cannot read it.
   */
  readViewing(viewing: Viewing): Promise<{ label: string; messages: ThreadMessage[] }>;
}
