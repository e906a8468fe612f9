/**
 * Socket Mode: with SLACK_APP_TOKEN set the bot opens a websocket to Slack (the stand-in's
 * `apps.connections.open` hands out a ws://127.0.0.1 URL), acknowledges envelopes on it, and still
 * serves /healthz, /readyz and /metrics on PORT.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { freePort } from '../support/free-port.ts';
import { deleteRedisKeysWithPrefix } from '../support/redis-server-process.ts';
import { waitForTurnedAway } from '../support/turned-away.ts';

let h: Harness | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSocketModeBot(): Promise<Harness> {
  // In Socket Mode PORT serves only the health routes; it must be a real port, not 0.
  h = await startHarness({ env: { SLACK_APP_TOKEN: 'xapp-test', PORT: String(await freePort()) } });
  await h.slack.waitForSocket(10_000);
  return h;
}

describe('Socket Mode', () => {
  it('acknowledges an events_api envelope within a second and answers it in the thread', async () => {
    const bot = await startSocketModeBot();
    bot.bedrock.enqueue({ text: 'Answered over the socket.' });

    const sent = await bot.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> over the socket?' },
      { via: 'socket' },
    );
    await waitForAnswers(bot, 1);

    expect(sent.status).toBe(200);
    expect(sent.elapsedMs).toBeLessThan(1_000);
    expect(sent.mention?.elapsedMs).toBeLessThan(1_000);
    expect(threadText(bot, 'C0001', sent.ts)).toBe('Answered over the socket.');
    expect(answerLogs(bot)).toHaveLength(1);
  });

  it('acknowledges at once even when the model is slow', async () => {
    const bot = await startSocketModeBot();
    bot.bedrock.enqueue({ text: 'Slow.', firstTokenDelayMs: 3_000 });

    const sent = await bot.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> take your time' },
      { via: 'socket' },
    );
    await waitForAnswers(bot, 1, 15_000);

    expect(sent.mention?.elapsedMs).toBeLessThan(1_000);
    expect(threadText(bot, 'C0001', sent.ts)).toBe('Slow.');
  });

  it('does not answer a retried envelope a second time', async () => {
    const bot = await startSocketModeBot();
    bot.bedrock.enqueue({ text: 'Once.' }, { text: 'Twice.' });
    const sent = await bot.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> once' },
      { via: 'socket' },
    );
    await waitForAnswers(bot, 1);

    await bot.slack.sendEvent(
      { type: 'app_mention', user: 'U0001', text: '<@UBOT> once', ts: sent.ts, channel: 'C0001' },
      { via: 'socket', eventId: sent.mention?.eventId ?? sent.eventId, retryNum: 1 },
    );
    await waitForTurnedAway(bot.bot, (all) => all.duplicates === 1);

    expect(bot.bedrock.requests).toHaveLength(1);
    expect(threadText(bot, 'C0001', sent.ts)).toBe('Once.');
  });

  it('serves /healthz, /readyz and /metrics on PORT', async () => {
    const bot = await startSocketModeBot();

    const [health, ready, metrics] = await Promise.all(
      ['/healthz', '/readyz', '/metrics'].map((path) => fetch(`${bot.botUrl}${path}`)),
    );

    expect(health?.status).toBe(200);
    expect(ready?.status).toBe(200);
    expect(metrics?.status).toBe(200);
    expect(await metrics?.text()).toContain('slackbot_events_total');
  });

  it('answers once when two replicas share the socket load and Slack retries an envelope', async () => {
    const slack = await FakeSlack.start();
    const bedrock = await FakeBedrockRuntime.start();
    const prefix = `test:socket-replicas:${randomUUID()}:`;
    cleanups.push(
      () => slack.stop(),
      () => bedrock.stop(),
      async () => {
        await deleteRedisKeysWithPrefix(inject('redisUrl'), prefix);
      },
    );
    const env = { SLACK_APP_TOKEN: 'xapp-test', REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: prefix };
    const a = await startHarness({ slack, bedrock, env: { ...env, PORT: String(await freePort()) } });
    cleanups.push(() => a.stop());
    const b = await startHarness({ slack, bedrock, env: { ...env, PORT: String(await freePort()) } });
    cleanups.push(() => b.stop());
    // Bolt's start() resolves once its socket is connected: both replicas are on the socket now.
    bedrock.enqueue({ text: 'Only once.' }, { text: 'A second answer that must not appear.' });
    const eventsOn = async (replica: Harness) =>
      (await (await fetch(`${replica.botUrl}/metrics`)).text()).match(/^slackbot_events_total\{[^}]*\} \d+/gm)
        ?.length ?? 0;

    // Round-robin over the two connections: the message and the mention go to different replicas,
    // and the retry to the first again.
    const sent = await slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> one answer please' },
      { via: 'socket' },
    );
    await slack.waitFor(() => answerLogs(a).length + answerLogs(b).length >= 1, 10_000);
    await slack.sendEvent(
      {
        type: 'app_mention',
        user: 'U0001',
        text: '<@UBOT> one answer please',
        ts: sent.ts,
        channel: 'C0001',
      },
      { via: 'socket', eventId: sent.mention?.eventId ?? sent.eventId, retryNum: 1 },
    );
    await waitForTurnedAway([a.bot, b.bot], (all) => all.duplicates === 1);

    expect(await eventsOn(a)).toBeGreaterThan(0);
    expect(await eventsOn(b)).toBeGreaterThan(0);
    expect(bedrock.requests).toHaveLength(1);
    expect(answerLogs(a).length + answerLogs(b).length).toBe(1);
    expect(threadText(a, 'C0001', sent.ts)).toBe('Only once.');
  });
});
