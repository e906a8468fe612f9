/** The conversation service's view of Slack: where answers, notices and ephemeral replies go. */
import type {
  AnswerHooks,
  AnswerOutput,
  AnswerSurface,
  ApprovalOutcome,
  ApprovalRequest,
  CitedSource,
  Question,
  ToolStep,
} from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import { AgentSessions, type SessionTarget } from './agent-sessions.ts';
import { CONTROLS_BLOCK_ID, REPLACED_BLOCK } from './answer-controls.ts';
import { type BotIdentity, NOTICE_METADATA } from './answer-messages.ts';
import { renderAppendix } from './answer-stream/appendix.ts';
import { SlackAnswerStream } from './answer-stream/slack-answer-stream.ts';
import { approvalMessage, settledApprovalMessage } from './approval-message.ts';
import { MarkdownRenderer } from './render/markdown-renderer.ts';
import { paginate, SLACK_MESSAGE_LIMIT_CHARS } from './render/message-paginator.ts';
import { escapeMrkdwn, escapeSlackControl } from './render/slack-safe-text.ts';
import type { UntrustedTextOptions } from './render/untrusted-text.ts';
import type { SlackApi } from './slack-api.ts';
import type { WriteBudget } from './write-budget/index.ts';

export interface SlackSurfaceOptions {
  slack: SlackApi;
  logger: Logger;
  streaming: 'native' | 'update';
  flushIntervalMs: number;
  budget: WriteBudget;
  /** The bot's own ids (auth.test), to find its messages again after a lost response. */
  self: BotIdentity;
  /** Hosts whose links in model text keep their label as written (`TRUSTED_LINK_HOSTS`). */
  trustedLinkHosts: readonly string[];
  /** Posts a slash command's deferred answer to its response_url. */
  postToResponseUrl: (url: string, body: Record<string, unknown>) => Promise<void>;
}

export class SlackSurface implements AnswerSurface {
  readonly #options: SlackSurfaceOptions;
  /** Set once Slack refuses native streaming for this app (scope, plan): later answers skip it. */
  #streamingRefused = false;

  readonly #sessions: AgentSessions;

  constructor(options: SlackSurfaceOptions) {
    this.#options = options;
    this.#sessions = new AgentSessions({
      slack: options.slack,
      logger: options.logger,
      budget: options.budget,
    });
  }

  open(question: Question, hooks: AnswerHooks = {}): AnswerOutput {
    const { slack, logger, streaming, flushIntervalMs, budget, self, trustedLinkHosts } = this.#options;
    const renderer = new MarkdownRenderer({ trustedLinkHosts });
    if (question.replyTo.kind === 'response_url') {
      return new ResponseUrlAnswer(question.replyTo.url, this.#options.postToResponseUrl, logger, renderer, {
        trustedLinkHosts,
      });
    }
    const session: SessionTarget = {
      teamId: question.thread.teamId,
      channelId: question.thread.channelId,
      threadTs: question.thread.threadTs,
      initiatorUserId: question.userId,
      title: question.text,
    };
    // While it runs, the thread's agent session is `processing`: Slack shows its own Stop button.
    const nativeStop = this.#sessions.begin(session);
    const stream = new SlackAnswerStream({
      slack,
      logger,
      flushIntervalMs,
      budget,
      self,
      renderer,
      untrusted: { trustedLinkHosts },
      stopButton: nativeStop.then((shown) => !shown),
      mode: streaming === 'native' && !this.#streamingRefused ? 'native' : 'update',
      target: {
        channelId: question.thread.channelId,
        threadTs: question.thread.threadTs,
        questionTs: question.messageTs,
        recipientUserId: question.userId,
        recipientTeamId: question.thread.teamId,
        isDm: question.isDm,
      },
      ...(hooks.onUnwritable ? { onFatal: hooks.onUnwritable } : {}),
      onStreamingRefused: (code) => {
        if (
          ['unknown_method', 'not_allowed_token_type', 'missing_scope', 'feature_not_enabled'].includes(code)
        )
          this.#streamingRefused = true;
      },
    });
    return new SessionAnswer(stream, async () => {
      if (await nativeStop) await this.#sessions.end(session);
    });
  }

  async markReplaced(question: Question, messageTs: string): Promise<void> {
    const { slack, logger } = this.#options;
    const channel = question.thread.channelId;
    try {
      const found = await slack.call<{
        messages?: Array<{ ts?: string; text?: string; blocks?: unknown[] }>;
      }>('conversations.replies', {
        channel,
        ts: question.thread.threadTs,
        oldest: messageTs,
        latest: messageTs,
        inclusive: true,
        // Slack always answers with the thread's root first: one more for the message itself.
        limit: 2,
      });
      const message = found.messages?.find((m) => m.ts === messageTs);
      if (!message) return;
      // The answer stays as it was, without its buttons, with a line saying a newer one replaced it.
      const kept = (message.blocks ?? []).filter((block) => {
        const { type, block_id: blockId } = block as { type?: string; block_id?: string };
        return blockId !== CONTROLS_BLOCK_ID && type !== 'context_actions' && type !== 'actions';
      });
      const content = kept.length > 0 ? kept : [{ type: 'markdown', text: message.text ?? '' }];
      await slack.call('chat.update', {
        channel,
        ts: messageTs,
        text: message.text ?? '',
        blocks: [...content, REPLACED_BLOCK],
      });
    } catch (err) {
      logger.debug({ err }, 'could not mark the replaced answer');
    }
  }

  async askApproval(question: Question, request: ApprovalRequest): Promise<string | null> {
    const { trustedLinkHosts } = this.#options;
    const result = await this.#options.slack.call<{ ts?: string }>('chat.postMessage', {
      channel: question.thread.channelId,
      thread_ts: question.thread.threadTs,
      ...approvalMessage(request, { trustedLinkHosts }),
      unfurl_links: false,
      unfurl_media: false,
    });
    return result.ts ?? null;
  }

  async settleApproval(
    question: Question,
    messageTs: string,
    request: ApprovalRequest,
    outcome: ApprovalOutcome,
  ): Promise<void> {
    const { trustedLinkHosts } = this.#options;
    await this.#options.slack
      .call('chat.update', {
        channel: question.thread.channelId,
        ts: messageTs,
        ...settledApprovalMessage(request, outcome, { trustedLinkHosts }),
      })
      .catch((err: unknown) => this.#options.logger.warn({ err }, 'could not settle the approval message'));
  }

  async markWaiting(question: Question): Promise<void> {
    await this.#react('reactions.add', question);
  }

  async clearWaiting(question: Question): Promise<void> {
    await this.#react('reactions.remove', question);
  }

  /** The "seen, waiting its turn" reaction on the asking message (a posted /ask question too). */
  async #react(method: 'reactions.add' | 'reactions.remove', question: Question): Promise<void> {
    if (question.replyTo.kind === 'response_url') return;
    await this.#options.slack
      .call(method, {
        channel: question.thread.channelId,
        timestamp: question.messageTs,
        name: WAITING_REACTION,
      })
      .catch((err: unknown) =>
        this.#options.logger.debug({ err, method }, 'could not change the waiting sign'),
      );
  }

  async notice(question: Question, text: string): Promise<void> {
    if (question.replyTo.kind === 'response_url') return this.#privately(question.replyTo.url, text);
    await this.#options.slack.call('chat.postMessage', {
      channel: question.thread.channelId,
      thread_ts: question.thread.threadTs,
      text: escapeMrkdwn(text),
      blocks: [{ type: 'markdown', text: escapeSlackControl(text) }],
      // Marked as a notice, so that it is never taken for an answer's lost message.
      metadata: NOTICE_METADATA,
      unfurl_links: false,
      unfurl_media: false,
    });
  }

  async ephemeral(question: Question, text: string, userId = question.userId): Promise<void> {
    if (question.replyTo.kind === 'response_url' && userId === question.userId)
      return this.#privately(question.replyTo.url, text);
    await this.#options.slack.call('chat.postEphemeral', {
      channel: question.thread.channelId,
      user: userId,
      text: escapeMrkdwn(text),
      ...(question.thread.threadTs !== question.messageTs || question.surface === 'command'
        ? { thread_ts: question.thread.threadTs }
        : {}),
    });
  }

  #privately(responseUrl: string, text: string): Promise<void> {
    return this.#options.postToResponseUrl(responseUrl, {
      response_type: 'ephemeral',
      text: escapeMrkdwn(text),
    });
  }
}

/** An answer whose agent session goes back to `active` once it is written, however it ended. */
class SessionAnswer implements AnswerOutput {
  readonly #inner: AnswerOutput;
  readonly #end: () => Promise<void>;

  constructor(inner: AnswerOutput, end: () => Promise<void>) {
    this.#inner = inner;
    this.#end = end;
  }

  showStatus(status: Parameters<AnswerOutput['showStatus']>[0]): void {
    this.#inner.showStatus(status);
  }

  write(markdown: string): void {
    this.#inner.write(markdown);
  }

  showStep(step: ToolStep): void {
    this.#inner.showStep(step);
  }

  async finish(appendix: Parameters<AnswerOutput['finish']>[0]): Promise<void> {
    try {
      await this.#inner.finish(appendix);
    } finally {
      await this.#end();
    }
  }

  async fail(note: string): Promise<void> {
    try {
      await this.#inner.fail(note);
    } finally {
      await this.#end();
    }
  }
}

/**
 * Where the bot cannot post in the channel, a slash command's answer goes back through its
 * response_url (at most 5 posts in 30 minutes): one "working" message, then the whole answer.
 */
class ResponseUrlAnswer implements AnswerOutput {
  readonly #url: string;
  readonly #post: SlackSurfaceOptions['postToResponseUrl'];
  readonly #logger: Logger;
  readonly #renderer: MarkdownRenderer;
  readonly #untrusted: UntrustedTextOptions;
  #text = '';
  #statusShown = false;

  constructor(
    url: string,
    post: SlackSurfaceOptions['postToResponseUrl'],
    logger: Logger,
    renderer: MarkdownRenderer,
    untrusted: UntrustedTextOptions,
  ) {
    this.#untrusted = untrusted;
    this.#url = url;
    this.#post = post;
    this.#logger = logger;
    this.#renderer = renderer;
  }

  showStatus(): void {
    if (this.#statusShown) return;
    this.#statusShown = true;
    this.#post(this.#url, { response_type: 'ephemeral', text: '_Thinking…_' }).catch((err: unknown) =>
      this.#logger.warn({ err }, 'could not post to response_url'),
    );
  }

  write(markdown: string): void {
    this.#text += this.#renderer.push(markdown);
  }

  /** A response_url answer is posted whole at the end: its steps are not shown one by one. */
  showStep(): void {}

  async finish(appendix: { notes: string[]; sources: CitedSource[] }): Promise<void> {
    this.#text += this.#renderer.finish();
    const extra = renderAppendix([...appendix.notes, INVITE_HINT], appendix.sources, this.#untrusted);
    await this.#send(`${this.#text}\n\n${extra}`);
  }

  async fail(note: string): Promise<void> {
    this.#text += this.#renderer.finish();
    await this.#send(`${this.#text}${this.#text ? '\n\n' : ''}${escapeSlackControl(note)}`);
  }

  /** The answer in at most four posts (a response_url takes five; one showed "Thinking…"). */
  async #send(markdown: string): Promise<void> {
    const pages = paginate(markdown, SLACK_MESSAGE_LIMIT_CHARS);
    const posts = pages.length <= 4 ? pages : [...pages.slice(0, 3), pages.slice(3).join('\n\n')];
    for (const [index, page] of posts.entries()) {
      await this.#post(this.#url, {
        response_type: 'ephemeral',
        replace_original: index === 0,
        text: page.length > 3000 ? `${page.slice(0, 2999)}…` : page,
        blocks: [{ type: 'markdown', text: page.slice(0, SLACK_MESSAGE_LIMIT_CHARS) }],
      });
    }
  }
}

/** Shown on a question that waits for the thread's previous answer: seen, and in line. */
export const WAITING_REACTION = 'eyes';

const INVITE_HINT =
  '_I can’t post in this channel, so only you can see this answer. Invite me with `/invite` to answer here in a thread._';
