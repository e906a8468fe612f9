import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import {
  deleteKeysWithPrefix,
  type RedisClusterProcesses,
  startRedisCluster,
} from '../support/redis-server-process.ts';
import { connectedStoreUnderTest, describeStoreContract } from './store-contract.ts';

let cluster: RedisClusterProcesses;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

function connectStore(): { store: RedisStore; client: Cluster; keyPrefix: string } {
  const client = createRedisClient({
    url: cluster.url,
    cluster: true,
    commandTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
  });
  if (!(client instanceof Cluster)) throw new Error('cluster: true must give a Cluster client');
  const keyPrefix = `test:${randomUUID()}:`;
  return { store: new RedisStore({ client, keyPrefix, commandTimeoutMs: 2_000 }), client, keyPrefix };
}

describeStoreContract('RedisStore on a Redis Cluster', async () => {
  const { store, client, keyPrefix } = connectStore();
  // Connecting first also learns the slots, so that cleanup can reach every master.
  return connectedStoreUnderTest(store, () => deleteKeysWithPrefix(client, keyPrefix));
});

describe('RedisStore on a Redis Cluster', () => {
  it('commits threads whose keys land on every master (state and lock share a slot)', async () => {
    const { store, client, keyPrefix } = connectStore();
    const threads = Array.from({ length: 30 }, (_, i) => `T0AAAA:C0BBBB:1700000000.${i}`);
    const state = {
      turns: [{ role: 'user' as const, text: 'hi' }],
      kbSessionId: null,
      lastRequest: null,
    };

    const committed = await Promise.all(
      threads.map(async (thread) => {
        const token = (await store.acquireLock(thread, 60_000)) as string;
        return store.commitThread(thread, state, 60_000, token);
      }),
    );

    expect(committed.every(Boolean)).toBe(true);
    const mastersHoldingState = await Promise.all(
      client.nodes('master').map(async (node) => (await node.keys(`${keyPrefix}*:state`)).length),
    );
    // 30 hash tags spread over 3 masters: a multi-key script only works here because of them.
    expect(mastersHoldingState.filter((count) => count > 0).length).toBeGreaterThan(1);
    expect(await store.getThread(threads[0] as string)).toEqual(state);
    await deleteKeysWithPrefix(client, keyPrefix);
    await store.close();
  });
});
