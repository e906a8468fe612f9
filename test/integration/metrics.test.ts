/**
 * `/metrics` as Prometheus scrapes it: the families an operator needs, and values that move when
 * the bot works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function scrape(bot: Harness): Promise<string> {
  const response = await fetch(`${bot.botUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

/** The value of one sample (`name{labels} value`); labels must match exactly those given, in any order. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

/** The sum of every sample of `name` (all label combinations). */
function total(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const families = [
  ['slackbot_events_total', 'counter'],
  ['slackbot_answers_total', 'counter'],
  ['slackbot_time_to_first_token_seconds', 'histogram'],
  ['slackbot_answer_duration_seconds', 'histogram'],
  ['slackbot_bedrock_tokens_total', 'counter'],
  ['slackbot_slack_calls_total', 'counter'],
  ['slackbot_slack_rate_limited_total', 'counter'],
  ['slackbot_answers_in_flight', 'gauge'],
  ['slackbot_store_operation_seconds', 'histogram'],
] as const;

describe('/metrics', () => {
  it('declares every metric family an operator needs, with its type', async () => {
    h = await startHarness();

    const text = await scrape(h);

    for (const [name, type] of families) expect(text).toContain(`# TYPE ${name} ${type}`);
  });

  it('counts events, answers, tokens, Slack calls and 429s, and observes latencies, after an answer', async () => {
    h = await startHarness();
    const bot = h;
    const before = await scrape(bot);
    bot.slack.failNext('chat.startStream', { status: 429, retryAfterS: 30 });
    bot.bedrock.enqueue({
      text: ['Metrics ', 'move.'],
      firstTokenDelayMs: 50,
      usage: { inputTokens: 42, outputTokens: 7 },
    });

    const sent = await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> count' });
    await waitForAnswers(bot, 1);
    const after = await scrape(bot);

    expect(threadText(bot, 'C0001', sent.ts)).toBe('Metrics move.');
    expect(sample(before, 'slackbot_events_total', { type: 'app_mention' }) ?? 0).toBe(0);
    expect(sample(after, 'slackbot_events_total', { type: 'app_mention' })).toBe(1);
    expect(sample(after, 'slackbot_events_total', { type: 'message' })).toBe(1);
    expect(sample(after, 'slackbot_answers_total', { outcome: 'answered' })).toBe(1);
    expect(sample(before, 'slackbot_time_to_first_token_seconds_count')).toBe(0);
    expect(sample(after, 'slackbot_time_to_first_token_seconds_count')).toBe(1);
    expect(sample(after, 'slackbot_time_to_first_token_seconds_sum')).toBeGreaterThan(0.04);
    expect(sample(after, 'slackbot_answer_duration_seconds_count')).toBe(1);
    const model = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    expect(sample(after, 'slackbot_bedrock_tokens_total', { direction: 'input', model })).toBe(42);
    expect(sample(after, 'slackbot_bedrock_tokens_total', { direction: 'output', model })).toBe(7);
    expect(
      sample(after, 'slackbot_slack_calls_total', { method: 'chat.startStream', result: 'rate_limited' }),
    ).toBe(1);
    expect(sample(after, 'slackbot_slack_rate_limited_total', { method: 'chat.startStream' })).toBe(1);
    expect(total(after, 'slackbot_slack_calls_total')).toBeGreaterThan(
      total(before, 'slackbot_slack_calls_total'),
    );
  });

  it('shows an answer in flight while it streams, and none once it is done', async () => {
    h = await startHarness();
    const bot = h;
    bot.bedrock.enqueue({ text: ['slow ', 'answer'], firstTokenDelayMs: 1_500 });

    await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> wait' });
    await bot.bedrock.waitForRequests(1);
    const during = await scrape(bot);
    await waitForAnswers(bot, 1);
    const after = await scrape(bot);

    expect(sample(during, 'slackbot_answers_in_flight')).toBe(1);
    expect(sample(after, 'slackbot_answers_in_flight')).toBe(0);
  });

  it('observes store latency by operation when the store is Redis', async () => {
    h = await startHarness({ env: testRedisEnv('metrics') });
    const bot = h;

    await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> remember' });
    await waitForAnswers(bot, 1);
    const after = await scrape(bot);

    expect(total(after, 'slackbot_store_operation_seconds_count')).toBeGreaterThan(0);
    expect(after).toMatch(/slackbot_store_operation_seconds_count\{operation="[a-z_]+"\} [1-9]/);
  });
});
