/**
 * Usage and budgets. Every answer's tokens, as the model reported them (input, output, cache read,
 * cache write), and its estimated cost from the price table are added to the asker's and the
 * channel's totals of the UTC day, in the store (shared by every replica), and counted in the
 * metrics by model. Optional daily budgets (estimated USD) per person and per channel are checked
 * before a question costs a model call.
 */
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import {
  type ConversationStore,
  emptyUsage,
  type PriceList,
  type TokenUsage,
  type UsageScope,
  type UsageTotals,
} from './ports.ts';

/** How long a day's totals are kept after its last answer. */
export const USAGE_RETENTION_DAYS = 40;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface Asker {
  teamId: string;
  userId: string;
  channelId: string;
}

export interface Budgets {
  /** Estimated USD per person per UTC day; null: none. */
  userDailyUsd: number | null;
  channelDailyUsd: number | null;
}

export interface BudgetRefusal {
  scope: 'user' | 'channel';
  text: string;
}

export class UsageLedger {
  readonly #store: ConversationStore;
  readonly #prices: PriceList;
  readonly #budgets: Budgets;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #unpriced = new Set<string>();

  constructor(options: {
    store: ConversationStore;
    prices: PriceList;
    budgets: Budgets;
    metrics: Metrics;
    logger: Logger;
    now?: () => number;
  }) {
    this.#store = options.store;
    this.#prices = options.prices;
    this.#budgets = options.budgets;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  get budgets(): Budgets {
    return { ...this.#budgets };
  }

  /** The UTC day of `ms`, as the store keys it: `2026-11-25`. */
  static day(ms: number): string {
    return new Date(ms).toISOString().slice(0, 10);
  }

  today(): string {
    return UsageLedger.day(this.#now());
  }

  /** The last `count` UTC days, oldest first, ending today. */
  lastDays(count: number): string[] {
    const nowMs = this.#now();
    return Array.from({ length: count }, (_, i) => UsageLedger.day(nowMs - (count - 1 - i) * DAY_MS));
  }

  /** Estimated USD of one answer; null when the model has no price. */
  costOf(modelId: string, usage: TokenUsage): number | null {
    return this.#prices.costOf(modelId, usage);
  }

  /** Counts one answer's usage in the metrics and adds it to the asker's and the channel's day. */
  async record(asker: Asker, modelId: string, usage: TokenUsage): Promise<{ costUsd: number | null }> {
    const costUsd = this.costOf(modelId, usage);
    const tokens = this.#metrics.modelTokens;
    tokens.inc({ direction: 'input', model: modelId }, usage.inputTokens);
    tokens.inc({ direction: 'output', model: modelId }, usage.outputTokens);
    tokens.inc({ direction: 'cache_read', model: modelId }, usage.cacheReadTokens);
    tokens.inc({ direction: 'cache_write', model: modelId }, usage.cacheWriteTokens);
    this.#metrics.modelCost.inc({ model: modelId }, costUsd ?? 0);
    if (costUsd === null && !this.#unpriced.has(modelId)) {
      this.#unpriced.add(modelId);
      this.#logger.warn(
        { model: modelId },
        'no price for this model: its answers count 0 USD (set BEDROCK_PRICES)',
      );
    }
    const amounts: UsageTotals = {
      answers: 1,
      ...usage,
      costMicroUsd: Math.round((costUsd ?? 0) * 1_000_000),
    };
    const day = this.today();
    const ttlMs = USAGE_RETENTION_DAYS * DAY_MS;
    await this.#store.addUsage([userScope(asker), channelScope(asker)], day, amounts, ttlMs);
    return { costUsd };
  }

  /**
   * Embedding tokens (channel knowledge learning a file or an answer, or looking up a question):
   * counted and priced like an answer's input, but not as an answer.
   */
  async recordEmbedding(asker: Asker, modelId: string, tokens: number): Promise<void> {
    const usage = { inputTokens: tokens, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    const costUsd = this.costOf(modelId, usage) ?? 0;
    this.#metrics.modelTokens.inc({ direction: 'input', model: modelId }, tokens);
    this.#metrics.modelCost.inc({ model: modelId }, costUsd);
    const amounts: UsageTotals = { answers: 0, ...usage, costMicroUsd: Math.round(costUsd * 1_000_000) };
    await this.#store.addUsage(
      [userScope(asker), channelScope(asker)],
      this.today(),
      amounts,
      USAGE_RETENTION_DAYS * DAY_MS,
    );
  }

  /** Why the asker may not ask today (their or the channel's budget is used up), or null; reads only when budgets are set. */
  async budgetRefusal(asker: Asker): Promise<BudgetRefusal | null> {
    const { userDailyUsd, channelDailyUsd } = this.#budgets;
    if (userDailyUsd === null && channelDailyUsd === null) return null;
    const [user, channel] = await this.#store.getUsage([userScope(asker), channelScope(asker)], this.today());
    const resets = this.resetsIn();
    if (userDailyUsd !== null && (user?.costMicroUsd ?? 0) >= userDailyUsd * 1_000_000)
      return {
        scope: 'user',
        text: `You've reached today's budget for questions to me; it resets at midnight UTC, ${resets}.`,
      };
    if (channelDailyUsd !== null && (channel?.costMicroUsd ?? 0) >= channelDailyUsd * 1_000_000)
      return {
        scope: 'channel',
        text: `This channel has reached today's budget for questions to me; it resets at midnight UTC, ${resets}.`,
      };
    return null;
  }

  /** A person's or a channel's totals for each of `days`. */
  async usageOf(scope: UsageScope, days: string[]): Promise<UsageTotals[]> {
    const totals = await Promise.all(days.map((day) => this.#store.getUsage([scope], day)));
    return totals.map(([day]) => day ?? emptyUsage());
  }

  /** "in about 5 hours", "in about an hour", "in 12 minutes": until the next UTC midnight. */
  resetsIn(): string {
    const nowMs = this.#now();
    const minutes = Math.max(1, Math.ceil((DAY_MS - (nowMs % DAY_MS)) / 60_000));
    if (minutes >= 90) return `in about ${Math.round(minutes / 60)} hours`;
    if (minutes >= 45) return 'in about an hour';
    return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
}

export function userScope(asker: Asker): UsageScope {
  return { kind: 'user', teamId: asker.teamId, id: asker.userId };
}

export function channelScope(asker: Asker): UsageScope {
  return { kind: 'channel', teamId: asker.teamId, id: asker.channelId };
}
