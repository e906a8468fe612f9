import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { StoreUnavailableError } from '../../src/conversation/ports.ts';
import { createRedisClient, parseRedisUrl, type StoreLogger } from '../../src/store/redis-client.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import {
  createRedisServer,
  deleteKeysWithPrefix,
  type RedisServerProcess,
} from '../support/redis-server-process.ts';
import { connectedStoreUnderTest, describeStoreContract } from './store-contract.ts';

const redisUrl = inject('redisUrl');

function uniquePrefix(): string {
  return `test:${randomUUID()}:`;
}

function connect(
  url: string,
  commandTimeoutMs = 1_000,
  logger?: StoreLogger,
): ReturnType<typeof createRedisClient> {
  return createRedisClient({ url, cluster: false, commandTimeoutMs, connectTimeoutMs: 1_000, logger });
}

function recordingLogger(): StoreLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    info: (_details, message) => infos.push(message),
    warn: (_details, message) => warnings.push(message),
  };
}

describeStoreContract('RedisStore', async () => {
  const keyPrefix = uniquePrefix();
  const client = connect(redisUrl);
  const store = new RedisStore({ client, keyPrefix });
  return connectedStoreUnderTest(store, () => deleteKeysWithPrefix(client, keyPrefix));
});

describe('RedisStore on a shared Redis', () => {
  const keyPrefix = uniquePrefix();
  const admin = new Redis(redisUrl);
  const logger = recordingLogger();
  const store = new RedisStore({ client: connect(redisUrl), keyPrefix, logger });

  afterAll(async () => {
    await deleteKeysWithPrefix(admin, keyPrefix);
    await store.close();
    admin.disconnect();
  });

  it('keeps one thread’s keys, its deliveries’ claims too, under one hash tag', async () => {
    const admitted = await store.admit('T1:C1:1.2', {
      claimKey: 'msg:Ev1',
      claimTtlMs: 60_000,
      lockTtlMs: 60_000,
    });
    const token = admitted?.held?.token as string;
    const lockKey = `${keyPrefix}{t:T1:C1:1.2}:lock`;

    expect(await admin.get(lockKey)).toBe(token);
    expect(await admin.pttl(lockKey)).toBeGreaterThan(59_000);
    expect(await admin.exists(`${keyPrefix}{t:T1:C1:1.2}:claim:msg:Ev1`)).toBe(1);

    await store.commitThread('T1:C1:1.2', sampleState(), 60_000, token);

    expect(JSON.parse((await admin.get(`${keyPrefix}{t:T1:C1:1.2}:state`)) as string)).toEqual(sampleState());
    expect(await admin.exists(lockKey)).toBe(0);
  });

  it('reads corrupt stored state as absent and logs it instead of throwing', async () => {
    await admin.set(`${keyPrefix}{t:corrupt}:state`, '{"turns": [oops');
    await admin.set(`${keyPrefix}{t:wrong-shape}:state`, '{"turns": "not a list"}');

    expect(await store.getThread('corrupt')).toBeNull();
    expect(await store.getThread('wrong-shape')).toBeNull();
    expect(logger.warnings).toHaveLength(2);
  });

  it('fills in fields missing from state written by an older version', async () => {
    await admin.set(`${keyPrefix}{t:older}:state`, JSON.stringify({ turns: [{ role: 'user', text: 'hi' }] }));

    expect(await store.getThread('older')).toEqual({
      turns: [{ role: 'user', text: 'hi' }],
      kbSessionId: null,
      lastRequest: null,
    });
  });

  it('reads the participants of state written by an older version, which kept them in the JSON', async () => {
    const older = { turns: [{ role: 'user', text: 'hi' }], participants: ['U1'], lastInputTokens: 40 };
    await admin.set(`${keyPrefix}{t:older}:state`, JSON.stringify(older));

    expect(await store.threadMembership('older', 'U1')).toEqual({ active: true, participant: true });
    expect(await store.threadMembership('older', 'U2')).toEqual({ active: true, participant: false });
    expect(await store.threadMembership('never-seen', 'U1')).toEqual({ active: false, participant: false });
  });

  it('refuses a key prefix that would break the hash tags', () => {
    expect(() => new RedisStore({ client: admin, keyPrefix: 'bad{prefix}:' })).toThrow(/must not contain/);
  });
});

describe('RedisStore while Redis is down', () => {
  let server: RedisServerProcess;
  let store: RedisStore;
  const logger = recordingLogger();

  beforeAll(async () => {
    server = await createRedisServer();
    await server.start();
    store = new RedisStore({
      client: connect(server.url, 500, logger),
      keyPrefix: uniquePrefix(),
      commandTimeoutMs: 500,
    });
    await store.ping();
  });

  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  afterEach(async () => {
    await server.start();
  });

  it('fails a call fast with StoreUnavailableError instead of hanging', async () => {
    await server.stop();
    const startedMs = Date.now();

    const error = await store
      .admit('T1:C1:1.2', { claimKey: 'msg:Ev1', claimTtlMs: 60_000 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toBeInstanceOf(Error);
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('fails every kind of call, and works again once Redis is back, without a new store', async () => {
    await server.stop();
    const outcomes = await Promise.allSettled([
      store.acquireLock('T1', 1_000),
      store.extendLock('T1', 'token', 1_000),
      store.releaseLock('T1', 'token'),
      store.getThread('T1'),
      store.commitThread('T1', sampleState(), 1_000, 'token'),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(StoreUnavailableError);
    }

    await server.start();
    await waitUntil(() => store.ping(), 5_000);

    const token = (await store.acquireLock('T1', 60_000)) as string;
    expect(await store.commitThread('T1', sampleState(), 60_000, token)).toBe(true);
    expect(await store.getThread('T1')).toEqual(sampleState());
  });

  it('keeps failing fast through reconnect attempts, and logs the outage once and the recovery once', async () => {
    logger.warnings.length = 0;
    logger.infos.length = 0;
    await server.stop();

    // Several reconnect attempts fail meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const startedMs = Date.now();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect(logger.warnings).toEqual(['Redis is unreachable']);

    await server.start();
    await waitUntil(() => store.ping(), 5_000);
    expect(logger.infos).toEqual(['Redis connection restored']);
  });
});

describe('RedisStore after close', () => {
  it('rejects calls with StoreUnavailableError', async () => {
    const store = new RedisStore({ client: connect(redisUrl), keyPrefix: uniquePrefix() });
    await store.ping();

    await store.close();

    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('parseRedisUrl', () => {
  it('reads host, port, credentials, database and TLS', () => {
    expect(parseRedisUrl('rediss://app%40corp:p%3Ass@cache.example.com:6380/2')).toEqual({
      host: 'cache.example.com',
      port: 6380,
      username: 'app@corp',
      password: 'p:ss',
      db: 2,
      tls: true,
    });
  });

  it('defaults the port and leaves credentials unset', () => {
    expect(parseRedisUrl('redis://localhost')).toMatchObject({
      host: 'localhost',
      port: 6379,
      username: undefined,
      password: undefined,
      db: undefined,
      tls: false,
    });
  });

  it('refuses other schemes without repeating the URL, which may hold a password', () => {
    const attempt = () => parseRedisUrl('http://user:hunter2@example.com');

    expect(attempt).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(attempt).not.toThrow(/hunter2/);
  });
});

function sampleState() {
  return {
    turns: [
      { role: 'user' as const, text: 'How do refunds work?' },
      { role: 'assistant' as const, text: 'Within 5 days.' },
    ],
    kbSessionId: 'kb-1',
    lastRequest: { inputTokens: 12, estimatedTokens: 10 },
  };
}

async function waitUntil(attempt: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
