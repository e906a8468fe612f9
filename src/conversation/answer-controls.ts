/**
 * What the conversation service asks before and after an answer, in one place: the channel's
 * settings (on or off, model, prompt, Knowledge Base, reply policy, service tier) and the budgets
 * before admission, the usage after the commit. Looked up once per question, before any model
 * call, so a refused question never costs one.
 */
import type { Logger } from '../logger.ts';
import type { ChannelSettings, EffectiveChannelSettings } from './channel-settings.ts';
import type { ModelChoice, TokenUsage } from './ports.ts';
import type { Asker, UsageLedger } from './usage-ledger.ts';

export interface ControlRefusal {
  reason: 'channel_off' | 'over_budget';
  text: string;
}

export interface QuestionControls {
  settings: EffectiveChannelSettings;
  /** Why this question gets no model call, or null. */
  refusal: ControlRefusal | null;
  /** How the model port answers it. */
  model: ModelChoice;
  /** The model that answers (prices and metrics are by model). */
  modelId: string;
  /** The tools the model may use in this channel, by name; null: all the bot has. */
  tools: string[] | null;
}

export const CONTROL_MESSAGES = {
  channelOff: 'An admin has switched me off in this channel, so I won’t answer here.',
};

export class AnswerControls {
  readonly #settings: ChannelSettings;
  readonly #usage: UsageLedger;
  readonly #logger: Logger;

  readonly #emailOf: (userId: string) => Promise<string | null>;

  constructor(options: {
    settings: ChannelSettings;
    usage: UsageLedger;
    logger: Logger;
    /** The asker's email, for a Knowledge Base that retrieves as the asker (null: unknown). */
    emailOf?: (userId: string) => Promise<string | null>;
  }) {
    this.#settings = options.settings;
    this.#usage = options.usage;
    this.#logger = options.logger;
    this.#emailOf = options.emailOf ?? (async () => null);
  }

  /** Settings and budgets for one question; rejects (StoreUnavailableError) when the store cannot say. */
  async forQuestion(asker: Asker): Promise<QuestionControls> {
    const [settings, overBudget] = await Promise.all([
      this.#settings.get(asker.teamId, asker.channelId),
      this.#usage.budgetRefusal(asker),
    ]);
    const refusal: ControlRefusal | null = !settings.enabled
      ? { reason: 'channel_off', text: CONTROL_MESSAGES.channelOff }
      : overBudget
        ? { reason: 'over_budget', text: overBudget.text }
        : null;
    const asAsker = settings.knowledgeBaseId !== null && settings.kbUserContext && refusal === null;
    const email = asAsker ? await this.#emailOf(asker.userId) : null;
    if (asAsker && email === null)
      // Retrieval with the bot's rights could show what the asker may not see: no Knowledge Base then.
      this.#logger.warn(
        { userId: asker.userId, channelId: asker.channelId },
        'the asker’s email is unknown (users:read.email?); answering without the Knowledge Base',
      );
    return {
      settings,
      refusal,
      modelId: settings.modelId,
      tools: settings.tools,
      model: {
        modelId: settings.modelId,
        systemPrompt: settings.systemPrompt,
        knowledgeBase:
          settings.knowledgeBaseId && (!asAsker || email !== null)
            ? { id: settings.knowledgeBaseId, mode: settings.kbMode }
            : null,
        serviceTier: settings.serviceTier,
        ...(email !== null ? { knowledgeBaseUserId: email } : {}),
      },
    };
  }

  /** Adds an answer's usage up (never throws: a lost count must not fail an answer that was shown). */
  async recordUsage(
    asker: Asker,
    controls: QuestionControls,
    usage: TokenUsage,
  ): Promise<{ costUsd: number | null }> {
    const used = usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
    if (used === 0) return { costUsd: null };
    try {
      return await this.#usage.record(asker, controls.modelId, usage);
    } catch (err) {
      this.#logger.warn({ err }, 'could not record the answer’s usage');
      return { costUsd: this.#usage.costOf(controls.modelId, usage) };
    }
  }
}
