import { describe, expect, it } from 'vitest';
import { PriceTable } from '../../src/bedrock/model-prices.ts';
import { UsageLedger } from '../../src/conversation/usage-ledger.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  inputTokens: input,
  outputTokens: output,
  cacheReadTokens: cacheRead,
  cacheWriteTokens: cacheWrite,
});

describe('the price table', () => {
  it('prices a cross-region profile or an ARN as its base model, the longest matching key first', () => {
    const prices = new PriceTable();

    expect(prices.priceOf('global.anthropic.claude-opus-4-5-20251101-v1:0')?.input).toBe(5);
    expect(prices.priceOf('us.anthropic.claude-opus-4-1-20250805-v1:0')?.input).toBe(15);
    expect(prices.priceOf('arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0')?.output).toBe(
      0.24,
    );
  });

  it('adds input, output and cache tokens at their own prices, per million', () => {
    const prices = new PriceTable();

    const cost = prices.costOf(
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      usage(1_000, 100, 10_000, 2_000),
    );

    expect(cost).toBeCloseTo((1_000 * 3 + 100 * 15 + 10_000 * 0.3 + 2_000 * 3.75) / 1e6, 12);
  });

  it('takes overrides and new models, prices cache tokens at the input price when not given, and knows no price for others', () => {
    const prices = new PriceTable({ 'acme.model': { input: 2, output: 4 } });

    expect(prices.costOf('us.acme.model-v2', usage(1_000_000, 0, 1_000_000, 1_000_000))).toBe(6);
    expect(prices.costOf('unknown.model-v1', usage(1, 1))).toBeNull();
  });
});

describe('the usage ledger', () => {
  const ledgerAt = (iso: string, budgets = { userDailyUsd: 0.01, channelDailyUsd: null }) =>
    new UsageLedger({
      store: new MemoryStore({ now: () => Date.parse(iso) }),
      prices: new PriceTable(),
      budgets,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
      now: () => Date.parse(iso),
    });

  it.each([
    ['2026-11-25T18:30:00Z', 'in about 6 hours'],
    ['2026-11-25T23:05:00Z', 'in about an hour'],
    ['2026-11-25T23:48:30Z', 'in 12 minutes'],
    ['2026-11-25T23:59:30Z', 'in 1 minute'],
  ])('says at %s that the day resets %s', (now, sentence) => {
    expect(ledgerAt(now).resetsIn()).toBe(sentence);
  });

  it('refuses once a person’s recorded cost reaches their budget, and keys the day in UTC', async () => {
    const ledger = ledgerAt('2026-11-25T23:30:00Z');
    const asker = { teamId: 'T1', userId: 'U1', channelId: 'C1' };
    const model = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

    const before = await ledger.budgetRefusal(asker);
    await ledger.record(asker, model, usage(2_000, 300)); // 0.006 + 0.0045 USD
    const after = await ledger.budgetRefusal(asker);

    expect(before).toBeNull();
    expect(after?.scope).toBe('user');
    expect(ledger.today()).toBe('2026-11-25');
    expect(ledger.lastDays(2)).toEqual(['2026-11-24', '2026-11-25']);
  });
});
