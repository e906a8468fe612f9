/**
 * Estimated cost of an answer from the usage Bedrock reported, by model. A small built-in table
 * of on-demand list prices (USD per million tokens, us-east-1, checked 2026-11) is the default;
 * `BEDROCK_PRICES` overrides or adds entries. Keys are base model ids or their prefixes
 * (`anthropic.claude-sonnet-4`); the longest matching key wins, so cross-region profiles
 * (`us.…`, `global.…`) and ARNs price as their base model. These are estimates for budgets and
 * dashboards, not the bill: batch, provisioned and regional prices differ.
 */
import type { ModelPrice } from '../config.ts';
import type { PriceList, TokenUsage } from '../conversation/ports.ts';
import { baseModelId } from './model-capabilities.ts';

export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'anthropic.claude-opus-4-5': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  'anthropic.claude-opus-4': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
  'anthropic.claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-3-7-sonnet': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-haiku-4-5': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  'anthropic.claude-3-5-haiku': { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
  'amazon.nova-premier': { input: 2.5, output: 12.5, cacheRead: 0.625 },
  'amazon.nova-pro': { input: 0.8, output: 3.2, cacheRead: 0.2 },
  'amazon.nova-lite': { input: 0.06, output: 0.24, cacheRead: 0.015 },
  'amazon.nova-micro': { input: 0.035, output: 0.14, cacheRead: 0.00875 },
  'amazon.titan-text-premier': { input: 0.5, output: 1.5 },
  'amazon.titan-text-express': { input: 0.2, output: 0.6 },
  'amazon.titan-text-lite': { input: 0.15, output: 0.2 },
  // Embeddings (channel knowledge): input tokens only.
  'amazon.titan-embed-text-v2': { input: 0.02, output: 0 },
  'meta.llama3-3-70b': { input: 0.72, output: 0.72 },
  'meta.llama3-1-70b': { input: 0.72, output: 0.72 },
  'meta.llama3-1-8b': { input: 0.22, output: 0.22 },
  'mistral.mistral-7b': { input: 0.15, output: 0.2 },
  'mistral.mixtral-8x7b': { input: 0.45, output: 0.7 },
  'mistral.mistral-large': { input: 4, output: 12 },
  'mistral.mistral-small': { input: 1, output: 3 },
};

export type { TokenUsage };

export class PriceTable implements PriceList {
  readonly #prices: Array<[string, ModelPrice]>;

  constructor(overrides: Record<string, ModelPrice> = {}) {
    const merged = { ...DEFAULT_PRICES, ...overrides };
    // Longest key first, so that `…claude-opus-4-5` wins over `…claude-opus-4`.
    this.#prices = Object.entries(merged)
      .map(([key, price]): [string, ModelPrice] => [baseModelId(key), price])
      .sort(([a], [b]) => b.length - a.length);
  }

  priceOf(modelId: string): ModelPrice | null {
    const id = baseModelId(modelId);
    return this.#prices.find(([key]) => id.startsWith(key))?.[1] ?? null;
  }

  /** Estimated USD; null when the model has no price. */
  costOf(modelId: string, usage: TokenUsage): number | null {
    const price = this.priceOf(modelId);
    if (!price) return null;
    const perMillion =
      usage.inputTokens * price.input +
      usage.outputTokens * price.output +
      usage.cacheReadTokens * (price.cacheRead ?? price.input) +
      usage.cacheWriteTokens * (price.cacheWrite ?? price.input);
    return perMillion / 1_000_000;
  }
}
