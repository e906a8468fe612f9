/**
 * Redis goes away and comes back: the bot keeps running, says in the thread that it cannot reach
 * its memory instead of answering without it, stays ready (Redis is shared by every replica: failing
 * readiness on it would empty the load balancer), reports `slackbot_store_up` 0, and recovers on its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerLogs, threadText } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { createRedisServer, type RedisServerProcess } from '../support/redis-server-process.ts';

let h: Harness | undefined;
let redis: RedisServerProcess | undefined;

afterEach(async () => {
  await h?.stop();
  await redis?.stop();
  h = undefined;
  redis = undefined;
});

async function statusOf(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

async function storeUp(h: Harness): Promise<string | undefined> {
  const response = await fetch(`${h.botUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return /^slackbot_store_up (\d)$/m.exec(await response.text())?.[1];
}

/** Reads `read` every 200 ms until it gives `wanted` or `timeoutMs` passes; returns the last reading. */
async function pollFor<T>(read: () => Promise<T>, wanted: T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== wanted && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await read();
  }
  return last;
}

const waitForStoreUp = (h: Harness, value: string, timeoutMs: number) =>
  pollFor(() => storeUp(h), value, timeoutMs);
/** Polls `url` until it answers `status`; returns the last status seen. */
const waitForStatus = (url: string, status: number, timeoutMs: number) =>
  pollFor(() => statusOf(url), status, timeoutMs);

describe('a Redis outage', () => {
  it('keeps the bot up and ready, says it cannot reach its memory, reports the store down, and recovers without a restart', async () => {
    redis = await createRedisServer();
    await redis.start();
    h = await startHarness({ env: { REDIS_URL: redis.url } });
    const bot = h;
    bot.bedrock.enqueue({ text: 'Before the outage.' }, { text: 'After the outage.' });
    const before = await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one' });
    await bot.slack.waitFor(() => answerLogs(bot).length >= 1, 10_000);

    await redis.stop();
    const during = await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> two' });
    const notice = await bot.slack.waitFor(
      () => /can't reach my memory/.test(threadText(bot, 'C0001', during.ts)),
      15_000,
    );
    const storeDuring = await waitForStoreUp(bot, '0', 10_000);
    const readyDuring = await statusOf(`${bot.botUrl}/readyz`);
    const healthDuring = await statusOf(`${bot.botUrl}/healthz`);

    await redis.start();
    const storeAfter = await waitForStoreUp(bot, '1', 15_000);
    const readyAfter = await waitForStatus(`${bot.botUrl}/readyz`, 200, 15_000);
    const after = await bot.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> three' });
    await bot.slack.waitFor(() => answerLogs(bot).length >= 2, 15_000);

    expect(threadText(bot, 'C0001', before.ts)).toBe('Before the outage.');
    expect(notice).toBe(true);
    expect(healthDuring).toBe(200);
    expect(readyDuring).toBe(200);
    expect(storeDuring).toBe('0');
    expect(storeAfter).toBe('1');
    expect(readyAfter).toBe(200);
    expect(threadText(bot, 'C0001', after.ts)).toBe('After the outage.');
    // The question asked during the outage never reached the model.
    expect(bot.bedrock.requests).toHaveLength(2);
  }, 90_000);
});
