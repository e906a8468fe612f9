/**
 * What shortens the wait for the first words: a new thread's first question goes to the model while
 * the store is still admitting it, and answers share HTTP/2 connections to Bedrock instead of
 * opening one each.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { botMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { createRedisServer, type RedisServerProcess } from '../support/redis-server-process.ts';
import { waitForTurnedAway } from '../support/turned-away.ts';

let h: Harness | undefined;
let redis: RedisServerProcess | undefined;
let admin: Redis | undefined;

afterEach(async () => {
  admin?.disconnect();
  admin = undefined;
  await h?.stop();
  h = undefined;
  await redis?.stop();
  redis = undefined;
});

/** A private Redis (pausing it must not slow other test files) and a bot on it. */
async function botOnPrivateRedis(env: Record<string, string> = {}): Promise<{ bot: Harness; admin: Redis }> {
  redis = await createRedisServer();
  await redis.start();
  h = await startHarness({ env: { REDIS_URL: redis.url, ...env } });
  admin = new Redis(redis.url);
  return { bot: h, admin };
}

/**
 * An earlier answer in the channel: its settings are then in the replica's cache, which the first
 * question of a new thread needs before its model call (a switched-off channel costs none).
 */
async function channelAnsweredBefore(bot: Harness): Promise<void> {
  await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> earlier question' });
  await waitForAnswers(bot, 1);
  bot.bedrock.reset();
  bot.agent.reset();
}

const PAUSE_MS = 1_000;
/** Many answers at once: Slack's real tiers would make most of them wait for write budget. */
const UNTHROTTLED = { SLACK_WRITE_BUDGET_SCALE: '100' };

describe('time to the first words', () => {
  it("asks the model for a new thread's first question while Redis is still answering, and shows nothing before it has", async () => {
    const { bot, admin } = await botOnPrivateRedis();
    await channelAnsweredBefore(bot);
    bot.bedrock.enqueue({ text: 'Refunds take five days.' });
    await bot.bot.store.ping(); // connected: the bot knows its store is up

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const pausedAtMs = Date.now();
    const asked = await bot.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });
    await bot.slack.waitFor(() => bot.bedrock.requests.length === 1, PAUSE_MS);
    const modelAskedAfterMs = Date.now() - pausedAtMs;
    const shownBeforeRedisAnswered = botMessages(bot, 'C0001', asked.ts).length;
    await waitForAnswers(bot, 2);

    expect(modelAskedAfterMs).toBeLessThan(PAUSE_MS);
    expect(shownBeforeRedisAnswered).toBe(0);
    expect(threadText(bot, 'C0001', asked.ts)).toBe('Refunds take five days.');
  });

  for (const mode of ['managed', 'retrieve'] as const) {
    it(`asks the Knowledge Base (${mode} mode) for a new thread's first question while Redis is still answering`, async () => {
      const { bot, admin } = await botOnPrivateRedis({
        BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678',
        KB_MODE: mode,
      });
      await channelAnsweredBefore(bot);
      await bot.bot.store.ping();

      await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
      const pausedAtMs = Date.now();
      await bot.slack.postUserMessage({
        channel: 'C0001',
        user: 'U0001',
        text: '<@UBOT> how do refunds work?',
      });
      await bot.slack.waitFor(() => bot.agent.requests.length === 1, PAUSE_MS);
      const askedAfterMs = Date.now() - pausedAtMs;
      await waitForAnswers(bot, 2);

      expect(askedAfterMs).toBeLessThan(PAUSE_MS);
      expect(
        await bot.bot.metrics.registry.getSingleMetricAsString('slackbot_early_model_calls_total'),
      ).toMatch(/result="used"\} 2/);
    });
  }

  it('waits for the thread history before asking the model about a follow-up', async () => {
    const { bot, admin } = await botOnPrivateRedis();
    bot.bedrock.enqueue({ text: 'Refunds take five days.' }, { text: 'Yes, also for gift cards.' });
    const first = await bot.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });
    await waitForAnswers(bot, 1);

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const pausedAtMs = Date.now();
    await bot.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> and for gift cards?',
      threadTs: first.ts,
    });
    await bot.slack.waitFor(() => bot.bedrock.requests.length === 2, PAUSE_MS * 5);
    const modelAskedAfterMs = Date.now() - pausedAtMs;
    await waitForAnswers(bot, 2);

    expect(modelAskedAfterMs).toBeGreaterThanOrEqual(PAUSE_MS - 50);
    expect(bot.bedrock.requests[1]?.body.messages?.map((m) => m.content?.[0]?.text)).toEqual([
      'how do refunds work?',
      'Refunds take five days.',
      'and for gift cards?',
    ]);
  });

  it('cancels the early model call of a duplicate delivery and answers once', async () => {
    h = await startHarness();
    h.bedrock.enqueue({ text: 'Refunds take five days.' }, { text: 'A second answer that must not appear.' });
    const first = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });
    await waitForAnswers(h, 1);

    // The same app_mention again, not marked as a retry (Slack delivers at least once).
    await h.slack.sendEvent(
      {
        type: 'app_mention',
        user: 'U0001',
        text: '<@UBOT> how do refunds work?',
        ts: first.ts,
        channel: 'C0001',
      },
      { eventId: first.mention?.eventId },
    );
    // Admission refuses it as a duplicate, and its early model call is then discarded.
    await waitForTurnedAway(h.bot, (all) => all.duplicates === 1 && all.earlyCallsDiscarded === 1);
    const { bedrock } = h;
    await h.slack.waitFor(() => bedrock.requests.every((request) => request.outcome !== undefined));
    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();

    expect(threadText(h, 'C0001', first.ts)).toBe('Refunds take five days.');
    expect(h.bedrock.requests.slice(1).every((request) => request.outcome === 'cancelled')).toBe(true);
    expect(metrics).toMatch(/early_model_calls_total\{result="used"\} 1/);
    expect(metrics).toMatch(/early_model_calls_total\{result="discarded"\} 1/);
  });

  it('does not start the model early for a Slack retry', async () => {
    h = await startHarness();
    const first = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> once' });
    await waitForAnswers(h, 1);

    await h.slack.sendEvent(
      { type: 'app_mention', user: 'U0001', text: '<@UBOT> once', ts: first.ts, channel: 'C0001' },
      { eventId: first.mention?.eventId, retryNum: 1, retryReason: 'http_timeout' },
    );
    await waitForTurnedAway(h.bot, (all) => all.duplicates === 1);
    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();

    expect(h.bedrock.requests).toHaveLength(1);
    expect(botMessages(h, 'C0001', first.ts)).toHaveLength(1);
    expect(metrics).toMatch(/early_model_calls_total\{result="used"\} 1/);
    expect(metrics).not.toMatch(/early_model_calls_total\{result="discarded"\}/);
  });

  it('streams many answers from Bedrock over a few shared connections', async () => {
    h = await startHarness({ env: UNTHROTTLED });
    h.bedrock.setHandler(() => ({ text: 'A streamed answer.', firstTokenDelayMs: 200 }));
    const threads = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        h?.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: `<@UBOT> question ${index}` }),
      ),
    );
    await waitForAnswers(h, 12);

    expect(threads.map((sent) => threadText(h as Harness, 'C0001', sent?.ts ?? ''))).toEqual(
      Array(12).fill('A streamed answer.'),
    );
    expect(h.bedrock.connectionsAccepted).toBeLessThanOrEqual(2);
  });

  it('streams Knowledge Base answers over shared connections too', async () => {
    h = await startHarness({ env: { ...UNTHROTTLED, BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' } });
    const threads = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        h?.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: `<@UBOT> policy ${index}` }),
      ),
    );
    await waitForAnswers(h, 6);

    expect(threads.every((sent) => threadText(h as Harness, 'C0001', sent?.ts ?? '').length > 0)).toBe(true);
    expect(h.agent.requests.filter((r) => r.operation === 'RetrieveAndGenerateStream')).toHaveLength(6);
    expect(h.agent.connectionsAccepted).toBeLessThanOrEqual(2);
  });
});

describe('a lost connection to Bedrock', () => {
  it('asks again on a new connection when the shared one drops before any text was shown', async () => {
    h = await startHarness();
    h.bedrock.enqueue({ dropConnection: true }, { text: 'Refunds take five days.' });
    const asked = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> refunds?',
    });
    await waitForAnswers(h, 1);

    expect(threadText(h, 'C0001', asked.ts)).toBe('Refunds take five days.');
    expect(h.bedrock.requests.map((request) => request.outcome)).toEqual(['failed', 'completed']);
    expect(h.bedrock.connectionsAccepted).toBe(2);
  });
});
