/**
 * The Slack calls that write an answer's messages: create (a stream start or a post), an
 * intermediate write (an append or an edit), and the final write (a stream stop or the last edit),
 * with what each message shows besides its text: the status, the steps, the in-progress mark and
 * the buttons. When to make each call is the state machine's part (slack-answer-stream.ts).
 */
import { answerMetadata } from '../answer-messages.ts';
import type { UntrustedTextOptions } from '../render/untrusted-text.ts';
import { type SlackApi, SlackCallError } from '../slack-api.ts';
import { AnswerSteps } from './answer-steps.ts';
import {
  assistantStatusArgs,
  finalBlocks,
  inProgressBody,
  messageBody,
  placeholder,
  postArgs,
} from './message-blocks.ts';
import type { AnswerTarget } from './options.ts';
import type { Page } from './page.ts';
import { pendingChunks, type Status, statusChunk, textChunk } from './stream-chunks.ts';

/** Where the answer stands, as the state machine tells a write. */
export interface AnswerEnd {
  /** The answer has ended: no Stop button under its messages any more. */
  finishing: boolean;
  /** This is the answer's last message and the answer is complete: it carries the buttons. */
  last: boolean;
}

export class MessageWriter {
  readonly #slack: SlackApi;
  readonly #target: AnswerTarget;
  readonly #answerId: string;
  /** The answer's steps (tool calls), shown in its first message. */
  readonly steps: AnswerSteps;
  status: Status | null = null;
  /** The status changed since a write last showed it. */
  statusChanged = false;
  /** True once this answer shows its own Stop button (its first message is posted and edited). */
  withStopButton = false;
  /** Names the finished answer for its Regenerate button (none for a failed or stopped one). */
  regenerate: string | null = null;

  constructor(options: {
    slack: SlackApi;
    target: AnswerTarget;
    answerId: string;
    untrusted?: UntrustedTextOptions;
  }) {
    this.steps = new AnswerSteps(options.untrusted);
    this.#slack = options.slack;
    this.#target = options.target;
    this.#answerId = options.answerId;
  }

  async create(page: Page, end: AnswerEnd): Promise<void> {
    const text = page.target;
    const status = page.statusShown ? null : this.status;
    page.creating = { method: page.mode === 'stream' ? 'chat.startStream' : 'chat.postMessage', text };
    if (page.mode === 'stream') await this.#startStream(page, text, status);
    else await this.#post(page, text, status, end);
    page.creating = null;
    if (!page.ts) throw new SlackCallError('chat.postMessage', 'missing_ts', null);
    page.sent = text;
    page.statusShown = true;
    this.statusChanged = false;
  }

  async update(page: Page, end: AnswerEnd): Promise<void> {
    const target = this.#target;
    const text = page.target;
    if (page.mode === 'stream') {
      const steps = this.steps.chunks(page);
      const chunks = [...steps.chunks, ...this.#pendingChunks(page, false)];
      if (chunks.length === 0) return;
      await this.#slack.call('chat.appendStream', { channel: target.channelId, ts: page.ts, chunks });
      this.steps.sent(steps.sent);
    } else {
      const steps = this.steps.chunks(page);
      await this.#slack.call('chat.update', {
        channel: target.channelId,
        ts: page.ts,
        ...this.#inProgressBody(
          this.steps.withSteps(page, text) || placeholder(this.status ?? 'thinking'),
          end.finishing,
        ),
      });
      this.steps.sent(steps.sent);
    }
    this.statusChanged = false;
    page.sent = text;
  }

  /** The message's last write: the stream's stop, or (`needsEdit`) the posted message's last edit. */
  async finalize(page: Page, end: AnswerEnd, needsEdit: boolean): Promise<void> {
    const target = this.#target;
    const text = page.target;
    if (page.mode === 'stream') {
      const steps = this.steps.chunks(page);
      const chunks = [...steps.chunks, ...this.#pendingChunks(page, true)];
      await this.#slack.call('chat.stopStream', {
        channel: target.channelId,
        ts: page.ts,
        // Marked once finished, so that a later answer's lost stream start is never taken for it.
        metadata: answerMetadata(this.#answerId, page.serial),
        ...(chunks.length ? { chunks } : {}),
        ...(end.last ? { blocks: finalBlocks(this.regenerate) } : {}),
      });
      this.steps.sent(steps.sent);
    } else if (needsEdit) {
      const body = messageBody(this.steps.withSteps(page, text));
      if (end.last) body.blocks.push(...finalBlocks(this.regenerate));
      await this.#slack.call('chat.update', { channel: target.channelId, ts: page.ts, ...body });
    }
    page.sent = text;
    page.done = true;
  }

  /** `writing`: a deferred answer, posted whole once complete, is on its way. */
  setAssistantStatus(status: Status | 'writing'): void {
    // Only the Messages tab / assistant threads show it; elsewhere Slack refuses and that is fine.
    this.#slack
      .call('assistant.threads.setStatus', assistantStatusArgs(this.#target, status))
      .catch(() => undefined);
  }

  async #startStream(page: Page, text: string, status: Status | null): Promise<void> {
    const target = this.#target;
    const chunks: unknown[] = [];
    if (status && !text) chunks.push(statusChunk(status, 'in_progress'));
    const steps = this.steps.chunks(page);
    chunks.push(...steps.chunks);
    if (text) chunks.push(textChunk(text));
    // chat.startStream takes no metadata (nor unfurl options): a lost start is found by position.
    const result = await this.#slack.call<{ ts?: string }>('chat.startStream', {
      channel: target.channelId,
      thread_ts: target.threadTs,
      ...(target.isDm
        ? {}
        : { recipient_user_id: target.recipientUserId, recipient_team_id: target.recipientTeamId }),
      ...(chunks.length ? { chunks } : {}),
      ...(this.steps.size > 1 ? { task_display_mode: 'plan' } : {}),
    });
    page.ts = result.ts ?? null;
    this.steps.sent(steps.sent);
  }

  async #post(page: Page, text: string, status: Status | null, end: AnswerEnd): Promise<void> {
    // A deferred message is posted once, complete.
    const whole = page.mode === 'deferred';
    const shown = this.steps.withSteps(page, text);
    const body = whole
      ? messageBody(shown)
      : this.#inProgressBody(shown || placeholder(status ?? 'thinking'), end.finishing);
    if (whole && end.last) body.blocks.push(...finalBlocks(this.regenerate));
    const result = await this.#slack.call<{ ts?: string }>(
      'chat.postMessage',
      postArgs(this.#target, body, answerMetadata(this.#answerId, page.serial)),
    );
    page.ts = result.ts ?? null;
    if (whole && page.ts) {
      page.mode = 'post';
      page.done = true;
    }
  }

  /** The in-progress body of a posted message, with this answer's Stop button until it ends. */
  #inProgressBody(markdown: string, finishing: boolean): { text: string; blocks: object[] } {
    return inProgressBody(markdown, this.withStopButton && !finishing);
  }

  #pendingChunks(page: Page, closing: boolean): object[] {
    return pendingChunks(page, { current: this.status, changed: this.statusChanged }, closing);
  }
}
