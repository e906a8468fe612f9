/**
 * Where installations are kept: sealed text under a logical key, and a short lock per key so that
 * one replica alone refreshes a rotating token. Two adapters behind one port: Redis (shared by
 * every replica) and the in-process twin (one replica, for development and tests).
 *
 * Redis keys:
 *   <prefix>install:<enterprise or ->:<team or ->        sealed installation
 *   <prefix>install-lock:<enterprise or ->:<team or ->   owner token, PX ttl
 *   <prefix>mcp:tokens:<server>:<team>:<user>             a person's sealed tool-server tokens
 *   <prefix>mcp:client:<server> / mcp:flow:<nonce>        sealed registration / pending connection
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';

export interface InstallationRecords {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** A lock on `key` for `ttlMs`: its owner token, or null while another holds it. */
  lock(key: string, ttlMs: number): Promise<string | null>;
  /** Releases the lock if `token` still owns it. */
  unlock(key: string, token: string): Promise<void>;
}

export class MemoryInstallationRecords implements InstallationRecords {
  readonly #values = new Map<string, string>();
  readonly #locks = new Map<string, { token: string; untilMs: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async get(key: string): Promise<string | null> {
    return this.#values.get(key) ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    this.#values.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async lock(key: string, ttlMs: number): Promise<string | null> {
    const held = this.#locks.get(key);
    if (held && held.untilMs > this.#now()) return null;
    const token = randomUUID();
    this.#locks.set(key, { token, untilMs: this.#now() + ttlMs });
    return token;
  }

  async unlock(key: string, token: string): Promise<void> {
    if (this.#locks.get(key)?.token === token) this.#locks.delete(key);
  }
}

/**
 * Waits (bounded) for the client to be connected: it fails commands at once while it is not (no
 * offline queue), and a replica just started may not have connected yet.
 */
export async function whenReady(client: Redis | Cluster, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'ready') return;
  const signal = AbortSignal.timeout(timeoutMs);
  await once(client, 'ready', { signal }).catch(() => {
    throw new Error(`Redis is not connected (${client.status})`);
  });
}

const UNLOCK_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class RedisInstallationRecords implements InstallationRecords {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;
  readonly #lockPrefix: string;

  /**
   * `client` is shared with the conversation store, which closes it. `namespace` names the records
   * (`install`; `mcp` for people's tool-server tokens, kept the same way).
   */
  constructor(options: { client: Redis | Cluster; keyPrefix: string; namespace?: string }) {
    this.#client = options.client;
    const namespace = options.namespace ?? 'install';
    this.#prefix = `${options.keyPrefix}${namespace}:`;
    this.#lockPrefix = `${options.keyPrefix}${namespace}-lock:`;
  }

  async get(key: string): Promise<string | null> {
    await whenReady(this.#client);
    return this.#client.get(`${this.#prefix}${key}`);
  }

  async set(key: string, value: string): Promise<void> {
    await whenReady(this.#client);
    await this.#client.set(`${this.#prefix}${key}`, value);
  }

  async delete(key: string): Promise<void> {
    await whenReady(this.#client);
    await this.#client.del(`${this.#prefix}${key}`);
  }

  async lock(key: string, ttlMs: number): Promise<string | null> {
    await whenReady(this.#client);
    const token = randomUUID();
    const set = await this.#client.set(`${this.#lockPrefix}${key}`, token, 'PX', ttlMs, 'NX');
    return set === 'OK' ? token : null;
  }

  async unlock(key: string, token: string): Promise<void> {
    await whenReady(this.#client);
    await this.#client.eval(UNLOCK_LUA, 1, `${this.#lockPrefix}${key}`, token);
  }
}

/** Times every call into the store latency histogram (`operation="installation_<call>"`). */
export function timedInstallationRecords(
  records: InstallationRecords,
  latency: { startTimer(labels: { operation: string }): () => unknown },
): InstallationRecords {
  const timed =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const end = latency.startTimer({ operation: `installation_${name}` });
      try {
        return await call(...args);
      } finally {
        end();
      }
    };
  return {
    get: timed('get', (key: string) => records.get(key)),
    set: timed('set', (key: string, value: string) => records.set(key, value)),
    delete: timed('delete', (key: string) => records.delete(key)),
    lock: timed('lock', (key: string, ttlMs: number) => records.lock(key, ttlMs)),
    unlock: timed('unlock', (key: string, token: string) => records.unlock(key, token)),
  };
}
