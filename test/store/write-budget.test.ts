import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import {
  BackoffOnlyBudget,
  MemoryWriteBudget,
  RedisWriteBudget,
  type SharedWriteBudget,
} from '../../src/slack/write-budget/index.ts';

const budgets: SharedWriteBudget[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const budget of budgets.splice(0)) await budget.close();
});
afterAll(() => {
  for (const client of clients) client.disconnect();
});

function memoryBudget(clock: { ms: number }, scale = 1, onAllowance?: (m: string, v: number) => void) {
  const budget = new MemoryWriteBudget({
    scale,
    now: () => clock.ms,
    ...(onAllowance ? { onAllowance } : {}),
  });
  budgets.push(budget);
  return budget;
}

function redisClient(): Redis {
  const client = new Redis(inject('redisUrl'));
  clients.push(client);
  return client;
}

/** Replicas on one Redis, each with its own connection (Redis calls counted per replica). */
function redisReplicas(options: {
  count: number;
  scale: number;
  clock?: { ms: number };
  onAllowance?: (method: string, perMinute: number) => void;
}): Array<{ budget: RedisWriteBudget; redisCalls: () => number; keyPrefix: string }> {
  const keyPrefix = `budget-test-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
  return Array.from({ length: options.count }, (_, index) => {
    const client = redisClient();
    let calls = 0;
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: Parameters<Redis['sendCommand']>[0]) => {
      calls += 1;
      return send(command);
    }) as Redis['sendCommand'];
    const budget = new RedisWriteBudget({
      client,
      keyPrefix,
      scale: options.scale,
      onError: (error) => {
        throw error;
      },
      replicaId: `replica-${index}`,
      ...(options.clock ? { now: () => options.clock?.ms ?? 0 } : {}),
      ...(options.onAllowance ? { onAllowance: options.onAllowance } : {}),
    });
    budgets.push(budget);
    return { budget, redisCalls: () => calls, keyPrefix };
  });
}

async function takeAll(take: () => Promise<number>, attempts: number): Promise<number> {
  let granted = 0;
  for (let i = 0; i < attempts; i += 1) if ((await take()) === 0) granted += 1;
  return granted;
}

describe('the shared Slack write budget', () => {
  it("holds a minute's allowance: 20 stream starts at once, the 21st a minute after the first (in-process)", async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    const waits: number[] = [];
    for (let i = 0; i < 21; i += 1) waits.push(await budget.take('T1', 'chat.startStream', 'C1'));

    expect(waits.slice(0, 20)).toEqual(Array(20).fill(0));
    // The tokens spent now come back one minute later (counted in 2-second slots).
    expect(waits[20]).toBeGreaterThan(59_000);
    expect(waits[20]).toBeLessThanOrEqual(62_000);
    clock.ms += 30_000;
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBeGreaterThan(28_000);
    clock.ms += 32_000;
    expect(await budget.take('T1', 'chat.startStream', 'C1')).toBe(0);
  });

  it('keeps workspaces, methods and (for chat.postMessage) channels apart, one post a second per channel after a burst', async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    expect(await takeAll(() => budget.take('T1', 'chat.startStream', 'C1'), 25)).toBe(20);
    expect(await budget.take('T2', 'chat.startStream', 'C1')).toBe(0);
    expect(await budget.take('T1', 'chat.appendStream', 'C1')).toBe(0);

    expect(await takeAll(() => budget.take('T1', 'chat.postMessage', 'C1'), 12)).toBe(10);
    expect(await budget.take('T1', 'chat.postMessage', 'C2')).toBe(0);
    clock.ms += 11_000;
    expect(await takeAll(() => budget.take('T1', 'chat.postMessage', 'C1'), 12)).toBe(10);
  });

  it('after a 429, makes everyone wait out Retry-After', async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    await budget.penalize('T1', 'chat.update', 'C1', 5_000);
    expect(await budget.take('T1', 'chat.update', 'C1')).toBeGreaterThanOrEqual(4_999);
    clock.ms += 5_000;
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

  it('forgets channels it no longer holds back: 100,000 channels written to stay the last ten seconds’ (in-process)', async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    let largestLedger = 0;
    let largestLocal = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i += 1) {
      clock.ms += 1;
      if ((await budget.take('T1', 'chat.postMessage', `C${i}`)) > 0) refused += 1;
      largestLedger = Math.max(largestLedger, budget.ledger.size);
      largestLocal = Math.max(largestLocal, budget.size);
    }
    clock.ms += 60_000;
    await budget.take('T1', 'chat.postMessage', 'C-last');

    // A channel's window is 10 s (and a slot): its bucket goes once it is empty again (swept
    // once a second); this replica's view of it goes at once.
    expect(refused).toBe(0);
    expect(largestLedger).toBeLessThan(11_500);
    expect(largestLocal).toBeLessThan(1_100);
    expect(budget.ledger.size).toBe(1);
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

  it('reserves a stream’s stop with its start, and refuses both when either is missing', async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    const pairs = Array.from({ length: 25 }, () => budget.answer('T1', 'C1'));
    let streams = 0;
    for (const answer of pairs) {
      const result = await answer.acquire([
        { method: 'chat.startStream', use: 'now' },
        { method: 'chat.stopStream', use: 'later' },
      ]);
      if (result.ok) streams += 1;
    }
    // Every granted stream can stop: the 20 stops are theirs, whoever else asks.
    expect(streams).toBe(20);
    expect(await budget.take('T1', 'chat.stopStream', 'C1')).toBeGreaterThan(0);
    expect(pairs.slice(0, 20).every((answer) => answer.spend('chat.stopStream'))).toBe(true);
    expect(pairs[20]?.spend('chat.stopStream')).toBe(false);
  });

  it('shares intermediate writes fairly: with N answers writing, each waits about N times as long', async () => {
    const clock = { ms: 1_000_000 };
    const budget = memoryBudget(clock);
    const answers = Array.from({ length: 40 }, () => budget.answer('T1', 'C1'));
    for (const answer of answers) answer.wants('chat.appendStream');
    // The bucket is drained, so what remains is its refill (100 a minute) shared by 40 answers.
    await takeAll(() => answers[0]?.intermediate('chat.appendStream') ?? Promise.resolve(1), 120);
    await answers[1]?.intermediate('chat.appendStream');

    const many = answers[0]?.paceMs('chat.appendStream', 1_000) ?? 0;
    for (const answer of answers.slice(4)) answer.close();
    clock.ms += 1_000;
    await answers[1]?.intermediate('chat.appendStream');
    const few = answers[0]?.paceMs('chat.appendStream', 1_000) ?? 0;

    expect(many).toBeGreaterThan(20_000);
    expect(few).toBeLessThan(many / 5);
    expect(few).toBeGreaterThanOrEqual(1_000);
  });

  describe.each(['in-process', 'Redis'] as const)('learning the real allowance (%s)', (where) => {
    it('a 429 lowers the learned rate, and sustained demand without 429s raises it back, up to twice the configured rate', async () => {
      const clock = { ms: 1_000_000_000 };
      const learned: number[] = [];
      const onAllowance = (method: string, perMinute: number) => {
        if (method === 'chat.appendStream') learned.push(perMinute);
      };
      const [replica] =
        where === 'Redis'
          ? redisReplicas({ count: 1, scale: 1, clock, onAllowance }).map((r) => r.budget)
          : [memoryBudget(clock, 1, onAllowance)];
      if (!replica) throw new Error('no budget');
      const answer = replica.answer('T1', 'C1');
      answer.wants('chat.appendStream');

      await replica.penalize('T1', 'chat.appendStream', 'C1', 2_000);
      const afterLimit = learned.at(-1);
      // Ten minutes of demand beyond the allowance: a write attempt every 200 ms, none refused by Slack.
      for (let t = 0; t < 600_000; t += 200) {
        clock.ms += 200;
        await answer.intermediate('chat.appendStream');
      }

      expect(afterLimit).toBe(75);
      expect(Math.max(...learned)).toBeGreaterThan(100);
      expect(learned.at(-1)).toBe(200);
    });
  });

  describe('on Redis, shared by replicas', () => {
    it('lets two replicas leasing tokens in batches together take no more than the shared budget, with few Redis calls', async () => {
      // A tenth of the tiers: 10 appends, 5 edits, 2 stream starts a minute.
      const replicas = redisReplicas({ count: 2, scale: 0.1 });
      const work = replicas.flatMap(({ budget }) =>
        Array.from({ length: 6 }, async () => {
          const answer = budget.answer('T1', 'C1');
          answer.wants('chat.appendStream');
          const stream = await answer.acquire([
            { method: 'chat.startStream', use: 'now' },
            { method: 'chat.stopStream', use: 'later' },
          ]);
          let appends = 0;
          for (let i = 0; i < 10; i += 1)
            if ((await answer.intermediate('chat.appendStream')) === 0) appends += 1;
          const edits = await takeAll(() => budget.take('T1', 'chat.update', 'C1'), 3);
          answer.close();
          return { stream: stream.ok, appends, edits };
        }),
      );
      const results = await Promise.all(work);
      const appends = results.reduce((sum, r) => sum + r.appends, 0);

      expect(results.filter((r) => r.stream)).toHaveLength(2);
      expect(appends).toBe(10);
      expect(results.reduce((sum, r) => sum + r.edits, 0)).toBe(5);
      // 120 append attempts and 36 edits across 12 answers; leases keep Redis calls well below that.
      const calls = replicas.reduce((sum, r) => sum + r.redisCalls(), 0);
      expect(calls).toBeLessThan(120);
    });

    it('starts 200 answers arriving at once with a handful of Redis calls, not one each in a queue', async () => {
      // Scaled out of the way (as where Slack allows far more): every start is granted.
      const [replica] = redisReplicas({ count: 1, scale: 1000 });
      if (!replica) throw new Error('no replica');

      const starts = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          replica.budget.answer('T1', `C${i % 20}`).acquire([
            { method: 'chat.startStream', use: 'now' },
            { method: 'chat.stopStream', use: 'later' },
          ]),
        ),
      );

      expect(starts.filter((start) => start.ok)).toHaveLength(200);
      expect(replica.redisCalls()).toBeLessThan(20);
    });

    it('grants no more reservations than the bucket holds while answers wait for each other’s Redis call', async () => {
      // A tenth of the tiers: 5 edits a minute. Each answer posts in its own channel and reserves
      // its final edit; they all ask at once, on two replicas.
      const replicas = redisReplicas({ count: 2, scale: 0.1 });
      const asks = replicas.flatMap(({ budget }, r) =>
        Array.from({ length: 8 }, (_, i) =>
          budget.answer('T1', `C${r}-${i}`).acquire([
            { method: 'chat.postMessage', use: 'now' },
            { method: 'chat.update', use: 'later' },
          ]),
        ),
      );

      const granted = (await Promise.all(asks)).filter((ask) => ask.ok);

      expect(granted).toHaveLength(5);
    });

    it('gives back the leases of a replica that went away once they expire, never before', async () => {
      const clock = { ms: 2_000_000_000 };
      const [gone, stays] = redisReplicas({ count: 2, scale: 0.1, clock });
      if (!gone || !stays) throw new Error('no replicas');
      const leaving = gone.budget.answer('T1', 'C1');
      for (let i = 0; i < 8; i += 1) gone.budget.answer('T1', 'C1').wants('chat.appendStream');
      leaving.wants('chat.appendStream');
      expect(await leaving.intermediate('chat.appendStream')).toBe(0);
      // Its spent token reaches the shared window with its next report (within a second).
      const admin = redisClient();
      const key = `${gone.keyPrefix}{budget:T1}:chat.appendStream`;
      await expect
        .poll(async () => Object.keys(await admin.hgetall(key)).some((f) => f.startsWith('w:')), {
          timeout: 3_000,
        })
        .toBe(true);
      const other = stays.budget.answer('T1', 'C1');
      other.wants('chat.appendStream');

      const whileHeld = await takeAll(() => other.intermediate('chat.appendStream'), 10);
      clock.ms += 16_000;
      const afterExpiry = await takeAll(() => other.intermediate('chat.appendStream'), 10);

      // 10 a minute: the leaving replica leased 8 and spent one; the 7 unspent come back after 15 s.
      expect(whileHeld).toBe(2);
      expect(afterExpiry).toBe(7);
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
      budgets.push(budget);
      expect(await budget.take('T1', 'chat.update', 'C1')).toBe(0);
      expect(errors).toHaveLength(1);
    });
  });
});
