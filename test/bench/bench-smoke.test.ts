/**
 * The benchmark's harness, end to end on a tiny scenario: the real bot and the naive baseline as
 * child processes against the stand-ins, three questions (two threads, one follow-up), and every
 * figure computed. Nothing here asserts timings: figures belong in `npm run bench` and docs/performance.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerChunks, answerText, parseQuestion, questionText } from '../../bench/answers.ts';
import { concurrencyChart } from '../../bench/chart.ts';
import { type BenchContext, type RunResult, runScenario, startContext } from '../../bench/runner.ts';
import type { ScenarioDef } from '../../bench/scenarios.ts';
import { evaluateTargets } from '../../bench/targets.ts';

const spec = (id: string) => ({
  id,
  words: 30,
  firstTokenDelayMs: 50,
  chunksPerSecond: 40,
  wordsPerChunk: 2,
});

const smoke: ScenarioDef = {
  name: 'smoke',
  title: 'three questions',
  rateLimits: {},
  botEnv: { SLACK_WRITE_BUDGET_SCALE: '1000' },
  questions: [
    { spec: spec('smoke-1'), atMs: 0 },
    { spec: spec('smoke-2'), atMs: 0 },
    { spec: spec('smoke-3'), atMs: 100, inThreadOf: 'smoke-1' },
  ],
  maxWaitMs: { bot: 15_000, naive: 15_000 },
  naive: true,
  notes: 'smoke test',
};

describe('benchmark harness', () => {
  let ctx: (BenchContext & { stop(): Promise<void> }) | undefined;
  let bot: RunResult;
  let naive: RunResult;

  beforeAll(async () => {
    // A short warm-up: the smoke test checks the figures' plumbing, not their size.
    ctx = await startContext({ log: () => undefined, warmUpAnswers: 2 });
    bot = await runScenario(smoke, 'bot', ctx);
    naive = await runScenario(smoke, 'naive', ctx);
  }, 90_000);

  afterAll(async () => {
    await ctx?.stop();
  });

  it('questions and answers round-trip through their spec', () => {
    const s = spec('x-1');
    expect(parseQuestion(questionText(s))).toEqual(s);
    expect(answerChunks(s).join('')).toBe(answerText(s));
    expect(answerText(s)).toBe(answerText(spec('x-1')));
  });

  it('the bot answers every question completely and exactly, and every figure is measured', () => {
    expect(bot.incompleteIds).toEqual([]);
    expect(bot.complete).toBe(3);
    expect(bot.unexpectedMessages).toBe(0);
    expect(bot.inconsistentFirstText).toBe(0);
    expect(bot.deliveriesFailed).toBe(0);
    // Each mention arrives twice (message and app_mention); both are acknowledged.
    expect(bot.ackMs.count).toBe(6);
    expect(bot.overheadMs.count).toBe(3);
    expect(bot.finalDelayMs.count).toBe(3);
    expect(bot.modelRequests).toBe(3);
    expect(bot.writesPerAnswer).toBeGreaterThan(0);
    expect(bot.writesByMethod['chat.startStream']).toBe(3);
    expect(bot.storeRoundTripsPerTurn).toBeGreaterThan(0);
    expect(bot.process.rssPeakMb).toBeGreaterThan(0);
    expect(bot.cpuMsPerAnswer).toBeGreaterThan(0);
  });

  it('the naive baseline runs on the same stand-ins: one post and one update per model chunk', () => {
    expect(naive.complete).toBe(3);
    expect(naive.ackMs.count).toBe(6);
    const chunks = answerChunks(spec('smoke-1')).length;
    expect(naive.writesByMethod['chat.postMessage']).toBe(3);
    expect(naive.writesByMethod['chat.update']).toBe(
      chunks + answerChunks(spec('smoke-2')).length + answerChunks(spec('smoke-3')).length,
    );
    expect(naive.storeRoundTripsPerTurn).toBeNull();
  });

  it('targets and the chart are computed from the figures', () => {
    const checks = evaluateTargets(new Map([['burst', { bot, naive }]]));
    expect(checks.some((c) => c.scenario === 'burst' && c.verdict !== 'SKIP')).toBe(true);
    const svg = concurrencyChart(
      [
        {
          concurrency: 3,
          bot: { overheadP50: bot.overheadMs.p50, overheadP99: bot.overheadMs.p99, lagP99: 1 },
          naive: { overheadP50: naive.overheadMs.p50, overheadP99: naive.overheadMs.p99, lagP99: 2 },
        },
      ],
      'smoke',
    );
    expect(svg).toContain('<svg');
    expect(svg).toContain('Event-loop lag p99');
  });
});
