/**
 * Control and cost: each channel's settings (the configuration is their default), the usage
 * ledger with its daily budgets, and the controls the conversation service asks before an answer.
 */
import { PriceTable } from '../bedrock/model-prices.ts';
import type { Config } from '../config.ts';
import { AnswerControls } from '../conversation/answer-controls.ts';
import { ChannelSettings, type EffectiveChannelSettings } from '../conversation/channel-settings.ts';
import type { ConversationStore } from '../conversation/ports.ts';
import { UsageLedger } from '../conversation/usage-ledger.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

export interface ControlParts {
  channelSettings: ChannelSettings;
  /** Told of every settings change, once channel knowledge is built (it forgets what a channel stops learning). */
  onSettingsChange: { to: ((change: SettingsChange) => void) | null };
  usage: UsageLedger;
  controls: AnswerControls;
}

type SettingsChange = { before: EffectiveChannelSettings; after: EffectiveChannelSettings };

export function buildAnswerControls(
  config: Config,
  answering: Config,
  store: ConversationStore,
  metrics: Metrics,
  logger: Logger,
  /** The asker's email, for a Knowledge Base that retrieves as the asker. */
  emailOf?: (userId: string) => Promise<string | null>,
): ControlParts {
  const onSettingsChange: ControlParts['onSettingsChange'] = { to: null };
  const channelSettings = new ChannelSettings({
    onChange: (change) => onSettingsChange.to?.(change),
    store,
    defaults: {
      enabled: true,
      modelId: config.bedrock.modelId,
      systemPrompt: config.bedrock.systemPrompt,
      knowledgeBaseId: answering.bedrock.knowledgeBaseId,
      kbMode: config.bedrock.kbMode,
      threadReplyPolicy: config.conversation.threadReplyPolicy,
      serviceTier: config.bedrock.serviceTier,
      tools: null,
      kbUserContext: config.bedrock.kbUserContext,
      learnFromFiles: false,
      learnFromAnswers: false,
    },
    modelChoices: config.bedrock.modelChoices,
    cacheTtlMs: config.settings.cacheTtlMs,
    logger,
  });
  const usage = new UsageLedger({
    store,
    prices: new PriceTable(config.bedrock.prices),
    budgets: {
      userDailyUsd: config.usage.dailyBudgetUserUsd,
      channelDailyUsd: config.usage.dailyBudgetChannelUsd,
    },
    metrics,
    logger,
  });
  const controls = new AnswerControls({
    settings: channelSettings,
    usage,
    logger,
    ...(emailOf ? { emailOf } : {}),
  });
  return { channelSettings, onSettingsChange, usage, controls };
}
