/**
 * Stop requests reach whichever replica runs the answer: published once, heard by every
 * subscriber (on Redis, across clients as across replicas), and only on their own key prefix.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { StopRequest } from '../../src/conversation/ports.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { RedisStopSignals } from '../../src/store/redis-stop-signals.ts';
import { MemoryStopSignals } from '../../src/store/stop-signals.ts';

const redisUrl = inject('redisUrl');
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function redisSignals(keyPrefix: string): RedisStopSignals {
  const client = createRedisClient({
    url: redisUrl,
    cluster: false,
    commandTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
  });
  const signals = new RedisStopSignals({ client, keyPrefix });
  closers.push(async () => {
    await signals.close();
    client.disconnect();
  });
  return signals;
}

function collect(signals: { subscribe(handler: (r: StopRequest) => void): () => void }): StopRequest[] {
  const heard: StopRequest[] = [];
  signals.subscribe((request) => heard.push(request));
  return heard;
}

async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 3 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('stop signals in one process', () => {
  it('hand a published stop to every subscriber, and to none after it unsubscribed', async () => {
    const signals = new MemoryStopSignals();
    const heard = collect(signals);
    const unsubscribe = signals.subscribe(() => undefined);

    await signals.publish({ threadId: 'T1:C1:1.0', userId: 'U1' });
    unsubscribe();

    expect(heard).toEqual([{ threadId: 'T1:C1:1.0', userId: 'U1' }]);
  });
});

describe('stop signals on Redis', () => {
  it('reach the other replica, and only replicas on the same key prefix', async () => {
    const prefix = `stops-${randomUUID()}:`;
    const clicked = redisSignals(prefix);
    const running = redisSignals(prefix);
    const otherBot = redisSignals(`other-${randomUUID()}:`);
    const heardByRunning = collect(running);
    const heardByOther = collect(otherBot);
    await Promise.all([running.ready(), otherBot.ready()]);

    await clicked.publish({ threadId: 'T1:C1:1.0', userId: 'U1' });
    await eventually(() => heardByRunning.length === 1);
    await otherBot.publish({ threadId: 'T9:C9:9.0', userId: 'U9' });
    await eventually(() => heardByOther.length === 1);

    expect(heardByRunning).toEqual([{ threadId: 'T1:C1:1.0', userId: 'U1' }]);
    expect(heardByOther).toEqual([{ threadId: 'T9:C9:9.0', userId: 'U9' }]);
  });
});
