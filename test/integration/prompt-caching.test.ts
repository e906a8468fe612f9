/**
 * Prompt caching: where the model caches, a cachePoint after the system prompt and one after the
 * thread's history, so each turn reads the earlier turns from the cache (priced at the cache-read
 * rate) and writes only its own; cache tokens are logged, counted and priced. The stand-in
 * accounts the cache as Bedrock reports it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { answerLogs, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
/** Slack's tiers are not under test: without the shared budget each turn takes milliseconds. */
const UNTHROTTLED = { SLACK_WRITE_BUDGET_SCALE: '0' };
/** About 1,500 tokens: over Claude Sonnet's 1,024-token minimum for a cached prefix. */
const LONG_ANSWER = 'A long and careful answer about refunds. '.repeat(150);

/** A question and two follow-ups in one thread; by default a long first answer and short ones after it. */
async function threeTurns(
  bot: Harness,
  answers: string[] = [LONG_ANSWER, 'Short second answer.', 'Short third answer.'],
): Promise<void> {
  bot.bedrock.enqueue(...answers.map((answer) => ({ text: FakeBedrockRuntime.chunksOf(answer, 2_000) })));
  const first = await bot.slack.postUserMessage({
    channel: 'C0001',
    user: 'U0001',
    text: '<@UBOT> refunds?',
  });
  await waitForAnswers(bot, 1);
  for (const [index, text] of ['and gift cards?', 'and vouchers?'].entries()) {
    await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text, threadTs: first.ts });
    await waitForAnswers(bot, index + 2);
  }
}

async function cacheTokens(bot: Harness, direction: 'cache_read' | 'cache_write'): Promise<number> {
  const metric = await bot.bot.metrics.modelTokens.get();
  return metric.values.find((v) => v.labels.direction === direction && v.labels.model === MODEL)?.value ?? 0;
}

describe('prompt caching', () => {
  it('marks the system prompt and the history as cacheable, so a follow-up reads the earlier turns from the cache', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, ...UNTHROTTLED } });

    await threeTurns(h);

    const second = h.bedrock.requests[1]?.body;
    expect(second?.system?.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    expect(second?.messages?.[1]?.content?.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    expect(second?.messages?.at(-1)?.content).toEqual([{ text: 'and gift cards?' }]);
    const [, turn2, turn3] = answerLogs(h);
    expect(Number(turn2?.cacheWriteTokens)).toBeGreaterThan(1_024);
    expect(turn2?.cacheReadTokens).toBe(0);
    // Turn 3 reads all that turn 2 wrote and writes only turn 2's question and answer.
    expect(turn3?.cacheReadTokens).toBe(turn2?.cacheWriteTokens);
    expect(Number(turn3?.cacheWriteTokens)).toBeLessThan(50);
    expect(Number(turn3?.inputTokens)).toBeLessThan(10);
  });

  it('logs, counts and prices cache reads and writes at the model’s cache prices', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, ...UNTHROTTLED } });

    await threeTurns(h);

    const turn3 = answerLogs(h)[2] ?? {};
    const [input, output, read, write] = [
      'inputTokens',
      'outputTokens',
      'cacheReadTokens',
      'cacheWriteTokens',
    ].map((field) => Number(turn3[field])) as [number, number, number, number];
    // Claude Sonnet 4.x list prices per million tokens: 3 input, 15 output, 0.30 cache read, 3.75 cache write.
    expect(turn3.costUsd).toBeCloseTo((input * 3 + output * 15 + read * 0.3 + write * 3.75) / 1e6, 12);
    const logged = answerLogs(h).reduce<{ read: number; write: number }>(
      (sum, line) => ({
        read: sum.read + Number(line.cacheReadTokens),
        write: sum.write + Number(line.cacheWriteTokens),
      }),
      { read: 0, write: 0 },
    );
    expect(await cacheTokens(h, 'cache_read')).toBe(logged.read);
    expect(await cacheTokens(h, 'cache_write')).toBe(logged.write);
    expect(logged.read).toBeGreaterThan(0);
  });

  it('puts no cachePoint after a history that was just trimmed to the budget (no later turn could read it)', async () => {
    h = await startHarness({
      env: { BEDROCK_MODEL_ID: MODEL, HISTORY_TOKEN_BUDGET: '2500', ...UNTHROTTLED },
    });

    await threeTurns(h, [LONG_ANSWER, LONG_ANSWER, 'Short third answer.']);

    const cachePointsIn = (index: number) =>
      JSON.stringify(h?.bedrock.requests[index]?.body.messages).split('cachePoint').length - 1;
    expect(h.bedrock.requests[2]?.body.messages?.[0]?.content?.[0]).toEqual({ text: 'and gift cards?' });
    expect([cachePointsIn(1), cachePointsIn(2)]).toEqual([1, 0]);
    expect(h.bedrock.requests[2]?.body.system?.at(-1)).toEqual({ cachePoint: { type: 'default' } });
  });

  it('sends no cachePoint when prompt caching is turned off', async () => {
    h = await startHarness({
      env: { BEDROCK_MODEL_ID: MODEL, BEDROCK_PROMPT_CACHE: 'false', ...UNTHROTTLED },
    });

    await threeTurns(h);

    expect(JSON.stringify(h.bedrock.requests.map((request) => request.body))).not.toContain('cachePoint');
    expect(answerLogs(h).map((line) => line.cacheReadTokens)).toEqual([0, 0, 0]);
  });
});
