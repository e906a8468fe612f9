/** What a Slack listener hands to the conversation service, and the ports the service answers through. */
import type { CitedSource } from '../bedrock/answer-model.ts';
import type { Viewing } from '../store/conversation-store.ts';

/** A conversation is a Slack thread, keyed by workspace, channel and thread root ts. */
export interface ThreadRef {
  teamId: string;
  channelId: string;
  threadTs: string;
}

export type Surface = 'mention' | 'thread_reply' | 'dm' | 'command' | 'regenerate';

export interface Question {
  thread: ThreadRef;
  /** Where the answer goes: the thread itself, or a slash command's response_url when the bot cannot post. */
  replyTo: { kind: 'thread' } | { kind: 'response_url'; url: string };
  /** ts of the message that asked (dedup and thread reading); for /ask, the posted question's ts. */
  messageTs: string;
  userId: string;
  /** The question, bot mention removed, other mentions resolved to names. */
  text: string;
  surface: Surface;
  isDm: boolean;
  /** The person addressed the bot directly (mention, /ask, DM), as opposed to a plain thread reply. */
  addressed: boolean;
  /** One atomic store key per Slack message: retries and the mention/message pair share it. */
  dedupKey: string;
  /** Slack says it sent this before (a retry), so it may be taken already. */
  redelivery?: boolean;
  /**
   * Asks the thread's last question again and replaces its answer: set by a Regenerate click on the
   * answer whose stored text hashes to `answerHash` (see thread-history.ts `answerHash`).
   */
  regenerate?: { answerHash: string };
  /** What the person is looking at in Slack, when the event said (the Messages tab's `context`). */
  viewing?: Viewing;
  /** Files shared with the message: images and documents go to the model within its limits. */
  files?: FileRef[];
}

/** A file shared in Slack, as the core knows it: never its bytes (those are fetched when needed). */
export interface FileRef {
  id: string;
  name: string;
  mimetype: string;
  /** Bytes, as Slack reported it; null when unknown. */
  size: number | null;
  /** Where its bytes are (Slack's `url_private_download`); null: look it up by id. */
  url: string | null;
}

/** Reads a shared file's bytes (for the model), checking that they are the file and not a sign-in page. */
export interface FileReader {
  /** The file's bytes; throws FileUnreadableError with a reason a person can act on. */
  read(file: FileRef, maxBytes: number): Promise<Uint8Array>;
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

export function threadId(thread: ThreadRef): string {
  return `${thread.teamId}:${thread.channelId}:${thread.threadTs}`;
}

/** The Slack side of an answer in progress. Knows nothing of Bedrock. */
export interface AnswerOutput {
  /** Tells the person what the bot is doing until the first text arrives. */
  showStatus(status: 'thinking' | 'searching' | 'reading'): void;
  /** Adds model text (Markdown). Never blocks: writes are coalesced and flushed in the background. */
  write(markdown: string): void;
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
