/**
 * The behaviour every KnowledgeStore adapter must have (in-process and Redis): a source's chunks
 * are replaced and forgotten whole, every change bumps the scope's version (what tells replicas to
 * reload), scopes and workspaces are kept apart, and the workspace's chunk count stays exact.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { KnowledgeStore, SourceRecord, StoredChunk } from '../../src/conversation/knowledge-ports.ts';
import { MemoryKnowledgeStore } from '../../src/store/memory-knowledge-store.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { RedisKnowledgeStore } from '../../src/store/redis-knowledge-store.ts';
import { deleteKeysWithPrefix } from '../support/redis-server-process.ts';

const scope = 'T0AAAA:C0BBBB';
const otherScope = 'T0AAAA:C0CCCC';
const otherTeamScope = 'T0ZZZZ:C0BBBB';

function source(id: string, chunks: number): SourceRecord {
  return {
    id,
    kind: 'file',
    title: `${id}.md`,
    url: `https://fake.slack/files/${id}`,
    chunks,
    indexedAtMs: 1,
  };
}

function chunk(sourceId: string, n: number, text = `passage ${n} of ${sourceId}`): StoredChunk {
  return {
    id: `${sourceId}#${n}`,
    sourceId,
    role: 'passage',
    text,
    hash: `h-${text}`,
    vector: Float32Array.from([n, 0.5, -0.25]),
    code: Uint8Array.from([n, 255]),
  };
}

interface Subject {
  store: KnowledgeStore;
  cleanup: () => Promise<void>;
}

function describeKnowledgeStore(name: string, make: () => Promise<Subject>): void {
  describe(`${name}: the KnowledgeStore contract`, () => {
    let subject: Subject;
    let store: KnowledgeStore;
    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('keeps a source with its chunks, their text, vectors and codes', async () => {
      await store.putSource(scope, source('file:F1', 2), [chunk('file:F1', 0), chunk('file:F1', 1)]);

      const [first, missing] = await store.chunks(scope, ['file:F1#0', 'file:F1#9']);
      expect(first).toMatchObject({ id: 'file:F1#0', sourceId: 'file:F1', text: 'passage 0 of file:F1' });
      expect(Array.from(first?.vector ?? [])).toEqual([0, 0.5, -0.25]);
      expect(missing).toBeNull();
      expect(await store.sources(scope)).toEqual([source('file:F1', 2)]);
      const codes = await store.loadCodes(scope);
      expect(codes.chunks.map((c) => [c.id, Array.from(c.code)]).sort()).toEqual([
        ['file:F1#0', [0, 255]],
        ['file:F1#1', [1, 255]],
      ]);
      expect(await store.chunkCount('T0AAAA')).toBe(2);
    });

    it('replaces a source whole: chunks no longer there are gone and returned', async () => {
      await store.putSource(
        scope,
        source('file:F1', 3),
        [0, 1, 2].map((n) => chunk('file:F1', n)),
      );

      const removed = await store.putSource(scope, source('file:F1', 1), [chunk('file:F1', 0, 'new text')]);

      expect(removed.sort()).toEqual(['file:F1#1', 'file:F1#2']);
      expect((await store.chunksOf(scope, 'file:F1')).map((c) => c.text)).toEqual(['new text']);
      expect((await store.loadCodes(scope)).chunks).toHaveLength(1);
      expect(await store.chunkCount('T0AAAA')).toBe(1);
    });

    it('bumps the version on every change, also when a source is forgotten', async () => {
      const start = await store.version(scope);
      await store.putSource(scope, source('file:F1', 1), [chunk('file:F1', 0)]);
      const afterPut = await store.version(scope);
      const removed = await store.removeSource(scope, 'file:F1');
      const afterRemove = await store.version(scope);

      expect(afterPut).toBeGreaterThan(start);
      expect(afterRemove).toBeGreaterThan(afterPut);
      expect(removed).toEqual(['file:F1#0']);
      expect(await store.chunks(scope, ['file:F1#0'])).toEqual([null]);
      expect(await store.sources(scope)).toEqual([]);
      expect((await store.loadCodes(scope)).version).toBe(afterRemove);
      expect(await store.chunkCount('T0AAAA')).toBe(0);
    });

    it('keeps scopes and workspaces apart, and forgets a scope whole', async () => {
      await store.putSource(scope, source('file:F1', 1), [chunk('file:F1', 0)]);
      await store.putSource(otherScope, source('file:F2', 1), [chunk('file:F2', 0)]);
      await store.putSource(otherTeamScope, source('file:F3', 1), [chunk('file:F3', 0)]);

      expect((await store.scopesOf('T0AAAA')).sort()).toEqual([scope, otherScope]);
      expect(await store.chunks(otherScope, ['file:F1#0'])).toEqual([null]);
      const removed = await store.removeScope(scope);

      expect(removed).toEqual(['file:F1#0']);
      expect(await store.sources(scope)).toEqual([]);
      expect(await store.scopesOf('T0AAAA')).toEqual([otherScope]);
      expect(await store.chunkCount('T0AAAA')).toBe(1);
      expect(await store.chunkCount('T0ZZZZ')).toBe(1);
    });

    it("remembers a DM's learning switch until it is turned off or the scope forgotten", async () => {
      const dm = 'T0AAAA:D0PERSON';
      expect(await store.learning(dm)).toBe(false);
      await store.setLearning(dm, true);
      expect(await store.learning(dm)).toBe(true);
      await store.removeScope(dm);
      expect(await store.learning(dm)).toBe(false);
    });
  });
}

describeKnowledgeStore('MemoryKnowledgeStore', async () => {
  const store = new MemoryKnowledgeStore();
  return { store, cleanup: async () => undefined };
});

describeKnowledgeStore('RedisKnowledgeStore', async () => {
  const keyPrefix = `test:knowledge:${randomUUID()}:`;
  const client = createRedisClient({
    url: inject('redisUrl'),
    cluster: false,
    commandTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
  });
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return {
    store: new RedisKnowledgeStore({ client, keyPrefix }),
    cleanup: async () => {
      await deleteKeysWithPrefix(client, keyPrefix);
      client.disconnect();
    },
  };
});
