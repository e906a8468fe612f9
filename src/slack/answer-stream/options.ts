/** What an answer stream is built with: where it writes, Slack, the budget, the callbacks. */
import type { Logger } from '../../logger.ts';
import type { BotIdentity } from '../answer-messages.ts';
import type { MarkdownRenderer } from '../render/markdown-renderer.ts';
import type { UntrustedTextOptions } from '../render/untrusted-text.ts';
import type { SlackApi, SlackCallError } from '../slack-api.ts';
import type { WriteBudget } from '../write-budget/index.ts';

export interface AnswerTarget {
  channelId: string;
  threadTs: string;
  /** The asking message: every message of this answer comes after it. */
  questionTs: string;
  /** Required by Slack for native streams outside DMs. */
  recipientUserId: string;
  recipientTeamId: string;
  isDm: boolean;
}

export interface SlackAnswerStreamOptions {
  slack: SlackApi;
  target: AnswerTarget;
  mode: 'native' | 'update';
  flushIntervalMs: number;
  logger: Logger;
  limitChars?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Adds thumbs up/down buttons under a finished answer (default true). */
  feedback?: boolean;
  /** Slack's per-workspace write budget shared with other answers and replicas. */
  budget?: WriteBudget;
  /** Called when Slack refuses native streaming outright, so later answers skip the attempt. */
  onStreamingRefused?: (code: string) => void;
  /** Called once when the answer cannot be written at all (the model call can stop). */
  onFatal?: (error: SlackCallError) => void;
  /**
   * Resolves true when this answer needs its own Stop button (Slack's native Stop is not shown for
   * it): its first message is then posted and edited with the button under it, removed at the end.
   */
  stopButton?: Promise<boolean>;
  /** The bot's own ids, to find a message again whose creating call lost its response. */
  self?: BotIdentity;
  /** Names this answer in its messages' metadata (a random id by default). */
  answerId?: string;
  /** The answer's renderer (trusted link hosts); a default one when absent. */
  renderer?: MarkdownRenderer;
  /** How text from outside (tool results, sources, file names) is rendered: the same link rule. */
  untrusted?: UntrustedTextOptions;
}
