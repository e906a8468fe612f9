/**
 * Usage and budgets: every answer's tokens as the model reported them (input, output, cache read,
 * cache write) and its estimated cost are added up per person, channel and UTC day in the store;
 * `/ask usage` shows a person their own; over a daily budget a person gets one friendly sentence
 * that says when it resets, and no model call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageScope } from '../../src/conversation/ports.ts';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { answerLogs, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
/** Claude Sonnet 4.x list prices, USD per million tokens. */
const PRICE = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
const today = () => new Date().toISOString().slice(0, 10);
const user = (id: string): UsageScope => ({ kind: 'user', teamId: 'T0001', id });
const channel = (id: string): UsageScope => ({ kind: 'channel', teamId: 'T0001', id });
const RESETS = /it resets at midnight UTC, in (about \d+ hours|about an hour|\d+ minutes?)\.$/;

/** What the stand-in reported for request `index`, and its cost at list prices in millionths of a USD. */
function reported(bot: Harness, index: number, usage: { inputTokens: number; outputTokens: number }) {
  const cache = bot.bedrock.requests[index]?.cache;
  const cacheReadTokens = cache && cache.cachePoints > 0 ? cache.readTokens : 0;
  const cacheWriteTokens = cache && cache.cachePoints > 0 ? cache.writeTokens : 0;
  const micro =
    usage.inputTokens * PRICE.input +
    usage.outputTokens * PRICE.output +
    cacheReadTokens * PRICE.cacheRead +
    cacheWriteTokens * PRICE.cacheWrite;
  return { answers: 1, ...usage, cacheReadTokens, cacheWriteTokens, costMicroUsd: Math.round(micro) };
}

function sum(...entries: Array<ReturnType<typeof reported>>) {
  return entries.reduce((total, entry) => ({
    answers: total.answers + entry.answers,
    inputTokens: total.inputTokens + entry.inputTokens,
    outputTokens: total.outputTokens + entry.outputTokens,
    cacheReadTokens: total.cacheReadTokens + entry.cacheReadTokens,
    cacheWriteTokens: total.cacheWriteTokens + entry.cacheWriteTokens,
    costMicroUsd: total.costMicroUsd + entry.costMicroUsd,
  }));
}

async function refusedOverBudget(bot: Harness): Promise<number> {
  const metric = await bot.bot.metrics.answers.get();
  return metric.values.find((value) => value.labels.outcome === 'refused_over_budget')?.value ?? 0;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('usage', () => {
  it('adds up the usage the model reported per person, channel and UTC day, and /ask usage shows a person theirs', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, SLACK_WRITE_BUDGET_SCALE: '0' } });
    const usages = [
      { inputTokens: 1_000, outputTokens: 200 },
      { inputTokens: 2_000, outputTokens: 300 },
      { inputTokens: 500, outputTokens: 50 },
    ];
    // A long first answer, so that the follow-up writes the prompt cache.
    h.bedrock.enqueue(
      { text: FakeBedrockRuntime.chunksOf('Refunds take five days. '.repeat(250), 2_000), usage: usages[0] },
      { text: 'Gift cards too.', usage: usages[1] },
      { text: 'Hello Bob.', usage: usages[2] },
    );
    const first = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> refunds?',
    });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'gift cards?',
      threadTs: first.ts,
    });
    await waitForAnswers(h, 2);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> hello' });
    await waitForAnswers(h, 3);

    const [a1, a2, b1] = usages.map((usage, index) => reported(h as Harness, index, usage)) as [
      ReturnType<typeof reported>,
      ReturnType<typeof reported>,
      ReturnType<typeof reported>,
    ];
    expect(a2.cacheWriteTokens).toBeGreaterThan(1_000);
    expect(await h.bot.store.getUsage([user('U0001'), user('U0002'), channel('C0001')], today())).toEqual([
      sum(a1, a2),
      b1,
      sum(a1, a2, b1),
    ]);
    expect(answerLogs(h).map((line) => Math.round(Number(line.costUsd) * 1e6))).toEqual(
      [a1, a2, b1].map((entry) => entry.costMicroUsd),
    );

    const command = await h.slack.sendCommand({ text: 'usage', user: 'U0001', channel: 'C0001' });
    const post = await h.slack.waitFor(() =>
      h?.slack.responseUrlPosts.find((p) => command.responseUrl.endsWith(p.id)),
    );
    const mine = sum(a1, a2);
    const tokensIn = (mine.inputTokens + mine.cacheReadTokens + mine.cacheWriteTokens).toLocaleString(
      'en-US',
    );
    expect(JSON.stringify(post.body)).toContain(
      `*Today (UTC):* 2 answers, ${tokensIn} tokens in, 500 out, about $${(mine.costMicroUsd / 1e6).toFixed(4)}`,
    );
    expect(h.bedrock.requests).toHaveLength(3);
  });

  it('counts tokens and estimated cost by model in the metrics', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL } });
    h.bedrock.enqueue({ text: 'ok', usage: { inputTokens: 1_000, outputTokens: 100 } });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> cost?' });
    await waitForAnswers(h, 1);

    const cost = await h.bot.metrics.modelCost.get();
    expect(cost.values).toEqual([expect.objectContaining({ labels: { model: MODEL }, value: 0.0045 })]);
  });
});

describe('daily budgets', () => {
  it('tells a person over their daily budget when it resets, without a model call, and still answers others', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, DAILY_BUDGET_USER_USD: '0.005' } });
    h.bedrock.setHandler(() => ({ text: 'An answer.', usage: { inputTokens: 1_000, outputTokens: 200 } }));
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    await waitForAnswers(h, 1);

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> second' });
    await until(async () => (await refusedOverBudget(h as Harness)) === 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> mine' });
    await waitForAnswers(h, 2);
    await h.slack.waitFor(() => (h?.slack.ephemerals.length ?? 0) > 0);

    expect(h.slack.ephemerals.map((m) => m.ephemeral?.user)).toEqual(['U0001']);
    expect(h.slack.ephemerals[0]?.text).toMatch(/^You've reached today's budget for questions to me; /);
    expect(h.slack.ephemerals[0]?.text).toMatch(RESETS);
    expect(h.bedrock.requests.map((request) => request.body.messages?.at(-1)?.content?.[0]?.text)).toEqual([
      'first',
      'mine',
    ]);
  });

  it('refuses /ask over the budget before posting the question', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, DAILY_BUDGET_USER_USD: '0.005' } });
    h.bedrock.setHandler(() => ({ text: 'An answer.', usage: { inputTokens: 1_000, outputTokens: 200 } }));
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    await waitForAnswers(h, 1);
    const postsBefore = h.slack.callsTo('chat.postMessage').length;

    const command = await h.slack.sendCommand({ text: 'again?', user: 'U0001', channel: 'C0001' });
    const post = await h.slack.waitFor(() =>
      h?.slack.responseUrlPosts.find((p) => command.responseUrl.endsWith(p.id)),
    );

    expect(JSON.stringify(post.body)).toMatch(/today's budget for questions to me/);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(postsBefore);
    expect(h.bedrock.requests).toHaveLength(1);
  });

  it('tells everyone in a channel over its daily budget, once the channel spent it', async () => {
    h = await startHarness({ env: { BEDROCK_MODEL_ID: MODEL, DAILY_BUDGET_CHANNEL_USD: '0.005' } });
    h.bedrock.setHandler(() => ({ text: 'An answer.', usage: { inputTokens: 1_000, outputTokens: 200 } }));
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    await waitForAnswers(h, 1);

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> me too' });
    await until(async () => (await refusedOverBudget(h as Harness)) === 1);
    await h.slack.waitFor(() => (h?.slack.ephemerals.length ?? 0) > 0);

    expect(h.slack.ephemerals[0]?.ephemeral?.user).toBe('U0002');
    expect(h.slack.ephemerals[0]?.text).toMatch(
      /^This channel has reached today's budget for questions to me; /,
    );
    expect(h.slack.ephemerals[0]?.text).toMatch(RESETS);
    expect(h.bedrock.requests).toHaveLength(1);
  });
});
