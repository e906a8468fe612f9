/**
 * Socket Mode: with SLACK_APP_TOKEN set the bot opens a websocket to Slack (the stand-in's
 * `apps.connections.open` hands out a ws://127.0.0.1 URL), acknowledges envelopes on it, and still
 * serves /healthz, /readyz and /metrics on PORT.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

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
    await new Promise((resolve) => setTimeout(resolve, 500));

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
});
