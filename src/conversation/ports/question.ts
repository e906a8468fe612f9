/**
 * What a Slack listener hands to the core: one question, in one thread, and its key. See
 * ../ports.ts for the map of the ports.
 */
import type { Viewing } from './store.ts';

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
  /** Slack's `action_token` of the asking event: search tools look as this person may see. */
  actionToken?: string;
  /**
   * Goes on with the turn paused for approval `approvalId`, with the person's decision on its tool
   * calls; the paused turn is read under the thread's lock, and stays stored until this commits.
   */
  resume?: ResumeDecision;
  /** What the person is looking at in Slack, when the event said (the Messages tab's `context`). */
  viewing?: Viewing;
  /** Files shared with the message: images and documents go to the model within its limits. */
  files?: FileRef[];
}

/** A person's decision on an approval request, as the click carried it. */
export interface ResumeDecision {
  approvalId: string;
  approved: boolean;
  decidedBy: string;
  /** The approval request's message (the clicked one), to end it with the decision. */
  messageTs: string;
}

export function threadId(thread: ThreadRef): string {
  return `${thread.teamId}:${thread.channelId}:${thread.threadTs}`;
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
