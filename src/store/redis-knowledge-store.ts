/**
 * Channel knowledge's catalogue and vectors in Redis (KnowledgeStore port), shared by every
 * replica. One scope's keys share the `{k:<scope>}` hash tag (one cluster slot), so a source is
 * replaced or removed, and the scope's version bumped, in one atomic script:
 *   <prefix>{k:<scope>}:sources  HASH sourceId → JSON {record, chunkIds}
 *   <prefix>{k:<scope>}:chunks   HASH chunkId → JSON {id, sourceId, role, text, hash}
 *   <prefix>{k:<scope>}:vec      HASH chunkId → float32 bytes (little-endian)
 *   <prefix>{k:<scope>}:code     HASH chunkId → packed sign bits (what replicas load and search)
 *   <prefix>{k:<scope>}:ver      the scope's version (INCR on every change; never deleted)
 *   <prefix>{k:<scope>}:learn    "1" while a DM learns (`/ask learn on`)
 *   <prefix>{kt:<team>}:scopes   SET of the workspace's scopes; <prefix>{kt:<team>}:count chunks kept
 */
import type { Cluster, Redis } from 'ioredis';
import type { KnowledgeStore, SourceRecord, StoredChunk } from '../conversation/knowledge-ports.ts';

// KEYS sources, chunks, vec, code, ver. ARGV sourceId, source JSON, n, then n × (id, chunk JSON, vec, code).
// Returns {delta in chunk count, removed ids…}.
const putSourceLua = `
local keep = {}
local n = tonumber(ARGV[3])
for i = 0, n - 1 do keep[ARGV[4 + i * 4]] = true end
local out = {0}
local old = redis.call('HGET', KEYS[1], ARGV[1])
local before = 0
if old then
  local ids = cjson.decode(old).chunkIds
  before = #ids
  for _, id in ipairs(ids) do
    if not keep[id] then
      redis.call('HDEL', KEYS[2], id); redis.call('HDEL', KEYS[3], id); redis.call('HDEL', KEYS[4], id)
      table.insert(out, id)
    end
  end
end
for i = 0, n - 1 do
  local id = ARGV[4 + i * 4]
  redis.call('HSET', KEYS[2], id, ARGV[5 + i * 4])
  if ARGV[6 + i * 4] ~= '' then redis.call('HSET', KEYS[3], id, ARGV[6 + i * 4]) end
  if ARGV[7 + i * 4] ~= '' then redis.call('HSET', KEYS[4], id, ARGV[7 + i * 4]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[5])
out[1] = n - before
return out`;

// KEYS sources, chunks, vec, code, ver. ARGV sourceId. Returns the removed ids.
const removeSourceLua = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return {} end
local ids = cjson.decode(old).chunkIds
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[2], id); redis.call('HDEL', KEYS[3], id); redis.call('HDEL', KEYS[4], id)
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[5])
return ids`;

// KEYS sources, chunks, vec, code, ver, learn. Returns the removed ids.
const removeScopeLua = `
local ids = redis.call('HKEYS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6])
redis.call('INCR', KEYS[5])
return ids`;

type Client = (Redis | Cluster) & {
  knowledgePutSource(...args: Array<string | Buffer | number>): Promise<Array<number | string>>;
  knowledgeRemoveSource(...args: string[]): Promise<string[]>;
  knowledgeRemoveScope(...args: string[]): Promise<string[]>;
};

export class RedisKnowledgeStore implements KnowledgeStore {
  readonly #client: Client;
  readonly #prefix: string;

  /** `client` is shared with the conversation store (which owns and closes it). */
  constructor(options: { client: Redis | Cluster; keyPrefix: string }) {
    this.#client = options.client as Client;
    this.#prefix = options.keyPrefix;
    this.#client.defineCommand('knowledgePutSource', { numberOfKeys: 5, lua: putSourceLua });
    this.#client.defineCommand('knowledgeRemoveSource', { numberOfKeys: 5, lua: removeSourceLua });
    this.#client.defineCommand('knowledgeRemoveScope', { numberOfKeys: 6, lua: removeScopeLua });
  }

  #key(scope: string, part: string): string {
    return `${this.#prefix}{k:${scope}}:${part}`;
  }

  #scopeKeys(scope: string): string[] {
    return ['sources', 'chunks', 'vec', 'code', 'ver'].map((part) => this.#key(scope, part));
  }

  #teamKey(scope: string, part: 'scopes' | 'count'): string {
    return `${this.#prefix}{kt:${scope.split(':')[0] ?? ''}}:${part}`;
  }

  async putSource(scope: string, source: SourceRecord, chunks: StoredChunk[]): Promise<string[]> {
    const args: Array<string | Buffer | number> = [
      ...this.#scopeKeys(scope),
      source.id,
      JSON.stringify({ record: source, chunkIds: chunks.map((chunk) => chunk.id) }),
      chunks.length,
    ];
    for (const chunk of chunks) {
      const { id, sourceId, role, text, hash } = chunk;
      args.push(
        id,
        JSON.stringify({ id, sourceId, role, text, hash }),
        chunk.vector
          ? Buffer.from(chunk.vector.buffer, chunk.vector.byteOffset, chunk.vector.byteLength)
          : '',
        chunk.code ? Buffer.from(chunk.code) : '',
      );
    }
    const [delta, ...removed] = await this.#client.knowledgePutSource(...args);
    // The workspace's keys live in another slot: counted after the scope's atomic change.
    await this.#client.sadd(this.#teamKey(scope, 'scopes'), scope);
    if (Number(delta) !== 0) await this.#client.incrby(this.#teamKey(scope, 'count'), Number(delta));
    return removed.map(String);
  }

  async removeSource(scope: string, sourceId: string): Promise<string[]> {
    const removed = await this.#client.knowledgeRemoveSource(...this.#scopeKeys(scope), sourceId);
    if (removed.length > 0) await this.#client.decrby(this.#teamKey(scope, 'count'), removed.length);
    return removed;
  }

  async removeScope(scope: string): Promise<string[]> {
    const removed = await this.#client.knowledgeRemoveScope(
      ...this.#scopeKeys(scope),
      this.#key(scope, 'learn'),
    );
    await this.#client.srem(this.#teamKey(scope, 'scopes'), scope);
    if (removed.length > 0) await this.#client.decrby(this.#teamKey(scope, 'count'), removed.length);
    return removed;
  }

  async scopesOf(teamId: string): Promise<string[]> {
    return this.#client.smembers(this.#teamKey(`${teamId}:`, 'scopes'));
  }

  async sources(scope: string): Promise<SourceRecord[]> {
    const raw = await this.#client.hvals(this.#key(scope, 'sources'));
    return raw.map((entry) => (JSON.parse(entry) as { record: SourceRecord }).record);
  }

  async chunks(scope: string, ids: string[]): Promise<Array<StoredChunk | null>> {
    if (ids.length === 0) return [];
    const [metas, vectors] = await Promise.all([
      this.#client.hmget(this.#key(scope, 'chunks'), ...ids),
      this.#client.hmgetBuffer(this.#key(scope, 'vec'), ...ids),
    ]);
    return ids.map((_, index) => {
      const meta = metas[index];
      if (!meta) return null;
      const bytes = vectors[index];
      return {
        ...(JSON.parse(meta) as Omit<StoredChunk, 'vector' | 'code'>),
        vector: bytes ? floatsOf(bytes) : null,
        code: null,
      };
    });
  }

  async chunksOf(scope: string, sourceId: string): Promise<StoredChunk[]> {
    const raw = await this.#client.hget(this.#key(scope, 'sources'), sourceId);
    if (!raw) return [];
    const ids = (JSON.parse(raw) as { chunkIds: string[] }).chunkIds;
    return (await this.chunks(scope, ids)).filter((chunk): chunk is StoredChunk => chunk !== null);
  }

  async loadCodes(
    scope: string,
  ): Promise<{ version: number; chunks: Array<{ id: string; code: Uint8Array }> }> {
    // In one transaction (one slot): the codes and the version they are at.
    const results = await this.#client
      .multi()
      .get(this.#key(scope, 'ver'))
      .hgetallBuffer(this.#key(scope, 'code'))
      .exec();
    const version = Number(results?.[0]?.[1] ?? 0);
    const codes = (results?.[1]?.[1] ?? {}) as Record<string, Buffer>;
    return {
      version,
      chunks: Object.entries(codes).map(([id, code]) => ({ id, code: new Uint8Array(code) })),
    };
  }

  async version(scope: string): Promise<number> {
    return Number((await this.#client.get(this.#key(scope, 'ver'))) ?? 0);
  }

  async chunkCount(teamId: string): Promise<number> {
    return Math.max(0, Number((await this.#client.get(this.#teamKey(`${teamId}:`, 'count'))) ?? 0));
  }

  async setLearning(scope: string, on: boolean): Promise<void> {
    if (on) {
      await this.#client.set(this.#key(scope, 'learn'), '1');
      await this.#client.sadd(this.#teamKey(scope, 'scopes'), scope);
    } else await this.#client.del(this.#key(scope, 'learn'));
  }

  async learning(scope: string): Promise<boolean> {
    return (await this.#client.get(this.#key(scope, 'learn'))) === '1';
  }
}

/** A copy with its own aligned buffer (Redis's bytes may start at any offset). */
function floatsOf(bytes: Buffer): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
