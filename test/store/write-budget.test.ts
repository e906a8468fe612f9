import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryWriteBudget, RedisWriteBudget } from '../../src/slack/write-budget.ts';

describe('the shared Slack write budget', () => {
  it('grants a burst of chat.startStream, then says how long to wait, then refills (in-process)', async () => {
    let nowMs = 0;
    const budget = new MemoryWriteBudget({ scale: 1, now: () => nowMs });
    const grants: number[] = [];
    for (let i = 0; i < 10; i += 1) grants.push(await budget.take('T1', 'chat.startStream', 'C1'));

    // Tier 2 is 20 a minute: a burst of 20 seconds' worth (6), then about 3 s per token.
    expect(grants.filter((wait) => wait === 0)).toHaveLength(6);
    expect(grants.at(-1)).toBeGreaterThan(2_000);
    nowMs += 3_000;
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBe(0);
  });

  it('keeps workspaces, methods and (for chat.postMessage) channels apart', async () => {
    const budget = new MemoryWriteBudget({ scale: 1, now: () => 0 });
    for (let i = 0; i < 6; i += 1) await budget.take('T1', 'chat.startStream', 'C1');
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBeGreaterThan(0);
    expect(await budget.take('T2', 'chat.startStream', 'C1')).toBe(0);
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);
    for (let i = 0; i < 20; i += 1) await budget.take('T1', 'chat.postMessage', 'C1');
    expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBeGreaterThan(0);
    expect(await budget.take('T1', 'chat.postMessage', 'C2')).toBe(0);
  });

  describe('on Redis, shared by replicas', () => {
    const clients: Redis[] = [];
    afterAll(async () => {
      for (const client of clients) client.disconnect();
    });

    it('lets two replicas together take no more than one budget', async () => {
      const prefix = `budget-test-${Date.now()}:`;
      const replicas = [0, 1].map(() => {
        const client = new Redis(inject('redisUrl'));
        clients.push(client);
        return new RedisWriteBudget({ client, keyPrefix: prefix, scale: 1, onError: () => undefined });
      });
      const waits = await Promise.all(
        Array.from({ length: 20 }, (_, i) => replicas[i % 2]?.take('T1', 'chat.startStream', 'C1') ?? 0),
      );
      expect(waits.filter((wait) => wait === 0)).toHaveLength(6);
      expect(Math.min(...waits.filter((wait) => wait > 0))).toBeGreaterThan(0);
    });

    it('lets writes through when Redis cannot be reached', async () => {
      const client = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
      });
      client.on('error', () => undefined);
      clients.push(client);
      const errors: unknown[] = [];
      const budget = new RedisWriteBudget({
        client,
        keyPrefix: 'x:',
        scale: 1,
        onError: (e) => errors.push(e),
      });
      expect(await budget.take('T1', 'chat.update', 'C1')).toBe(0);
      expect(errors).toHaveLength(1);
    });
  });
});
