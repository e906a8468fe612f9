/**
 * What the conversation service is given: the ports it answers through (store, model, Slack
 * surface, thread and file readers, tools, stop signals) and its settings. main.ts and bot.ts
 * build them; tests pass stand-ins of the outside services through the same ports.
 */
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { AnswerControls } from './answer-controls.ts';
import type { KnowledgeGrounding } from './knowledge-ports.ts';
import type {
  AnswerModel,
  AnswerSurface,
  ConversationStore,
  FileReader,
  ImageFitter,
  StopSignals,
  ThreadReader,
  Toolbox,
} from './ports.ts';

/** The conversation part of the configuration, plus what the service takes from the rest of it. */
export type ConversationSettings = Config['conversation'] & {
  systemPrompt: string;
  /** Attempts for retryable model errors that happen before any text was shown. */
  modelAttempts: number;
  logMessageText: boolean;
};

export interface ConversationDeps {
  store: ConversationStore;
  model: AnswerModel;
  surface: AnswerSurface;
  threadReader: ThreadReader;
  settings: ConversationSettings;
  /** Channel settings and budgets before admission, usage after the answer. */
  controls: AnswerControls;
  logger: Logger;
  metrics: Metrics;
  /** Reads files shared with questions (default: none can be read). */
  files?: FileReader;
  /** Scales an image down to the model's limit on its sides (default: images go as read). */
  images?: ImageFitter;
  /** Tools the model may call (MCP servers), with their limits; none: answers without tools. */
  tools?: {
    toolbox: Toolbox;
    timeoutMs: number;
    maxRounds: number;
    /** Who may approve a tool call besides the asker. */
    approvers: string[];
    /** How long an approval request stays open. */
    approvalTtlMs: number;
  };
  /** Carries Stop clicks to the replica running the answer. */
  stops: StopSignals;
  /** Channel knowledge (knowledge/channel-knowledge.ts): grounds answers, learns answered threads. */
  knowledge?: KnowledgeGrounding;
  /** Whether `userId` may stop someone else's answer (a workspace admin); default: nobody may. */
  mayStopOthers?: (userId: string) => Promise<boolean>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Backoff before retry `attempt` (1-based) of a throttled model call. */
  retryDelayMs?: (attempt: number) => number;
}
