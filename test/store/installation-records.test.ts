/**
 * The InstallationRecords contract, on Redis and in process: sealed installations kept by key, and
 * the refresh lock one replica holds at a time. Then the sealed installation store over them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  type InstallationRecords,
  MemoryInstallationRecords,
  RedisInstallationRecords,
} from '../../src/store/installation-records.ts';
import { SealedInstallationStore } from '../../src/store/installation-store.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { TokenSealer } from '../../src/store/token-sealer.ts';
import { deleteKeysWithPrefix } from '../support/redis-server-process.ts';

interface RecordsUnderTest {
  records: InstallationRecords;
  cleanup: () => Promise<void>;
}

const redisUrl = inject('redisUrl');

const adapters: Array<[string, () => Promise<RecordsUnderTest>]> = [
  ['in-process', async () => ({ records: new MemoryInstallationRecords(), cleanup: async () => {} })],
  [
    'Redis',
    async () => {
      const keyPrefix = `test:install:${randomUUID()}:`;
      const client = createRedisClient({
        url: redisUrl,
        cluster: false,
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 1_000,
      });
      return {
        records: new RedisInstallationRecords({ client, keyPrefix }),
        cleanup: async () => {
          await deleteKeysWithPrefix(client, keyPrefix);
          client.disconnect();
        },
      };
    },
  ],
];

for (const [name, make] of adapters) {
  describe(`${name} installation records`, () => {
    let subject: RecordsUnderTest;
    beforeEach(async () => {
      subject = await make();
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('keeps a value by key until it is deleted', async () => {
      const { records } = subject;
      await records.set('-:T1', 'sealed-1');
      await records.set('E1:-', 'sealed-org');

      expect(await records.get('-:T1')).toBe('sealed-1');
      await records.delete('-:T1');
      expect(await records.get('-:T1')).toBeNull();
      expect(await records.get('E1:-')).toBe('sealed-org');
    });

    it('gives the lock to one caller at a time, and again once released', async () => {
      const { records } = subject;
      const taken = await Promise.all(Array.from({ length: 10 }, () => records.lock('-:T1', 5_000)));

      const owners = taken.filter((token) => token !== null);
      expect(owners).toHaveLength(1);
      await records.unlock('-:T1', 'not-the-owner');
      expect(await records.lock('-:T1', 5_000)).toBeNull();
      await records.unlock('-:T1', owners[0] as string);
      expect(await records.lock('-:T1', 5_000)).not.toBeNull();
    });

    it('lets a lock lapse after its time to live', async () => {
      const { records } = subject;
      await records.lock('-:T1', 30);
      await new Promise((resolve) => setTimeout(resolve, 80));

      expect(await records.lock('-:T1', 5_000)).not.toBeNull();
    });
  });
}

describe('the sealed installation store', () => {
  const installation = {
    team: { id: 'T1' },
    enterprise: undefined,
    user: { token: undefined, scopes: undefined, id: 'U1' },
    bot: { token: 'xoxb-secret-token', scopes: ['chat:write'], id: 'B1', userId: 'UB1' },
    isEnterpriseInstall: false,
    authVersion: 'v2' as const,
  };

  it('opens installations sealed under an older key and seals them again under the newest', async () => {
    const records = new MemoryInstallationRecords();
    const [older, newer] = [randomBytes(32), randomBytes(32)];
    const before = new SealedInstallationStore({ records, sealer: new TokenSealer([older]), refresh: never });
    await before.storeInstallation(installation);
    const sealedBefore = await records.get('-:T1');

    const after = new SealedInstallationStore({
      records,
      sealer: new TokenSealer([newer, older]),
      refresh: never,
    });
    const found = await after.fetchInstallation({
      teamId: 'T1',
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });

    expect(found.bot?.token).toBe('xoxb-secret-token');
    const sealedAfter = await records.get('-:T1');
    expect(sealedAfter).not.toBe(sealedBefore);
    const onlyNewer = new SealedInstallationStore({
      records,
      sealer: new TokenSealer([newer]),
      refresh: never,
    });
    const reopened = await onlyNewer.fetchInstallation({
      teamId: 'T1',
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    expect(reopened.bot?.token).toBe('xoxb-secret-token');
  });

  it('refuses an installation whose sealed text was moved to another workspace’s key', async () => {
    const records = new MemoryInstallationRecords();
    const sealer = new TokenSealer([randomBytes(32)]);
    const store = new SealedInstallationStore({ records, sealer, refresh: never });
    await store.storeInstallation(installation);
    await records.set('-:T2', (await records.get('-:T1')) as string);

    const other = new SealedInstallationStore({ records, sealer, refresh: never });
    await expect(
      other.fetchInstallation({ teamId: 'T2', enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow(/does not open/);
  });

  it('serves a workspace of an org from the org-wide installation', async () => {
    const records = new MemoryInstallationRecords();
    const store = new SealedInstallationStore({
      records,
      sealer: new TokenSealer([randomBytes(32)]),
      refresh: never,
    });
    await store.storeInstallation({
      ...installation,
      team: undefined,
      enterprise: { id: 'E1' },
      isEnterpriseInstall: true,
    });

    const found = await store.fetchInstallation({
      teamId: 'T9',
      enterpriseId: 'E1',
      isEnterpriseInstall: false,
    });
    expect(found.bot?.token).toBe('xoxb-secret-token');
  });
});

async function never(): Promise<never> {
  throw new Error('no refresh expected');
}
