import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BackoffOnlyBudget, MemoryWriteBudget, RedisWriteBudget } from '../../src/slack/write-budget.ts';

describe('the shared Slack write budget', () => {
  it('grants chat.appendStream a short burst, then says how long to wait, then refills (in-process)', async () => {
    let nowMs = 0;
    const budget = new MemoryWriteBudget({ scale: 1, now: () => nowMs });
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) waits.push(await budget.take('T1', 'chat.appendStream', 'C1'));

    // Tier 4 is 100 a minute: a burst of two seconds' worth (3), then 0.6 s per token.
    expect(waits.filter((wait) => wait === 0)).toHaveLength(3);
    expect(waits.at(-1)).toBeGreaterThan(500);
    nowMs += 600;
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);
  });

  it('keeps workspaces, methods and (for chat.postMessage) channels apart', async () => {
    const budget = new MemoryWriteBudget({ scale: 1, now: () => 0 });
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBe(0);
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBeGreaterThan(2_000);
    expect(await budget.take('T2', 'chat.startStream', 'C1')).toBe(0);
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);
    for (let i = 0; i < 2; i += 1) await budget.take('T1', 'chat.postMessage', 'C1');
    expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBeGreaterThan(0);
    expect(await budget.take('T1', 'chat.postMessage', 'C2')).toBe(0);
  });

  it('after a 429, makes everyone wait out Retry-After', async () => {
    let nowMs = 0;
    const budget = new MemoryWriteBudget({ scale: 1, now: () => nowMs });
    await budget.penalize('T1', 'chat.update', 'C1', 5_000);
    expect(await budget.take('T1', 'chat.update', 'C1')).toBeGreaterThanOrEqual(5_000);
    nowMs += 5_000;
    expect(await budget.take('T1', 'chat.update', 'C1')).toBe(0);
  });

  it('with no budget configured, still holds a method back after a 429 until Retry-After', async () => {
    let nowMs = 0;
    const budget = new BackoffOnlyBudget({ now: () => nowMs });
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);
    await budget.penalize('T1', 'chat.appendStream', 'C1', 2_000);
    expect(await budget.take('T1', 'chat.appendStream', 'C2')).toBe(2_000);
    expect(await budget.take('T1', 'chat.stopStream', 'C1')).toBe(0);
    nowMs += 2_000;
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);
  });

  it('forgets channels it no longer holds back: 100,000 channels written to stay a few buckets (in-process)', async () => {
    let nowMs = 0;
    const budget = new MemoryWriteBudget({ scale: 1, now: () => nowMs });
    let largest = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i += 1) {
      nowMs += 1;
      if ((await budget.take('T1', 'chat.postMessage', `C${i}`)) > 0) refused += 1;
      largest = Math.max(largest, budget.size);
    }
    nowMs += 60_000;
    await budget.take('T1', 'chat.postMessage', 'C-last');

    // chat.postMessage refills a channel within a second, and idle buckets go once a second.
    expect(refused).toBe(0);
    expect(largest).toBeLessThan(3_000);
    expect(budget.size).toBe(1);
  });

  it('keeps a bucket that is still refilling when idle ones are dropped (in-process)', async () => {
    let nowMs = 0;
    const budget = new MemoryWriteBudget({ scale: 1, now: () => nowMs });
    // chat.postMessage: a burst of 2, then one a second.
    for (let i = 0; i < 2; i += 1) expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBe(0);
    nowMs += 1_500;
    await budget.take('T1', 'chat.postMessage', 'C-other'); // a sweep runs here

    expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBe(0);
    expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBe(500);
  });

  it('forgets a Retry-After once it has passed (no budget configured)', async () => {
    let nowMs = 0;
    const budget = new BackoffOnlyBudget({ now: () => nowMs });
    for (let i = 0; i < 10_000; i += 1) await budget.penalize('T1', 'chat.postMessage', `C${i}`, 1_000);
    expect(budget.size).toBe(10_000);
    nowMs += 1_000;

    expect(await budget.take('T1', 'chat.postMessage', 'C1')).toBe(0);
    expect(budget.size).toBe(0);
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
        Array.from({ length: 20 }, (_, i) => replicas[i % 2]?.take('T1', 'chat.appendStream', 'C1') ?? 0),
      );
      expect(waits.filter((wait) => wait === 0)).toHaveLength(3);

      await replicas[0]?.penalize('T1', 'chat.update', 'C1', 4_000);
      expect(await replicas[1]?.take('T1', 'chat.update', 'C1')).toBeGreaterThan(3_000);
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
