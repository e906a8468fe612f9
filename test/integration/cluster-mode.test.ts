/**
 * The bot on a Redis Cluster: REDIS_URL names one node of a local three-master cluster and
 * REDIS_CLUSTER=true; the client discovers the rest, and every operation stays on one slot.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sentMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { type RedisClusterProcesses, startRedisCluster } from '../support/redis-server-process.ts';

let cluster: RedisClusterProcesses;
let h: Harness | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('cluster mode', () => {
  it('answers a mention and carries the first turn into a follow-up', async () => {
    h = await startHarness({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } });
    const bot = h;
    bot.bedrock.enqueue({ text: 'Clustered answer.' }, { text: 'Still clustered.' });

    const first = await bot.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> first on the cluster',
    });
    await waitForAnswers(bot, 1);
    await bot.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: 'and a follow-up',
      threadTs: first.ts,
    });
    await waitForAnswers(bot, 2);

    expect(threadText(bot, 'C0001', first.ts)).toBe('Clustered answer.\nStill clustered.');
    expect(sentMessages(bot.bedrock.requests.at(-1))).toEqual([
      { role: 'user', content: [{ text: 'first on the cluster' }] },
      { role: 'assistant', content: [{ text: 'Clustered answer.' }] },
      { role: 'user', content: [{ text: 'and a follow-up' }] },
    ]);
    const ready = await fetch(`${bot.botUrl}/readyz`);
    expect(ready.status).toBe(200);
  }, 30_000);
});
