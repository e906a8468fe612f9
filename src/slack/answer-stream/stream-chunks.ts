/** The chunks a native stream is written with (chat.startStream, appendStream, stopStream). */
import type { ToolStep } from '../../conversation/ports.ts';
import { type UntrustedTextOptions, untrustedLine, untrustedLinkLabel } from '../render/untrusted-text.ts';

export const STATUS_TITLES = {
  thinking: 'Thinking…',
  searching: 'Searching the knowledge base…',
  reading: 'Reading the shared files…',
} as const;

export type Status = keyof typeof STATUS_TITLES;

/** Longest step title and details shown (a visible "…" past them). */
export const STEP_TITLE_CHARS = 150;
export const STEP_DETAILS_CHARS = 300;

/** A step as a native stream's task card. Titles, details and sources come from tools: untrusted text. */
export function stepChunk(step: ToolStep, untrusted: UntrustedTextOptions = {}): object {
  return {
    type: 'task_update',
    id: step.id,
    title: untrustedLine(step.title, STEP_TITLE_CHARS, untrusted),
    status: step.status,
    ...(step.details ? { details: untrustedLine(step.details, STEP_DETAILS_CHARS, untrusted) } : {}),
    ...(step.sources?.length
      ? {
          sources: step.sources.map((source) => ({
            type: 'url',
            url: source.url,
            text: untrustedLinkLabel(source.title, source.url, untrusted),
          })),
        }
      : {}),
  };
}

/** Several steps read as a plan: Slack groups them under this title. */
export function planChunk(): object {
  return { type: 'plan_update', title: 'Working on your question' };
}

export function statusChunk(status: Status, state: 'in_progress' | 'complete') {
  return { type: 'task_update', id: 'status', title: STATUS_TITLES[status], status: state };
}

export function textChunk(text: string): object {
  return { type: 'markdown_text', text };
}

/**
 * Chunks that bring a stream message up to its target: the status task's new state (shown until
 * the first text, complete once text arrives or the message closes), then the new text.
 */
export function pendingChunks(
  page: { sent: string; target: string },
  status: { current: Status | null; changed: boolean },
  closing: boolean,
): object[] {
  const delta = page.target.slice(page.sent.length);
  const chunks: object[] = [];
  if (status.current && page.sent.length === 0 && (closing || delta || status.changed)) {
    chunks.push(statusChunk(status.current, closing || delta ? 'complete' : 'in_progress'));
  }
  if (delta) chunks.push(textChunk(delta));
  return chunks;
}
