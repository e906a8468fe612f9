/**
 * The shapes of posted-and-edited answer messages: the Markdown body, the status placeholder, step
 * lines, the in-progress mark, the buttons under a finished answer, and the thread's status.
 */
import type { ToolStep } from '../../conversation/ports.ts';
import { regenerateBlock, STOP_BLOCK } from '../answer-controls.ts';
import type { MessageMetadata } from '../answer-messages.ts';
import { type UntrustedTextOptions, untrustedLine } from '../render/untrusted-text.ts';
import type { AnswerTarget } from './options.ts';
import { STATUS_TITLES, STEP_DETAILS_CHARS, STEP_TITLE_CHARS, type Status } from './stream-chunks.ts';

/** A message body for the post-and-edit path: the same Markdown, in a markdown block. */
export function messageBody(markdown: string): { text: string; blocks: object[] } {
  const preview = markdown.length > 150 ? `${markdown.slice(0, 150)}…` : markdown;
  return { text: preview, blocks: [{ type: 'markdown', text: markdown }] };
}

export function placeholder(status: Status): string {
  return `_${STATUS_TITLES[status]}_`;
}

function isPlaceholder(markdown: string): boolean {
  return Object.values(STATUS_TITLES).some((title) => markdown === `_${title}_`);
}

/** The mark under a posted message that is still being written; its block id names it for tests and tools. */
export const IN_PROGRESS_BLOCK_ID = 'answer_in_progress';
const IN_PROGRESS_BLOCK = {
  type: 'context',
  block_id: IN_PROGRESS_BLOCK_ID,
  elements: [{ type: 'mrkdwn', text: '_Still writing…_' }],
};

/**
 * A posted message that is still being written says so under its text (a paused partial answer
 * would otherwise look finished), with the Stop button when this answer has one; its final write
 * leaves both out.
 */
export function inProgressBody(markdown: string, stopButton: boolean): { text: string; blocks: object[] } {
  const body = messageBody(markdown);
  if (!isPlaceholder(markdown)) body.blocks.push(IN_PROGRESS_BLOCK);
  if (stopButton) body.blocks.push(STOP_BLOCK);
  return body;
}

/** Slack's feedback buttons; clicks arrive as block_actions with action_id `answer_feedback`. */
export const FEEDBACK_ACTION_ID = 'answer_feedback';
const FEEDBACK_BLOCK = {
  type: 'context_actions',
  elements: [
    {
      type: 'feedback_buttons',
      action_id: FEEDBACK_ACTION_ID,
      positive_button: { text: { type: 'plain_text', text: 'Good answer' }, value: 'positive' },
      negative_button: { text: { type: 'plain_text', text: 'Bad answer' }, value: 'negative' },
    },
  ],
};

/** Under the answer's last message once it is complete: feedback, and Regenerate for a finished one. */
export function finalBlocks(regenerate: string | null): object[] {
  return regenerate ? [FEEDBACK_BLOCK, regenerateBlock(regenerate)] : [FEEDBACK_BLOCK];
}

const STEP_MARKS: Record<ToolStep['status'], string> = {
  pending: '◻️',
  in_progress: '⏳',
  complete: '✅',
  error: '⚠️',
};

/** A step as a line of text, for messages that are posted and edited. */
export function stepLine(step: ToolStep, untrusted: UntrustedTextOptions = {}): string {
  const details = step.details ? ` — ${untrustedLine(step.details, STEP_DETAILS_CHARS, untrusted)}` : '';
  return `${STEP_MARKS[step.status]} ${untrustedLine(step.title, STEP_TITLE_CHARS, untrusted)}${details}`;
}

/**
 * A posted answer message: marked with its answer and page (to find it again after a lost
 * response), with unfurling off so that no link in model text pulls a preview into the thread.
 */
export function postArgs(
  target: AnswerTarget,
  body: { text: string; blocks: object[] },
  metadata: MessageMetadata,
): Record<string, unknown> {
  return {
    channel: target.channelId,
    thread_ts: target.threadTs,
    ...body,
    metadata,
    unfurl_links: false,
    unfurl_media: false,
  };
}

const ASSISTANT_STATUSES = {
  thinking: 'is thinking…',
  searching: 'is searching…',
  reading: 'is reading your files…',
};

/**
 * The thread's status (`writing`: a deferred answer, posted whole once complete, is on its way).
 * `loading_messages` (at most 10) rotate under the status while nothing is written yet.
 */
export function assistantStatusArgs(
  target: AnswerTarget,
  status: Status | 'writing',
): Record<string, unknown> {
  return {
    channel_id: target.channelId,
    thread_ts: target.threadTs,
    status: status === 'writing' ? 'is writing an answer…' : ASSISTANT_STATUSES[status],
    ...(status === 'writing' ? {} : { loading_messages: [STATUS_TITLES[status]] }),
  };
}
